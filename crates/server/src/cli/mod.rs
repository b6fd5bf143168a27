//! The `jiandu-server` command line (clap): `serve` and the administration
//! commands. Each command calls the service layer as the command line's operator
//! (`$USER`, or `--by`), who has an administrator's reach; `review` acts as a
//! named team lead.
//!
//! Everything the operator reads is Chinese: the help of every command and flag
//! (set with `about` / `help` attributes, the headings by [`chinese`]), the output
//! for people and the errors. `--json` prints machine-readable JSON on stdout.
//! Errors go to stderr with exit status 1; `draw verify` and `audit verify` exit 3
//! when what they check does not match.

mod args;
mod render;

use args::*;
pub use args::{Cli, command};

use crate::formats;
use crate::service::{self, Actor, Platform, ServiceError, documents, draws, people, registry};
use crate::settings::{FileSettings, Settings};
use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use clap::FromArgMatches;
use jiandu_core::Role;
use jiandu_core::templates::TemplateSet;
use std::io::{BufRead, Write};
use std::process::ExitCode;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return parse_error(e),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A service refusal as the command line reports it.
fn refused(e: ServiceError) -> anyhow::Error {
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

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Recomputing a published draw needs no database.
    if let Command::Draw(DrawArgs {
        sub:
            Some(DrawSub::Verify {
                inputs: Some(file),
                seed: Some(seed),
                expect,
                json,
                ..
            }),
        ..
    }) = &cli.command
    {
        return verify_offline(file, seed, expect.as_deref(), *json);
    }
    if let Command::Openapi = cli.command {
        // The API document needs no database.
        print_json(&crate::http::document())?;
        return Ok(ExitCode::SUCCESS);
    }
    let file = match &cli.config {
        Some(p) => FileSettings::load(p)?,
        None => FileSettings::default(),
    };
    let listen = match &cli.command {
        Command::Serve { listen, .. } => *listen,
        _ => None,
    };
    let settings = Settings::resolve(cli.db.clone(), cli.blobs.clone(), listen, file)?;
    let blobs = crate::blobs::BlobStore::open(&settings.blobs)
        .map_err(|e| anyhow!("无法使用照片存储 {:?}：{e}", settings.blobs))?;
    let store = crate::store::open(settings.db.expose())
        .await
        .map_err(|e| refused(e.into()))
        .with_context(|| format!("无法打开数据库 {}", settings.db))?;
    let p = Platform::new(store, templates()?)
        .with_blob_store(blobs)
        .with_sessions(settings.sessions)
        .with_tokens(settings.tokens)
        .with_uploads(settings.uploads)
        .with_proxies(
            crate::settings::TrustedProxies::parse(&settings.trusted_proxies)
                .map_err(|e| anyhow!("配置文件中 trusted_proxies 的“{e}”不是有效的地址或网段"))?,
        )
        .with_metrics_allow(
            crate::settings::TrustedProxies::parse(&settings.metrics_allow)
                .map_err(|e| anyhow!("配置文件中 metrics_allow 的“{e}”不是有效的地址或网段"))?,
        );
    let me = Actor::operator(operator(None));
    let now = Utc::now();
    match cli.command {
        Command::Serve {
            tls_cert, tls_key, ..
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(crate::http::tls::TlsFiles { cert, key }),
                _ => None,
            };
            serve(settings, p, tls).await?
        }
        Command::User(cmd) => user_cmd(&p, &me, cmd).await?,
        Command::Device(cmd) => device_cmd(&p, &me, cmd).await?,
        Command::Registry(RegistryCmd::Import { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
            match registry::import(&p, &me, now, &bytes).await {
                Err(e) if e.code == service::ErrorCode::InvalidFile => {
                    eprintln!("{}", e.message);
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(refused(e)),
                Ok(done) => {
                    let c = done.counts;
                    let kind = match done.kind {
                        registry::ListKindName::Institutions => registry::ListKind::Institutions,
                        registry::ListKindName::Staff => registry::ListKind::Staff,
                        registry::ListKindName::Penalised => registry::ListKind::Penalised,
                    };
                    println!(
                        "已导入{}：新增单位 {}，更新单位 {}，新增人员 {}，更新人员 {}，回头看 {}",
                        kind.label(),
                        c.institutions_added,
                        c.institutions_updated,
                        c.staff_added,
                        c.staff_updated,
                        c.penalised
                    );
                }
            }
        }
        Command::Plan(cmd) => plan_cmd(&p, &me, cmd).await?,
        Command::Draw(args) => return draw_cmd(&p, args).await,
        Command::Review(cmd) => review_cmd(&p, cmd).await?,
        Command::Report(cmd) => report_cmd(&p, &me, cmd).await?,
        Command::Audit(cmd) => return audit_cmd(&p, cmd).await,
        Command::Doc(DocCmd::Render {
            inspection,
            kind,
            out,
            authority,
        }) => {
            let kind = match kind {
                DocKindArg::Opinion => documents::DocKind::Opinion,
                DocKindArg::Record => documents::DocKind::Record,
                DocKindArg::Evidence => documents::DocKind::Evidence,
            };
            let authority = authority.unwrap_or_else(documents::authority);
            let pdf = documents::render(&p, &authority, inspection, kind)
                .await
                .map_err(refused)?;
            std::fs::write(&out, &pdf)
                .with_context(|| format!("无法写入文件 {}", out.display()))?;
            println!("已生成 {}（{} 字节）", out.display(), pdf.len());
        }
        // Answered above, before the database is opened.
        Command::Openapi => {}
        Command::Demo { seed, json } => {
            let summary = crate::demo::run(&p, &me, &seed).await?;
            if json {
                print_json(&summary)?;
            } else {
                print!(
                    "{}",
                    crate::demo::render(&summary, p.plans.builtin_catalogue())
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    settings: Settings,
    p: Platform,
    tls: Option<crate::http::tls::TlsFiles>,
) -> anyhow::Result<()> {
    if let Some(files) = &tls {
        crate::http::tls::load(files).map_err(|e| anyhow!("无法读取 TLS 证书或私钥：{e}"))?;
    }
    match &settings.blobs {
        crate::blobs::BlobLocation::Folder(dir) => std::fs::create_dir_all(dir)
            .with_context(|| format!("无法创建文件夹 {}", dir.display()))?,
        // Reachable with these credentials, or the operator learns it now.
        crate::blobs::BlobLocation::S3(loc) => p
            .blobs
            .check()
            .await
            .map_err(|e| anyhow!("无法连接对象存储 {loc}：{e}"))?,
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("无法监听 {}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(?settings, backend = p.store.backend(), "starting");
    // The first stdout line is read by tests and scripts to learn the port.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("jiandu-server listening on {scheme}://{addr}");
    std::io::stdout().flush()?;
    tokio::spawn(housekeeping(p.clone(), settings.audit_head_file.clone()));
    match tls {
        Some(files) => {
            crate::http::tls::serve(
                listener,
                p,
                settings.max_body_bytes,
                files,
                shutdown_signal(),
            )
            .await?
        }
        None => crate::http::serve(listener, p, settings.max_body_bytes, shutdown_signal()).await?,
    }
    Ok(())
}

/// Hourly: removes expired partial uploads; at start and daily: appends the audit
/// head hash to the log and to `head_file`.
async fn housekeeping(p: Platform, head_file: std::path::PathBuf) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    let mut hours = 0u32;
    loop {
        tick.tick().await;
        if hours.is_multiple_of(24)
            && let Err(e) = service::audit::record_head(&p, &head_file, Utc::now()).await
        {
            tracing::warn!(error = %e.message, file = %head_file.display(), "audit head not recorded");
        }
        hours = hours.wrapping_add(1);
        match crate::service::sync::sweep_partial_uploads(&p, std::time::SystemTime::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired partial uploads removed"),
            Err(e) => tracing::warn!(error = %e.message, "partial upload sweep failed"),
        }
    }
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

async fn user_cmd(p: &Platform, me: &Actor, cmd: UserCmd) -> anyhow::Result<()> {
    let now = Utc::now();
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
            if role == Role::Inspector && badge.as_deref().is_none_or(|b| b.trim().is_empty()) {
                bail!("检查人员必须填写执法证号（--badge）");
            }
            let password = read_password()?;
            let user = people::create_user(
                p,
                me,
                now,
                people::NewAccount {
                    username,
                    display_name: name,
                    role,
                    badge_no: badge,
                    team,
                    district,
                    password,
                },
            )
            .await
            .map_err(refused)?;
            println!("已创建用户 {}（{}）", user.username, user.id);
        }
        UserCmd::List { json } => {
            let users = people::list_users(p, me).await.map_err(refused)?;
            if json {
                print_json(&users)?;
            } else {
                for u in &users {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}{}",
                        u.username,
                        u.display_name,
                        u.role.as_str(),
                        u.badge_no.as_deref().unwrap_or("-"),
                        u.team,
                        u.district,
                        if u.disabled { "\t已停用" } else { "" }
                    );
                }
            }
        }
        UserCmd::Disable { username } => {
            people::set_disabled(p, me, now, &username, true)
                .await
                .map_err(refused)?;
            println!("已停用用户 {username}");
        }
        UserCmd::Enable { username } => {
            people::set_disabled(p, me, now, &username, false)
                .await
                .map_err(refused)?;
            println!("已启用用户 {username}");
        }
        UserCmd::Passwd { username } => {
            let password = read_password()?;
            people::set_password(p, me, now, &username, password)
                .await
                .map_err(refused)?;
            println!("已设置用户 {username} 的密码");
        }
    }
    Ok(())
}

async fn device_cmd(p: &Platform, me: &Actor, cmd: DeviceCmd) -> anyhow::Result<()> {
    match cmd {
        DeviceCmd::Revoke { device_id, kind } => {
            let kind = match kind {
                RevokeKindArg::Lost => crate::model::RevokeKind::Lost,
                RevokeKindArg::Retired => crate::model::RevokeKind::Retired,
            };
            let d = people::revoke_device(p, me, Utc::now(), device_id, kind)
                .await
                .map_err(refused)?;
            println!(
                "已吊销设备 {}（{}），方式：{}，吊销时间 {}",
                d.id,
                d.name,
                d.revoked_kind.unwrap_or(kind).label(),
                d.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            );
        }
        DeviceCmd::List { json } => {
            let devices = people::list_devices(p, me).await.map_err(refused)?;
            if json {
                print_json(&devices)?;
            } else {
                for d in &devices {
                    println!(
                        "{}\t{}\t{}\t{}",
                        d.id,
                        d.user_id,
                        d.name,
                        match (d.revoked_at, d.revoked_kind) {
                            (Some(_), Some(k)) => format!("已吊销（{}）", k.label()),
                            (Some(_), None) => "已吊销".to_owned(),
                            (None, _) => "有效".to_owned(),
                        }
                    );
                }
            }
        }
    }
    Ok(())
}

async fn plan_cmd(p: &Platform, me: &Actor, cmd: PlanCmd) -> anyhow::Result<()> {
    let now = Utc::now();
    match cmd {
        PlanCmd::List { json } => {
            let list = service::plans::list(p, me).await.map_err(refused)?;
            if json {
                print_json(&list)?;
            } else {
                print!("{}", render::plan_list(&list));
            }
        }
        PlanCmd::Show { id, version, json } => {
            let v = service::plans::get(p, me, &id, version)
                .await
                .map_err(refused)?;
            if json {
                print_json(&*v.plan)?;
            } else {
                let catalogue = v.plan.catalogue(p.plans.builtin_catalogue());
                print!("{}", render::plan(&v.summary(), &v.plan, &catalogue));
            }
        }
        PlanCmd::Import { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("无法读取文件 {}", file.display()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow!("计划文件不是 UTF-8 编码：请另存为 UTF-8 后再导入"))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match service::plans::import(p, me, now, &name, &text).await {
                Ok(s) => println!(
                    "已导入计划 {}（{}）第 {} 版，待发布：请核对后用 plan publish {} --version {} 发布",
                    s.id, s.title, s.version, s.id, s.version
                ),
                Err(e) if !e.details.is_empty() => {
                    eprintln!("{}", e.message);
                    bail!("计划未导入");
                }
                Err(e) => return Err(refused(e)),
            }
        }
        PlanCmd::Publish { id, version } => {
            let s = service::plans::publish(p, me, now, &id, version)
                .await
                .map_err(refused)?;
            println!("已发布计划 {}（{}）第 {} 版", s.id, s.title, s.version);
        }
        PlanCmd::Export { id, version, out } => {
            let (_, text) = service::plans::source(p, me, &id, version)
                .await
                .map_err(refused)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("无法写入 {}", path.display()))?;
                    println!("已导出 {}", path.display());
                }
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
        }
    }
    Ok(())
}

/// `draw verify --inputs FILE --seed TEXT`: recomputes a draw from its published
/// inputs alone and prints the list and the hashes a public notice shows.
fn verify_offline(
    file: &std::path::Path,
    seed: &str,
    expect: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("无法读取抽取输入文件 {}", file.display()))?;
    let inputs: jiandu_core::draw::PublicInputs = serde_json::from_str(&text)
        .map_err(|e| anyhow!("抽取输入文件 {} 格式不正确：{e}", file.display()))?;
    let result = jiandu_core::draw::draw_public(seed, &inputs).map_err(|e| anyhow!("{e}"))?;
    let hash = result.tasks_hash();
    if json {
        print_json(&serde_json::json!({
            "algorithm": result.algorithm,
            "inputs_hash": result.inputs_hash,
            "tasks_hash": hash,
            "tasks": result.tasks,
        }))?;
    } else {
        print!("{}", render::public_draw(&result));
    }
    match expect {
        Some(e) if !e.eq_ignore_ascii_case(&hash) => {
            eprintln!("不一致：重算的结果哈希 {hash} 与公示的 {e} 不同");
            Ok(ExitCode::from(3))
        }
        Some(_) => {
            println!("一致：重算结果与公示的结果哈希相同");
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn draw_cmd(p: &Platform, args: DrawArgs) -> anyhow::Result<ExitCode> {
    match args.sub {
        None => {
            let (Some(plan_id), Some(seed)) = (args.plan, args.seed) else {
                bail!(
                    "请指定 --plan 计划代码 和 --seed 种子（或使用 draw verify/show/list/reassign）"
                );
            };
            let me = Actor::operator(operator(args.by));
            let req = draws::DrawRequest {
                plan_id,
                seed,
                dry_run: args.dry_run,
            };
            let view = draws::run(p, &me, Utc::now(), req).await.map_err(refused)?;
            if args.json {
                print_json(&view)?;
            } else {
                print!("{}", render::draw(&view));
            }
        }
        Some(DrawSub::Show { draw_id, json }) => {
            let me = Actor::operator(operator(None));
            let view = draws::show(p, &me, draw_id).await.map_err(refused)?;
            if json {
                print_json(&view)?;
            } else {
                print!("{}", render::draw(&view));
            }
        }
        Some(DrawSub::List { json }) => {
            let me = Actor::operator(operator(None));
            let list = draws::list(p, &me).await.map_err(refused)?;
            if json {
                print_json(&list)?;
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
        Some(DrawSub::Freeze { plan, by, json }) => {
            let me = Actor::operator(operator(by));
            let f = draws::freeze(p, &me, Utc::now(), draws::FreezeRequest { plan_id: plan })
                .await
                .map_err(refused)?;
            if json {
                print_json(&f)?;
            } else {
                println!(
                    "已冻结计划 {}（第 {} 版）的抽取输入：单位 {} 个，检查人员 {} 名，回头看 {} 个",
                    f.plan_id, f.plan_version, f.units, f.inspectors, f.penalised
                );
                println!("输入哈希：{}", f.inputs_hash);
                println!(
                    "请先公示此哈希，再当众产生种子（如公开摇号）并执行 draw --plan {} --seed 种子",
                    f.plan_id
                );
            }
        }
        Some(DrawSub::Inputs { draw_id }) => {
            let me = Actor::operator(operator(None));
            let inputs = draws::published_inputs(p, &me, draw_id)
                .await
                .map_err(refused)?;
            print_json(&inputs)?;
        }
        Some(DrawSub::Verify { draw_id, json, .. }) => {
            let Some(draw_id) = draw_id else {
                bail!("请给出抽取记录编号，或 --inputs 文件与 --seed 种子");
            };
            let me = Actor::operator(operator(None));
            let report = draws::verify(p, &me, draw_id).await.map_err(refused)?;
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
            let me = Actor::operator(operator(by));
            let from = people::find_user(p, &from).await.map_err(refused)?;
            let to = people::find_user(p, &to).await.map_err(refused)?;
            let req = draws::ReassignRequest {
                from: from.id,
                to: to.id,
                reason,
            };
            let r = draws::reassign(p, &me, Utc::now(), task, req)
                .await
                .map_err(refused)?;
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

/// The operator acting as a named team lead.
async fn lead(p: &Platform, who: &str) -> anyhow::Result<Actor> {
    let user = people::find_user(p, who).await.map_err(refused)?;
    Ok(Actor::operator_as(operator(None), user))
}

async fn review_cmd(p: &Platform, cmd: ReviewCmd) -> anyhow::Result<()> {
    let now = Utc::now();
    match cmd {
        ReviewCmd::Queue { as_user, json } => {
            let me = lead(p, &as_user).await?;
            let items = service::review::queue(p, &me).await.map_err(refused)?;
            if json {
                print_json(&items)?;
            } else if items.is_empty() {
                println!("没有待审核的检查");
            } else {
                println!("检查编号\t版本\t状态\t任务");
                for i in &items {
                    println!(
                        "{}\t{}\t{}\t{}",
                        i.inspection.id,
                        i.inspection.version,
                        i.inspection.status.label(),
                        i.task.id
                    );
                }
            }
        }
        ReviewCmd::Approve {
            inspection,
            version,
            as_user,
            json,
        } => {
            let me = lead(p, &as_user).await?;
            let done = service::review::approve(p, &me, now, inspection, version)
                .await
                .map_err(refused)?;
            if json {
                print_json(&done)?;
            } else {
                println!(
                    "已审核通过检查 {}（版本 {}）",
                    inspection, done.inspection.version
                );
            }
        }
        ReviewCmd::Return {
            inspection,
            version,
            comment,
            as_user,
            json,
        } => {
            let me = lead(p, &as_user).await?;
            let done =
                service::review::return_with_comments(p, &me, now, inspection, version, &comment)
                    .await
                    .map_err(refused)?;
            if json {
                print_json(&done)?;
            } else {
                println!(
                    "已退回检查 {}（版本 {}），意见：{}",
                    inspection,
                    done.inspection.version,
                    comment.trim()
                );
            }
        }
    }
    Ok(())
}

async fn report_cmd(p: &Platform, me: &Actor, cmd: ReportCmd) -> anyhow::Result<()> {
    match cmd {
        ReportCmd::Summary {
            plan,
            table,
            format,
            out,
        } => {
            let (_, table, report) = service::reports::summary_table(p, me, &plan, &table)
                .await
                .map_err(refused)?;
            let bytes = match format {
                SummaryFormat::Csv => formats::to_csv(&table, &report).into_bytes(),
                SummaryFormat::Json => serde_json::to_vec_pretty(&report)?,
                SummaryFormat::Xlsx => {
                    if out.is_none() {
                        bail!("XLSX 格式请用 --out 指定输出文件");
                    }
                    formats::to_xlsx(&table, &report).map_err(refused)?
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
            let list = service::reports::public_list(p, &plan)
                .await
                .map_err(refused)?;
            if json {
                print_json(&list)?;
            } else {
                print!("{}", render::public(&list));
            }
        }
        ReportCmd::Progress { plan, json } => {
            let progress = service::reports::progress(p, me, &plan, Utc::now().date_naive())
                .await
                .map_err(refused)?;
            if json {
                print_json(&progress)?;
            } else {
                print!("{}", render::progress(&progress));
            }
        }
    }
    Ok(())
}

async fn audit_cmd(p: &Platform, cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify { head, json } => {
            let report = service::audit::verify_with_head(p, head.as_deref())
                .await
                .map_err(refused)?;
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
                for m in &report.data_mismatches {
                    println!("{}", m.message);
                }
            }
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        AuditCmd::Head { json } => {
            let (seq, hash) = service::audit::head(p).await.map_err(refused)?;
            if json {
                print_json(&serde_json::json!({"change_seq": seq, "head_hash": hash}))?;
            } else {
                println!("{hash}");
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::List { after, limit, json } => {
            let entries = service::audit::list(p, after, limit)
                .await
                .map_err(refused)?;
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
