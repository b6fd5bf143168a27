//! Stateless servers (issue 16): TWO jiandu-server processes (src/bin/push_server.rs:
//! the real HTTP API) on ONE PostgreSQL database and ONE S3 server (s3s over a
//! folder, its own process), behind the fault proxy acting as a load balancer that
//! sends each new connection to the other server. The devices open a connection
//! per request, so request after request alternates between the two processes: a
//! photo's chunks are staged by both, a lease asked of one is replayed at the
//! other, a push cut at one is retried at the other. One server is killed with
//! SIGKILL mid-sync and started again.
//!
//! Afterwards, as in sync_e2e's fault test: the server holds exactly the devices'
//! data (zero loss, zero duplicates), every photo verified in the object store,
//! every 文号 unique and from its device's block. Also: failed sign-ins counted
//! on one server lock the account on the other (the counts are in the database),
//! and both processes' `/api/v1/metrics` show they did part of the work.
//!
//! Needs PostgreSQL (`JIANDU_TEST_PG`; skipped without it unless
//! `JIANDU_REQUIRE_PG=1`).
#![allow(clippy::unwrap_used)]

use jiandu_sync::{CancelToken, SyncConfig};
use jiandu_tests::process::announced;
use jiandu_tests::proxy::{FaultPlan, FaultProxy};
use jiandu_tests::s3_fixtures::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use jiandu_tests::sync_fixtures::{
    AUTHORITY, Device, ServerDb, YEAR, assert_only_transport_trouble, at, inspect, seed,
};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const PREFIX: &str = "province/photos";

/// A jiandu-server process (push_server: the real API and settings) on the shared
/// database and object store.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(db: &ServerDb, s3: &S3Server) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_push_server"))
            .args([&db.url, &format!("s3://{BUCKET}/{PREFIX}")])
            .env("JIANDU_S3_ENDPOINT", s3.endpoint())
            .env("JIANDU_S3_REGION", "us-east-1")
            .env("JIANDU_S3_ACCESS_KEY_ID", ACCESS_KEY)
            .env("JIANDU_S3_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("JIANDU_AUTHORITY", AUTHORITY)
            .env("JIANDU_METRICS_ALLOW", "127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let addr = announced(&mut child, "listening ", "push_server")
            .parse()
            .unwrap();
        ServerProcess { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: requests in flight die where they are.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A counter of `/api/v1/metrics` (0 when absent).
    async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/api/v1/metrics", self.url()))
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn quiet(_: jiandu_core::protocol::SyncEvent) {}

fn config() -> SyncConfig {
    SyncConfig {
        push_batch: 20,
        pull_limit: 50,
        chunk_bytes: 1024 * 1024,
        request_timeout: Duration::from_secs(8),
        upload_retries: 2,
        // A connection per request: the balancer alternates request by request.
        reuse_connections: false,
        doc_numbers: vec![(AUTHORITY.to_owned(), YEAR)],
        lease_block: 20,
        ..SyncConfig::default()
    }
}

async fn enroll_status(url: &str, username: &str, password: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/devices/enroll"))
        .json(&serde_json::json!({
            "username": username, "password": password, "device_name": "测试平板",
        }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_one_database_one_object_store_lose_nothing() {
    let Some(db) = ServerDb::postgres("two_servers_one_database_one_object_store").await else {
        return;
    };
    let started = Instant::now();
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let db = db.with_s3(&s3, PREFIX);
    let world = seed(&*db.open().await, 6).await;
    let mut one = ServerProcess::start(&db, &s3);
    let two = ServerProcess::start(&db, &s3);

    // Sign-in failures counted on one server count on the other: 5 wrong
    // passwords, alternating, lock the account on both, even for the right one.
    let lead = &world.lead;
    for i in 0..jiandu_server::auth::LoginLimiter::MAX_FAILURES {
        let url = if i % 2 == 0 { one.url() } else { two.url() };
        let (status, code) = enroll_status(&url, &lead.username, "wrong-password-1").await;
        assert_eq!(
            (status, code.as_str()),
            (401, "invalid_credentials"),
            "try {i}"
        );
    }
    for url in [one.url(), two.url()] {
        let (status, code) = enroll_status(&url, &lead.username, &lead.password).await;
        assert_eq!(
            (status, code.as_str()),
            (429, "too_many_attempts"),
            "locked on every server"
        );
    }

    let proxy = FaultProxy::start(one.addr, FaultPlan::none()).await;
    proxy.set_upstreams(vec![one.addr, two.addr]);
    let url = proxy.url();
    let a = Device::enrolled(&world.inspectors[0], &url).await;
    let b = Device::enrolled(&world.inspectors[1], &url).await;
    for d in [&a, &b] {
        d.engine(&url, config())
            .sync_once(&CancelToken::new(), &quiet)
            .await
            .unwrap();
    }
    // A day offline: three inspections each, two photos of 1.1–2.6 MB each.
    let mut mine: HashMap<&str, Vec<Uuid>> = HashMap::new();
    for (k, task) in world.tasks.iter().enumerate() {
        let (dev, key) = if k < 3 { (&a, "a") } else { (&b, "b") };
        let photos = [1_100_000 + 250_000 * k, 2_600_000 - 100_000 * k];
        mine.entry(key)
            .or_default()
            .push(inspect(dev, *task, &photos, 10 + k as u64, true));
    }
    let mut numbers: Vec<(Uuid, u32)> = Vec::new();
    for dev in [&a, &b] {
        let device = dev.with(|s| s.sync_state()).unwrap().device_id.unwrap();
        for i in 0..9 {
            let n = dev
                .with(|s| s.take_doc_number(AUTHORITY, YEAR, at(100 + i)))
                .unwrap()
                .expect("numbers leased at the first sync");
            numbers.push((device, n));
        }
    }

    proxy.set_plan(FaultPlan {
        cut_upstream: 0.08,
        cut_downstream: 0.06,
        unavailable: 0.05,
        corrupt_chunk: 0.1,
        delay: 0.1,
        max_delay_ms: 15,
        max_cut_up: 1_500_000,
        max_cut_down: 8_000,
    });
    let ea = Arc::new(a.engine(&url, config()));
    let eb = Arc::new(b.engine(&url, config()));
    let mut attempts = 0u32;
    let mut killed = false;
    let mut done = (false, false);
    let mut other_addr = two.addr;
    loop {
        attempts += 1;
        if attempts == 4 && !killed {
            // Kill server one mid-sync; the balancer keeps sending it connections
            // until it is back (they fail as a dead backend does), on a new port.
            let (ta, tb) = (ea.clone(), eb.clone());
            let ja = tokio::spawn(async move { ta.sync_once(&CancelToken::new(), &quiet).await });
            let jb = tokio::spawn(async move { tb.sync_once(&CancelToken::new(), &quiet).await });
            tokio::time::sleep(Duration::from_millis(300)).await;
            one.kill();
            let _ = (ja.await, jb.await);
            one = ServerProcess::start(&db, &s3);
            proxy.set_upstreams(vec![one.addr, two.addr]);
            other_addr = two.addr;
            killed = true;
            continue;
        }
        let (ca, cb) = (CancelToken::new(), CancelToken::new());
        let (ra, rb) = tokio::join!(ea.sync_once(&ca, &quiet), eb.sync_once(&cb, &quiet));
        assert_only_transport_trouble(&[&ra, &rb]);
        done = (
            done.0 || (ra.is_ok() && a.settled()),
            done.1 || (rb.is_ok() && b.settled()),
        );
        if done.0 && done.1 && killed && proxy.counts.total() >= 100 {
            break;
        }
        assert!(
            attempts < 2000,
            "sync must converge: {}",
            proxy.counts.summary()
        );
    }
    assert_eq!(other_addr, two.addr);
    println!(
        "two servers: {attempts} sync rounds, {} connections alternated, {} ({:?})",
        proxy.turns(),
        proxy.counts.summary(),
        started.elapsed()
    );
    proxy.set_faults(false);
    for e in [&ea, &eb] {
        e.sync_once(&CancelToken::new(), &quiet).await.unwrap();
    }

    // Exactly the devices' data: same inspections, every photo verified, its
    // object's bytes re-hashing to the photo's SHA-256.
    let st = db.open().await;
    let all_blobs: HashMap<Uuid, _> = st
        .all_blobs()
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    for (key, dev) in [("a", &a), ("b", &b)] {
        for id in &mine[key] {
            let local = dev.with(|s| s.load_inspection(*id)).unwrap();
            let remote = st.inspection(*id).await.unwrap().unwrap().inspection;
            assert_eq!(remote, local, "server and device agree on {id}");
            for p in dev.with(|s| s.list_photos(*id)).unwrap() {
                let blob = all_blobs.get(&p.id).expect("every photo is on the server");
                assert!(blob.complete, "photo {} verified", p.id);
                let bytes = std::fs::read(db.blobs().join(&p.sha256[..2]).join(&p.sha256)).unwrap();
                assert_eq!(hex::encode(Sha256::digest(&bytes)), p.sha256);
            }
        }
        assert!(
            dev.with(|s| s.conflicts(true)).unwrap().is_empty(),
            "no rejections"
        );
        assert!(dev.with(|s| s.blocked_uploads()).unwrap().is_empty());
    }
    assert_eq!(
        st.inspections_of_tasks(&world.tasks).await.unwrap().len(),
        6,
        "one inspection per task, none duplicated"
    );
    assert_eq!(all_blobs.len(), 12, "12 photos, none duplicated");

    // 文号: blocks never overlap, numbers used are unique and from their device's.
    let leases = st.doc_number_leases().await.unwrap();
    let mut seen = HashSet::new();
    for (_, l) in &leases {
        for n in l.first..=l.last {
            assert!(
                seen.insert((l.authority.clone(), l.year, n)),
                "{n} leased twice"
            );
        }
    }
    let used: HashSet<u32> = numbers.iter().map(|(_, n)| *n).collect();
    assert_eq!(used.len(), numbers.len(), "every 文号 used once");
    for (device, n) in &numbers {
        assert!(
            leases
                .iter()
                .any(|(d, l)| d == device && (l.first..=l.last).contains(n)),
            "number {n} comes from a block leased to its device"
        );
    }

    // Both processes did part of the work (server one's counters start again at
    // its restart; server two ran throughout and took photo chunks).
    for (name, server) in [("one", &one), ("two", &two)] {
        let requests = server.metric("jiandu_http_requests_total").await;
        assert!(requests > 0.0, "server {name} answered requests");
    }
    assert!(two.metric("jiandu_upload_bytes_total").await > 0.0);
    assert!(two.metric("jiandu_push_items_applied_total").await > 0.0);
    assert!(proxy.turns() > 50, "requests alternated: {}", proxy.turns());
}
