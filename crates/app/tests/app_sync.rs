//! The app against the REAL platform: `jiandu-server` with its demo data, served
//! in-process on loopback, and the app's own use cases on temporary folders (one per
//! tablet). Sign-in enrols and brings the drawn tasks; a checklist submitted on one
//! tablet reaches the team lead's tablet by pull; the lead's decision goes to the
//! platform and comes back to the inspector; rejected edits are listed with the
//! platform's version; sign-in failures read as clear Chinese messages.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use jiandu_app::App;
use jiandu_app::documents::DocKindCode;
use jiandu_app::dto::*;
use jiandu_server::store::Stamp;
use std::path::Path;

mod common;
use common::{
    AUTHORITY, PASSWORD, Platform, WAIT, applicable_points, complete_and_submit, finish_and_submit,
    open_system as open, sign_in_to as sign_in, start, synced, todo_tasks,
};

#[test]
fn sign_in_brings_tasks_and_a_review_goes_round_trip() {
    let platform = Platform::start();
    let url = platform.url();
    let inspector_dir = tempfile::tempdir().unwrap();
    let lead_dir = tempfile::tempdir().unwrap();

    // The inspector's tablet: enrolment, then the drawn tasks arrive.
    let tablet = open(inspector_dir.path());
    let profile = sign_in(&tablet, &url, "liuyang", PASSWORD).unwrap();
    assert!(!profile.demo);
    assert_eq!(profile.display_name, "刘洋");
    assert_eq!(profile.role, RoleCode::Inspector);
    let token = inspector_dir
        .path()
        .join("users")
        .join(&profile.user_id)
        .join("sync-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token is the user's alone");
    }
    let list = tablet.task_list(TaskQuery::default()).unwrap();
    assert!(list.total > 0, "the drawn tasks arrived");
    // Each task carries its plan's last 报送时限 as the date to finish by: the demo
    // plan is this year's, due 13 weeks after the demo was made (today).
    let today = chrono::Utc::now().date_naive();
    let due = (today + chrono::Duration::weeks(13)).to_string();
    for t in &list.tasks {
        assert_eq!(t.plan_id, jiandu_server::demo::plan_id(today), "{t:?}");
        assert_eq!(t.deadline.as_deref(), Some(due.as_str()), "{t:?}");
        assert!(t.days_left.is_some_and(|d| d > 0), "not overdue: {t:?}");
    }
    assert!(list.sync.online, "a sync reached the platform: online");
    assert!(list.sync.last_sync_at.is_some());
    assert!(
        list.counts.approved > 0,
        "review decisions arrived with the tasks"
    );
    let status = tablet.sync_status().unwrap();
    assert!(!status.demo && status.online && status.last_error.is_none());
    assert_eq!(status.pending_changes, 0);

    let task_id = todo_tasks(&tablet)
        .first()
        .expect("a task to do")
        .task_id
        .clone();
    complete_and_submit(&tablet, &task_id);
    assert!(tablet.sync_status().unwrap().pending_changes > 0);
    synced(&tablet);
    assert_eq!(tablet.sync_status().unwrap().pending_changes, 0, "all sent");

    // Sync leased a block of 文号 for the plan's authority: the 意见书 gets a real one.
    let docs = tablet.documents(&task_id).unwrap();
    assert!(docs.numbers_left > 0, "sync leased 文号: {docs:?}");
    let docs = tablet
        .generate_document(&task_id, DocKindCode::Opinion)
        .unwrap();
    let number = docs
        .documents
        .iter()
        .find(|d| d.kind == DocKindCode::Opinion)
        .and_then(|d| d.number.clone())
        .expect("a 文号 on the 意见书");
    assert!(
        number.contains('〔') && !number.contains("演示"),
        "a leased number, not a demo one: {number}"
    );
    assert_eq!(
        tablet.sync_status().unwrap().pending_changes,
        1,
        "the 文号 goes to the platform with the inspection"
    );
    let docs_dir = tempfile::tempdir().unwrap();
    let on_site = docs_dir.path().join("意见书-现场.pdf");
    std::fs::write(
        &on_site,
        tablet.document_pdf(&task_id, DocKindCode::Opinion).unwrap(),
    )
    .unwrap();
    assert!(
        common::pdftotext(&on_site).contains(AUTHORITY),
        "the tablet prints the 执法机关 the platform told it"
    );

    // A restart opens signed in, syncing with the platform.
    drop(tablet);
    let tablet = open(inspector_dir.path());
    assert_eq!(
        tablet.startup().profile.map(|p| p.username),
        Some("liuyang".into())
    );
    synced(&tablet);

    // The team lead's tablet pulls the team's submissions.
    let lead = open(lead_dir.path());
    let lead_profile = sign_in(&lead, &url, "lina", PASSWORD).unwrap();
    assert_eq!(lead_profile.role, RoleCode::TeamLead);
    let queued = |lead: &App| {
        lead.review_queue()
            .unwrap()
            .into_iter()
            .find(|i| i.summary.task_id == task_id)
            .expect("the submission in the lead's queue")
    };
    let item = queued(&lead);
    assert_eq!(item.non_compliant, 1);
    assert_eq!(
        item.outcome.as_ref().map(|o| o.fine_fen),
        Some(500_050),
        "the fine went up in fen"
    );
    // The lead reads the submission's documents as the platform archives them.
    let docs = tempfile::tempdir().unwrap();
    for (kind, title) in [
        (DocKindCode::Record, "现场笔录"),
        (DocKindCode::Opinion, "卫生监督意见书"),
    ] {
        let pdf = lead.archive_document(&task_id, kind).unwrap();
        assert!(pdf.starts_with(b"%PDF"), "{title}");
        let file = docs.path().join(format!("{title}.pdf"));
        std::fs::write(&file, &pdf).unwrap();
        let text = common::pdftotext(&file);
        assert!(text.contains(&item.summary.unit_name), "{title}: {text}");
        assert!(text.contains(AUTHORITY), "{title}: {text}");
        if kind == DocKindCode::Opinion {
            assert!(
                text.contains(&number),
                "the platform's copy carries the 文号 printed on site, {number}: {text}"
            );
        }
    }
    lead.review(ReviewInput {
        task_id: task_id.clone(),
        version: item.version,
        approve: false,
        comment: "请补充现场照片。".into(),
    })
    .unwrap();
    let server_status = |task: &str| {
        let task = uuid::Uuid::parse_str(task).unwrap();
        platform.rt.block_on(async {
            let found = platform.store.inspections_of_tasks(&[task]).await.unwrap();
            found[0].inspection.status
        })
    };
    assert_eq!(
        server_status(&task_id),
        jiandu_core::InspectionStatus::Returned
    );

    // The inspector's next sync brings the return with its comment.
    synced(&tablet);
    let r = tablet.task_detail(&task_id).unwrap();
    assert_eq!(r.summary.status, StatusCode::Returned);
    assert_eq!(r.review_comment.as_deref(), Some("请补充现场照片。"));
    assert!(r.editable, "a returned inspection can be corrected");
    let point = tablet.checklist(&task_id).unwrap().items[0].points[0]
        .code
        .clone();
    tablet
        .set_observation(ObservationInput {
            task_id: task_id.clone(),
            point,
            observation: "现场未见处方登记本，已拍照。".into(),
        })
        .unwrap();
    tablet.submit(&task_id).unwrap();
    synced(&tablet);

    // The resubmission: a stale version is refused, the exact one approved.
    synced(&lead);
    let item = queued(&lead);
    assert_eq!(item.summary.status, StatusCode::Resubmitted);
    let stale = lead
        .review(ReviewInput {
            task_id: task_id.clone(),
            version: item.version - 1,
            approve: true,
            comment: String::new(),
        })
        .expect_err("an approval names the exact version");
    assert!(!stale.message.is_empty());
    let approved = lead
        .review(ReviewInput {
            task_id: task_id.clone(),
            version: item.version,
            approve: true,
            comment: String::new(),
        })
        .unwrap();
    assert_eq!(approved.summary.status, StatusCode::Approved);
    assert_eq!(
        server_status(&task_id),
        jiandu_core::InspectionStatus::Approved
    );
    synced(&tablet);
    let a = tablet.task_detail(&task_id).unwrap();
    assert_eq!(a.summary.status_label, "已通过");
    assert!(!a.editable);

    // Signing out stops sync and forgets the token; the data stays.
    tablet.sign_out().unwrap();
    assert!(!token.exists(), "the token is forgotten at sign-out");
    assert!(tablet.startup().profile.is_none());
}

#[test]
fn a_rejected_edit_is_listed_and_can_be_marked_read() {
    let platform = Platform::start();
    let url = platform.url();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let one = open(dirs[0].path());
    let two = open(dirs[1].path());
    // 1. One inspector's two tablets start the same task offline: the second
    //    start loses (stale).
    sign_in(&one, &url, "liuyang", PASSWORD).unwrap();
    sign_in(&two, &url, "liuyang", PASSWORD).unwrap();
    let task = todo_tasks(&one)
        .first()
        .expect("a task to do")
        .task_id
        .clone();
    start(&one, &task);
    start(&two, &task);
    synced(&one);
    synced(&two);
    let conflicts = two.conflicts(false).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.change, "亮证（开始检查）");
    assert_eq!(c.task_id.as_deref(), Some(task.as_str()));
    assert_eq!(c.reason, "stale");
    assert!(c.message.contains("另一台设备"), "{}", c.message);
    assert_eq!(two.sync_status().unwrap().conflicts, 1);
    // The second tablet now holds the platform's inspection; its own start is kept
    // aside whole (a snapshot), never deleted.
    let two_user = two.startup().profile.unwrap().user_id;
    let db = rusqlite::Connection::open_with_flags(
        dirs[1]
            .path()
            .join("users")
            .join(&two_user)
            .join("device.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let kept: Vec<String> = db
        .prepare("SELECT snapshot FROM superseded_inspections WHERE task_id = ?1")
        .unwrap()
        .query_map([&task], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept.len(), 1, "the tablet's own start, kept aside");
    let snapshot: serde_json::Value = serde_json::from_str(&kept[0]).unwrap();
    assert_eq!(snapshot["inspection"]["task_id"], task.as_str());
    assert!(
        snapshot["inspection"]["started_at"].is_string(),
        "{snapshot}"
    );
    assert_eq!(
        two.task_detail(&task).unwrap().summary.status,
        StatusCode::InProgress
    );
    two.resolve_conflict(c.id).unwrap();
    assert!(two.conflicts(false).unwrap().is_empty());
    assert_eq!(
        two.conflicts(true).unwrap().len(),
        1,
        "kept, marked as read"
    );

    // 2. The second tablet, without signal, answers a point while the first finishes
    //    and submits the inspection and the team lead approves it: the answer is
    //    refused and listed beside the platform's version (已通过, its number).
    two.set_online(false).unwrap();
    let point = applicable_points(&two, &task).pop().unwrap();
    two.answer(AnswerInput {
        task_id: task.clone(),
        point,
        verdict: VerdictCode::NotApplicable,
    })
    .unwrap();
    finish_and_submit(&one, &task);
    synced(&one);
    let lead_dir = tempfile::tempdir().unwrap();
    let lead = open(lead_dir.path());
    sign_in(&lead, &url, "lina", PASSWORD).unwrap();
    synced(&lead);
    let item = lead
        .review_queue()
        .unwrap()
        .into_iter()
        .find(|i| i.summary.task_id == task)
        .expect("the submission in the lead's queue");
    lead.review(ReviewInput {
        task_id: task.clone(),
        version: item.version,
        approve: true,
        comment: String::new(),
    })
    .unwrap();
    two.set_online(true).unwrap();
    synced(&two);
    let conflicts = two.conflicts(false).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.task_id.as_deref(), Some(task.as_str()));
    assert_eq!(c.server_status_label.as_deref(), Some("已通过"), "{c:?}");
    assert!(
        c.server_version.is_some_and(|v| v > item.version),
        "the approved version, after the one reviewed: {c:?}"
    );
    assert_eq!(c.server_outcome_label.as_deref(), Some("行政处罚"), "{c:?}");
    assert!(!c.message.is_empty());
    // The tablet shows the platform's record, not its refused answer.
    let d = two.task_detail(&task).unwrap();
    assert_eq!(d.summary.status_label, "已通过");
    assert_eq!(two.sync_status().unwrap().pending_changes, 0);
}

#[test]
fn sign_in_failures_read_clearly() {
    let platform = Platform::start();
    let url = platform.url();
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());

    let e = sign_in(&app, &url, "zhangwei", "wrong-password").unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("invalid_credentials", "用户名或密码错误")
    );

    for bad in [
        "ftp://example.org",
        "http://exa mple.org",
        "http://host:99999",
        "://",
    ] {
        let e = sign_in(&app, bad, "zhangwei", PASSWORD).unwrap_err();
        assert_eq!(e.code, "bad_url", "{bad}: {e:?}");
        assert!(e.message.contains("服务器地址"), "{}", e.message);
    }

    // Plain HTTP beyond this device is refused before anything is sent.
    let e = sign_in(&app, "http://192.0.2.10:8080", "zhangwei", PASSWORD).unwrap_err();
    assert_eq!(e.code, "insecure_url", "{e:?}");
    assert!(e.message.contains("https://"), "{}", e.message);
    assert!(app.startup().profile.is_none(), "nobody signed in");

    // Nothing listens on a port just released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = sign_in(&app, &closed_url, "zhangwei", PASSWORD).unwrap_err();
    assert_eq!(e.code, "server_unreachable");
    assert!(e.message.contains("无法连接服务器"), "{}", e.message);

    platform.rt.block_on(async {
        platform
            .store
            .set_user_disabled(&Stamp::system(chrono::Utc::now()), "chenjing", true)
            .await
            .unwrap();
    });
    let e = sign_in(&app, &url, "chenjing", PASSWORD).unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("user_disabled", "该账号已停用，请联系管理员")
    );

    let e = sign_in(&app, &url, "admin", PASSWORD).unwrap_err();
    assert_eq!(e.code, "forbidden");
    assert!(
        app.startup().profile.is_none(),
        "no failed attempt signs in"
    );

    // A revoked device is told so and stops syncing; its data stays.
    let profile = sign_in(&app, &url, "zhangwei", PASSWORD).unwrap();
    let tasks = app.task_list(TaskQuery::default()).unwrap().total;
    platform.rt.block_on(async {
        let user = uuid::Uuid::parse_str(&profile.user_id).unwrap();
        for d in platform.store.list_devices(Some(user)).await.unwrap() {
            platform
                .store
                .revoke_device(
                    &Stamp::system(chrono::Utc::now()),
                    d.id,
                    jiandu_server::model::RevokeKind::Retired,
                )
                .await
                .unwrap();
        }
    });
    let failed = app.sync_and_wait(WAIT).unwrap().expect_err("revoked");
    assert!(failed.contains("吊销"), "{failed}");
    let status = app.sync_status().unwrap();
    assert!(status.revoked.is_some() && !status.online);
    assert_eq!(app.sync_now().unwrap_err().code, "device_revoked");
    assert_eq!(
        app.task_list(TaskQuery::default()).unwrap().total,
        tasks,
        "data kept"
    );

    // Work goes on offline (nothing can be sent), then 导出本机数据 hands it over.
    let open = app
        .task_list(TaskQuery::default())
        .unwrap()
        .tasks
        .into_iter()
        .find(|t| {
            matches!(
                t.status,
                StatusCode::Assigned | StatusCode::InProgress | StatusCode::Returned
            )
        })
        .expect("the inspector has a task to work on");
    let task = open.task_id.clone();
    if open.status == StatusCode::Assigned {
        start(&app, &task);
    }
    let point = applicable_points(&app, &task).swap_remove(0);
    app.answer(AnswerInput {
        task_id: task.clone(),
        point: point.clone(),
        verdict: VerdictCode::Compliant,
    })
    .unwrap();
    let original = jiandu_docs::sample::photo_jpeg(1200, 900, 5);
    let photo = app
        .add_photo(
            jiandu_app::evidence::PhotoInput {
                task_id: task.clone(),
                point,
                taken_at: None,
                lat: None,
                lon: None,
            },
            &original,
        )
        .unwrap();
    let before = app.sync_status().unwrap();
    assert!(
        before.pending_changes >= 2 && before.photos_left == 1,
        "{before:?}"
    );

    let downloads = tempfile::tempdir().unwrap();
    let export = app
        .export_data(downloads.path(), &jiandu_app::jobs::Job::none())
        .unwrap();
    let dir = Path::new(&export.path);
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("监督数据导出-张伟-"),
        "{}",
        export.path
    );
    assert_eq!(export.pending_changes, before.pending_changes);
    assert_eq!(export.photos_left, 1);
    // The photo byte for byte; the database a consistent copy holding the unsent
    // changes; a note a person can read; never the sync token.
    assert_eq!(
        std::fs::read(dir.join("photos").join(&photo.photo_id)).unwrap(),
        original
    );
    let db = rusqlite::Connection::open_with_flags(
        dir.join("device.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let pending: u32 = db
        .query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(pending, before.pending_changes);
    let note = std::fs::read_to_string(dir.join("说明.txt")).unwrap();
    assert!(note.contains("本机已被平台停用"), "{note}");
    assert!(
        note.contains(&format!(
            "尚未上传的修改：{pending} 项；尚未上传的照片：1 张"
        )),
        "{note}"
    );
    let mut stack = vec![dir.to_path_buf()];
    let mut names = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    assert!(!names.iter().any(|n| n.contains("token")), "{names:?}");
    assert_eq!(
        std::fs::read_dir(downloads.path()).unwrap().count(),
        1,
        "no partial folder left behind"
    );
    // A second export never overwrites the first; the data itself is untouched.
    let again = app
        .export_data(downloads.path(), &jiandu_app::jobs::Job::none())
        .unwrap();
    assert_ne!(again.path, export.path);
    assert_eq!(
        app.sync_status().unwrap().pending_changes,
        before.pending_changes
    );
}
