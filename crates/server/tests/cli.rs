//! The `jiandu-server` binary, run as an administrator would: users, registry
//! import (good and bad files), plans, draw and draw verify (also after tampering),
//! a team lead's review from the terminal, the Chinese help, and `serve` on
//! 127.0.0.1:0 configured from a TOML file and JIANDU_* variables.
#![allow(clippy::unwrap_used)]

mod common;

use common::{code, institutions_csv};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jiandu-server"));
    c.env_remove("JIANDU_DB")
        .env_remove("JIANDU_CONFIG")
        .env_remove("JIANDU_NEW_PASSWORD")
        .env("JIANDU_LOG", "warn");
    c
}

/// Runs the binary against the database in `dir`, feeding `stdin`.
fn run(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let db = dir.join("server.sqlite");
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn count(dir: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(dir.join("server.sqlite")).unwrap();
    c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn users_are_added_listed_and_disabled() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(&run(
        p,
        &[
            "user",
            "add",
            "--username",
            "admin",
            "--name",
            "管理员",
            "--role",
            "admin",
        ],
        "管理员的密码123\n",
    ));
    let o = run(
        p,
        &[
            "user",
            "add",
            "--username",
            "zhang",
            "--name",
            "张三",
            "--role",
            "inspector",
        ],
        "password123\n",
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("执法证号"), "{}", text(&o.stderr));
    let o = run(
        p,
        &[
            "user",
            "add",
            "--username",
            "li",
            "--name",
            "李四",
            "--role",
            "team-lead",
        ],
        "short\n",
    );
    assert!(!o.status.success(), "password policy");
    ok(&run(
        p,
        &[
            "user",
            "add",
            "--username",
            "zhang",
            "--name",
            "张三",
            "--role",
            "inspector",
            "--badge",
            "SX-01",
            "--team",
            "监督一科",
            "--district",
            "小店区",
        ],
        "password123\n",
    ));
    let o = run(
        p,
        &[
            "user",
            "add",
            "--username",
            "zhang",
            "--name",
            "重复",
            "--role",
            "admin",
        ],
        "password123\n",
    );
    assert!(text(&o.stderr).contains("已存在"), "{}", text(&o.stderr));
    let list: serde_json::Value =
        serde_json::from_str(&ok(&run(p, &["user", "list", "--json"], ""))).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|u| u.get("password_hash").is_none()));
    let zhang = list.iter().find(|u| u["username"] == "zhang").unwrap();
    assert_eq!(
        (zhang["role"].as_str(), zhang["badge_no"].as_str()),
        (Some("inspector"), Some("SX-01"))
    );
    ok(&run(p, &["user", "disable", "zhang"], ""));
    assert!(ok(&run(p, &["user", "list"], "")).contains("已停用"));
    let o = run(p, &["user", "disable", "nobody"], "");
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("不存在"));
    let o = run(
        p,
        &["device", "revoke", "0197a000-0000-7000-8000-000000000000"],
        "",
    );
    assert!(!o.status.success(), "unknown device");
}

#[test]
fn registry_import_reports_bad_rows_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut bad = institutions_csv(&[("hospital", 3)], 1, "小店区");
    bad.push_str(&format!(
        "坏单位,{}X,P9,hospital,小店区,地址,张三,0351-1234567\n",
        &code(9)[..17]
    ));
    bad.push_str("另一个,914403001922038216,P10,牙科,小店区,地址,张三,0351-1234567\n");
    std::fs::write(p.join("bad.csv"), &bad).unwrap();
    let o = run(p, &["registry", "import", "bad.csv"], "");
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("第 5 行") && err.contains("校验位"), "{err}");
    assert!(err.contains("第 6 行") && err.contains("牙科"), "{err}");
    assert!(err.contains("未写入任何数据"), "{err}");
    assert_eq!(count(p, "institutions"), 0, "nothing half-imported");

    std::fs::write(
        p.join("good.csv"),
        institutions_csv(&[("hospital", 3), ("clinic", 4)], 1, "小店区"),
    )
    .unwrap();
    let out = ok(&run(p, &["registry", "import", "good.csv"], ""));
    assert!(out.contains("新增单位 7"), "{out}");
    let out = ok(&run(p, &["registry", "import", "good.csv"], ""));
    assert!(out.contains("更新单位 7"), "re-import updates: {out}");
    assert_eq!(count(p, "institutions"), 7);
}

#[test]
fn plans_are_listed_and_shown() {
    let d = tempfile::tempdir().unwrap();
    let out = ok(&run(d.path(), &["plan", "list"], ""));
    for id in ["county-2024", "cq-district-2022", "shanxi-2025"] {
        assert!(out.contains(id), "{out}");
    }
    let list: serde_json::Value =
        serde_json::from_str(&ok(&run(d.path(), &["plan", "list", "--json"], ""))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let human = ok(&run(d.path(), &["plan", "show", "shanxi-2025"], ""));
    assert!(
        human.contains("晋卫应急函〔2025〕23号") && human.contains("15%"),
        "{human}"
    );
    let plan: serde_json::Value = serde_json::from_str(&ok(&run(
        d.path(),
        &["plan", "show", "shanxi-2025", "--json"],
        "",
    )))
    .unwrap();
    assert_eq!(plan["id"], "shanxi-2025");
    assert_eq!(plan["reassignment_cap_percent"], 15);
    let o = run(d.path(), &["plan", "show", "no-such-plan"], "");
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("不存在"));
}

#[test]
fn draw_prints_tasks_and_verify_detects_tampering() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("units.csv"),
        institutions_csv(
            &[("hospital", 9), ("clinic", 25), ("village_clinic", 12)],
            1,
            "小店区",
        ),
    )
    .unwrap();
    let mut staff = "姓名,执法证号,科室,区县,回避单位\n".to_owned();
    for n in 1..=6 {
        staff.push_str(&format!("检查员{n},SX-{n:04},监督一科,小店区,\n"));
    }
    std::fs::write(p.join("staff.csv"), staff).unwrap();
    ok(&run(p, &["registry", "import", "units.csv"], ""));
    ok(&run(p, &["registry", "import", "staff.csv"], ""));

    let o = run(p, &["draw", "--plan", "shanxi-2025"], "");
    assert!(!o.status.success(), "seed required");
    let human = ok(&run(
        p,
        &[
            "draw",
            "--plan",
            "shanxi-2025",
            "--seed",
            "试算",
            "--dry-run",
        ],
        "",
    ));
    assert!(
        human.contains("试算，未保存") && human.contains("检查人员：检查员"),
        "{human}"
    );
    assert_eq!(count(p, "draws"), 0, "dry run records nothing");
    let audited = |action: &str| -> i64 {
        let c = rusqlite::Connection::open(p.join("server.sqlite")).unwrap();
        c.query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = ?1",
            [action],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(audited("draw.dry_run"), 1, "but leaves a trace");

    // A real draw needs the inputs frozen (and their hash published) first.
    let o = run(p, &["draw", "--plan", "shanxi-2025", "--seed", "早了"], "");
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("尚未冻结"), "{}", text(&o.stderr));
    let frozen = ok(&run(p, &["draw", "freeze", "--plan", "shanxi-2025"], ""));
    assert!(frozen.contains("输入哈希："), "{frozen}");
    assert_eq!(audited("draw.freeze"), 1);
    let frozen_hash = frozen
        .lines()
        .find_map(|l| l.strip_prefix("输入哈希："))
        .unwrap()
        .to_owned();

    let v: serde_json::Value = serde_json::from_str(&ok(&run(
        p,
        &[
            "draw",
            "--plan",
            "shanxi-2025",
            "--seed",
            "2025-05-08 公开摇号",
            "--by",
            "王科长",
            "--json",
        ],
        "",
    )))
    .unwrap();
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["created_by"], "王科长");
    // 附表1: 9 hospitals at 12% → 2; 25 clinics at 5% → 2; 12 village clinics at
    // 5% → 1. 附件2 (blood): hospitals at 6% → 1.
    assert_eq!(v["tasks"].as_array().unwrap().len(), 6, "{v}");
    let again = run(p, &["draw", "--plan", "shanxi-2025", "--seed", "x"], "");
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("已经抽取过"));

    let out = ok(&run(p, &["draw", "verify", &id], ""));
    assert!(out.starts_with("一致"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&ok(&run(p, &["draw", "verify", &id, "--json"], ""))).unwrap();
    assert_eq!(report["matches"], true);
    assert_eq!(
        v["inputs_hash"],
        frozen_hash.as_str(),
        "the draw used the freeze"
    );

    // Anyone recomputes it from the published inputs and the seed, with no database.
    let published = ok(&run(p, &["draw", "inputs", &id], ""));
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("inputs.json"), &published).unwrap();
    let offline = ok(&run(
        elsewhere.path(),
        &[
            "draw",
            "verify",
            "--inputs",
            "inputs.json",
            "--seed",
            "2025-05-08 公开摇号",
            "--json",
        ],
        "",
    ));
    assert!(
        !elsewhere.path().join("server.sqlite").exists(),
        "no database was opened"
    );
    let offline: serde_json::Value = serde_json::from_str(&offline).unwrap();
    assert_eq!(offline["inputs_hash"], frozen_hash.as_str());
    assert_eq!(offline["tasks"].as_array().unwrap().len(), 6);
    let hash = offline["tasks_hash"].as_str().unwrap();
    let agrees = run(
        elsewhere.path(),
        &[
            "draw",
            "verify",
            "--inputs",
            "inputs.json",
            "--seed",
            "2025-05-08 公开摇号",
            "--expect",
            hash,
        ],
        "",
    );
    assert!(agrees.status.success());
    let other_seed = run(
        elsewhere.path(),
        &[
            "draw",
            "verify",
            "--inputs",
            "inputs.json",
            "--seed",
            "另一个种子",
            "--expect",
            hash,
        ],
        "",
    );
    assert_eq!(
        other_seed.status.code(),
        Some(3),
        "another seed, another draw"
    );

    // Re-assignment by badge number, with a reason; recorded.
    let t0 = &v["tasks"][0];
    let from = t0["inspectors"][0]["badge_no"].as_str().unwrap().to_owned();
    let on_task: Vec<&str> = t0["inspectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["badge_no"].as_str().unwrap())
        .collect();
    let to = (1..=6)
        .map(|n| format!("SX-{n:04}"))
        .find(|b| !on_task.contains(&b.as_str()))
        .unwrap();
    let task = t0["id"].as_str().unwrap();
    let o = run(
        p,
        &[
            "draw",
            "reassign",
            "--task",
            task,
            "--from",
            &from,
            "--to",
            &to,
            "--reason",
            "病假",
            "--by",
            "王科长",
        ],
        "",
    );
    // 6 drawn inspectors × 15% = 0.9 → no re-assignment allowed at all.
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("已达上限"), "{}", text(&o.stderr));
    assert_eq!(count(p, "reassignments"), 0);

    // Tamper with the stored tasks: verify must say so and exit 3.
    let c = rusqlite::Connection::open(p.join("server.sqlite")).unwrap();
    c.execute(
        "UPDATE tasks SET drawn_inspectors = (SELECT drawn_inspectors FROM tasks WHERE position = 1) WHERE position = 0",
        [],
    )
    .unwrap();
    let o = run(p, &["draw", "verify", &id], "");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("不一致"));
    // Tamper with the recorded inputs: detected through the inputs hash.
    c.execute("UPDATE draws SET seed = '另一个种子'", [])
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&text(
        &run(p, &["draw", "verify", &id, "--json"], "").stdout,
    ))
    .unwrap();
    assert_eq!(report["matches"], false);
}

#[test]
fn serve_listens_where_told_and_reads_settings() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let db = p.join("from-file.sqlite");
    std::fs::write(
        p.join("jiandu.toml"),
        format!(
            "db = {:?}\nlisten = \"127.0.0.1:0\"\n",
            db.to_string_lossy()
        ),
    )
    .unwrap();
    let mut child = bin()
        .args(["serve"])
        .env("JIANDU_CONFIG", p.join("jiandu.toml"))
        .env("JIANDU_BLOBS", p.join("blobs"))
        .current_dir(p)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("jiandu-server listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let health: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{addr}/api/v1/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["backend"], "sqlite");
    assert!(db.exists(), "database from the settings file");
    assert!(p.join("blobs").is_dir(), "blob folder from JIANDU_BLOBS");
}

#[test]
fn help_and_errors_speak_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for args in [
        vec!["--help"],
        vec!["draw", "--help"],
        vec!["review", "approve", "--help"],
        vec!["report", "summary", "--help"],
        vec!["user", "add", "--help"],
    ] {
        let help = ok(&run(p, &args, ""));
        assert!(help.contains("用法："), "{args:?}: {help}");
        assert!(help.contains("显示帮助"), "{args:?}: {help}");
        for english in [
            "Usage",
            "Options",
            "Commands",
            "Arguments",
            "Print help",
            "[OPTIONS]",
            "[env:",
        ] {
            assert!(
                !help.contains(english),
                "{args:?} shows {english:?}: {help}"
            );
        }
    }
    let top = ok(&run(p, &["--help"], ""));
    for command in ["serve", "registry", "draw", "review", "report", "audit"] {
        assert!(top.contains(command), "{top}");
    }
    let o = run(p, &["drwa"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("无法识别的命令“drwa”"),
        "{}",
        text(&o.stderr)
    );
    let o = run(p, &["draw", "verify", "not-an-id"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("“not-an-id”不正确"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_team_lead_reviews_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    ok(&run(p, &["demo"], ""));
    // 李娜's queue has the demo's submitted inspection.
    let queue: serde_json::Value = serde_json::from_str(&ok(&run(
        p,
        &["review", "queue", "--as", "lina", "--json"],
        "",
    )))
    .unwrap();
    let waiting = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["inspection"]["status"] == "submitted")
        .unwrap();
    let id = waiting["inspection"]["id"].as_str().unwrap().to_owned();
    let version = waiting["inspection"]["version"].as_u64().unwrap();
    // An inspector cannot approve, not even from the terminal.
    let o = run(
        p,
        &[
            "review",
            "approve",
            "--inspection",
            &id,
            "--version",
            &version.to_string(),
            "--as",
            "zhangwei",
        ],
        "",
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("只有组长可以审核"),
        "{}",
        text(&o.stderr)
    );
    // A stale version is refused and names the current one.
    let o = run(
        p,
        &[
            "review",
            "approve",
            "--inspection",
            &id,
            "--version",
            &(version - 1).to_string(),
            "--as",
            "lina",
        ],
        "",
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("不是最新版本"),
        "{}",
        text(&o.stderr)
    );
    let out = ok(&run(
        p,
        &[
            "review",
            "approve",
            "--inspection",
            &id,
            "--version",
            &version.to_string(),
            "--as",
            "lina",
        ],
        "",
    ));
    assert!(out.contains("已审核通过"), "{out}");
    // Recorded as the operator acting for 李娜, and the inspection is locked.
    let list: Vec<serde_json::Value> = serde_json::from_str(&ok(&run(
        p,
        &[
            "audit", "list", "--after", "0", "--limit", "10000", "--json",
        ],
        "",
    )))
    .unwrap();
    let last = list.last().unwrap();
    assert_eq!(last["action"], "inspection.review");
    assert!(
        last["actor"].as_str().unwrap().ends_with("（lina）"),
        "{last}"
    );
    let o = run(
        p,
        &[
            "review",
            "return",
            "--inspection",
            &id,
            "--version",
            &(version + 1).to_string(),
            "--comment",
            "再看看",
            "--as",
            "lina",
        ],
        "",
    );
    assert!(!o.status.success(), "an approved inspection is locked");
}

/// A bureau's plan from the terminal: import (a broken file refused with every
/// problem, nothing stored), list, publish, show and export byte for byte.
#[test]
fn plans_are_imported_published_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let good = r#"id = "clinics-2026"
year = 2026
title = "2026年诊所监督抽查计划"
authority = "测试县卫生健康局"

[[checklists]]
code = "clinic"
name = "附表1"
title = "诊所抽查计划表"

[[checklists.rows]]
number = "1"
label = "诊所"
categories = ["clinic"]
national = { count = 2 }

[[checklists.items]]
number = "1"
title = "消毒管理"
text = "消毒隔离制度落实情况"

[[checklists.items.points]]
code = "cl.1.1"
text = "消毒记录"
"#;
    let broken = good
        .replace("categories = [\"clinic\"]", "categories = [\"starship\"]")
        .replace("year = 2026", "year = 1999");
    std::fs::write(p.join("broken.toml"), &broken).unwrap();
    std::fs::write(p.join("good.toml"), good).unwrap();
    let o = run(p, &["plan", "import", "broken.toml"], "");
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert!(err.contains("year：年度不在 2000–2100 之间"), "{err}");
    assert!(err.contains("未知的机构类别“starship”"), "{err}");
    assert!(err.contains("2 个问题"), "{err}");
    let out = ok(&run(p, &["plan", "import", "good.toml"], ""));
    assert!(out.contains("第 1 版") && out.contains("待发布"), "{out}");
    let list = ok(&run(p, &["plan", "list"], ""));
    assert!(list.contains("clinics-2026\t第1版\t2026年"), "{list}");
    assert!(list.contains("导入\t待发布"), "{list}");
    assert!(
        list.contains("shanxi-2025\t第1版\t2025年"),
        "the built-in plans: {list}"
    );
    let out = ok(&run(
        p,
        &["plan", "publish", "clinics-2026", "--version", "1"],
        "",
    ));
    assert!(out.contains("已发布"), "{out}");
    let shown = ok(&run(p, &["plan", "show", "clinics-2026"], ""));
    assert!(
        shown.contains("版本：第 1 版（已发布）") && shown.contains("消毒管理"),
        "{shown}"
    );
    ok(&run(
        p,
        &["plan", "export", "clinics-2026", "--out", "back.toml"],
        "",
    ));
    assert_eq!(std::fs::read_to_string(p.join("back.toml")).unwrap(), good);
    let o = run(p, &["plan", "show", "clinics-2026", "--version", "9"], "");
    assert!(
        text(&o.stderr).contains("没有第 9 版"),
        "{}",
        text(&o.stderr)
    );
}

/// A self-signed certificate for 127.0.0.1 (openssl), as (cert PEM path, key path).
fn self_signed(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl req");
    (cert, key)
}

/// Kills the server when the test ends, also when it fails (a server left running
/// would hold whatever the test inherited, e.g. a build lock).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_speaks_tls_and_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let (cert, key) = self_signed(p, "first");
    let (cert2, key2) = self_signed(p, "second");
    let (live_cert, live_key) = (p.join("live.crt"), p.join("live.key"));
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let mut child = bin()
        .arg("--db")
        .arg(p.join("server.sqlite"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&live_cert)
        .arg("--tls-key")
        .arg(&live_key)
        .env("JIANDU_BLOBS", p.join("blobs"))
        .current_dir(p)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("jiandu-server listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    assert!(base.starts_with("https://"), "{base}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let health = |trust: &Path| {
        let pem = std::fs::read(trust).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let url = format!("{base}/api/v1/health");
        rt.block_on(async move { client.get(url).send().await.map(|r| r.status().as_u16()) })
    };
    assert_eq!(health(&cert).unwrap(), 200);
    assert!(health(&cert2).is_err(), "not the second certificate yet");
    // Plain HTTP is not served on the TLS port.
    let plain = rt.block_on(reqwest::get(
        base.replace("https://", "http://") + "/api/v1/health",
    ));
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // A renewed certificate, then SIGHUP.
    std::fs::copy(&cert2, &live_cert).unwrap();
    std::fs::copy(&key2, &live_key).unwrap();
    let ok = Command::new("kill")
        .args(["-HUP", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut reloaded = false;
    for _ in 0..50 {
        if health(&cert2).is_ok() {
            reloaded = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(child);
    assert!(reloaded, "the second certificate is served after SIGHUP");
}
