//! The command line's arguments (clap derive) and their Chinese help: every
//! command and flag is described with an `about` / `help` attribute in Chinese, and
//! [`command`] gives clap's own texts (headings, `-h`, usage, errors) in Chinese.

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use jiandu_core::Role;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "jiandu-server",
    version,
    about = "监督（Jiandu）中心平台：名录库、双随机抽取、同步、审核与汇总"
)]
pub struct Cli {
    #[arg(
        long,
        global = true,
        env = "JIANDU_CONFIG",
        hide_env = true,
        value_name = "文件",
        help = "配置文件（TOML：db、blobs、listen、max_body_bytes、session_idle_minutes、session_max_hours、secure_cookies）（环境变量 JIANDU_CONFIG）"
    )]
    pub(super) config: Option<PathBuf>,
    #[arg(
        long,
        global = true,
        env = "JIANDU_DB",
        hide_env = true,
        hide_env_values = true,
        value_name = "地址",
        help = "数据库：SQLite 文件路径（默认 .jiandu-data/server.sqlite）或 postgres://…（环境变量 JIANDU_DB）"
    )]
    pub(super) db: Option<String>,
    #[arg(
        long,
        global = true,
        env = "JIANDU_BLOBS",
        hide_env = true,
        value_name = "文件夹或 s3://…",
        help = "照片存储：文件夹（默认 .jiandu-data/blobs），或对象存储 s3://存储桶/前缀（地址、区域、密钥见配置文件 s3_* 或环境变量 JIANDU_S3_*）（环境变量 JIANDU_BLOBS）"
    )]
    pub(super) blobs: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    #[command(about = "运行 HTTP 服务")]
    Serve {
        #[arg(
            long,
            env = "JIANDU_LISTEN",
            hide_env = true,
            value_name = "地址:端口",
            help = "监听地址（默认 127.0.0.1:8080；端口 0 表示任选空闲端口）（环境变量 JIANDU_LISTEN）"
        )]
        listen: Option<SocketAddr>,
        #[arg(
            long,
            value_name = "文件",
            requires = "tls_key",
            help = "以 HTTPS 提供服务：证书链（PEM）；收到 SIGHUP 时重新读取证书和私钥"
        )]
        tls_cert: Option<std::path::PathBuf>,
        #[arg(
            long,
            value_name = "文件",
            requires = "tls_cert",
            help = "证书的私钥（PEM）"
        )]
        tls_key: Option<std::path::PathBuf>,
    },
    #[command(subcommand, about = "人员账号：添加、列出、停用、启用、设置密码")]
    User(UserCmd),
    #[command(subcommand, about = "已登记的设备：列出、吊销")]
    Device(DeviceCmd),
    #[command(subcommand, about = "名录库：导入检查对象、执法检查人员或回头看名单")]
    Registry(RegistryCmd),
    #[command(subcommand, about = "抽查计划：列出、查看")]
    Plan(PlanCmd),
    #[command(about = "双随机抽取：draw --plan 计划 --seed 种子，或使用子命令")]
    Draw(DrawArgs),
    #[command(subcommand, about = "组长审核：待审核列表、通过、退回")]
    Review(ReviewCmd),
    #[command(subcommand, about = "报表：汇总表、公示名单、进度")]
    Report(ReportCmd),
    #[command(subcommand, about = "文书：生成检查的存档 PDF")]
    Doc(DocCmd),
    #[command(subcommand, about = "审计日志：verify 校验哈希链，list 列出记录")]
    Audit(AuditCmd),
    #[command(about = "输出 API 的 OpenAPI 文档（JSON，无需数据库）")]
    Openapi,
    #[command(
        about = "向一个新的空数据库写入演示数据（名录库、人员、各角色账号、shanxi-2025 抽取和部分检查）"
    )]
    Demo {
        #[arg(long, default_value = crate::demo::DEFAULT_SEED, value_name = "种子",
              help = "演示数据的种子：相同的种子生成相同的数据")]
        seed: String,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum RevokeKindArg {
    #[value(help = "丢失：设备下次联系平台时清除本机密钥")]
    Lost,
    #[value(help = "停用：设备停止同步，本机数据可凭 PIN 码导出")]
    Retired,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum DocKindArg {
    #[value(help = "卫生监督意见书")]
    Opinion,
    #[value(help = "现场笔录")]
    Record,
    #[value(help = "证据照片")]
    Evidence,
}

#[derive(Debug, Subcommand)]
pub(super) enum DocCmd {
    #[command(about = "按平台数据生成一次检查的文书（与平板上的内容相同）")]
    Render {
        #[arg(long, value_name = "编号", help = "检查编号")]
        inspection: Uuid,
        #[arg(long, value_enum, value_name = "种类", help = "文书种类")]
        kind: DocKindArg,
        #[arg(long, value_name = "文件", help = "输出的 PDF 文件")]
        out: PathBuf,
        #[arg(
            long,
            value_name = "名称",
            help = "印在文书上的执法机关（默认取 JIANDU_AUTHORITY 或内置默认值）"
        )]
        authority: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum AuditCmd {
    #[command(about = "校验哈希链：完整时退出码 0，断开时 3（指出第一条有问题的记录）")]
    Verify {
        #[arg(
            long,
            value_name = "哈希",
            help = "此前在别处保存的链头哈希：它必须仍在链中"
        )]
        head: Option<String>,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "输出审计链的链头哈希（请定期抄存到数据库以外的地方）")]
    Head {
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "列出某个变更序号之后的审计记录")]
    List {
        #[arg(
            long,
            default_value_t = 0,
            value_name = "序号",
            help = "从此变更序号之后开始"
        )]
        after: i64,
        #[arg(
            long,
            default_value_t = 50,
            value_name = "条数",
            help = "最多列出几条（1–10000）"
        )]
        limit: usize,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum SummaryFormat {
    #[value(help = "逗号分隔文本（UTF-8，带 BOM）")]
    Csv,
    #[value(help = "Excel 表格，表头合并单元格与计划附表一致")]
    Xlsx,
    #[value(help = "JSON")]
    Json,
}

#[derive(Debug, Subcommand)]
pub(super) enum ReportCmd {
    #[command(about = "汇总表：按已审核通过的检查统计")]
    Summary {
        #[arg(long, value_name = "计划", help = "计划编号，例如 shanxi-2025")]
        plan: String,
        #[arg(
            long,
            value_name = "代码",
            help = "汇总表代码（见 plan show），例如 medical-summary"
        )]
        table: String,
        #[arg(
            long,
            value_enum,
            default_value = "csv",
            value_name = "格式",
            help = "输出格式"
        )]
        format: SummaryFormat,
        #[arg(
            long,
            value_name = "文件",
            help = "输出文件（xlsx 必须指定；默认输出到屏幕）"
        )]
        out: Option<PathBuf>,
    },
    #[command(about = "公示名单（一公开）：已检查单位及其结果类别")]
    Public {
        #[arg(long, value_name = "计划", help = "计划编号")]
        plan: String,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "进度：各类别抽取、已检查、已审核，对照报送时限")]
    Progress {
        #[arg(long, value_name = "计划", help = "计划编号")]
        plan: String,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum RoleArg {
    #[value(help = "检查人员")]
    Inspector,
    #[value(help = "组长")]
    TeamLead,
    #[value(help = "管理员")]
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
pub(super) enum UserCmd {
    #[command(about = "添加用户；密码从标准输入读取一行，或取 JIANDU_NEW_PASSWORD")]
    Add {
        #[arg(long, value_name = "用户名", help = "登录用的用户名")]
        username: String,
        #[arg(long, value_name = "姓名", help = "印在文书上的姓名")]
        name: String,
        #[arg(long, value_enum, value_name = "角色", help = "角色")]
        role: RoleArg,
        #[arg(long, value_name = "证号", help = "执法证号（检查人员必填）")]
        badge: Option<String>,
        #[arg(long, default_value = "", value_name = "科室", help = "科室或检查组")]
        team: String,
        #[arg(long, default_value = "", value_name = "区县", help = "所属区县")]
        district: String,
    },
    #[command(about = "列出用户")]
    List {
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "停用用户：不能登录，所有设备令牌失效，不参加抽取")]
    Disable {
        #[arg(value_name = "用户名", help = "用户名")]
        username: String,
    },
    #[command(about = "重新启用用户")]
    Enable {
        #[arg(value_name = "用户名", help = "用户名")]
        username: String,
    },
    #[command(about = "设置密码（标准输入或 JIANDU_NEW_PASSWORD），例如导入的执法人员")]
    Passwd {
        #[arg(value_name = "用户名", help = "用户名")]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum DeviceCmd {
    #[command(about = "吊销一台设备的令牌（丢失或停用的平板），不影响该用户的其他设备")]
    Revoke {
        #[arg(value_name = "设备编号", help = "设备编号（见 device list）")]
        device_id: Uuid,
        #[arg(
            long,
            value_enum,
            default_value = "retired",
            value_name = "方式",
            help = "lost：丢失（设备下次联系平台时清除本机密钥）；retired：停用（本机数据可凭 PIN 码导出）"
        )]
        kind: RevokeKindArg,
    },
    #[command(about = "列出设备")]
    List {
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum RegistryCmd {
    #[command(
        about = "导入 CSV 文件：检查对象、执法检查人员或回头看名单（按表头识别）；有问题时一条也不写入"
    )]
    Import {
        #[arg(value_name = "文件", help = "CSV 文件（UTF-8）")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum PlanCmd {
    #[command(about = "列出计划及其各个版本（来源、状态）")]
    List {
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "查看一个计划：检查表、抽检比例、汇总表、时限")]
    Show {
        #[arg(value_name = "计划", help = "计划编号")]
        id: String,
        #[arg(long, value_name = "版本", help = "版本号（默认：最新发布的版本）")]
        version: Option<u32>,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(
        about = "导入计划文件（TOML）：整体校验，有问题时列出全部问题且不写入；通过后存为待发布的新版本"
    )]
    Import {
        #[arg(value_name = "文件", help = "计划文件（TOML，UTF-8）")]
        file: PathBuf,
    },
    #[command(about = "发布计划的一个版本：发布后用于抽取并下发到平板")]
    Publish {
        #[arg(value_name = "计划", help = "计划编号")]
        id: String,
        #[arg(long, value_name = "版本", help = "要发布的版本号")]
        version: u32,
    },
    #[command(about = "导出计划的 TOML 原文（与导入时的文件逐字节相同）")]
    Export {
        #[arg(value_name = "计划", help = "计划编号")]
        id: String,
        #[arg(long, value_name = "版本", help = "版本号（默认：最新发布的版本）")]
        version: Option<u32>,
        #[arg(long, value_name = "文件", help = "输出文件（默认输出到屏幕）")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct DrawArgs {
    #[command(subcommand)]
    pub(super) sub: Option<DrawSub>,
    #[arg(long, value_name = "计划", help = "计划编号（见 plan list）")]
    pub(super) plan: Option<String>,
    #[arg(
        long,
        value_name = "种子",
        help = "种子，例如公开摇号的号码，或日期与见证人"
    )]
    pub(super) seed: Option<String>,
    #[arg(
        long,
        env = "JIANDU_OPERATOR",
        hide_env = true,
        value_name = "姓名",
        help = "执行人（记录在案；默认 $USER）（环境变量 JIANDU_OPERATOR）"
    )]
    pub(super) by: Option<String>,
    #[arg(long, help = "只试算并显示，不保存")]
    pub(super) dry_run: bool,
    #[arg(long, help = "以 JSON 输出")]
    pub(super) json: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum DrawSub {
    #[command(
        about = "按记录重新计算一次抽取并比对：一致时退出码 0，不一致时 3；或用 --inputs 与 --seed 不连数据库，按公示的输入重算"
    )]
    Verify {
        #[arg(
            value_name = "编号",
            help = "抽取记录编号",
            required_unless_present = "inputs",
            conflicts_with = "inputs"
        )]
        draw_id: Option<Uuid>,
        #[arg(
            long,
            value_name = "文件",
            requires = "seed",
            help = "公示的抽取输入文件（draw inputs 的输出）：不需要数据库"
        )]
        inputs: Option<PathBuf>,
        #[arg(long, value_name = "种子", help = "与 --inputs 一起：公示的种子")]
        seed: Option<String>,
        #[arg(
            long,
            value_name = "哈希",
            help = "与 --inputs 一起：公示的结果哈希，不一致时退出码 3"
        )]
        expect: Option<String>,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(
        about = "冻结计划的抽取输入（名录、人员、回避、回头看名单）并输出其哈希：先公示哈希，再当众产生种子"
    )]
    Freeze {
        #[arg(long, value_name = "计划", help = "计划编号（见 plan list）")]
        plan: String,
        #[arg(
            long,
            env = "JIANDU_OPERATOR",
            hide_env = true,
            value_name = "姓名",
            help = "执行人（记录在案；默认 $USER）"
        )]
        by: Option<String>,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "输出一次抽取的公示输入（规范 JSON），供任何人用 draw verify --inputs 重算")]
    Inputs {
        #[arg(value_name = "编号", help = "抽取记录编号")]
        draw_id: Uuid,
    },
    #[command(about = "查看一次抽取")]
    Show {
        #[arg(value_name = "编号", help = "抽取记录编号")]
        draw_id: Uuid,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "列出抽取记录")]
    List {
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "调整任务的一名检查人员（须写原因，受计划规定比例限制）")]
    Reassign {
        #[arg(long, value_name = "编号", help = "任务编号")]
        task: Uuid,
        #[arg(
            long,
            value_name = "人员",
            help = "被调整的检查人员：用户名、执法证号或编号"
        )]
        from: String,
        #[arg(
            long,
            value_name = "人员",
            help = "新的检查人员：用户名、执法证号或编号"
        )]
        to: String,
        #[arg(long, value_name = "原因", help = "调整原因")]
        reason: String,
        #[arg(
            long,
            env = "JIANDU_OPERATOR",
            hide_env = true,
            value_name = "姓名",
            help = "执行人（记录在案；默认 $USER）（环境变量 JIANDU_OPERATOR）"
        )]
        by: Option<String>,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum ReviewCmd {
    #[command(about = "列出某位组长本组待审核的检查")]
    Queue {
        #[arg(long = "as", value_name = "用户名", help = "以哪位组长的身份")]
        as_user: String,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "审核通过（锁定）：须写明所审核的版本；照片未传完时拒绝")]
    Approve {
        #[arg(long, value_name = "编号", help = "检查编号")]
        inspection: Uuid,
        #[arg(long, value_name = "版本", help = "所审核的版本（见 review queue）")]
        version: u64,
        #[arg(long = "as", value_name = "用户名", help = "以哪位组长的身份")]
        as_user: String,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
    #[command(about = "退回并附意见（意见同步到检查人员的设备）")]
    Return {
        #[arg(long, value_name = "编号", help = "检查编号")]
        inspection: Uuid,
        #[arg(long, value_name = "版本", help = "所审核的版本（见 review queue）")]
        version: u64,
        #[arg(long, value_name = "意见", help = "退回意见")]
        comment: String,
        #[arg(long = "as", value_name = "用户名", help = "以哪位组长的身份")]
        as_user: String,
        #[arg(long, help = "以 JSON 输出")]
        json: bool,
    },
}

pub(super) const HELP_TEMPLATE: &str = "\
{before-help}{about-with-newline}
用法：{usage}

{all-args}{after-help}";

/// The command line in Chinese: every command gets the Chinese help template, a
/// Chinese `-h/--help` (and `-V/--version` at the top), and Chinese headings.
pub(super) fn chinese(cmd: clap::Command, top: bool) -> clap::Command {
    let mut cmd = cmd
        .help_template(HELP_TEMPLATE)
        .subcommand_help_heading("命令")
        .subcommand_value_name("命令")
        .next_help_heading("选项")
        .disable_help_flag(true)
        .disable_help_subcommand(true)
        .arg(
            clap::Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("显示帮助"),
        );
    if top {
        cmd = cmd.disable_version_flag(true).arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("显示版本"),
        );
    }
    let args: Vec<clap::Id> = cmd.get_arguments().map(|a| a.get_id().clone()).collect();
    for id in args {
        cmd = cmd.mut_arg(id, |a| {
            if a.is_positional() {
                a.help_heading("参数")
            } else {
                a.help_heading("选项")
            }
        });
    }
    cmd.mut_subcommands(|sub| chinese(sub, false))
}

/// The clap command, with its Chinese help.
pub fn command() -> clap::Command {
    let mut cmd = chinese(Cli::command(), true);
    cmd.build();
    chinese_usage(&mut cmd);
    cmd
}

/// Usage lines with Chinese placeholders (clap writes `[OPTIONS]`), for a built
/// command and every subcommand.
pub(super) fn chinese_usage(cmd: &mut clap::Command) {
    let usage = cmd.render_usage().to_string();
    let usage = usage
        .trim_start_matches("Usage: ")
        .replace("[OPTIONS]", "[选项]")
        .replace("\n       ", "\n      ");
    *cmd = std::mem::take(cmd).override_usage(usage);
    for sub in cmd.get_subcommands_mut() {
        chinese_usage(sub);
    }
}

/// A clap error in Chinese: the kinds an operator meets, with the usage.
pub(super) fn parse_error(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ErrorKind};
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let what = |k: ContextKind| {
        e.get(k)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".to_owned())
    };
    let message = match e.kind() {
        ErrorKind::InvalidValue => format!(
            "参数 {} 的值“{}”无效",
            what(ContextKind::InvalidArg),
            what(ContextKind::InvalidValue)
        ),
        ErrorKind::UnknownArgument => {
            format!("无法识别的参数“{}”", what(ContextKind::InvalidArg))
        }
        ErrorKind::InvalidSubcommand => {
            format!("无法识别的命令“{}”", what(ContextKind::InvalidSubcommand))
        }
        ErrorKind::MissingRequiredArgument => {
            format!("缺少必需的参数：{}", what(ContextKind::InvalidArg))
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "请指定一个命令（用 --help 查看）".to_owned()
        }
        ErrorKind::ValueValidation => format!(
            "参数 {} 的值“{}”不正确",
            what(ContextKind::InvalidArg),
            what(ContextKind::InvalidValue)
        ),
        ErrorKind::ArgumentConflict => format!(
            "参数 {} 不能与 {} 同时使用",
            what(ContextKind::InvalidArg),
            what(ContextKind::PriorArg)
        ),
        _ => format!("命令行参数有误：{}", e.kind()),
    };
    eprintln!("错误：{message}\n（用 jiandu-server --help 查看用法）");
    ExitCode::from(2)
}
