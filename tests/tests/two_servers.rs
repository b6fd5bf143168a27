//! Stateless servers (issue 16): TWO jiandu-server processes (src/bin/push_server.rs:
//! the real HTTP API) on ONE PostgreSQL database and ONE S3 server (s3s over a
//! folder, its own process), behind the fault proxy acting as a load balancer that
//! sends each new connection to the other server. The devices open a connection
//! per request, so request after request alternates between the two processes: a
//! photo's chunks are staged by both, a lease asked of one is replayed at the
//! other, a push cut at one is retried at the other. One server is killed with
//! SIGKILL mid-sync and started again.
//!
//! The day and its checks are sync_e2e's fault test's (src/day.rs): the server
//! holds exactly the devices' data (zero loss, zero duplicates), every photo
//! verified in the object store, every 文号 unique and from its device's block, a
//! replayed push answered alike by both servers. Also: failed sign-ins counted
//! on one server lock the account on the other (the counts are in the database),
//! and both processes' `/api/v1/metrics` show they did part of the work.
//!
//! Needs PostgreSQL (`JIANDU_TEST_PG`; skipped without it unless
//! `JIANDU_REQUIRE_PG=1`).
#![allow(clippy::unwrap_used)]

use jiandu_server::blobs::BlobLocation;
use jiandu_sync::SyncConfig;
use jiandu_tests::day::{FaultDay, Kill, Server, Topology};
use jiandu_tests::process::announced;
use jiandu_tests::proxy::FaultPlan;
use jiandu_tests::s3_fixtures::S3Server;
use jiandu_tests::sync_fixtures::{AUTHORITY, ServerDb, YEAR};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PREFIX: &str = "province/photos";

/// A jiandu-server process (push_server: the real API and settings) on the shared
/// database and object store.
#[derive(Debug)]
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Starts one on `db`, its photos where `db` keeps them.
    fn start(db: &ServerDb) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_push_server"));
        command.arg(&db.url);
        match db.blob_location() {
            BlobLocation::S3(s3) => command
                .arg(format!("s3://{}/{}", s3.bucket, s3.prefix))
                .env(
                    "JIANDU_S3_ENDPOINT",
                    s3.endpoint.expect("the test S3 server"),
                )
                .env("JIANDU_S3_REGION", s3.region)
                .env("JIANDU_S3_ACCESS_KEY_ID", s3.access_key_id)
                .env("JIANDU_S3_SECRET_ACCESS_KEY", s3.secret_access_key),
            BlobLocation::Folder(folder) => command.arg(folder),
        };
        let mut child = command
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

impl Server for ServerProcess {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SIGKILL: requests in flight die where they are.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

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
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let topology = Topology {
        name: "two servers".to_owned(),
        servers: 2,
        start: ServerProcess::start,
        config: config(),
        faults: FaultPlan {
            cut_upstream: 0.08,
            cut_downstream: 0.06,
            unavailable: 0.05,
            corrupt_chunk: 0.1,
            delay: 0.1,
            max_delay_ms: 15,
            max_cut_up: 1_500_000,
            max_cut_down: 8_000,
        },
        min_faults: 100,
        min_corrupted: 0,
        max_rounds: 2000,
        // Server one killed mid-sync; the balancer keeps sending it connections
        // until it is back (they fail as a dead backend does), on a new port.
        kills: vec![Kill {
            round: 4,
            server: 0,
            after: Duration::from_millis(300),
            back_mid_sync: false,
        }],
    };
    let mut day = FaultDay::start(db.with_s3(&s3, PREFIX), topology).await;

    // Sign-in failures counted on one server count on the other: 5 wrong
    // passwords, alternating, lock the account on both, even for the right one.
    let lead = &day.world.lead;
    let urls = day.urls();
    for i in 0..jiandu_server::auth::LoginLimiter::MAX_FAILURES {
        let url = if i % 2 == 0 { &urls[0] } else { &urls[1] };
        let (status, code) = enroll_status(url, &lead.username, "wrong-password-1").await;
        assert_eq!(
            (status, code.as_str()),
            (401, "invalid_credentials"),
            "try {i}"
        );
    }
    for url in &urls {
        let (status, code) = enroll_status(url, &lead.username, &lead.password).await;
        assert_eq!(
            (status, code.as_str()),
            (429, "too_many_attempts"),
            "locked on every server"
        );
    }

    let two = day.servers[1].addr;
    let proxy = day.run().await;

    // Both processes did part of the work (server one's counters start again at
    // its restart; server two ran throughout and took photo chunks).
    let [one, two_now] = &day.servers[..] else {
        unreachable!("two servers")
    };
    assert_eq!(two_now.addr, two, "server two ran throughout");
    for (name, server) in [("one", one), ("two", two_now)] {
        let requests = server.metric("jiandu_http_requests_total").await;
        assert!(requests > 0.0, "server {name} answered requests");
    }
    assert!(two_now.metric("jiandu_upload_bytes_total").await > 0.0);
    assert!(two_now.metric("jiandu_push_items_applied_total").await > 0.0);
    assert!(proxy.turns() > 50, "requests alternated: {}", proxy.turns());
}
