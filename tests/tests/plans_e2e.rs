//! Plans as data, end to end (issue 12): a plan written only here — a new category
//! of unit (养老机构内设医疗机构), its own checklist and its own 汇总表 — goes through the
//! whole chain on the REAL server (SQLite, and PostgreSQL when `JIANDU_TEST_PG` is
//! set) with a REAL device store and sync engine:
//!
//! import over HTTP; a broken copy refused with every problem and nothing stored;
//! publish; the registry takes units of the plan's new category; draw; the
//! inspector's tablet pulls the plan with its tasks and works one offline with it;
//! a corrected version 2 is published while a second inspection of version 1 is in
//! progress, and the tablet finishes it on version 1; submission, approval; the
//! archive 现场笔录 carries the plan's wording (read back with pdftotext); the 汇总表
//! equals a hand-made table and counts both inspections under version 1.
#![allow(clippy::unwrap_used)]

use jiandu_core::{Outcome, PublicCategory, Verdict};
use jiandu_server::model::NewUser;
use jiandu_server::store::{ServerStore, Stamp};
use jiandu_store::Answer;
use jiandu_sync::{CancelToken, SyncConfig};
use jiandu_tests::store_fixtures::templates;
use jiandu_tests::sync_fixtures::{Device, ServerDb, at, seed};
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const PLAN: &str = "eldercare-2026";

/// The plan, as a bureau would write it (no `seed`: not a transcription).
fn plan_file(version_note: &str, extra_point: bool) -> String {
    let extra = if extra_point {
        r#"
[[checklists.items.points]]
code = "ec.2.3"
text = "护理记录"
feeds = ["ec-summary/records"]
"#
    } else {
        ""
    };
    format!(
        r#"# 测试用计划：只写在测试里。{version_note}
id = "{PLAN}"
year = 2026
title = "2026年养老机构内设医疗机构监督抽查计划"
authority = "测试市卫生健康委员会"
document_number = "测卫监函〔2026〕7号"
reassignment_cap_percent = 20
deadlines = [{{ date = "2026-12-20", what = "报送抽查结果" }}]

[[categories]]
code = "elderly_care_clinic"
name = "养老机构内设医疗机构"
kind = "medical"

[[checklists]]
code = "eldercare"
name = "附表1"
title = "养老机构内设医疗机构抽查计划表"

[[checklists.rows]]
number = "1"
label = "养老机构内设医疗机构"
categories = ["elderly_care_clinic"]
national = {{ percent = 50 }}

[[checklists.items]]
number = "1"
title = "执业资质"
text = "养老机构内设医疗机构执业登记或备案情况"

[[checklists.items.points]]
code = "ec.1.1"
text = "执业登记或备案"
feeds = ["ec-summary/licence"]

[[checklists.items]]
number = "2"
title = "医疗文书与护理管理"
text = "病历书写及护理记录情况"

[[checklists.items.points]]
code = "ec.2.1"
text = "病历书写"
feeds = ["ec-summary/records"]

[[checklists.items.points]]
code = "ec.2.2"
text = "药品管理"
{extra}
[[summaries]]
code = "ec-summary"
name = "附表2"
title = "养老机构内设医疗机构监督抽查情况汇总表"
sources = ["eldercare"]
row_header = "单位类别"
total_label = "合计"
rows = [{{ label = "养老机构内设医疗机构", categories = ["elderly_care_clinic"] }}]
columns = [
  {{ code = "population", label = "辖区内单位总数", kind = "population" }},
  {{ code = "inspected", label = "检查单位数", kind = "inspected" }},
  {{ code = "licence", label = "执业资质不符合要求单位数", header = ["不合格情况"], kind = "indicator" }},
  {{ code = "records", label = "医疗文书不符合要求单位数", header = ["不合格情况"], kind = "indicator" }},
  {{ code = "cases", label = "查处案件数", kind = "cases" }},
]
"#
    )
}

fn config() -> SyncConfig {
    SyncConfig {
        request_timeout: Duration::from_secs(20),
        ..SyncConfig::default()
    }
}

async fn sync(dev: &Device, url: &str) -> jiandu_sync::SyncReport {
    dev.engine(url, config())
        .sync_once(&CancelToken::new(), &|_| {})
        .await
        .unwrap()
}

struct Api {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn enroll(base: &str, username: &str, password: &str) -> Api {
        let http = reqwest::Client::new();
        let v: Value = http
            .post(format!("{base}/api/v1/devices/enroll"))
            .json(&json!({"username": username, "password": password, "device_name": "测试"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            base: base.to_owned(),
            http,
            token: v["token"].as_str().unwrap().to_owned(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn import(&self, toml: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/plans", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/toml")
            .body(toml.to_owned())
            .send()
            .await
            .unwrap()
    }
}

/// A valid 统一社会信用代码 numbered `n`.
fn code(n: u32) -> String {
    let body = format!("91140100{n:09}");
    let c = jiandu_server::credit_code::check_char(&body).unwrap();
    format!("{body}{c}")
}

async fn whole_chain(db: ServerDb) {
    let store: std::sync::Arc<dyn ServerStore> = db.open().await;
    // People: a lead and two inspectors of one team (sync_fixtures), an admin. The
    // fixture draw of `seed` has no tasks: every task here is the new plan's.
    let world = seed(&*store, 0).await;
    let hash = jiandu_server::auth::hash_password("管理员的密码-1").unwrap();
    store
        .create_user(
            &Stamp::system(chrono::Utc::now()),
            NewUser {
                id: Uuid::now_v7(),
                username: "boss".into(),
                display_name: "管理员".into(),
                role: jiandu_core::Role::Admin,
                badge_no: None,
                team: String::new(),
                district: String::new(),
                password_hash: Some(hash),
                created_at: chrono::Utc::now(),
            },
        )
        .await
        .unwrap();
    let server = db.start();
    let url = server.url();
    let admin = Api::enroll(&url, "boss", "管理员的密码-1").await;

    // A broken copy: a feed to a column that does not exist and a row of an
    // unknown category. Refused with both problems, nothing stored.
    let broken = plan_file("", false)
        .replace(
            r#"feeds = ["ec-summary/licence"]"#,
            r#"feeds = ["ec-summary/wastes"]"#,
        )
        .replace(
            r#"categories = ["elderly_care_clinic"]
national"#,
            r#"categories = ["elderly_care_clinic", "space_station"]
national"#,
        );
    let r = admin.import(&broken).await;
    assert_eq!(r.status(), 422, "{}", db.backend);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "invalid_plan");
    let details: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        details.iter().any(
            |d| d.contains("checklists[eldercare].items[1].points[ec.1.1]")
                && d.contains("feeds 指向不存在的汇总表栏目“ec-summary/wastes”")
        ),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("未知的机构类别“space_station”")),
        "{details:?}"
    );
    assert!(store.plan_versions(Some(PLAN)).await.unwrap().is_empty());

    // The good file: a draft, then published.
    let r = admin.import(&plan_file("第1版", false)).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v1: Value = admin.get("/plans").await.json().await.unwrap();
    let mine: Vec<&Value> = v1
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == PLAN)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0]["version"].as_u64(), mine[0]["state"].as_str()),
        (Some(1), Some("draft"))
    );
    assert!(mine[0]["seed"].is_null(), "a bureau's own plan has no seed");
    // An identical file again: nothing new to review.
    assert_eq!(admin.import(&plan_file("第1版", false)).await.status(), 409);
    // A draft is not drawn.
    let r = admin
        .post("/draws", json!({"plan_id": PLAN, "seed": "太早了"}))
        .await;
    assert_eq!(r.status(), 404, "a draft is not drawn");
    let r = admin
        .post(&format!("/plans/{PLAN}/versions/1/publish"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    // The TOML comes back byte for byte.
    let source = admin
        .get(&format!("/plans/{PLAN}/source"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(source, plan_file("第1版", false));

    // The registry takes units of the plan's new category; the draw takes half.
    let mut csv =
        "名称,统一社会信用代码,执业许可证登记号,类别,区县,地址,法定代表人,联系电话\n".to_owned();
    for n in 1..=4u32 {
        csv.push_str(&format!(
            "夕阳红养老院医务室{n},{},PDY{n:08},养老机构内设医疗机构,小店区,小店区养老路{n}号,院长{n},0351-765432{n}\n",
            code(n)
        ));
    }
    let p = jiandu_server::service::Platform::new(store.clone(), templates());
    jiandu_server::service::registry::import(
        &p,
        &jiandu_server::service::Actor::system(),
        chrono::Utc::now(),
        csv.as_bytes(),
    )
    .await
    .unwrap();
    let r = admin.post("/draws/freeze", json!({"plan_id": PLAN})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = admin
        .post(
            "/draws",
            json!({"plan_id": PLAN, "seed": "2026年公开摇号 07 19 23"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let draw: Value = r.json().await.unwrap();
    assert_eq!(draw["plan_version"], 1);
    let tasks: Vec<Uuid> = draw["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(tasks.len(), 2, "50% of 4 units");

    // The inspector's tablet pulls the plan with its tasks, then works offline.
    let zhang = &world.inspectors[0];
    let dev = Device::enrolled(zhang, &url).await;
    let report = sync(&dev, &url).await;
    assert!(report.changes_pulled >= 3, "{report:?}");
    let plans = dev.with(|s| s.plans(&templates())).unwrap();
    let plan = plans
        .plan_version(PLAN, 1)
        .expect("the tablet has the plan its tasks use");
    assert_eq!(plan.title, "2026年养老机构内设医疗机构监督抽查计划");
    assert_eq!(
        plans
            .catalogue
            .get(&"elderly_care_clinic".into())
            .map(|c| c.name.as_str()),
        Some("养老机构内设医疗机构")
    );
    let task = dev.with(|s| s.task(tasks[0])).unwrap();
    assert_eq!((task.plan_id.as_str(), task.plan_version), (PLAN, 1));
    let actor = zhang.actor.clone();
    let answer =
        // `t0`: when the inspection started; its answers come after (the platform
        // refuses an inspection that ends before it starts).
        |s: &mut jiandu_store::Store, plans: &jiandu_core::templates::TemplateSet, insp, t0: i64| {
            let answers = [
                Answer {
                    point: "ec.1.1",
                    verdict: Verdict::Compliant,
                    observation: "",
                },
                Answer {
                    point: "ec.2.1",
                    verdict: Verdict::NonCompliant,
                    observation: "抽查3份病历，2份未记录过敏史",
                },
                Answer {
                    point: "ec.2.2",
                    verdict: Verdict::Compliant,
                    observation: "",
                },
            ];
            s.record_findings(plans, insp, &answers, &actor, at(t0 + 20))
                .unwrap();
            s.set_outcome(
                insp,
                &Outcome {
                    category: PublicCategory::Corrected,
                    penalty: None,
                    opinion: Some("责令立即改正".into()),
                    unreachable_reason: None,
                },
                &actor,
                at(t0 + 40),
            )
            .unwrap();
            s.submit(plans, insp, &actor, at(t0 + 50)).unwrap();
        };
    let first = dev
        .with(|s| s.start_inspection(tasks[0], "养老院医务室", &actor, at(10)))
        .unwrap()
        .inspection_id;
    dev.with(|s| answer(s, &plans, first, 0));
    // The second inspection starts on version 1 …
    let second = dev
        .with(|s| s.start_inspection(tasks[1], "养老院医务室", &actor, at(60)))
        .unwrap()
        .inspection_id;
    sync(&dev, &url).await;

    // … while the bureau publishes a corrected version 2 (one more point).
    let r = admin.import(&plan_file("第2版：增加护理记录", true)).await;
    assert_eq!(r.status(), 201);
    let v2: Value = r.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    admin
        .post(&format!("/plans/{PLAN}/versions/2/publish"), json!({}))
        .await;
    let shown: Value = admin
        .get(&format!("/plans/{PLAN}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        shown.to_string().contains("护理记录"),
        "the plan shown is the newest published"
    );
    sync(&dev, &url).await;
    // The tablet finishes the second inspection with version 1: its task did not
    // move, and version 1's points are the ones to answer.
    let task2 = dev.with(|s| s.task(tasks[1])).unwrap();
    assert_eq!(task2.plan_version, 1, "drawn tasks keep their version");
    let plans = dev.with(|s| s.plans(&templates())).unwrap();
    dev.with(|s| answer(s, &plans, second, 60));
    sync(&dev, &url).await;

    // The lead approves both.
    let lead = Api::enroll(&url, &world.lead.username, &world.lead.password).await;
    for id in [first, second] {
        let v = dev.with(|s| s.load_inspection(id)).unwrap().version;
        let r = lead
            .post(&format!("/inspections/{id}/approve"), json!({"version": v}))
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    // The archive 现场笔录 prints the plan's own wording.
    let pdf = admin
        .get(&format!("/inspections/{first}/documents/record.pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("record.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    let text = String::from_utf8_lossy(&out.stdout).replace(['\n', ' '], "");
    for wording in ["医疗文书与护理管理", "抽查3份病历，2份未记录过敏史"] {
        assert!(text.contains(wording), "{wording} in {text}");
    }

    // The 汇总表, by hand: 4 units, 2 inspected, both 不符合 on 病历 (ec.2.1 feeds
    // records), none on licence, no cases; counted under version 1.
    let r: Value = admin
        .get(&format!("/reports/summary?plan={PLAN}&table=ec-summary"))
        .await
        .json()
        .await
        .unwrap();
    let cells = |row: usize| -> Vec<String> {
        r["rows"][row]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].to_string())
            .collect()
    };
    assert_eq!(r["plan_version"], 1, "counted under the version drawn");
    assert_eq!(r["rows"][0]["label"], "养老机构内设医疗机构");
    assert_eq!(cells(0), vec!["4", "2", "0", "2", "0"], "{r}");
    assert_eq!(r["rows"][1]["label"], "合计");
    assert_eq!(cells(1), vec!["4", "2", "0", "2", "0"]);
    let progress: Value = admin
        .get(&format!("/reports/progress?plan={PLAN}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(progress["plan_version"], 1, "the version drawn");
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bureaus_own_plan_goes_through_the_whole_chain_sqlite() {
    whole_chain(ServerDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bureaus_own_plan_goes_through_the_whole_chain_postgres() {
    if let Some(db) = ServerDb::postgres("plans").await {
        whole_chain(db).await;
    }
}

/// An older app meeting a plan of a later format (or with a field it does not
/// know) stores it, and says 请更新应用 on its tasks instead of mis-rendering them.
#[test]
fn an_older_app_asks_for_an_update_instead_of_misreading_a_plan() {
    use jiandu_core::protocol::{Change, ChangeBody, PlanChange, PullPage};
    use jiandu_tests::store_fixtures::{PLAN_ID, task};
    let dir = tempfile::tempdir().unwrap();
    let mut store = jiandu_store::Store::open(dir.path().join("device.db")).unwrap();
    let builtin = templates();
    let mut plan = serde_json::to_value(builtin.plan(PLAN_ID).unwrap()).unwrap();
    let newer = PlanChange {
        id: PLAN_ID.into(),
        version: 2,
        format: jiandu_core::plan::PLAN_FORMAT + 1,
        sha256: "0".repeat(64),
        plan: plan.clone(),
    };
    // Version 3 is of this format but carries a field this build does not know.
    plan["checklists"][0]["scoring"] = json!({"weights": [1, 2]});
    let unknown_field = PlanChange {
        version: 3,
        format: jiandu_core::plan::PLAN_FORMAT,
        plan,
        ..newer.clone()
    };
    let mut t2 = task(Uuid::from_u128(7), "新格式诊所", "clinic");
    t2.plan_version = 2;
    let mut t3 = task(Uuid::from_u128(8), "新字段诊所", "clinic");
    t3.plan_version = 3;
    let page = PullPage {
        epoch: Uuid::from_u128(1),
        changes: vec![
            Change {
                seq: 1,
                body: ChangeBody::Plan {
                    plan: Box::new(newer),
                },
            },
            Change {
                seq: 1,
                body: ChangeBody::Plan {
                    plan: Box::new(unknown_field),
                },
            },
            Change {
                seq: 1,
                body: ChangeBody::Task {
                    task: Box::new(t2.clone()),
                },
            },
            Change {
                seq: 1,
                body: ChangeBody::Task {
                    task: Box::new(t3.clone()),
                },
            },
            // A kind of change a later platform sends is skipped, not fatal.
            Change {
                seq: 1,
                body: ChangeBody::Unknown,
            },
        ],
        next: 1,
        has_more: false,
    };
    let tally = store.apply_pull_page(&page, at(1)).unwrap();
    assert_eq!((tally.plans, tally.tasks), (2, 2));
    let plans = store.plans(&builtin).unwrap();
    for v in [2, 3] {
        assert!(plans.plan_version(PLAN_ID, v).is_none());
        let why = plans.unreadable(PLAN_ID, v).unwrap();
        assert!(why.contains("请更新应用"), "{why}");
    }
    // The task list still lists them (no progress total), and starting one says why.
    let rows = store.list_tasks(&plans, &Default::default()).unwrap();
    assert!(rows.iter().all(|r| r.total.is_none()), "{rows:?}");
    let actor = jiandu_tests::store_fixtures::inspector(1);
    let insp = store
        .start_inspection(t2.id, "门诊", &actor, at(2))
        .unwrap()
        .inspection_id;
    let e = store
        .record_findings(
            &plans,
            insp,
            &[Answer {
                point: "fx.1.1",
                verdict: Verdict::Compliant,
                observation: "",
            }],
            &actor,
            at(3),
        )
        .unwrap_err();
    assert_eq!(e.code(), "unknown_plan");
    assert!(e.to_string().contains("请更新应用"), "{e}");
    // The page's JSON with an unknown kind of change parses (a later platform).
    let json = r#"{"epoch":"00000000-0000-0000-0000-000000000001","changes":[{"seq":2,"kind":"hologram","x":1}],"next":2,"has_more":false}"#;
    let page: PullPage = serde_json::from_str(json).unwrap();
    assert!(matches!(page.changes[0].body, ChangeBody::Unknown));
}
