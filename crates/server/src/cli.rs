//! The `jiandu-server` command line (clap): `serve` and the administration commands.
//!
//! Output for people is Chinese text; `--json` prints machine-readable JSON on
//! stdout. Errors go to stderr with exit status 1; `draw verify` exits 3 when the
//! recorded draw does not match its recomputation.

use crate::auth;
use crate::draws;
use crate::error::ApiError;
use crate::http::{self, AppState, UserView};
use crate::plans;
use crate::registry;
use crate::reports;
use crate::settings::{FileSettings, Settings};
use crate::store::{self, NewUser, ServerStore, User};
use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::{Args, Parser, Subcommand, ValueEnum};
use jiandu_core::Role;
use jiandu_core::templates::TemplateSet;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "jiandu-server",
    version,
    about = "监督（Jiandu）中心平台：名录库、双随机抽取、审核与汇总"
)]
pub struct Cli {
    /// Settings file (TOML: db, blobs, listen, max_body_bytes).
    #[arg(long, global = true, env = "JIANDU_CONFIG")]
    config: Option<PathBuf>,
    /// Database: a SQLite file path (default .jiandu-data/server.sqlite) or postgres://…
    #[arg(long, global = true, env = "JIANDU_DB", hide_env_values = true)]
    db: Option<String>,
    /// Blob (photo) folder (default .jiandu-data/blobs).
    #[arg(long, global = true, env = "JIANDU_BLOBS")]
    blobs: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the HTTP server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, env = "JIANDU_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Users (人员账号).
    #[command(subcommand)]
    User(UserCmd),
    /// Enrolled devices.
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Registry of institutions and staff directory (名录库).
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// Plans (抽查计划) built into this version.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Double-random draw (双随机抽取): `draw --plan ID --seed TEXT`, or a subcommand.
    Draw(DrawArgs),
    /// Reports: 汇总表, public results, progress.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Documents (文书): archive copies of an inspection's PDFs.
    #[command(subcommand)]
    Doc(DocCmd),
    /// Audit log (审计日志): `audit verify` checks the hash chain.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Fills a NEW, empty database with generated demo data (registry, staff,
    /// accounts of every role, the shanxi-2025 draw, some inspections).
    Demo {
        /// Seed of the generated data: the same seed gives the same data.
        #[arg(long, default_value = crate::demo::DEFAULT_SEED)]
        seed: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DocKindArg {
    /// 卫生监督意见书.
    Opinion,
    /// 现场笔录.
    Record,
    /// 证据照片.
    Evidence,
}

#[derive(Debug, Subcommand)]
enum DocCmd {
    /// Renders a document of a synced inspection from the platform's data (the
    /// same content as the tablet's copy).
    Render {
        #[arg(long)]
        inspection: Uuid,
        #[arg(long, value_enum)]
        kind: DocKindArg,
        /// Output PDF file.
        #[arg(long)]
        out: PathBuf,
        /// 执法机关 printed (default: JIANDU_AUTHORITY or the built-in default).
        #[arg(long)]
        authority: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Checks the chain: exit 0 intact, 3 broken (the first broken entry is named).
    Verify {
        /// A head hash kept elsewhere earlier: it must still be in the chain.
        #[arg(long)]
        head: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Lists entries after a change sequence value.
    List {
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SummaryFormat {
    Csv,
    Xlsx,
    Json,
}

#[derive(Debug, Subcommand)]
enum ReportCmd {
    /// A 汇总表 from approved inspections.
    Summary {
        #[arg(long)]
        plan: String,
        /// Table code (see `plan show`), e.g. medical-summary.
        #[arg(long)]
        table: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: SummaryFormat,
        /// Output file (required for xlsx; default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Inspected units with their public result category (一公开).
    Public {
        #[arg(long)]
        plan: String,
        #[arg(long)]
        json: bool,
    },
    /// Per category: drawn, inspected, approved; deadlines.
    Progress {
        #[arg(long)]
        plan: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Inspector,
    TeamLead,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Inspector => Role::Inspector,
            RoleArg::TeamLead => Role::TeamLead,
            RoleArg::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Adds a user. The password is read from stdin (one line) or JIANDU_NEW_PASSWORD.
    Add {
        #[arg(long)]
        username: String,
        /// Name as printed on documents.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// 执法证号 (required for inspectors).
        #[arg(long)]
        badge: Option<String>,
        #[arg(long, default_value = "")]
        team: String,
        #[arg(long, default_value = "")]
        district: String,
    },
    /// Lists users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disables a user: no sign-in, every device token refused, not drawn.
    Disable { username: String },
    /// Re-enables a user.
    Enable { username: String },
    /// Sets a password (stdin or JIANDU_NEW_PASSWORD), e.g. for imported staff.
    Passwd { username: String },
}

#[derive(Debug, Subcommand)]
enum DeviceCmd {
    /// Revokes one device's token (a lost tablet), leaving the user's other devices.
    Revoke { device_id: Uuid },
    /// Lists devices.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum RegistryCmd {
    /// Imports a CSV file (institutions, staff or 回头看 list; see `registry` docs).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum PlanCmd {
    /// Lists plans.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Shows one plan.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct DrawArgs {
    #[command(subcommand)]
    sub: Option<DrawSub>,
    /// Plan id (see `plan list`).
    #[arg(long)]
    plan: Option<String>,
    /// Seed text, e.g. the numbers drawn in public (公开摇号) or a date and witness.
    #[arg(long)]
    seed: Option<String>,
    /// Who runs the draw (recorded); default: $USER.
    #[arg(long, env = "JIANDU_OPERATOR")]
    by: Option<String>,
    /// Computes and prints the draw without recording it.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum DrawSub {
    /// Recomputes a recorded draw from its record and says whether it matches.
    Verify {
        draw_id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Shows a recorded draw.
    Show {
        draw_id: Uuid,
        #[arg(long)]
        json: bool,
    },
    /// Lists recorded draws.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replaces one inspector of a task (capped by the plan), with a reason.
    Reassign {
        #[arg(long)]
        task: Uuid,
        /// Inspector to replace: username, 执法证号 or id.
        #[arg(long)]
        from: String,
        /// Replacement: username, 执法证号 or id.
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
        #[arg(long, env = "JIANDU_OPERATOR")]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JIANDU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    let actor = format!("cli:{}", operator(None));
    match runtime.block_on(crate::audit::scope(actor, run(cli))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn api(e: ApiError) -> anyhow::Error {
    anyhow!("{}（{}）", e.message, e.code)
}

fn operator(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("JIANDU_NEW_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("无法从标准输入读取密码")?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        bail!("请在标准输入中提供密码（一行），或设置 JIANDU_NEW_PASSWORD");
    }
    Ok(p)
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn templates() -> anyhow::Result<TemplateSet> {
    TemplateSet::builtin().map_err(|e| anyhow!("内置模板有误：{e}"))
}

async fn resolve_user(store: &dyn ServerStore, who: &str) -> anyhow::Result<User> {
    let users = store.list_users().await?;
    users
        .into_iter()
        .find(|u| {
            u.username == who || u.badge_no.as_deref() == Some(who) || u.id.to_string() == who
        })
        .ok_or_else(|| anyhow!("找不到用户“{who}”（可用用户名、执法证号或编号）"))
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = match &cli.config {
        Some(p) => FileSettings::load(p)?,
        None => FileSettings::default(),
    };
    let listen = match &cli.command {
        Command::Serve { listen } => *listen,
        _ => None,
    };
    let settings = Settings::resolve(cli.db.clone(), cli.blobs.clone(), listen, file);
    // Plans need no database.
    if let Command::Plan(cmd) = &cli.command {
        return plan_cmd(cmd).map(|_| ExitCode::SUCCESS);
    }
    let store = store::open(settings.db.expose())
        .await
        .with_context(|| format!("无法打开数据库 {}", settings.db))?;
    match cli.command {
        Command::Serve { .. } => serve(settings, store).await?,
        Command::User(cmd) => user_cmd(&*store, cmd).await?,
        Command::Device(cmd) => device_cmd(&*store, cmd).await?,
        Command::Registry(RegistryCmd::Import { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
            let t = templates()?;
            match registry::parse_csv(&bytes, &t.catalogue) {
                Err(errors) => {
                    eprintln!("导入失败，未写入任何数据。发现 {} 个问题：", errors.len());
                    for e in &errors {
                        eprintln!("  {e}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
                Ok((kind, import)) => {
                    let counts = store.import_registry(import).await?;
                    let what = match kind {
                        registry::ListKind::Institutions => "检查对象名录",
                        registry::ListKind::Staff => "执法检查人员名录",
                        registry::ListKind::Penalised => "回头看名单",
                    };
                    println!(
                        "已导入{what}：新增单位 {}，更新单位 {}，新增人员 {}，更新人员 {}，回头看 {}",
                        counts.institutions_added,
                        counts.institutions_updated,
                        counts.staff_added,
                        counts.staff_updated,
                        counts.penalised
                    );
                }
            }
        }
        Command::Plan(_) => {}
        Command::Draw(args) => return draw_cmd(&*store, args).await,
        Command::Report(cmd) => report_cmd(&*store, cmd).await?,
        Command::Audit(cmd) => return audit_cmd(&*store, cmd).await,
        Command::Doc(DocCmd::Render {
            inspection,
            kind,
            out,
            authority,
        }) => {
            let kind = match kind {
                DocKindArg::Opinion => crate::documents::DocKind::Opinion,
                DocKindArg::Record => crate::documents::DocKind::Record,
                DocKindArg::Evidence => crate::documents::DocKind::Evidence,
            };
            let authority = authority.unwrap_or_else(crate::documents::authority);
            let pdf = crate::documents::render(
                &*store,
                &templates()?,
                &settings.blobs,
                &authority,
                inspection,
                kind,
            )
            .await
            .map_err(api)?;
            std::fs::write(&out, &pdf)
                .with_context(|| format!("无法写入文件 {}", out.display()))?;
            println!("已生成 {}（{} 字节）", out.display(), pdf.len());
        }
        Command::Demo { seed, json } => {
            let t = templates()?;
            let summary = crate::demo::run(&*store, &t, &seed).await?;
            if json {
                print_json(&summary)?;
            } else {
                print!("{}", crate::demo::render(&summary, &t.catalogue));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: Settings, store: Arc<dyn ServerStore>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.blobs)
        .with_context(|| format!("无法创建文件夹 {}", settings.blobs.display()))?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("无法监听 {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(?settings, backend = store.backend(), "starting");
    // The first stdout line is read by tests and scripts to learn the port.
    println!("jiandu-server listening on http://{addr}");
    std::io::stdout().flush()?;
    let state = AppState::new(store, templates()?).with_blobs(settings.blobs.clone());
    http::serve(listener, state, settings.max_body_bytes, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn user_cmd(store: &dyn ServerStore, cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            username,
            name,
            role,
            badge,
            team,
            district,
        } => {
            let role: Role = role.into();
            let username = username.trim().to_owned();
            if username.is_empty() || name.trim().is_empty() {
                bail!("用户名和姓名不能为空");
            }
            if role == Role::Inspector && badge.as_deref().is_none_or(|b| b.trim().is_empty()) {
                bail!("检查人员必须填写执法证号（--badge）");
            }
            let password = read_password()?;
            let hash = auth::hash_password(&password).map_err(|e| anyhow!(e))?;
            let user = store
                .create_user(NewUser {
                    id: Uuid::now_v7(),
                    username,
                    display_name: name.trim().to_owned(),
                    role,
                    badge_no: badge.map(|b| b.trim().to_owned()),
                    team,
                    district,
                    password_hash: Some(hash),
                    created_at: Utc::now(),
                })
                .await?;
            println!("已创建用户 {}（{}）", user.username, user.id);
        }
        UserCmd::List { json } => {
            let users = store.list_users().await?;
            if json {
                print_json(&users.iter().map(UserView::from).collect::<Vec<_>>())?;
            } else {
                for u in &users {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}{}",
                        u.username,
                        u.display_name,
                        crate::store::role_str(u.role),
                        u.badge_no.as_deref().unwrap_or("-"),
                        u.team,
                        u.district,
                        if u.disabled { "\t已停用" } else { "" }
                    );
                }
            }
        }
        UserCmd::Disable { username } => {
            store.set_user_disabled(&username, true).await?;
            println!("已停用用户 {username}");
        }
        UserCmd::Enable { username } => {
            store.set_user_disabled(&username, false).await?;
            println!("已启用用户 {username}");
        }
        UserCmd::Passwd { username } => {
            let password = read_password()?;
            let hash = auth::hash_password(&password).map_err(|e| anyhow!(e))?;
            store.set_password(&username, &hash).await?;
            println!("已设置用户 {username} 的密码");
        }
    }
    Ok(())
}

async fn device_cmd(store: &dyn ServerStore, cmd: DeviceCmd) -> anyhow::Result<()> {
    match cmd {
        DeviceCmd::Revoke { device_id } => {
            let d = store.revoke_device(device_id, Utc::now()).await?;
            println!(
                "已吊销设备 {}（{}），吊销时间 {}",
                d.id,
                d.name,
                d.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            );
        }
        DeviceCmd::List { json } => {
            let devices = store.list_devices(None).await?;
            if json {
                print_json(&devices)?;
            } else {
                for d in &devices {
                    println!(
                        "{}\t{}\t{}\t{}",
                        d.id,
                        d.user_id,
                        d.name,
                        if d.revoked_at.is_some() {
                            "已吊销"
                        } else {
                            "有效"
                        }
                    );
                }
            }
        }
    }
    Ok(())
}

fn plan_cmd(cmd: &PlanCmd) -> anyhow::Result<()> {
    let t = templates()?;
    match cmd {
        PlanCmd::List { json: true } => {
            print_json(&t.plans.iter().map(plans::summary).collect::<Vec<_>>())?
        }
        PlanCmd::List { json: false } => print!("{}", plans::render_list(&t.plans)),
        PlanCmd::Show { id, json } => {
            let plan = t
                .plan(id)
                .ok_or_else(|| anyhow!("计划“{id}”不存在（见 plan list）"))?;
            if *json {
                print_json(plan)?;
            } else {
                print!("{}", plans::render_show(plan, &t.catalogue));
            }
        }
    }
    Ok(())
}

async fn draw_cmd(store: &dyn ServerStore, args: DrawArgs) -> anyhow::Result<ExitCode> {
    let t = templates()?;
    match args.sub {
        None => {
            let (Some(plan_id), Some(seed)) = (args.plan, args.seed) else {
                bail!(
                    "请指定 --plan 计划代码 和 --seed 种子（或使用 draw verify/show/list/reassign）"
                );
            };
            let plan = t
                .plan(&plan_id)
                .ok_or_else(|| anyhow!("计划“{plan_id}”不存在（见 plan list）"))?;
            let view = draws::run(
                store,
                plan,
                &seed,
                &operator(args.by),
                Utc::now(),
                args.dry_run,
            )
            .await
            .map_err(api)?;
            if args.json {
                print_json(&view)?;
            } else {
                print!("{}", draws::render(&view));
            }
        }
        Some(DrawSub::Show { draw_id, json }) => {
            let view = draws::show(store, draw_id).await.map_err(api)?;
            if json {
                print_json(&view)?;
            } else {
                print!("{}", draws::render(&view));
            }
        }
        Some(DrawSub::List { json }) => {
            let list = store.draws().await?;
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "id": d.id, "plan_id": d.plan_id, "seed": d.seed,
                            "algorithm": d.algorithm, "created_by": d.created_by,
                            "created_at": d.created_at,
                        })
                    })
                    .collect();
                print_json(&items)?;
            } else {
                for d in &list {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        d.id,
                        d.plan_id,
                        d.seed,
                        d.created_by,
                        d.created_at.to_rfc3339()
                    );
                }
            }
        }
        Some(DrawSub::Verify { draw_id, json }) => {
            let report = draws::verify(store, draw_id).await.map_err(api)?;
            if json {
                print_json(&report)?;
            } else {
                println!("{}", report.message);
                println!("记录的结果哈希：{}", report.recorded_tasks_hash);
                println!("重算的结果哈希：{}", report.recomputed_tasks_hash);
            }
            if !report.matches {
                return Ok(ExitCode::from(3));
            }
        }
        Some(DrawSub::Reassign {
            task,
            from,
            to,
            reason,
            by,
            json,
        }) => {
            let stored = store
                .task(task)
                .await?
                .ok_or_else(|| anyhow!("任务 {task} 不存在"))?;
            let plan = t
                .plan(&stored.plan_id)
                .ok_or_else(|| anyhow!("任务所属计划“{}”不存在", stored.plan_id))?;
            let from = resolve_user(store, &from).await?;
            let to = resolve_user(store, &to).await?;
            let order = draws::ReassignOrder {
                task_id: task,
                from: from.id,
                to: to.id,
                reason,
                by: operator(by),
            };
            let r = draws::reassign(store, plan, order, Utc::now())
                .await
                .map_err(api)?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "已将任务 {} 的检查人员 {} 调整为 {}，原因：{}",
                    task, from.display_name, to.display_name, r.reason
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn report_cmd(store: &dyn ServerStore, cmd: ReportCmd) -> anyhow::Result<()> {
    let t = templates()?;
    let find = |id: &str| {
        t.plan(id)
            .ok_or_else(|| anyhow!("计划“{id}”不存在（见 plan list）"))
    };
    match cmd {
        ReportCmd::Summary {
            plan,
            table,
            format,
            out,
        } => {
            let plan = find(&plan)?;
            let (table, report) = reports::summary_table(store, plan, &table)
                .await
                .map_err(api)?;
            let bytes = match format {
                SummaryFormat::Csv => reports::to_csv(&table, &report).into_bytes(),
                SummaryFormat::Json => serde_json::to_vec_pretty(&report)?,
                SummaryFormat::Xlsx => {
                    if out.is_none() {
                        bail!("XLSX 格式请用 --out 指定输出文件");
                    }
                    reports::to_xlsx(&table, &report).map_err(api)?
                }
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("无法写入 {}", path.display()))?;
                    println!("已生成 {}", path.display());
                }
                None => std::io::stdout().lock().write_all(&bytes)?,
            }
        }
        ReportCmd::Public { plan, json } => {
            let list = reports::public_list(store, find(&plan)?, &t.catalogue)
                .await
                .map_err(api)?;
            if json {
                print_json(&list)?;
            } else {
                print!("{}", reports::render_public(&list));
            }
        }
        ReportCmd::Progress { plan, json } => {
            let p = reports::progress(store, find(&plan)?, &t.catalogue, Utc::now().date_naive())
                .await
                .map_err(api)?;
            if json {
                print_json(&p)?;
            } else {
                print!("{}", reports::render_progress(&p));
            }
        }
    }
    Ok(())
}

async fn audit_cmd(store: &dyn ServerStore, cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify { head, json } => {
            let mut report = crate::audit::verify(store).await?;
            if let (Some(head), true) = (head.as_deref(), report.ok) {
                let head = head.trim().to_ascii_lowercase();
                if !audit_has_hash(store, &head).await? {
                    report.ok = false;
                    report.message = format!(
                        "不一致：链条本身完整，但其中没有此前记下的哈希 {head}：审计日志可能被整体重写"
                    );
                }
            }
            if json {
                print_json(&report)?;
            } else {
                println!("{}", report.message);
                println!(
                    "审计记录：{} 条；最新哈希：{}",
                    report.entries, report.head_hash
                );
                if let Some(seq) = report.first_broken {
                    println!("第一个有问题的记录：第 {seq} 号");
                }
            }
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        AuditCmd::List { after, limit, json } => {
            let entries = store.audit_entries(after, limit.clamp(1, 10_000)).await?;
            if json {
                print_json(&entries)?;
            } else {
                for e in &entries {
                    println!(
                        "{:>6}  {}  {}  {}  {}  {}",
                        e.change_seq, e.at, e.actor, e.action, e.subject, e.detail
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn audit_has_hash(store: &dyn ServerStore, hash: &str) -> anyhow::Result<bool> {
    let mut after = store.audit_start().await?;
    loop {
        let page = store.audit_entries(after, 5_000).await?;
        let Some(last) = page.last() else {
            return Ok(false);
        };
        if page.iter().any(|e| e.hash == hash) {
            return Ok(true);
        }
        after = last.change_seq;
    }
}
