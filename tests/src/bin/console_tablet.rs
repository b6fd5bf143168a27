//! Helper of the console's browser walk (scripts/console-e2e.sh, console/e2e/walk.mjs):
//!
//! - `console_tablet registry DIR`: writes DIR/registry-bad.xlsx (a title row, the
//!   header, units, one with a wrong 统一社会信用代码) and DIR/registry-good.xlsx (the
//!   same, fixed), as a bureau's WPS/Excel file would be.
//! - `console_tablet inspect URL USERNAME PASSWORD PHOTO.jpg`: a tablet with the real
//!   sync engine: enrols, pulls its tasks and plans, inspects its first task not yet
//!   started (every point answered, the first 不符合 with an observation and the
//!   photo), 发现问题已责令改正, submits, syncs until nothing is pending (the photo
//!   uploaded), and prints the task as JSON: `{"task_id", "plan_id", "institution",
//!   "credit_code", "category"}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use jiandu_core::inspection::InspectionStatus;
use jiandu_core::protocol::EnrollRequest;
use jiandu_core::{Actor, Outcome, PublicCategory, Verdict};
use jiandu_store::{Answer, FileSource, PhotoMeta, Store, TaskFilter};
use jiandu_sync::{CancelToken, FileTokenStore, SyncConfig, SyncEngine};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn credit_code(n: u32) -> String {
    let body = format!("91140100{n:09}");
    let c = jiandu_server::credit_code::check_char(&body).expect("check character");
    format!("{body}{c}")
}

fn registry(dir: &Path) {
    for (name, bad) in [("registry-bad.xlsx", true), ("registry-good.xlsx", false)] {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "2026年检查对象名录（控制台导入）")
            .unwrap();
        let header = [
            "名称",
            "统一社会信用代码",
            "执业许可证登记号",
            "类别",
            "区县",
            "地址",
            "法定代表人",
            "联系电话",
        ];
        for (c, h) in header.iter().enumerate() {
            ws.write_string(1, c as u16, *h).unwrap();
        }
        for i in 0..5u32 {
            let n = 880_000 + i;
            let row = 2 + i;
            let code = if bad && i == 2 {
                // The check character is wrong (GB 32100).
                let good = credit_code(n);
                let last = if good.ends_with('0') { "1" } else { "0" };
                format!("{}{last}", &good[..17])
            } else {
                credit_code(n)
            };
            let cells = [
                format!("控制台导入诊所{i}号"),
                code,
                format!("PDY{n:08}"),
                "clinic".to_owned(),
                "小店区".to_owned(),
                format!("太原市小店区导入路{i}号"),
                format!("负责人{i}"),
                format!("0351-7{n:06}"),
            ];
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(row, c as u16, v).unwrap();
            }
        }
        wb.save(dir.join(name)).unwrap();
    }
}

async fn inspect(url: &str, username: &str, password: &str, photo: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("device.db")).unwrap();
    store.set_id_source(Box::new(jiandu_store::UuidV7));
    let store = Arc::new(Mutex::new(store));
    let tokens = Arc::new(FileTokenStore::in_data_dir(dir.path()));
    let enrolled = jiandu_sync::enroll(
        &store,
        tokens.as_ref(),
        url,
        &EnrollRequest {
            username: username.into(),
            password: password.into(),
            device_name: "控制台测试平板".into(),
        },
        Utc::now(),
    )
    .await
    .expect("enrols");
    let actor = Actor {
        user_id: enrolled.user.id,
        name: enrolled.user.display_name.clone(),
        role: enrolled.user.role,
    };
    let engine = SyncEngine::new(store.clone(), tokens.clone(), SyncConfig::default())
        .unwrap()
        .with_server(url)
        .unwrap();
    engine
        .sync_once(&CancelToken::new(), &|_| {})
        .await
        .expect("pull");
    let builtin = jiandu_core::templates::TemplateSet::builtin().unwrap();
    let with = |f: &mut dyn FnMut(&mut Store)| f(&mut store.lock().unwrap());
    let mut out = serde_json::Value::Null;
    with(&mut |s: &mut Store| {
        let plans = s.plans(&builtin).unwrap();
        let tasks = s.list_tasks(&plans, &TaskFilter::default()).unwrap();
        let task = tasks
            .iter()
            .find(|t| t.status == InspectionStatus::Assigned && t.total.is_some())
            .expect("a task to inspect");
        let full = s.task(task.task_id).unwrap();
        let checklist = plans
            .plan_version(&full.plan_id, full.plan_version)
            .and_then(|p| p.checklist(&full.checklist))
            .expect("the task's checklist");
        let points: Vec<String> = checklist
            .applicable_points(&task.category)
            .map(|(_, p)| p.code.clone())
            .collect();
        let now = Utc::now();
        let insp = s
            .start_inspection(task.task_id, &task.address, &actor, now)
            .unwrap()
            .inspection_id;
        let answers: Vec<Answer<'_>> = points
            .iter()
            .enumerate()
            .map(|(i, p)| Answer {
                point: p,
                verdict: if i == 0 {
                    Verdict::NonCompliant
                } else {
                    Verdict::Compliant
                },
                observation: if i == 0 {
                    "消毒记录不全，现场未见本月记录"
                } else {
                    ""
                },
            })
            .collect();
        let saved = s
            .record_findings(&plans, insp, &answers, &actor, now)
            .unwrap();
        let bytes = std::fs::read(photo).expect("photo readable");
        s.add_photo(
            insp,
            Some(saved[0].id),
            FileSource::Bytes(&bytes),
            &PhotoMeta {
                taken_at: now,
                location: None,
                mime: "image/jpeg".into(),
            },
            &actor,
            now,
        )
        .unwrap();
        s.set_outcome(
            insp,
            &Outcome {
                category: PublicCategory::Corrected,
                penalty: None,
                opinion: Some("责令立即改正消毒记录".into()),
                unreachable_reason: None,
            },
            &actor,
            now,
        )
        .unwrap();
        s.submit(&plans, insp, &actor, now).unwrap();
        out = serde_json::json!({
            "task_id": task.task_id,
            "plan_id": task.plan_id,
            "institution": task.institution_name,
            "category": task.category.as_str(),
            "district": task.district,
        });
    });
    for _ in 0..5 {
        let r = engine
            .sync_once(&CancelToken::new(), &|_| {})
            .await
            .expect("push");
        if r.pushed == 0 && r.files_uploaded == 0 {
            break;
        }
    }
    println!("{out}");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("registry") if args.len() == 3 => registry(Path::new(&args[2])),
        Some("inspect") if args.len() == 6 => {
            inspect(&args[2], &args[3], &args[4], Path::new(&args[5])).await;
        }
        _ => {
            eprintln!(
                "用法：console_tablet registry 文件夹 | console_tablet inspect 地址 用户名 密码 照片.jpg"
            );
            std::process::exit(2);
        }
    }
}
