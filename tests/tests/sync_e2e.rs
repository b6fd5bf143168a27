//! Sync end to end: the REAL jiandu-server on 127.0.0.1, real device stores in
//! temp folders, the real jiandu-sync engine.
//!
//! - `day_of_two_inspectors_and_a_lead`: offline work on two devices, sync, review,
//!   approval refused while photos are missing, approval, an edit after approval
//!   rejected and shown in the conflicts list with the server's version, a return
//!   with comments reaching the device, the lead's device seeing the team; then a
//!   wiped device re-enrolled gets everything back, and a revoked device stops.
//! - `faults_lose_nothing_and_duplicate_nothing`: a day's offline work through a
//!   proxy that cuts connections at random byte offsets, delays, answers 503 and
//!   flips bytes of photo chunks (≥ 500 faults), the server killed and restarted
//!   mid-sync on the same database file, a push replayed; afterwards the server
//!   holds exactly the devices' data. Its body is src/day.rs, shared with
//!   two_servers.rs (the same day on two server processes).
//! - `replayed_push_changes_nothing`: a push replayed whole leaves the server's
//!   change counter, the audit log and every pull cursor where they were; mixed
//!   with one new item, the counter moves once.
//!
//! Each runs on SQLite and on PostgreSQL (`*_postgres`, when `JIANDU_TEST_PG` is set;
//! required with `JIANDU_REQUIRE_PG=1`); the first two also with the photos in a
//! real S3 server (`*_s3`: src/bin/s3_server.rs, s3s over a folder, its own process).
#![allow(clippy::unwrap_used)]

use jiandu_core::protocol::{PushRequest, RejectReason};
use jiandu_core::{InspectionStatus, Verdict};
use jiandu_store::Answer;
use jiandu_sync::{ApiClient, CancelToken, SyncConfig, SyncError};
use jiandu_tests::day::{FaultDay, Kill, Topology};
use jiandu_tests::proxy::FaultPlan;
use jiandu_tests::s3_fixtures::S3Server;
use jiandu_tests::store_fixtures::{points, templates};
use jiandu_tests::sync_fixtures::{
    AUTHORITY, Device, ServerDb, World, YEAR, assert_server_matches, at, finish, inspect,
    push_items, seed, start,
};
use std::time::Duration;
use uuid::Uuid;

fn config() -> SyncConfig {
    SyncConfig {
        push_batch: 50,
        pull_limit: 50,
        chunk_bytes: 1024 * 1024,
        request_timeout: Duration::from_secs(20),
        doc_numbers: vec![(AUTHORITY.to_owned(), YEAR)],
        lease_block: 20,
        ..SyncConfig::default()
    }
}

fn quiet(_: jiandu_core::protocol::SyncEvent) {}

async fn sync(dev: &Device, url: &str) -> jiandu_sync::SyncReport {
    dev.engine(url, config())
        .sync_once(&CancelToken::new(), &quiet)
        .await
        .unwrap()
}

/// What a team lead's client does: approve / return through the API.
async fn review(
    url: &str,
    lead: &Device,
    id: Uuid,
    version: u64,
    comment: Option<&str>,
) -> reqwest::Response {
    let token = jiandu_sync::TokenStore::load(lead.tokens.as_ref())
        .unwrap()
        .unwrap();
    let http = reqwest::Client::new();
    let (path, body) = match comment {
        None => ("approve", serde_json::json!({ "version": version })),
        Some(c) => (
            "return",
            serde_json::json!({ "version": version, "comment": c }),
        ),
    };
    http.post(format!("{url}/api/v1/inspections/{id}/{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_of_two_inspectors_and_a_lead_sqlite() {
    day_of_two_inspectors_and_a_lead(&ServerDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_of_two_inspectors_and_a_lead_postgres() {
    if let Some(db) = ServerDb::postgres("day_of_two_inspectors_and_a_lead_postgres").await {
        day_of_two_inspectors_and_a_lead(&db).await;
    }
}

/// The same day with the photos in a real S3 server (s3s over a folder, its own
/// process): every photo verified and stored as an object under the prefix, no
/// staged chunk left behind, nothing in a local blob folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_of_two_inspectors_and_a_lead_s3() {
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let db = ServerDb::sqlite().with_s3(&s3, "city/photos");
    day_of_two_inspectors_and_a_lead(&db).await;
    assert_objects_settled(&db);
}

/// Content objects only: every staged chunk was removed once its photo was
/// verified, and no server wrote a local blob folder.
fn assert_objects_settled(db: &ServerDb) {
    let folder = db.blobs();
    let mut content = 0;
    for entry in walk(&folder) {
        let rel = entry
            .strip_prefix(&folder)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(!rel.starts_with("partial"), "staged chunk left: {rel}");
        content += 1;
    }
    assert!(content > 0, "photos are objects under the prefix");
    assert!(
        !db.dir.path().join("blobs").exists(),
        "no local blob folder"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn day_of_two_inspectors_and_a_lead(db: &ServerDb) {
    let world: World = seed(&*db.open().await, 4).await;
    let server = db.start();
    let url = server.url();
    let a = Device::enrolled(&world.inspectors[0], &url).await;
    let b = Device::enrolled(&world.inspectors[1], &url).await;
    let lead = Device::enrolled(&world.lead, &url).await;
    for d in [&a, &b, &lead] {
        sync(d, &url).await;
        assert_eq!(
            d.with(|s| s.list_tasks(&templates(), &Default::default()))
                .unwrap()
                .len(),
            4,
            "{} sees the team's 4 tasks",
            d.person.username
        );
    }
    // A starts task 0 and syncs; B pulls it while it is in progress.
    let t0 = world.tasks[0];
    let insp0 = start(&a, t0);
    sync(&a, &url).await;
    sync(&b, &url).await;
    assert_eq!(
        b.with(|s| s.load_inspection(insp0)).unwrap().status,
        InspectionStatus::InProgress
    );
    // Offline: A finishes task 0 (on the same inspection), B does task 1 and, still
    // holding task 0 as in progress, also edits one of its answers.
    finish(&a, insp0, &[300_000], 1, true);
    let insp1 = inspect(&b, world.tasks[1], &[500_000, 200_000], 2, true);
    let tpl = templates();
    let pts = points(&tpl, "clinic");
    b.with(|s| {
        s.record_finding(
            &tpl,
            insp0,
            Answer {
                point: &pts[1],
                verdict: Verdict::NotApplicable,
                observation: "",
            },
            &b.person.actor,
            at(70),
        )
    })
    .unwrap();
    let n1 = a
        .with(|s| s.take_doc_number(AUTHORITY, YEAR, at(60)))
        .unwrap();
    assert_eq!(n1, Some(1), "A got a block of 文号 at its first sync");
    // A syncs; the lead approves task 0.
    sync(&a, &url).await;
    let st = db.open().await;
    assert_server_matches(&*st, &db.blobs(), &a, &[insp0]).await;
    let v0 = st
        .inspection(insp0)
        .await
        .unwrap()
        .unwrap()
        .inspection
        .version;
    assert_eq!(review(&url, &lead, insp0, v0, None).await.status(), 200);
    // B pushes (photos not uploaded yet): its late edit of task 0 is refused as
    // locked, and approval of task 1 must wait for its photos.
    {
        let engine = b.engine(&url, config());
        let token = jiandu_sync::TokenStore::load(b.tokens.as_ref())
            .unwrap()
            .unwrap();
        let mut r = jiandu_sync::SyncReport::default();
        engine
            .push(&token, &CancelToken::new(), &quiet, &mut r)
            .await
            .unwrap();
        assert_eq!(r.rejected, 1, "the late edit is rejected: {r:?}");
    }
    let v1 = st
        .inspection(insp1)
        .await
        .unwrap()
        .unwrap()
        .inspection
        .version;
    let refused = review(&url, &lead, insp1, v1, None).await;
    assert_eq!(refused.status(), 409, "approval waits for photos");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "photos_incomplete", "{body}");
    sync(&b, &url).await;
    assert_server_matches(&*st, &db.blobs(), &b, &[insp1]).await;
    let conflicts = b.with(|s| s.conflicts(false)).unwrap();
    assert_eq!(conflicts.len(), 1, "the inspector sees it: {conflicts:?}");
    assert_eq!(conflicts[0].reason, RejectReason::Locked.as_str());
    assert_eq!(conflicts[0].inspection_id, insp0);
    let server_side = conflicts[0]
        .server
        .as_ref()
        .expect("server version beside it");
    assert_eq!(server_side.inspection.status, InspectionStatus::Approved);
    assert_eq!(
        b.with(|s| s.load_inspection(insp0)).unwrap(),
        server_side.inspection,
        "after the sync B shows the server's approved version"
    );
    // The lead returns task 1 with comments.
    let v1 = st
        .inspection(insp1)
        .await
        .unwrap()
        .unwrap()
        .inspection
        .version;
    let ret = review(&url, &lead, insp1, v1, Some("照片不清晰，请补充")).await;
    assert_eq!(ret.status(), 200);
    sync(&b, &url).await;
    // The return reached B, comments included; B corrects and resubmits.
    let back = b.with(|s| s.load_inspection(insp1)).unwrap();
    assert_eq!(back.status, InspectionStatus::Returned);
    assert_eq!(back.review_comment.as_deref(), Some("照片不清晰，请补充"));
    b.with(|s| s.submit(&tpl, insp1, &b.person.actor, at(80)))
        .unwrap();
    sync(&b, &url).await;
    assert_eq!(
        st.inspection(insp1)
            .await
            .unwrap()
            .unwrap()
            .inspection
            .status,
        InspectionStatus::Resubmitted
    );
    assert_server_matches(&*st, &db.blobs(), &b, &[insp1]).await;
    // The lead's device has the team's work.
    sync(&lead, &url).await;
    assert_eq!(
        lead.with(|s| s.load_inspection(insp0)).unwrap().status,
        InspectionStatus::Approved
    );

    // A's tablet is wiped: a new store, enrolled again, gets everything back.
    let a2 = Device::enrolled(&world.inspectors[0], &url).await;
    sync(&a2, &url).await;
    assert_eq!(
        a2.with(|s| s.list_tasks(&tpl, &Default::default()))
            .unwrap()
            .len(),
        4
    );
    for id in [insp0, insp1] {
        let remote = st.inspection(id).await.unwrap().unwrap().inspection;
        assert_eq!(a2.with(|s| s.load_inspection(id)).unwrap(), remote);
        for p in a2.with(|s| s.list_photos(id)).unwrap() {
            assert!(
                a2.with(|s| s.verify_photo(p.id)).unwrap().is_intact(),
                "photo {} restored with its hash",
                p.id
            );
        }
        assert_eq!(
            a2.with(|s| s.list_photos(id)).unwrap().len(),
            if id == insp0 { 1 } else { 2 },
            "every photo came back"
        );
    }
    // The lost tablet is revoked: it is told so, stops, keeps its data.
    let old_device = a.with(|s| s.sync_state()).unwrap().device_id.unwrap();
    let token2 = jiandu_sync::TokenStore::load(a2.tokens.as_ref())
        .unwrap()
        .unwrap();
    let revoked = reqwest::Client::new()
        .post(format!("{url}/api/v1/devices/{old_device}/revoke"))
        .bearer_auth(token2)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let err = a
        .engine(&url, config())
        .sync_once(&CancelToken::new(), &quiet)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Revoked(_)), "{err:?}");
    assert!(
        a.with(|s| s.sync_state())
            .unwrap()
            .revoked_message
            .is_some()
    );
    assert!(
        a.with(|s| s.load_inspection(insp0)).is_ok(),
        "local data stays for export"
    );
    let again = a
        .engine(&url, config())
        .sync_once(&CancelToken::new(), &quiet)
        .await
        .unwrap_err();
    assert!(matches!(again, SyncError::Revoked(_)), "stays stopped");
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_and_duplicate_nothing_sqlite() {
    faults_lose_nothing_and_duplicate_nothing(ServerDb::sqlite(), 500).await;
}

/// The fault run with the photos in a real S3 server: chunks cut mid-way, bytes
/// changed in flight and server restarts, staged as chunk objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_and_duplicate_nothing_s3() {
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let db = ServerDb::sqlite().with_s3(&s3, "faults");
    faults_lose_nothing_and_duplicate_nothing(db, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_lose_nothing_and_duplicate_nothing_postgres() {
    if let Some(db) = ServerDb::postgres("faults_lose_nothing_and_duplicate_nothing_postgres").await
    {
        faults_lose_nothing_and_duplicate_nothing(db, 500).await;
    }
}

/// The fault day (src/day.rs) on one server, killed mid-sync twice and started
/// again at once on the same database.
async fn faults_lose_nothing_and_duplicate_nothing(db: ServerDb, min_faults: u64) {
    let restart = |round, after| Kill {
        round,
        server: 0,
        after: Duration::from_millis(after),
        back_mid_sync: true,
    };
    let topology = Topology {
        name: db.backend.to_owned(),
        servers: 1,
        start: ServerDb::start,
        config: SyncConfig {
            request_timeout: Duration::from_secs(8),
            upload_retries: 2,
            reuse_connections: false,
            ..config()
        },
        faults: FaultPlan {
            cut_upstream: 0.09,
            cut_downstream: 0.07,
            unavailable: 0.07,
            corrupt_chunk: 0.15,
            delay: 0.1,
            max_delay_ms: 15,
            max_cut_up: 1_500_000,
            max_cut_down: 8_000,
        },
        min_faults,
        min_corrupted: 1,
        max_rounds: 3000,
        kills: vec![restart(6, 120), restart(25, 320)],
    };
    FaultDay::start(db, topology).await.run().await;
}

async fn replayed_push_changes_nothing(db: ServerDb) {
    let b = db.backend;
    let world = seed(&*db.open().await, 2).await;
    let server = db.start();
    let url = server.url();
    let a = Device::enrolled(&world.inspectors[0], &url).await;
    let lead = Device::enrolled(&world.lead, &url).await;
    sync(&a, &url).await;
    let insp = inspect(&a, world.tasks[0], &[150_000], 7, false);
    sync(&a, &url).await;
    sync(&lead, &url).await;
    // Again: the photo's completion and the lead's 文号 lease came after A's pull.
    sync(&a, &url).await;
    let st = db.open().await;
    let pushed = a.with(|s| s.outbox_stats()).unwrap();
    assert_eq!(pushed.pending, 0, "{b}: all pushed");
    let items = push_items(&a, 1..=pushed.max_seq);
    assert!(items.len() > 10, "{b}: a whole inspection's edits");
    let token = jiandu_sync::TokenStore::load(a.tokens.as_ref())
        .unwrap()
        .unwrap();
    let lead_token = jiandu_sync::TokenStore::load(lead.tokens.as_ref())
        .unwrap()
        .unwrap();
    let client = ApiClient::new(&url, Duration::from_secs(10)).unwrap();
    let counter = st.state().await.unwrap().change_seq;
    let audit = st.audit_entries(0, 100_000).await.unwrap().len();
    let inspections = st.inspections_of_tasks(&world.tasks).await.unwrap();
    let blobs = st.all_blobs().await.unwrap();
    let cursors = [
        a.with(|s| s.sync_state()).unwrap().cursor,
        lead.with(|s| s.sync_state()).unwrap().cursor,
    ];
    assert_eq!(cursors, [counter, counter], "{b}: both devices up to date");

    // The whole day's push, replayed twice (a device that never saw the answers).
    let first = client
        .push(
            &token,
            &PushRequest {
                items: items.clone(),
            },
        )
        .await
        .unwrap();
    let second = client
        .push(
            &token,
            &PushRequest {
                items: items.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(first, second, "{b}: a replay gets the same answers");
    assert!(first.results.iter().all(|r| matches!(
        r.outcome,
        jiandu_core::protocol::ItemOutcome::Applied { .. }
    )));
    assert_eq!(
        st.state().await.unwrap().change_seq,
        counter,
        "{b}: a replayed push does not move the change counter"
    );
    assert_eq!(
        st.audit_entries(0, 100_000).await.unwrap().len(),
        audit,
        "{b}: a replay writes nothing to the audit log"
    );
    assert_eq!(
        st.inspections_of_tasks(&world.tasks).await.unwrap(),
        inspections,
        "{b}: nothing changed, nothing duplicated"
    );
    assert_eq!(st.all_blobs().await.unwrap(), blobs, "{b}: same photos");
    for (tok, cursor) in [(&token, cursors[0]), (&lead_token, cursors[1])] {
        let page = client.pull(tok, cursor, 500).await.unwrap();
        assert!(page.changes.is_empty(), "{b}: nothing to pull: {page:?}");
        assert_eq!(page.next, cursor, "{b}: the pull cursor stays");
    }
    for d in [&a, &lead] {
        let r = sync(d, &url).await;
        assert_eq!(
            r.changes_pulled, 0,
            "{b}: {} pulls nothing",
            d.person.username
        );
    }

    // Replayed items with one new edit: the counter moves once, the old answers
    // come back unchanged, the new item is applied. (The syncs above may have
    // leased 文号 for the plan the tasks came with: read the counter again.)
    let counter = st.state().await.unwrap().change_seq;
    let tpl = templates();
    let pts = points(&tpl, "clinic");
    a.with(|s| {
        s.record_finding(
            &tpl,
            insp,
            Answer {
                point: &pts[2],
                verdict: Verdict::NotApplicable,
                observation: "",
            },
            &a.person.actor,
            at(90),
        )
    })
    .unwrap();
    let max = a.with(|s| s.outbox_stats()).unwrap().max_seq;
    let mixed = push_items(&a, 1..=max);
    assert_eq!(mixed.len(), items.len() + 1);
    let answer = client
        .push(&token, &PushRequest { items: mixed })
        .await
        .unwrap();
    assert_eq!(answer.results[..items.len()], first.results[..], "{b}");
    assert!(matches!(
        answer.results[items.len()].outcome,
        jiandu_core::protocol::ItemOutcome::Applied { server_seq, .. } if server_seq == counter + 1
    ));
    assert_eq!(st.state().await.unwrap().change_seq, counter + 1, "{b}");
    let r = sync(&lead, &url).await;
    assert_eq!(
        r.changes_pulled, 1,
        "{b}: the lead pulls the one new change"
    );
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_push_changes_nothing_sqlite() {
    replayed_push_changes_nothing(ServerDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_push_changes_nothing_postgres() {
    if let Some(db) = ServerDb::postgres("replayed_push_changes_nothing_postgres").await {
        replayed_push_changes_nothing(db).await;
    }
}
