//! Reports from known approved inspections, on SQLite and PostgreSQL: the 汇总表
//! (附件1 附表2 of seed 003) against a hand-made expected table, its CSV header and
//! XLSX file, the public list and progress; and the same over HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::{TestServer, backends, institutions_csv};
use jiandu_core::inspection::{
    Finding, Inspection, InspectionStatus, Outcome, Penalty, PublicCategory, Verdict,
};
use jiandu_core::{Fen, Role};
use jiandu_server::formats;
use jiandu_server::model::{NewUser, StoredTask};
use jiandu_server::service::{Actor, reports};
use jiandu_server::store::ServerStore;
use std::sync::Arc;
use uuid::Uuid;

fn inspection(
    task: &StoredTask,
    status: InspectionStatus,
    bad_points: &[&str],
    category: PublicCategory,
    penalty: Option<Penalty>,
) -> Inspection {
    let id = Uuid::now_v7();
    let at = Utc.with_ymd_and_hms(2025, 6, 1, 9, 0, 0).unwrap();
    let mut i = Inspection::new(id, task.id);
    i.status = status;
    i.version = 5;
    i.findings = ["med.1.1", "med.3.1", "med.3.2", "med.5.1"]
        .iter()
        .map(|p| Finding {
            id: Uuid::now_v7(),
            inspection_id: id,
            point: (*p).into(),
            verdict: if bad_points.contains(p) {
                Verdict::NonCompliant
            } else {
                Verdict::Compliant
            },
            observation: "现场所见".into(),
            photo_ids: vec![],
            recorded_by: task.inspectors[0],
            recorded_at: at,
        })
        .collect();
    i.outcome = Some(Outcome {
        category,
        penalty,
        opinion: None,
        unreachable_reason: None,
    });
    i
}

async fn scenario(store: &Arc<dyn ServerStore>) -> Vec<StoredTask> {
    let mut staff = "姓名,执法证号,科室,区县\n".to_owned();
    for n in 1..=6 {
        staff.push_str(&format!("检查员{n},SX-{n:04},监督一科,小店区\n"));
    }
    for csv in [
        institutions_csv(&[("hospital", 9), ("clinic", 30)], 1, "小店区"),
        staff,
    ] {
        common::import_csv(&**store, &csv).await;
    }
    let view = common::draw(store, "shanxi-2025", "汇总").await;
    let tasks = store.tasks_of_draw(view.id).await.unwrap();
    let medical = |cat: &str| -> Vec<StoredTask> {
        tasks
            .iter()
            .filter(|t| t.checklist == "medical" && t.category.as_str() == cat)
            .cloned()
            .collect()
    };
    let (h, c) = (medical("hospital"), medical("clinic"));
    assert_eq!((h.len(), c.len()), (2, 2), "12% of 9, 5% of 30, rounded up");
    let penalty = Penalty {
        cases: 2,
        fine: Fen(500_000),
        ..Default::default()
    };
    for i in [
        // Three toxic/narcotic problems on one unit count once under their column.
        inspection(
            &h[0],
            InspectionStatus::Approved,
            &["med.3.1", "med.3.2", "med.5.1"],
            PublicCategory::Penalised,
            Some(penalty),
        ),
        inspection(
            &h[1],
            InspectionStatus::Approved,
            &["med.5.1"],
            PublicCategory::Corrected,
            None,
        ),
        inspection(
            &c[0],
            InspectionStatus::Approved,
            &[],
            PublicCategory::NoProblem,
            None,
        ),
        // Not approved yet: not counted.
        inspection(
            &c[1],
            InspectionStatus::Submitted,
            &["med.1.1"],
            PublicCategory::Corrected,
            None,
        ),
    ] {
        common::put_new(&**store, i).await;
    }
    tasks
}

#[tokio::test]
async fn summary_public_and_progress_from_known_inspections() {
    for b in backends().await {
        scenario(&b.store).await;
        let p = common::platform(&b);
        let (_, table, report) =
            reports::summary_table(&p, &Actor::system(), "shanxi-2025", "medical-summary")
                .await
                .unwrap();
        // Hand-made expected table: (row label, [(column code, text)]); every other
        // cell is 0 (0.0000 for fines).
        let expected: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                "医院（含妇幼保健院、精神卫生院）",
                vec![
                    ("toxic_narcotic_psychotropic", "1"),
                    ("prescription", "2"),
                    ("cases", "2"),
                    ("fines", "0.5000"),
                ],
            ),
            ("社区卫生服务中心", vec![]),
            ("社区卫生服务站", vec![]),
            ("卫生院", vec![]),
            ("村卫生室（所）", vec![]),
            ("诊所", vec![]),
            ("其他医疗机构", vec![]),
            (
                "合计",
                vec![
                    ("toxic_narcotic_psychotropic", "1"),
                    ("prescription", "2"),
                    ("cases", "2"),
                    ("fines", "0.5000"),
                ],
            ),
        ];
        assert_eq!(report.rows.len(), expected.len(), "{}", b.name);
        for (row, (label, nonzero)) in report.rows.iter().zip(&expected) {
            assert_eq!(row.label, *label);
            for (ci, col) in table.columns.iter().enumerate() {
                let want = nonzero
                    .iter()
                    .find(|(c, _)| *c == col.code)
                    .map(|(_, v)| *v)
                    .unwrap_or(if col.code == "fines" { "0.0000" } else { "0" });
                assert_eq!(
                    row.cells[ci].text(),
                    want,
                    "{}: {label} / {}",
                    b.name,
                    col.code
                );
            }
        }
        // CSV: the title, then three header lines (不合格情况 › group › leaf),
        // groups written once.
        let csv = formats::to_csv(&table, &report);
        let all: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(all[0], format!("{} {}", table.name, table.title));
        let lines = &all[1..];
        assert!(
            lines[0].starts_with("单位类别,不合格情况,,"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with(",医疗机构资质管理,,医疗卫生人员管理,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with(
                ",执业许可证管理不符合要求单位数,医疗机构诊疗活动管理不符合要求单位数,"
            ),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 3 + expected.len());
        assert!(lines.last().unwrap().starts_with("合计,"));
        let xlsx = formats::to_xlsx(&table, &report).unwrap();
        assert_eq!(&xlsx[..2], b"PK", "an XLSX is a zip file");

        let public = reports::public_list(&p, "shanxi-2025").await.unwrap();
        let mut results: Vec<&str> = public.iter().map(|p| p.result).collect();
        results.sort();
        assert_eq!(
            results,
            vec!["发现问题已责令改正", "抽查未发现问题", "行政处罚"],
            "{}",
            b.name
        );
        assert!(
            public
                .iter()
                .any(|p| p.penalty.as_deref() == Some("查处案件 2 件，罚没款 5000.00元"))
        );

        let today = chrono::NaiveDate::from_ymd_opt(2025, 6, 10).unwrap();
        let progress = reports::progress(&p, &Actor::system(), "shanxi-2025", today)
            .await
            .unwrap();
        let row = |cat: &str| {
            progress
                .rows
                .iter()
                .find(|r| r.checklist == "medical" && r.category == cat)
                .unwrap()
        };
        assert_eq!(
            (
                row("hospital").drawn,
                row("hospital").done,
                row("hospital").approved
            ),
            (2, 2, 2)
        );
        assert_eq!(
            (
                row("clinic").drawn,
                row("clinic").done,
                row("clinic").approved
            ),
            (2, 2, 1)
        );
        assert_eq!(
            progress.deadlines[0].days_left, 10,
            "6月20日 is 10 days after 6月10日"
        );

        // Over HTTP: team leads and admins get the files; inspectors do not.
        let hash = jiandu_server::auth::hash_password("report-password").unwrap();
        for (name, role) in [("boss", Role::Admin), ("worker", Role::Inspector)] {
            b.store
                .create_user(
                    &common::stamp(),
                    NewUser {
                        id: Uuid::now_v7(),
                        username: name.into(),
                        display_name: name.into(),
                        role,
                        badge_no: (role == Role::Inspector).then(|| "W-1".into()),
                        team: String::new(),
                        district: "小店区".into(),
                        password_hash: Some(hash.clone()),
                        created_at: Utc::now(),
                    },
                )
                .await
                .unwrap();
        }
        let s = TestServer::start(b.store.clone()).await;
        let mut tokens = Vec::new();
        for name in ["boss", "worker"] {
            let v: serde_json::Value = s
                .client
                .post(s.url("/devices/enroll"))
                .json(&serde_json::json!({"username": name, "password": "report-password", "device_name": "pc"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens.push(v["token"].as_str().unwrap().to_owned());
        }
        let get = |path: &str, token: &str| {
            s.client
                .get(s.url(path))
                .bearer_auth(token.to_owned())
                .send()
        };
        let r = get(
            "/reports/summary?plan=shanxi-2025&table=medical-summary&format=csv",
            &tokens[0],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert_eq!(
            r.text().await.unwrap(),
            csv,
            "HTTP and CLI give the same file"
        );
        let r = get(
            "/reports/summary?plan=shanxi-2025&table=medical-summary&format=xlsx",
            &tokens[0],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(&r.bytes().await.unwrap()[..2], b"PK");
        let r = get(
            "/reports/summary?plan=shanxi-2025&table=medical-summary",
            &tokens[1],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 403);
        let r = get("/reports/summary?plan=shanxi-2025&table=nope", &tokens[0])
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = get(
            "/reports/summary?plan=shanxi-2025&table=medical-summary&format=pdf",
            &tokens[0],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 400);
        let r = get("/reports/public?plan=shanxi-2025", &tokens[1])
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "the public list is public to every signed-in user"
        );
        let list: serde_json::Value = r.json().await.unwrap();
        assert_eq!(list.as_array().unwrap().len(), 3);
        let r = get("/reports/progress?plan=shanxi-2025", &tokens[0])
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        s.stop().await;
    }
}
