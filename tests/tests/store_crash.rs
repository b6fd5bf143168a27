//! Device store: crash safety. A child process (src/bin/crash_writer.rs) saves
//! findings with photos in a loop and prints each commit after the store returned;
//! this test SIGKILLs it at random moments, at least 50 times, and after every kill
//! checks that the store opens, `PRAGMA integrity_check` is ok, every printed commit
//! is there with its outbox entry, device_seq has no gap, no temporary file is left
//! and no photo row points to a missing or partial file (every file re-hashed).
//!
//! SIGKILL tests what a crash or a force-stop does (the process dies mid-write; the
//! kernel keeps what was written). Power loss is covered by synchronous=FULL and the
//! fsyncs of files and folders, which SIGKILL cannot exercise.
//!
//! The kill moments come from a seeded generator; the seed is printed, and
//! JIANDU_CRASH_SEED=<n> replays a run.

use jiandu_core::InspectionStatus;
use jiandu_store::{DataKey, FileIntegrity, Store, TaskFilter};
use jiandu_tests::store_fixtures::templates;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const KILLS: usize = 60;

#[derive(Debug, Clone)]
struct Commit {
    entity: String,
    inspection: Uuid,
    id: Uuid,
    seq: i64,
}

fn parse(stdout: &str) -> Vec<Commit> {
    // Only complete lines: a line cut by the kill reports nothing.
    let complete = match stdout.rfind('\n') {
        Some(end) => &stdout[..end],
        None => "",
    };
    complete
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 5, "malformed line from the writer: {line:?}");
            assert_eq!(f[0], "C", "{line:?}");
            Commit {
                entity: f[1].to_owned(),
                inspection: f[2].parse().expect("inspection id"),
                id: f[3].parse().expect("entity id"),
                seq: f[4].parse().expect("device_seq"),
            }
        })
        .collect()
}

/// Everything that must hold after a crash.
fn verify(db: &Path, key: Option<&DataKey>, commits: &[Commit], kill_no: usize) {
    let ctx = |what: &str| format!("after kill #{kill_no}: {what}");
    let store = match key {
        Some(k) => Store::open_encrypted(db, k),
        None => Store::open(db),
    }
    .unwrap_or_else(|e| panic!("{}: {e}", ctx("open")));
    assert_eq!(
        store.integrity_check().expect("integrity_check runs"),
        vec!["ok".to_owned()],
        "{}",
        ctx("integrity_check")
    );

    let stats = store.outbox_stats().expect("stats");
    if stats.entries > 0 {
        assert_eq!(stats.min_seq, 1, "{}", ctx("device_seq starts at 1"));
    }
    assert_eq!(
        stats.max_seq,
        stats.entries,
        "{}",
        ctx("device_seq is gapless")
    );
    assert_eq!(
        stats.last_device_seq,
        stats.max_seq,
        "{}",
        ctx("counter = last entry")
    );

    let mut inspections = HashMap::new();
    for c in commits {
        let entry = store
            .outbox_entry(c.seq)
            .expect("readable")
            .unwrap_or_else(|| panic!("{}: {c:?}", ctx("reported commit has its outbox entry")));
        assert_eq!(
            (entry.entity.as_str(), entry.entity_id, entry.inspection_id),
            (c.entity.as_str(), c.id, c.inspection),
            "{}",
            ctx("the outbox entry is the reported change")
        );
        let insp = inspections.entry(c.inspection).or_insert_with(|| {
            store
                .load_inspection(c.inspection)
                .expect("reported inspection")
        });
        match c.entity.as_str() {
            "inspection" => assert_eq!(insp.status, InspectionStatus::InProgress),
            "finding" => assert!(
                insp.findings.iter().any(|f| f.id == c.id),
                "{}: {c:?}",
                ctx("reported finding is stored")
            ),
            "photo" => {
                let p = store.photo(c.id).expect("reported photo row");
                assert_eq!(p.inspection_id, c.inspection);
            }
            other => panic!("unexpected entity {other}"),
        }
    }

    // Every record, reported or not, was written with its outbox entry (same
    // transaction): nothing exists that sync would never push.
    let queued: HashSet<Uuid> = store
        .pending_outbox(usize::MAX)
        .expect("outbox")
        .into_iter()
        .map(|e| e.entity_id)
        .collect();

    // Every photo row of every inspection, reported or not: its file is complete.
    let mut photos = 0;
    for row in store
        .list_tasks(&templates(), &TaskFilter::default())
        .expect("task list")
    {
        let Some(insp) = row.inspection_id else {
            continue;
        };
        let loaded = store.load_inspection(insp).expect("listed inspection");
        assert_eq!(
            row.answered as usize,
            loaded.findings.len(),
            "{}",
            ctx("the task list's count matches the stored findings")
        );
        assert!(
            queued.contains(&insp),
            "{}",
            ctx("inspection has its outbox entry")
        );
        for f in &loaded.findings {
            assert!(
                queued.contains(&f.id),
                "{}: {}",
                ctx("finding has its outbox entry"),
                f.id
            );
        }
        for p in store.list_photos(insp).expect("photos") {
            assert_eq!(
                store.verify_photo(p.id).expect("verify runs"),
                FileIntegrity::Intact,
                "{}: photo {}",
                ctx("photo file complete"),
                p.id
            );
            assert!(
                queued.contains(&p.id),
                "{}: {}",
                ctx("photo has its outbox entry"),
                p.id
            );
            photos += 1;
        }
    }
    let reported_photos = commits.iter().filter(|c| c.entity == "photo").count();
    assert!(
        photos >= reported_photos,
        "{}",
        ctx("every reported photo listed")
    );

    for dir in ["photos", "signatures"] {
        let leftovers = std::fs::read_dir(db.with_file_name(dir))
            .expect("folder")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .count();
        assert_eq!(leftovers, 0, "{}", ctx("temp files cleaned at open"));
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_reported_commit() {
    crash_run(None);
}

/// The same on an encrypted store (SQLCipher database, sealed photos): a kill
/// mid-write loses nothing either, and the files on disk stay unreadable.
#[test]
fn sigkill_on_the_encrypted_store_loses_no_reported_commit() {
    let key = [7u8; 32];
    crash_run(Some(key));
}

fn crash_run(key_bytes: Option<[u8; 32]>) {
    let key = key_bytes.map(DataKey::from_bytes);
    let seed: u64 = std::env::var("JIANDU_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("crash test seed: {seed} (replay with JIANDU_CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let writer = env!("CARGO_BIN_EXE_crash_writer");

    let started = Instant::now();
    let mut commits: Vec<Commit> = Vec::new();
    let mut runs_with_commits = 0;
    for kill_no in 1..=KILLS {
        let mut cmd = Command::new(writer);
        if let Some(k) = key_bytes {
            cmd.env("JIANDU_CRASH_KEY", hex::encode(k));
        }
        let mut child = cmd
            .arg(&db)
            .arg(kill_no.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("writer starts");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (first_tx, first_commit) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stdout.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
                if out.contains(&b'\n') {
                    let _ = first_tx.send(());
                }
            }
            String::from_utf8(out).map_err(std::io::Error::other)
        });
        // Three runs in four are killed at a random moment of writing: counted from
        // the first reported commit, so a writer slow to start (a loaded machine)
        // is not killed before it writes. The fourth is killed at a random moment
        // from its start, opening and migrating included.
        if kill_no % 4 != 0 {
            let _ = first_commit.recv_timeout(Duration::from_secs(30));
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(5..250)));
        // Child::kill is SIGKILL on unix: no destructor, no flush, no unwinding.
        let _ = child.kill();
        let status = child.wait().expect("writer reaped");
        let out = reader.join().expect("reader thread").expect("stdout read");
        if status.code().is_some() {
            let mut err = String::new();
            let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
            panic!("the writer exited by itself ({status}) instead of being killed: {err}");
        }
        let new = parse(&out);
        if !new.is_empty() {
            runs_with_commits += 1;
        }
        commits.extend(new);
        verify(&db, key.as_ref(), &commits, kill_no);
    }
    if key.is_some() {
        let head = std::fs::read(&db).expect("database file");
        assert!(
            !head.starts_with(b"SQLite format 3"),
            "the database is encrypted"
        );
        for e in std::fs::read_dir(dir.path().join("photos")).expect("photos") {
            let bytes = std::fs::read(e.expect("entry").path()).expect("photo file");
            assert!(bytes.starts_with(b"JDE1"), "every photo is sealed");
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{KILLS} kills, {} reported commits verified after each, {:.1} s",
        commits.len(),
        elapsed.as_secs_f64()
    );
    assert!(
        runs_with_commits >= KILLS / 2,
        "most runs must be killed while writing, not while starting: {runs_with_commits}/{KILLS}"
    );
    assert!(
        commits.len() >= 200,
        "enough commits to mean something: {}",
        commits.len()
    );
}
