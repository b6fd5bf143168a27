//! The use cases as the UI calls them, on a real temporary app-data folder, with the
//! clock and ids pinned. Reopening the app from the same folder stands for a restart
//! (battery died, app killed): whatever a call returned must still be there.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use jiandu_app::App;
use jiandu_app::dto::*;

mod common;
use common::*;

fn sign_in(app: &App, user: &str) -> Profile {
    app.sign_in(SignInInput {
        server_url: "demo".into(),
        username: user.into(),
        password: "x".into(),
    })
    .expect("demo sign-in")
}

fn task_named(app: &App, name: &str) -> TaskSummary {
    app.task_list(TaskQuery::default())
        .expect("list")
        .tasks
        .into_iter()
        .find(|t| t.unit_name == name)
        .unwrap_or_else(|| panic!("demo task {name}"))
}

fn answer(app: &App, task_id: &str, point: &str, verdict: VerdictCode) -> PointSaved {
    app.answer(AnswerInput {
        task_id: task_id.into(),
        point: point.into(),
        verdict,
    })
    .expect("answer saved")
}

#[test]
fn first_start_has_no_profile_and_refuses_work() {
    let h = Harness::new();
    let app = h.open();
    assert_eq!(
        app.startup().profile,
        None,
        "a new device starts at 首次设置"
    );
    let err = app.task_list(TaskQuery::default()).unwrap_err();
    assert_eq!(err.code, "not_signed_in");
}

#[test]
fn sign_in_validates_and_an_unreachable_server_reads_clearly() {
    let h = Harness::new();
    let app = h.open();
    let err = app
        .sign_in(SignInInput {
            server_url: "demo".into(),
            username: " ".into(),
            password: "x".into(),
        })
        .unwrap_err();
    assert_eq!(err.code, "invalid");
    let err = app
        .sign_in(SignInInput {
            server_url: "https://jiandu.example".into(),
            username: "zhangwei".into(),
            password: "x".into(),
        })
        .unwrap_err();
    // Nothing answers there (app_sync.rs signs in against a real platform).
    assert_eq!(err.code, "server_unreachable");
    assert!(
        err.message.contains("无法连接服务器"),
        "says what is wrong: {}",
        err.message
    );
    assert!(app.startup().profile.is_none(), "nobody signed in");
}

#[test]
fn task_list_searches_filters_and_counts() {
    let h = Harness::new();
    let app = h.open();
    sign_in(&app, "zhangwei");
    let all = app.task_list(TaskQuery::default()).unwrap();
    assert_eq!(all.total, 8);
    assert_eq!(all.tasks.len(), 8);
    assert_eq!(all.counts.todo, 8, "nothing started yet");
    assert_eq!(all.tasks[0].unit_name, "仁和诊所", "overdue task first");
    assert_eq!(all.tasks[0].days_left, Some(-2));
    assert_eq!(all.tasks[0].status_label, "待检查");
    assert!(
        all.tasks
            .iter()
            .any(|t| t.followup && t.draw_label == "回头看")
    );
    assert!(!all.sync.online, "demo mode is never online");

    let village = all
        .tasks
        .iter()
        .find(|t| t.category == "village_clinic")
        .unwrap();
    let hospital = all.tasks.iter().find(|t| t.category == "hospital").unwrap();
    assert_eq!(
        (village.total, hospital.total),
        (5, 7),
        "病历 and 医学证明文件 are not asked of a village clinic"
    );

    let by_name = app
        .task_list(TaskQuery {
            search: Some("卫生".into()),
            ..Default::default()
        })
        .unwrap();
    let names: Vec<_> = by_name.tasks.iter().map(|t| t.unit_name.as_str()).collect();
    assert_eq!(names, ["城关镇卫生院", "东关村卫生室"]);

    let code = all.tasks[3].credit_code.to_lowercase();
    let by_code = app
        .task_list(TaskQuery {
            search: Some(code[8..].to_owned()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        by_code.tasks.len(),
        1,
        "credit code search, case-insensitive"
    );

    let followups = app
        .task_list(TaskQuery {
            followup_only: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(followups.tasks.len(), 1);

    let blood = app
        .task_list(TaskQuery {
            category: Some("blood_general".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(blood.tasks[0].unit_name, "县中心血站");
    assert_eq!(all.plans.len(), 1);
    assert_eq!(all.plans[0].categories.len(), 8);
}

#[test]
fn credentials_must_be_confirmed_before_the_checklist_opens() {
    let h = Harness::new();
    let app = h.open();
    sign_in(&app, "zhangwei");
    let task = task_named(&app, "城关镇卫生院");
    let err = app
        .answer(AnswerInput {
            task_id: task.task_id.clone(),
            point: "med.1.1".into(),
            verdict: VerdictCode::Compliant,
        })
        .unwrap_err();
    assert_eq!(err.code, "not_started");
    let detail = app.task_detail(&task.task_id).unwrap();
    let err = app
        .show_credentials(ShowCredentialsInput {
            task_id: task.task_id.clone(),
            confirmed: vec![detail.inspectors[0].user_id.clone()],
            place: "现场".into(),
        })
        .unwrap_err();
    assert_eq!(err.code, "credentials_unconfirmed");
    assert!(err.message.contains("李娜"), "{}", err.message);
    let started = start(&app, &task.task_id);
    assert_eq!(started.summary.status, StatusCode::InProgress);
    assert_eq!(started.started_at.as_deref(), Some("2024-06-01T02:00:00Z"));
    assert!(started.editable);
}

#[test]
fn every_tap_is_durable_and_the_day_ends_in_a_submission() {
    let h = Harness::new();
    let app = h.open();
    sign_in(&app, "zhangwei");
    let task = task_named(&app, "城关镇卫生院");
    let id = task.task_id.clone();
    start(&app, &id);

    let list = app.checklist(&id).unwrap();
    assert_eq!(list.progress.answered, 0);
    let total = list.progress.total;
    assert_eq!(
        total, 7,
        "a township health centre answers every point of the table"
    );
    assert_eq!(list.items[0].number, "1", "items in the 附表's order");

    // One 不符合 without observation: saved, flagged red.
    let saved = answer(&app, &id, "med.3.1", VerdictCode::NonCompliant);
    assert_eq!(saved.progress.answered, 1);
    assert!(saved.point.needs_observation);
    assert_eq!(saved.progress.missing_observations, 1);

    // The app is killed here; reopened, the tap is there.
    drop(app);
    let app = h.open();
    assert!(
        app.startup().profile.is_some(),
        "signed in again without a network"
    );
    let list = app.checklist(&id).unwrap();
    assert_eq!(list.progress.answered, 1);

    // Answer everything else 符合.
    let codes: Vec<String> = list
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .filter(|p| p.applicable && p.verdict.is_none())
        .map(|p| p.code.clone())
        .collect();
    for code in &codes {
        answer(&app, &id, code, VerdictCode::Compliant);
    }
    let err = app.submit(&id).unwrap_err();
    assert_eq!(err.code, "observation_missing", "{}", err.message);

    // A 10,000-character observation goes through intact.
    let long = "现场".repeat(5_000);
    let saved = app
        .set_observation(ObservationInput {
            task_id: id.clone(),
            point: "med.3.1".into(),
            observation: long.clone(),
        })
        .unwrap();
    assert!(!saved.point.needs_observation);
    assert_eq!(saved.progress.answered, total);
    // Changing the verdict keeps what was typed.
    answer(&app, &id, "med.3.1", VerdictCode::Compliant);
    let again = answer(&app, &id, "med.3.1", VerdictCode::NonCompliant);
    assert_eq!(again.point.observation, long);

    let err = app.submit(&id).unwrap_err();
    assert_eq!(err.code, "outcome_missing");

    let err = app
        .set_outcome(OutcomeInput {
            task_id: id.clone(),
            category: PublicCategoryCode::Penalised,
            cases: 1,
            fine_yuan: "5000.505".into(),
            revoked_licence: false,
            revoked_subjects: false,
            revoked_personnel: false,
            cancelled_filing: false,
            opinion: String::new(),
        })
        .unwrap_err();
    assert_eq!(err.code, "invalid_amount", "fen precision at most");
    let detail = app
        .set_outcome(OutcomeInput {
            task_id: id.clone(),
            category: PublicCategoryCode::Penalised,
            cases: 1,
            fine_yuan: "5,000.50".into(),
            revoked_licence: false,
            revoked_subjects: true,
            revoked_personnel: false,
            cancelled_filing: false,
            opinion: "责令立即改正处方管理问题。".into(),
        })
        .unwrap();
    let outcome = detail.outcome.expect("outcome saved");
    assert_eq!(outcome.fine_fen, 500_050);
    assert_eq!(outcome.fine_wan, "0.50005", "万元 exact, no rounding");
    assert_eq!(outcome.category_label, "行政处罚");

    let submitted = app.submit(&id).unwrap();
    assert_eq!(submitted.summary.status, StatusCode::Submitted);
    assert_eq!(submitted.summary.status_label, "待审核");
    assert!(!submitted.editable);
    // Double tap: refused, nothing changes.
    let err = app.submit(&id).unwrap_err();
    assert_eq!(err.code, "wrong_state");
    let err = app
        .answer(AnswerInput {
            task_id: id.clone(),
            point: "med.1.1".into(),
            verdict: VerdictCode::NonCompliant,
        })
        .unwrap_err();
    assert_eq!(err.code, "wrong_state", "no edits while 待审核");

    drop(app);
    let app = h.open();
    let after = app.task_detail(&id).unwrap();
    assert_eq!(after.summary.status, StatusCode::Submitted);
    assert_eq!(after.version, submitted.version);
    let list = app.task_list(TaskQuery::default()).unwrap();
    assert_eq!(list.counts.awaiting_review, 1);
    assert!(list.sync.pending_changes as usize >= codes.len() + 4);
}

#[test]
fn an_observation_that_is_too_long_is_refused_with_a_reason() {
    let h = Harness::new();
    let app = h.open();
    sign_in(&app, "zhangwei");
    let id = task_named(&app, "仁和诊所").task_id;
    start(&app, &id);
    answer(&app, &id, "med.1.1", VerdictCode::NonCompliant);
    let err = app
        .set_observation(ObservationInput {
            task_id: id.clone(),
            point: "med.1.1".into(),
            observation: "字".repeat(jiandu_core::inspection::MAX_OBSERVATION_CHARS + 1),
        })
        .unwrap_err();
    assert_eq!(err.code, "too_long");
    let err = app
        .set_observation(ObservationInput {
            task_id: id,
            point: "med.1.2".into(),
            observation: "未作答的要点".into(),
        })
        .unwrap_err();
    assert_eq!(err.code, "invalid", "an observation needs a verdict first");
}

#[test]
fn a_team_lead_reviews_and_an_inspector_cannot() {
    let h = Harness::new();
    let app = h.open();
    sign_in(&app, "zhangwei");
    assert_eq!(app.review_queue().unwrap_err().code, "forbidden");
    app.sign_out().unwrap();

    let lead = sign_in(&app, "lead");
    assert_eq!(lead.role, RoleCode::TeamLead);
    let queue = app.review_queue().unwrap();
    assert_eq!(queue.len(), 2, "two demo inspections await review");
    let item = queue
        .iter()
        .find(|q| q.non_compliant == 1)
        .expect("the village clinic has one 不符合");
    let err = app
        .review(ReviewInput {
            task_id: item.summary.task_id.clone(),
            version: item.version - 1,
            approve: true,
            comment: String::new(),
        })
        .unwrap_err();
    assert_eq!(err.code, "stale");
    let err = app
        .review(ReviewInput {
            task_id: item.summary.task_id.clone(),
            version: item.version,
            approve: false,
            comment: "  ".into(),
        })
        .unwrap_err();
    assert_eq!(err.code, "empty", "a return needs its comment");
    let returned = app
        .review(ReviewInput {
            task_id: item.summary.task_id.clone(),
            version: item.version,
            approve: false,
            comment: "请补充现场照片".into(),
        })
        .unwrap();
    assert_eq!(returned.summary.status_label, "已退回");
    assert_eq!(returned.review_comment.as_deref(), Some("请补充现场照片"));
    let other = app.review_queue().unwrap().remove(0);
    let approved = app
        .review(ReviewInput {
            task_id: other.summary.task_id.clone(),
            version: other.version,
            approve: true,
            comment: String::new(),
        })
        .unwrap();
    assert_eq!(approved.summary.status_label, "已通过");
    assert!(app.review_queue().unwrap().is_empty());
}

#[test]
fn each_user_keeps_separate_data() {
    let h = Harness::new();
    let app = h.open();
    sign_in(&app, "zhangwei");
    let id = task_named(&app, "仁和诊所").task_id;
    start(&app, &id);
    app.sign_out().unwrap();
    assert_eq!(app.startup().profile, None);
    sign_in(&app, "lisi");
    let list = app.task_list(TaskQuery::default()).unwrap();
    assert_eq!(
        list.counts.in_progress, 0,
        "another user's work is not shown"
    );
    assert!(app.task_detail(&id).is_err());
    assert!(h.path().join("users").read_dir().unwrap().count() == 2);
}

#[test]
fn a_corrupt_database_is_reported_not_replaced() {
    let h = Harness::new();
    let app = h.open();
    let profile = sign_in(&app, "zhangwei");
    drop(app);
    let file = h
        .path()
        .join("users")
        .join(&profile.user_id)
        .join("device.db");
    std::fs::write(&file, b"{ not json").unwrap();
    let err = h.try_open().unwrap_err();
    assert_eq!(err.code, "db_corrupt", "{}", err.message);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"{ not json",
        "evidence kept as is"
    );
}
