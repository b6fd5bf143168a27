//! Many writes at once through the real server (issue 16): SQLite's one writer
//! commits concurrent requests in groups (one transaction, one fsync, a savepoint
//! each), PostgreSQL's push writes a batch in a few round trips. Checked on both:
//!
//! - every concurrent push is answered with its own results, and all of them are
//!   stored;
//! - a request refused inside the store at the same moment (a document-number
//!   lease past the last number) fails alone: the pushes and the other leases
//!   beside it succeed, and the leases issued are gap-free and disjoint;
//! - the change sequence stays gap-free: one audit entry per sequence value, the
//!   last one the server's sequence;
//! - SQLite, `kill -9` of a server process in the middle of a burst: every push
//!   that was answered is on disk after the kill, the sequence is still gap-free,
//!   and a restarted server takes the rest (replays are safe).
#![allow(clippy::unwrap_used)]

use jiandu_server::store::ServerStore;
use jiandu_sync::{CancelToken, SyncConfig, SyncReport, TokenStore};
use jiandu_tests::process::announced;
use jiandu_tests::sync_fixtures::{AUTHORITY, Device, ServerDb, TestServer, YEAR, inspect, seed};
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use uuid::Uuid;

fn quiet(_: jiandu_core::protocol::SyncEvent) {}

/// `n` devices (of the two inspectors, in turn), each enrolled, synced, and with
/// one finished inspection of its own task waiting in its outbox; with the
/// mutation ids of that outbox.
async fn devices(
    db: &ServerDb,
    url: &str,
    n: usize,
) -> (Vec<Arc<Device>>, Vec<Vec<Uuid>>, Vec<Uuid>) {
    let world = seed(&*db.open().await, n as u32).await;
    let mut devices = Vec::new();
    let mut mutations = Vec::new();
    for (i, task) in world.tasks.iter().enumerate() {
        let dev = Device::enrolled(&world.inspectors[i % 2], url).await;
        dev.engine(url, SyncConfig::default())
            .sync_once(&CancelToken::new(), &quiet)
            .await
            .unwrap();
        inspect(&dev, *task, &[], 100 + i as u64, true);
        mutations.push(
            dev.with(|s| s.pending_outbox(10_000))
                .unwrap()
                .iter()
                .map(|e| e.mutation_id)
                .collect(),
        );
        devices.push(Arc::new(dev));
    }
    (devices, mutations, world.tasks)
}

/// Pushes the device's outbox once: Ok(report) or the error's text.
async fn push(dev: &Device, url: &str) -> Result<SyncReport, String> {
    let token = dev.tokens.load().unwrap().unwrap();
    let mut r = SyncReport::default();
    dev.engine(url, SyncConfig::default())
        .push(&token, &CancelToken::new(), &quiet, &mut r)
        .await
        .map_err(|e| e.to_string())?;
    Ok(r)
}

/// Asks for a block of document numbers: (HTTP status, body).
async fn lease(dev: &Device, url: &str, count: u32, year: i32) -> (u16, serde_json::Value) {
    let token = dev.tokens.load().unwrap().unwrap();
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/doc-numbers/lease"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "request_id": Uuid::now_v7(),
            "authority": AUTHORITY,
            "year": year,
            "count": count,
        }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// One audit entry per change-sequence value, consecutive, ending at the server's
/// sequence.
async fn assert_gap_free(store: &dyn ServerStore, what: &str) {
    let start = store.audit_start().await.unwrap();
    let entries = store.audit_entries(start, 1_000_000).await.unwrap();
    for (k, e) in entries.iter().enumerate() {
        assert_eq!(
            e.change_seq,
            start + 1 + k as i64,
            "{what}: sequence has a gap"
        );
    }
    let last = entries.last().map(|e| e.change_seq).unwrap_or(start);
    assert_eq!(store.state().await.unwrap().change_seq, last, "{what}");
}

/// Leaves one number of `AUTHORITY`'s series of `year` (the server alone decides
/// numbers, so only the database can bring a series to its end): a lease of more
/// is refused inside the store's transaction.
async fn exhaust_series(db: &ServerDb, year: i32) {
    let sql = "INSERT INTO doc_number_counters (authority, year, last_issued) VALUES ";
    let last = i64::from(u32::MAX - 1);
    if db.backend == "sqlite" {
        let c = rusqlite::Connection::open(&db.url).unwrap();
        c.execute(
            &format!("{sql}(?1, ?2, ?3)"),
            rusqlite::params![AUTHORITY, year, last],
        )
        .unwrap();
    } else {
        let (c, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        c.execute(&format!("{sql}($1, $2, $3)"), &[&AUTHORITY, &year, &last])
            .await
            .unwrap();
    }
}

async fn burst(db: ServerDb) {
    let what = db.backend;
    let n = 12;
    let server = db.start();
    let url = server.url();
    let (devices, mutations, tasks) = devices(&db, &url, n).await;
    let store = db.open().await;
    exhaust_series(&db, YEAR - 1).await;
    let before = store.state().await.unwrap().change_seq;
    let barrier = Arc::new(tokio::sync::Barrier::new(3 * n));
    let mut pushes = tokio::task::JoinSet::new();
    let mut leases = tokio::task::JoinSet::new();
    for (i, dev) in devices.iter().enumerate() {
        let (d, u, b) = (dev.clone(), url.clone(), barrier.clone());
        pushes.spawn(async move {
            b.wait().await;
            (i, push(&d, &u).await)
        });
        // A lease the store refuses inside its transaction (the series of the
        // year before has one number left), at the same moment as the pushes…
        let (d, u, b) = (dev.clone(), url.clone(), barrier.clone());
        leases.spawn(async move {
            b.wait().await;
            (false, lease(&d, &u, 5, YEAR - 1).await)
        });
        // …and one it grants.
        let (d, u, b) = (dev.clone(), url.clone(), barrier.clone());
        leases.spawn(async move {
            b.wait().await;
            (true, lease(&d, &u, 20, YEAR).await)
        });
    }
    for (i, r) in pushes.join_all().await {
        let r = r.unwrap_or_else(|e| panic!("{what}: push {i} failed: {e}"));
        assert_eq!(r.rejected, 0, "{what}: push {i}");
        assert_eq!(r.pushed, mutations[i].len() as u64, "{what}: push {i}");
        let pending = devices[i].with(|s| s.outbox_stats()).unwrap().pending;
        assert_eq!(pending, 0, "{what}: device {i} has every item answered");
    }
    let mut blocks = Vec::new();
    for (granted, (status, body)) in leases.join_all().await {
        if granted {
            assert_eq!(status, 200, "{what}: {body}");
            blocks.push((
                body["first"].as_u64().unwrap(),
                body["last"].as_u64().unwrap(),
            ));
        } else {
            assert_eq!(status, 409, "{what}: {body}");
            assert_eq!(body["code"], "numbers_exhausted", "{what}");
        }
    }
    // The granted blocks are disjoint and gap-free: the refused ones took nothing.
    blocks.sort();
    assert_eq!(blocks.len(), n);
    for (k, (first, last)) in blocks.iter().enumerate() {
        assert_eq!(*first, 20 * k as u64 + 1, "{what}: {blocks:?}");
        assert_eq!(*last, 20 * k as u64 + 20, "{what}: {blocks:?}");
    }
    let stored = store.inspections_of_tasks(&tasks).await.unwrap();
    assert_eq!(stored.len(), n, "{what}: every inspection stored");
    for s in &stored {
        assert_eq!(s.inspection.status.as_str(), "submitted", "{what}");
    }
    // One sequence value per push request and per granted lease, none for the
    // refused ones.
    let after = store.state().await.unwrap().change_seq;
    assert!(after - before >= 2 * n as i64, "{what}: {before} → {after}");
    assert_gap_free(&*store, what).await;
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_are_answered_each_and_a_refused_write_fails_alone() {
    burst(ServerDb::sqlite()).await;
    if let Some(db) = ServerDb::postgres("group_commit").await {
        burst(db).await;
    }
}

/// Applied answers stored for these mutations.
fn applied(db: &str, ids: &[Uuid]) -> usize {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT count(*) FROM sync_results WHERE mutation_id = ?1 AND status = 'applied'")
        .unwrap();
    ids.iter()
        .map(|id| {
            st.query_row([id.to_string()], |r| r.get::<_, i64>(0))
                .unwrap() as usize
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_pushes_survive_kill_9_of_the_server() {
    let db = ServerDb::sqlite();
    let n = 16;
    let mut child = Command::new(env!("CARGO_BIN_EXE_push_server"))
        .args([&db.url, &db.blobs().to_string_lossy().into_owned()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let addr = announced(&mut child, "listening ", "push_server");
    let url = format!("http://{addr}");
    let (devices, mutations, tasks) = devices(&db, &url, n).await;
    let mut set = tokio::task::JoinSet::new();
    for (i, dev) in devices.iter().enumerate() {
        let (d, u) = (dev.clone(), url.clone());
        set.spawn(async move { (i, push(&d, &u).await) });
    }
    // Kill -9 as soon as half the pushes were answered: the rest are in flight,
    // queued, or not sent yet.
    let mut answered = HashSet::new();
    while answered.len() < n / 2 {
        let (i, r) = set.join_next().await.unwrap().unwrap();
        if r.is_ok() {
            answered.insert(i);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    for (i, r) in set.join_all().await {
        if r.is_ok() {
            answered.insert(i);
        }
    }
    assert!(answered.len() >= n / 2);
    for &i in &answered {
        assert_eq!(
            applied(&db.url, &mutations[i]),
            mutations[i].len(),
            "push {i} was answered, so every item of it is on disk"
        );
    }
    let store = db.open().await;
    assert_gap_free(&*store, "after kill -9").await;
    let stored: HashSet<Uuid> = store
        .inspections_of_tasks(&tasks)
        .await
        .unwrap()
        .iter()
        .map(|s| s.inspection.task_id)
        .collect();
    for &i in &answered {
        assert!(stored.contains(&tasks[i]), "inspection of push {i}");
    }
    // A restarted server takes every push again: answered ones are replays.
    drop(store);
    let server: TestServer = db.start();
    for (i, dev) in devices.iter().enumerate() {
        let r = push(dev, &server.url()).await.unwrap();
        assert_eq!(r.rejected, 0, "push {i} after the restart");
    }
    for (i, m) in mutations.iter().enumerate() {
        assert_eq!(applied(&db.url, m), m.len(), "push {i} after the restart");
    }
    let store = db.open().await;
    assert_eq!(store.inspections_of_tasks(&tasks).await.unwrap().len(), n);
    assert_gap_free(&*store, "after the restart").await;
    server.kill();
}
