//! A lost tablet gives nothing away: the app lock (PIN), encryption at rest of the
//! user's folder, wrong PINs limited and the tenth erasing the keys. Real app
//! folders on disk, read back by the sqlite3 CLI and `file` as a finder would.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use chrono::{DateTime, Duration, TimeZone, Utc};
use jiandu_app::dto::*;
use jiandu_app::evidence::PhotoInput;
use jiandu_app::{App, Clock};
use jiandu_docs::sample;
use jiandu_store::crypto::KdfParams;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

mod common;
use common::*;

const PIN: &str = "246810";
const FAST: KdfParams = KdfParams {
    m_kib: 256,
    t: 1,
    p: 1,
};

/// A clock the test moves (the wrong-PIN delays are waited out by moving it).
#[derive(Clone)]
struct MovingClock(Arc<Mutex<DateTime<Utc>>>);
impl Clock for MovingClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}
impl MovingClock {
    fn advance_ms(&self, ms: i64) {
        *self.0.lock().unwrap() += Duration::milliseconds(ms);
    }
}

fn clock() -> MovingClock {
    MovingClock(Arc::new(Mutex::new(
        Utc.with_ymd_and_hms(2024, 6, 1, 2, 0, 0).unwrap(),
    )))
}

fn open_at(dir: &Path, clock: &MovingClock, ids: &CountingIds) -> App {
    let app = App::open_with_templates(
        dir,
        fixture_templates(),
        Box::new(clock.clone()),
        Box::new(ids.clone()),
    )
    .unwrap();
    app.set_pin_kdf(FAST);
    app
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files_under(from) {
        let target = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&f, &target).unwrap();
    }
}

/// The demo inspector with one started inspection, a finding, a photo, a signature
/// and a generated document, all made BEFORE the PIN (the upgrade path).
fn demo_with_work(app: &App) -> (String, String, Vec<u8>) {
    app.sign_in(SignInInput {
        server_url: "demo".into(),
        username: "zhangwei".into(),
        password: "x".into(),
    })
    .unwrap();
    assert_eq!(app.lock_state().state, "set_pin", "a PIN is asked first");
    let task = app
        .task_list(TaskQuery::default())
        .unwrap()
        .tasks
        .into_iter()
        .find(|t| t.unit_name == "仁和诊所")
        .unwrap();
    start(app, &task.task_id);
    app.answer(AnswerInput {
        task_id: task.task_id.clone(),
        point: "med.3.1".into(),
        verdict: VerdictCode::NonCompliant,
    })
    .unwrap();
    app.set_observation(ObservationInput {
        task_id: task.task_id.clone(),
        point: "med.3.1".into(),
        observation: "抽查处方20张，其中3张无医师签名。".into(),
    })
    .unwrap();
    let photo = sample::photo_jpeg(800, 600, 3);
    let view = app
        .add_photo(
            PhotoInput {
                task_id: task.task_id.clone(),
                point: "med.3.1".into(),
                taken_at: Some("2024-06-01T02:05:00Z".into()),
                lat: None,
                lon: None,
            },
            &photo,
        )
        .unwrap();
    (task.task_id, view.photo_id, photo)
}

/// Every file of `dir`: neither the sqlite3 CLI nor `file` recognises anything,
/// and no readable text of the inspection appears in any byte.
fn assert_nothing_readable(dir: &Path) {
    let db = dir.join("device.db");
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM sqlite_master;")
        .output()
        .expect("sqlite3 CLI (apt: sqlite3)");
    assert!(
        !out.status.success(),
        "sqlite3 must not read the copy: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a database"), "{err}");
    let needles: [&[u8]; 4] = [
        "仁和诊所".as_bytes(),
        "无医师签名".as_bytes(),
        b"SQLite format 3",
        b"JFIF",
    ];
    let mut checked = 0;
    for f in files_under(dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let kind = Command::new("file").arg("-b").arg(&f).output().unwrap();
        let kind = String::from_utf8_lossy(&kind.stdout).to_lowercase();
        if name == "keys.json" || name.ends_with(".encrypted") || name.starts_with('.') {
            continue; // the wrapped key (JSON of hex), markers, the folder lock
        }
        if name.ends_with("-wal") || name.ends_with("-shm") {
            // SQLCipher leaves the WAL's 32-byte header (magic, page size, salts)
            // and the shared-memory index (page numbers) in the clear; every page
            // in them is encrypted: the content checks below still apply.
            assert!(name.starts_with("device.db"), "{name}");
        } else {
            for bad in ["jpeg", "png", "pdf", "sqlite", "text"] {
                assert!(!kind.contains(bad), "{} reads as {kind}", f.display());
            }
        }
        let bytes = std::fs::read(&f).unwrap();
        for n in needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n),
                "{} holds {:?}",
                f.display(),
                String::from_utf8_lossy(n)
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 2,
        "the database and the photo checked: {checked}"
    );
}

#[test]
fn a_copied_folder_gives_nothing_away_and_opens_locked() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, ids) = (clock(), CountingIds(Default::default()));
    let app = open_at(dir.path(), &clock, &ids);
    let (task, photo_id, photo) = demo_with_work(&app);

    // A bad PIN is refused in Chinese; nothing changes.
    let e = app.set_pin("12345").unwrap_err();
    assert!(e.message.contains("6 位数字"), "{}", e.message);
    assert_eq!(app.lock_state().state, "set_pin");

    // The PIN encrypts what was already there; the work is all still readable.
    assert_eq!(app.set_pin(PIN).unwrap().state, "open");
    assert_eq!(app.photo_original(&photo_id).unwrap(), photo);
    assert!(!app.photo_thumbnail(&photo_id).unwrap().is_empty());
    let detail = app.task_detail(&task).unwrap();
    assert_eq!(detail.summary.unit_name, "仁和诊所");
    // New work after the PIN is encrypted too.
    app.answer(AnswerInput {
        task_id: task.clone(),
        point: "med.1.1".into(),
        verdict: VerdictCode::Compliant,
    })
    .unwrap();

    // The finder copies the folder while the app runs.
    let user_dir = files_under(dir.path())
        .into_iter()
        .find(|p| p.ends_with("device.db"))
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let copy = tempfile::tempdir().unwrap();
    copy_tree(dir.path(), copy.path());
    let copied_user = copy.path().join(user_dir.strip_prefix(dir.path()).unwrap());
    assert_nothing_readable(&copied_user);

    // Started from the copy, the app asks for the PIN and shows nothing.
    let found = open_at(copy.path(), &clock, &ids);
    let state = found.startup();
    assert_eq!(state.lock.state, "locked");
    assert!(found.task_list(TaskQuery::default()).is_err());
    assert!(found.photo_original(&photo_id).is_err());
    // With the PIN, everything is there.
    assert_eq!(found.unlock(PIN).unwrap().state, "open");
    assert_eq!(found.photo_original(&photo_id).unwrap(), photo);
    let d = found.task_detail(&task).unwrap();
    assert_eq!(d.summary.unit_name, "仁和诊所");

    // Idle lock: the session closes until the PIN is entered again.
    assert_eq!(app.lock_now().unwrap().state, "locked");
    assert!(app.task_list(TaskQuery::default()).is_err());
    assert_eq!(app.unlock(PIN).unwrap().state, "open");
    assert!(app.task_detail(&task).is_ok());
    assert_eq!(app.set_idle_minutes(10).unwrap().idle_minutes, 10);
    assert!(app.set_idle_minutes(0).is_err());
    drop(app);
    // A restart opens locked.
    let app = open_at(dir.path(), &clock, &ids);
    assert_eq!(app.lock_state().state, "locked");
    assert_eq!(app.lock_state().idle_minutes, 10);
}

#[test]
fn ten_wrong_pins_erase_the_keys_and_the_data_stays_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, ids) = (clock(), CountingIds(Default::default()));
    let app = open_at(dir.path(), &clock, &ids);
    let (_task, _photo_id, _photo) = demo_with_work(&app);
    app.set_pin(PIN).unwrap();
    app.lock_now().unwrap();
    let user_dir = files_under(dir.path())
        .into_iter()
        .find(|p| p.ends_with("keys.json"))
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();

    for i in 1..10u32 {
        let e = app.unlock("000000").unwrap_err();
        assert_eq!(e.code, "wrong_pin", "try {i}: {}", e.message);
        assert!(
            e.message.contains(&format!("还可尝试 {} 次", 10 - i)),
            "{}",
            e.message
        );
        let st = app.lock_state();
        assert_eq!((st.state.as_str(), st.failures), ("locked", i));
        if st.wait_ms > 0 {
            // Growing delay: even the right PIN waits.
            let e = app.unlock(PIN).unwrap_err();
            assert_eq!(e.code, "pin_wait", "{}", e.message);
            clock.advance_ms(st.wait_ms);
        }
        // A restart does not reset the count.
        if i == 5 {
            let again = open_at(dir.path(), &clock, &ids);
            assert_eq!(again.lock_state().failures, 5);
        }
    }
    let e = app.unlock("000000").unwrap_err();
    assert_eq!(e.code, "keys_erased", "{}", e.message);
    assert!(e.message.contains("账号密码"), "{}", e.message);
    assert!(
        !user_dir.join("keys.json").exists(),
        "the wrapped key is gone"
    );
    assert_eq!(app.lock_state().state, "signed_out");
    assert!(app.startup().profile.is_none());
    // Even the right PIN opens nothing now, and nothing on disk is readable.
    assert_eq!(app.unlock(PIN).unwrap().state, "signed_out");
    assert_nothing_readable(&user_dir);
    let again = open_at(dir.path(), &clock, &ids);
    assert_eq!(again.lock_state().state, "signed_out");
    // Signing in again (the account password) starts a clean folder.
    again
        .sign_in(SignInInput {
            server_url: "demo".into(),
            username: "zhangwei".into(),
            password: "x".into(),
        })
        .unwrap();
    assert_eq!(again.lock_state().state, "set_pin");
    assert!(
        !again
            .task_list(TaskQuery::default())
            .unwrap()
            .tasks
            .is_empty()
    );
}

#[test]
fn a_platform_user_syncs_with_the_sealed_token_and_exports_with_the_pin() {
    let platform = Platform::start();
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(
        dir.path(),
        Box::new(jiandu_app::SystemClock),
        Box::new(jiandu_app::V7Ids),
    )
    .unwrap();
    app.set_pin_kdf(FAST);
    sign_in_to(&app, &platform.url(), "liuyang", PASSWORD).unwrap();
    assert_eq!(app.lock_state().state, "set_pin");
    app.set_pin(PIN).unwrap();
    let tokens: Vec<PathBuf> = files_under(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("sync-token"))
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(tokens[0].ends_with("sync-token.sealed"));
    // The sealed token still signs the device's syncs.
    synced(&app);
    assert!(!todo_tasks(&app).is_empty());

    // 导出本机数据 asks for the PIN; encrypted unless plain is chosen.
    let downloads = tempfile::tempdir().unwrap();
    let job = jiandu_app::jobs::Job::none();
    let e = app
        .export_data_with(downloads.path(), &job, Some("999999"), false)
        .unwrap_err();
    assert_eq!(e.code, "wrong_pin");
    let sealed = app
        .export_data_with(downloads.path(), &job, Some(PIN), false)
        .unwrap();
    let sealed_dir = PathBuf::from(&sealed.path);
    assert!(sealed_dir.join("keys.json").exists());
    let out = Command::new("sqlite3")
        .arg(sealed_dir.join("device.db"))
        .arg("SELECT count(*) FROM sqlite_master;")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the encrypted export is not readable"
    );
    let plain = app
        .export_data_with(downloads.path(), &job, Some(PIN), true)
        .unwrap();
    let out = Command::new("sqlite3")
        .arg(PathBuf::from(&plain.path).join("device.db"))
        .arg("SELECT count(*) FROM tasks;")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Locked and signed in again: the PIN opens the data and the new enrolment.
    app.lock_now().unwrap();
    app.sign_out().unwrap();
    sign_in_to(&app, &platform.url(), "liuyang", PASSWORD).unwrap();
    assert_eq!(app.lock_state().state, "locked");
    app.unlock(PIN).unwrap();
    synced(&app);
}

#[test]
fn changing_the_pin_rewraps_the_key_and_the_old_pin_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, ids) = (clock(), CountingIds(Default::default()));
    let app = open_at(dir.path(), &clock, &ids);
    let (task, photo_id, photo) = demo_with_work(&app);
    app.set_pin(PIN).unwrap();
    let keys = files_under(dir.path())
        .into_iter()
        .find(|p| p.ends_with("keys.json"))
        .unwrap();
    let wrapped = |path: &Path| -> String {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        v["wrapped"].as_str().unwrap().to_owned()
    };
    let before = wrapped(&keys);

    // Refused in Chinese, nothing changed: a bad new PIN, a mismatch, a wrong old.
    let e = app.change_pin(PIN, "12345", "12345").unwrap_err();
    assert!(e.message.contains("6 位数字"), "{}", e.message);
    let e = app.change_pin(PIN, "111111", "222222").unwrap_err();
    assert!(e.message.contains("不一致"), "{}", e.message);
    let e = app.change_pin("000000", "111111", "111111").unwrap_err();
    assert_eq!(e.code, "wrong_pin", "{}", e.message);
    assert_eq!(app.lock_state().state, "open", "still open");
    assert_eq!(wrapped(&keys), before, "the key is wrapped as before");

    const NEW: &str = "975310";
    assert_eq!(app.change_pin(PIN, NEW, NEW).unwrap().state, "open");
    assert_ne!(wrapped(&keys), before, "wrapped again");
    assert_eq!(
        app.lock_state().failures,
        0,
        "the right PIN reset the count"
    );
    // The data did not move: the same key opens it.
    assert_eq!(app.photo_original(&photo_id).unwrap(), photo);

    // Locked and restarted: the old PIN is wrong, the new one opens everything.
    app.lock_now().unwrap();
    drop(app);
    let app = open_at(dir.path(), &clock, &ids);
    assert_eq!(app.unlock(PIN).unwrap_err().code, "wrong_pin");
    assert_eq!(app.unlock(NEW).unwrap().state, "open");
    assert_eq!(
        app.task_detail(&task).unwrap().summary.unit_name,
        "仁和诊所"
    );
    assert_eq!(app.photo_original(&photo_id).unwrap(), photo);
}
