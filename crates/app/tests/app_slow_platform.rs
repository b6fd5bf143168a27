//! The app against a platform that answers late: the REAL platform behind the fault
//! proxy, which lets every request reach it but holds every answer until the test
//! releases them. While a sync, a team lead's decision, an archive download or a
//! sign-in waits for the platform, every other command of the shell's capability
//! list is called on the SAME app from other threads (as the shell does: one
//! `Arc<App>`, each command on a thread of its own) and must answer while the
//! platform's answers are still held. A use case that waited for the platform, or
//! for a lock held across that wait, would never answer before the release: the
//! test fails after [`PATIENCE`] instead of hanging.
//!
//! The time to save an answer meanwhile is printed (a figure, not a limit).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use jiandu_app::App;
use jiandu_app::documents::DocKindCode;
use jiandu_app::dto::*;
use jiandu_app::evidence::{PhotoInput, RefusalInput, SignatureInput, SignerRole, VoidPhotoInput};
use jiandu_app::jobs::Job;
use jiandu_tests::proxy::{FaultPlan, FaultProxy};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod common;
use common::{
    PASSWORD, Platform, WAIT, applicable_points, complete_and_submit, open_system, sign_in_to,
    start, synced, todo_tasks,
};

/// How long a command may take while the platform's answers are held before the
/// test calls it blocked (it would otherwise wait for ever: nothing is released
/// until every command has answered).
const PATIENCE: Duration = Duration::from_secs(20);

/// The real platform behind a proxy that can hold its answers.
struct SlowPlatform {
    _platform: Platform,
    proxy: FaultProxy,
}

impl SlowPlatform {
    fn start() -> Self {
        let platform = Platform::start();
        let proxy = platform
            .rt
            .block_on(FaultProxy::start(platform.addr, FaultPlan::none()));
        Self {
            _platform: platform,
            proxy,
        }
    }

    fn url(&self) -> String {
        self.proxy.url()
    }

    /// Waits until `n` answers are held: the slow calls really are waiting.
    fn until_waiting(&self, n: u64) {
        let end = Instant::now() + PATIENCE;
        while self.proxy.answers_waiting() < n {
            assert!(
                Instant::now() < end,
                "{n} requests should be waiting for the platform, {} are",
                self.proxy.answers_waiting()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An app shared between threads, as the shell shares it.
fn shared(dir: &std::path::Path) -> Arc<App> {
    Arc::new(open_system(dir))
}

/// Runs `f` on a thread of its own and returns its answer and how long it took;
/// fails if it has not answered within [`PATIENCE`].
fn promptly<T: Send + 'static>(
    what: &str,
    app: &Arc<App>,
    f: impl FnOnce(&App) -> T + Send + 'static,
) -> (T, Duration) {
    let app = Arc::clone(app);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let started = Instant::now();
        let out = f(&app);
        let _ = tx.send((out, started.elapsed()));
    });
    rx.recv_timeout(PATIENCE).unwrap_or_else(|_| {
        panic!("{what} did not answer while the platform was slow: it waits for the platform")
    })
}

/// Starts `f` on a thread of its own (a call that waits for the platform).
fn pending<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> T + Send + 'static,
) -> JoinHandle<T> {
    let app = Arc::clone(app);
    std::thread::spawn(move || f(&app))
}

fn photo_input(task: &str, point: &str) -> PhotoInput {
    PhotoInput {
        task_id: task.to_owned(),
        point: point.to_owned(),
        taken_at: None,
        lat: None,
        lon: None,
    }
}

#[test]
fn an_inspector_works_on_while_a_sync_and_an_archive_download_wait() {
    let slow = SlowPlatform::start();
    let dir = tempfile::tempdir().unwrap();
    let app = shared(dir.path());
    sign_in_to(&app, &slow.url(), "liuyang", PASSWORD).unwrap();
    let tasks = app.task_list(TaskQuery::default()).unwrap().tasks;
    let with = |want: &[StatusCode]| {
        tasks
            .iter()
            .find(|t| want.contains(&t.status))
            .unwrap_or_else(|| panic!("liuyang has a task {want:?}: {tasks:?}"))
            .task_id
            .clone()
    };
    // One to work on, one the platform holds (submitted or reviewed: its archive
    // copy can be fetched; 无法联系 is refused on it, promptly).
    let other = with(&[StatusCode::Assigned]);
    let submitted = with(&[StatusCode::Approved, StatusCode::Submitted]);

    slow.proxy.hold_answers();
    // 立即同步, waiting for the platform (at least its pull is held).
    let sync = pending(&app, |app| app.sync_and_wait(WAIT));
    slow.until_waiting(1);
    // The platform's copy of the 现场笔录 of the submitted inspection, waiting too.
    let t = submitted.clone();
    let archive = pending(&app, move |app| {
        app.archive_document(&t, DocKindCode::Record)
    });
    slow.until_waiting(2);

    // Meanwhile: another task, opened, started, answered, and everything else.
    let startup = promptly("startup", &app, |app| app.startup()).0;
    assert!(startup.profile.is_some());
    promptly("set_online", &app, |app| app.set_online(true))
        .0
        .unwrap();
    promptly("sync_now", &app, |app| app.sync_now()).0.unwrap();
    let status = promptly("sync_status", &app, |app| app.sync_status())
        .0
        .unwrap();
    assert!(status.running, "the sync is still waiting for the platform");
    promptly("sync_badge", &app, |app| app.sync_badge())
        .0
        .unwrap();
    promptly("task_list", &app, |app| app.task_list(TaskQuery::default()))
        .0
        .unwrap();
    let t = other.clone();
    promptly("task_detail", &app, move |app| app.task_detail(&t))
        .0
        .unwrap();
    let t = other.clone();
    promptly("show_credentials", &app, move |app| start(app, &t));
    let t = other.clone();
    promptly("checklist", &app, move |app| app.checklist(&t))
        .0
        .unwrap();
    let points = applicable_points(&app, &other);
    let (t, p) = (other.clone(), points[0].clone());
    let (saved, took) = promptly("answer", &app, move |app| {
        app.answer(AnswerInput {
            task_id: t,
            point: p,
            verdict: VerdictCode::NonCompliant,
        })
    });
    assert_eq!(saved.unwrap().progress.answered, 1);
    println!(
        "answer saved in {:.1} ms while a sync and an archive download waited for the platform",
        took.as_secs_f64() * 1000.0
    );
    let (t, p) = (other.clone(), points[0].clone());
    promptly("set_observation", &app, move |app| {
        app.set_observation(ObservationInput {
            task_id: t,
            point: p,
            observation: "消毒记录缺失。".into(),
        })
    })
    .0
    .unwrap();
    let mut photo_ids = Vec::new();
    for seed in [1, 2] {
        let (t, p) = (other.clone(), points[0].clone());
        let photo = promptly("add_photo", &app, move |app| {
            app.add_photo(
                photo_input(&t, &p),
                &jiandu_docs::sample::photo_jpeg(1600, 1200, seed),
            )
        })
        .0
        .unwrap();
        photo_ids.push(photo.photo_id);
    }
    let t = other.clone();
    let photos = promptly("photos", &app, move |app| app.photos(&t, None))
        .0
        .unwrap();
    assert_eq!(photos.len(), 2);
    let id = photo_ids[0].clone();
    promptly("photo_thumbnail", &app, move |app| app.photo_thumbnail(&id))
        .0
        .unwrap();
    let id = photo_ids[0].clone();
    promptly("photo_original", &app, move |app| app.photo_original(&id))
        .0
        .unwrap();
    let id = photo_ids[1].clone();
    promptly("void_photo", &app, move |app| {
        app.void_photo(VoidPhotoInput {
            photo_id: id,
            reason: "拍错了".into(),
        })
    })
    .0
    .unwrap();
    for (k, p) in points.iter().enumerate().skip(1) {
        let (t, p) = (other.clone(), p.clone());
        promptly("answer", &app, move |app| {
            app.answer(AnswerInput {
                task_id: t,
                point: p,
                verdict: VerdictCode::Compliant,
            })
        })
        .0
        .unwrap_or_else(|e| panic!("point {k}: {e:?}"));
    }
    let t = other.clone();
    promptly("set_outcome", &app, move |app| {
        app.set_outcome(common::corrected(&t, "责令立即改正。"))
    })
    .0
    .unwrap();
    let t = other.clone();
    let signers = promptly("signatures", &app, move |app| app.signatures(&t))
        .0
        .unwrap();
    for (k, inspector) in signers.inspectors.iter().enumerate() {
        let (t, name) = (other.clone(), inspector.name.clone());
        promptly("add_signature", &app, move |app| {
            app.add_signature(
                SignatureInput {
                    task_id: t,
                    role: SignerRole::Inspector,
                    signer_name: name,
                },
                &jiandu_docs::sample::signature_png(u32::try_from(k).unwrap()),
            )
        })
        .0
        .unwrap();
    }
    let t = other.clone();
    promptly("record_refusal", &app, move |app| {
        app.record_refusal(
            RefusalInput {
                task_id: t,
                party_name: "王某".into(),
                reason: "负责人不在场".into(),
                witness_name: String::new(),
            },
            &[],
        )
    })
    .0
    .unwrap();
    let t = other.clone();
    promptly("documents", &app, move |app| app.documents(&t))
        .0
        .unwrap();
    for kind in [DocKindCode::Record, DocKindCode::Opinion] {
        let t = other.clone();
        promptly("generate_document", &app, move |app| {
            app.generate_document(&t, kind)
        })
        .0
        .unwrap();
    }
    // The evidence sheet through a job: its progress arrives as photos are read.
    let t = other.clone();
    let (steps, _) = promptly("generate_document (with progress)", &app, move |app| {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let job = app.start_job("evidence-1", move |p| log.lock().unwrap().push(p));
        app.generate_document_with(&t, DocKindCode::Evidence, &job)
            .unwrap();
        let steps = seen.lock().unwrap().clone();
        drop(job);
        steps
    });
    assert!(
        steps
            .iter()
            .any(|p| p.label == "正在读取照片" && p.total == 1),
        "{steps:?}"
    );
    let t = other.clone();
    let pdf = promptly("document_pdf", &app, move |app| {
        app.document_pdf(&t, DocKindCode::Evidence)
    })
    .0
    .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let downloads = tempfile::tempdir().unwrap();
    let (t, d) = (other.clone(), downloads.path().to_owned());
    promptly("export_document", &app, move |app| {
        app.export_document(&t, DocKindCode::Record, &d)
    })
    .0
    .unwrap();
    let d = downloads.path().to_owned();
    let export = promptly("export_data", &app, move |app| {
        app.export_data(&d, &Job::none())
    })
    .0
    .unwrap();
    assert!(export.files >= 3, "{export:?}");
    let d = downloads.path().to_owned();
    promptly("export_diagnostics", &app, move |app| {
        app.export_diagnostics(&d)
    })
    .0
    .unwrap();
    promptly("cancel_job", &app, |app| app.cancel_job("nothing-running"))
        .0
        .unwrap();
    promptly("conflicts", &app, |app| app.conflicts(true))
        .0
        .unwrap();
    // No rejected edit to mark read: nothing changes, at once.
    promptly("resolve_conflict", &app, |app| app.resolve_conflict(-1))
        .0
        .unwrap();
    let t = other.clone();
    let detail = promptly("submit", &app, move |app| app.submit(&t))
        .0
        .unwrap();
    assert_eq!(detail.summary.status, StatusCode::Submitted);
    let t = submitted.clone();
    let (refused, _) = promptly("mark_unreachable", &app, move |app| {
        app.mark_unreachable(&t, "现场核实已停业")
    });
    assert!(refused.is_err(), "an approved inspection is locked");

    // Everything above answered while the platform still held its answers.
    assert!(
        !sync.is_finished() && !archive.is_finished(),
        "the sync and the archive download were waiting all along"
    );
    assert!(slow.proxy.answers_waiting() >= 2);
    slow.proxy.release_answers();
    sync.join()
        .unwrap()
        .unwrap()
        .expect("the sync finishes once the platform answers");
    let pdf = archive.join().unwrap().unwrap();
    assert!(pdf.starts_with(b"%PDF"), "the platform's 现场笔录");
    synced(&app);
    let status = app.sync_status().unwrap();
    assert_eq!(
        (status.pending_changes, status.photos_left),
        (0, 0),
        "what was done meanwhile reached the platform: {status:?}"
    );
}

#[test]
fn a_team_lead_works_on_while_a_decision_and_an_archive_download_wait() {
    let slow = SlowPlatform::start();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let inspector = shared(dirs[0].path());
    let lead = shared(dirs[1].path());
    sign_in_to(&inspector, &slow.url(), "liuyang", PASSWORD).unwrap();
    let first = todo_tasks(&inspector)[0].task_id.clone();
    complete_and_submit(&inspector, &first);
    synced(&inspector);
    sign_in_to(&lead, &slow.url(), "lina", PASSWORD).unwrap();
    let queue = lead.review_queue().unwrap();
    let decided = queue
        .iter()
        .find(|i| i.summary.task_id == first)
        .expect("the submission in the lead's queue")
        .clone();
    // Another submission of the team (the demo platform has some waiting).
    let second = queue
        .iter()
        .find(|i| i.summary.task_id != first)
        .expect("a second submission in the queue")
        .summary
        .task_id
        .clone();

    slow.proxy.hold_answers();
    // 审核通过, waiting for the platform.
    let decision = pending(&lead, move |lead| {
        lead.review(ReviewInput {
            task_id: decided.summary.task_id.clone(),
            version: decided.version,
            approve: true,
            comment: String::new(),
        })
    });
    slow.until_waiting(1);
    // The 意见书 of the other submission, waiting too.
    let t = second.clone();
    let archive = pending(&lead, move |lead| {
        lead.archive_document(&t, DocKindCode::Opinion)
    });
    slow.until_waiting(2);

    // Meanwhile the lead reads the other submission, and the rest of the app answers.
    let (queue_now, took) = promptly("review_queue", &lead, |lead| lead.review_queue());
    assert_eq!(queue_now.unwrap().len(), queue.len());
    println!(
        "review queue read in {:.1} ms while a decision and an archive download waited",
        took.as_secs_f64() * 1000.0
    );
    let t = second.clone();
    promptly("task_detail", &lead, move |lead| lead.task_detail(&t))
        .0
        .unwrap();
    let t = second.clone();
    promptly("checklist", &lead, move |lead| lead.checklist(&t))
        .0
        .unwrap();
    let t = second.clone();
    promptly("photos", &lead, move |lead| lead.photos(&t, None))
        .0
        .unwrap();
    let t = second.clone();
    promptly("signatures", &lead, move |lead| lead.signatures(&t))
        .0
        .unwrap();
    let t = second.clone();
    promptly("documents", &lead, move |lead| lead.documents(&t))
        .0
        .unwrap();
    promptly("task_list", &lead, |lead| {
        lead.task_list(TaskQuery::default())
    })
    .0
    .unwrap();
    promptly("sync_status", &lead, |lead| lead.sync_status())
        .0
        .unwrap();
    promptly("sync_badge", &lead, |lead| lead.sync_badge())
        .0
        .unwrap();
    promptly("conflicts", &lead, |lead| lead.conflicts(false))
        .0
        .unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let d = downloads.path().to_owned();
    promptly("export_diagnostics", &lead, move |lead| {
        lead.export_diagnostics(&d)
    })
    .0
    .unwrap();
    assert!(
        !decision.is_finished() && !archive.is_finished(),
        "the decision and the archive download were waiting all along"
    );
    slow.proxy.release_answers();
    let detail = decision.join().unwrap().unwrap();
    assert_eq!(detail.summary.status, StatusCode::Approved);
    let pdf = archive.join().unwrap().unwrap();
    assert!(pdf.starts_with(b"%PDF"), "the platform's 意见书");

    // 退出登录 while a sync waits: it stops the sync and does not wait for it.
    slow.proxy.hold_answers();
    let sync = pending(&lead, |lead| lead.sync_and_wait(WAIT));
    slow.until_waiting(1);
    promptly("sign_out", &lead, |lead| lead.sign_out())
        .0
        .unwrap();
    assert!(lead.startup().profile.is_none());
    let ended = sync.join().unwrap().unwrap();
    assert!(ended.is_err(), "the interrupted sync says so: {ended:?}");
    slow.proxy.release_answers();
}

#[test]
fn a_sign_in_waiting_for_the_platform_holds_nothing_else() {
    let slow = SlowPlatform::start();
    let dir = tempfile::tempdir().unwrap();
    let app = shared(dir.path());
    slow.proxy.hold_answers();
    let url = slow.url();
    let signing_in = pending(&app, move |app| sign_in_to(app, &url, "zhangwei", PASSWORD));
    slow.until_waiting(1);
    let startup = promptly("startup", &app, |app| app.startup()).0;
    assert!(startup.profile.is_none(), "not signed in yet");
    let (list, _) = promptly("task_list", &app, |app| app.task_list(TaskQuery::default()));
    assert_eq!(list.unwrap_err().code, "not_signed_in");
    promptly("set_online", &app, |app| app.set_online(true))
        .0
        .unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let d = downloads.path().to_owned();
    promptly("export_diagnostics", &app, move |app| {
        app.export_diagnostics(&d)
    })
    .0
    .unwrap();
    assert!(!signing_in.is_finished());
    slow.proxy.release_answers();
    let profile = signing_in.join().unwrap().unwrap();
    assert_eq!(profile.username, "zhangwei");
    assert!(!todo_tasks(&app).is_empty(), "the drawn tasks arrived");
}
