//! Operating the platform (issue 16, item 5), against real servers on 127.0.0.1:
//!
//! - pull pages travel gzip-compressed to a client that asks, and the device's own
//!   sync engine asks (fewer bytes on the wire than the JSON it reads);
//! - `/api/v1/health` checks the photo store: 503 `storage_unavailable` while the
//!   S3 server is down, 200 again once it is back;
//! - `/api/v1/metrics` is Prometheus text for an administrator or an allowed
//!   address, refused to anyone else, and counts requests per route template;
//! - `jiandu-server serve --blobs s3://…` (the real command line, its own process)
//!   takes the object store's credentials from the environment, reports `s3` in its
//!   health and never prints the secret.
#![allow(clippy::unwrap_used)]

use jiandu_server::service::Platform;
use jiandu_server::settings::TrustedProxies;
use jiandu_sync::CancelToken;
use jiandu_tests::process::announced;
use jiandu_tests::proxy::{FaultPlan, FaultProxy};
use jiandu_tests::s3_fixtures::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY};
use jiandu_tests::sync_fixtures::{Device, ServerDb, TestServer, seed};
use std::io::Read;
use std::process::{Command, Stdio};

fn quiet(_: jiandu_core::protocol::SyncEvent) {}

fn token(dev: &Device) -> String {
    jiandu_sync::TokenStore::load(dev.tokens.as_ref())
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_pages_are_gzipped_for_clients_that_ask() {
    let db = ServerDb::sqlite();
    let world = seed(&*db.open().await, 60).await;
    let server = db.start();
    let url = server.url();
    let dev = Device::enrolled(&world.inspectors[0], &url).await;
    let pull = format!("{url}/api/v1/sync/pull?limit=1000");
    // No automatic decompression: the bytes as they travel.
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    let plain = http
        .get(&pull)
        .bearer_auth(token(&dev))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let zipped = http
        .get(&pull)
        .bearer_auth(token(&dev))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(zipped.status(), 200);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let zipped = zipped.bytes().await.unwrap();
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    let a: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&unzipped).unwrap();
    assert_eq!(a, b, "the same page");
    assert!(
        a["changes"].as_array().is_some_and(|c| !c.is_empty()),
        "{a}"
    );
    assert!(
        zipped.len() * 4 < plain.len(),
        "compressed: {} of {} bytes",
        zipped.len(),
        plain.len()
    );
    // The device's engine asks for gzip: its first full sync moves fewer bytes down
    // the wire than the page's JSON alone.
    let proxy = FaultProxy::start(server.addr, FaultPlan::none()).await;
    let fresh = Device::enrolled(&world.inspectors[1], &url).await;
    fresh
        .engine(&proxy.url(), jiandu_sync::SyncConfig::default())
        .sync_once(&CancelToken::new(), &quiet)
        .await
        .unwrap();
    let down = proxy.bytes_down.load(std::sync::atomic::Ordering::Relaxed) as usize;
    assert!(
        down < plain.len() / 2,
        "device downloaded {down} bytes for a {} byte page",
        plain.len()
    );
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_the_object_store() {
    let exe = env!("CARGO_BIN_EXE_s3_server");
    let s3 = S3Server::start(exe);
    let db = ServerDb::sqlite().with_s3(&s3, "health");
    let server = db.start();
    let health = format!("{}/api/v1/health", server.url());
    let ok: serde_json::Value = reqwest::get(&health).await.unwrap().json().await.unwrap();
    assert_eq!(ok["status"], "ok");
    assert_eq!(ok["blobs"], "s3");
    let mut s3 = s3;
    s3.stop();
    let down = reqwest::get(&health).await.unwrap();
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["code"], "storage_unavailable");
    assert!(!body.to_string().contains("127.0.0.1"), "no detail: {body}");
    let s3 = s3.restart(exe);
    let again = reqwest::get(&health).await.unwrap();
    assert_eq!(again.status(), 200);
    drop(s3);
    server.kill();
}

fn allow_loopback(p: Platform) -> Platform {
    p.with_metrics_allow(TrustedProxies::parse(&["127.0.0.1".into()]).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_administrators_or_allowed_addresses() {
    let db = ServerDb::sqlite();
    let world = seed(&*db.open().await, 2).await;
    let server = db.start();
    let url = server.url();
    let metrics = format!("{url}/api/v1/metrics");
    let http = reqwest::Client::new();
    assert_eq!(http.get(&metrics).send().await.unwrap().status(), 401);
    let inspector = Device::enrolled(&world.inspectors[0], &url).await;
    let r = http
        .get(&metrics)
        .bearer_auth(token(&inspector))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an inspector may not");
    server.kill();

    let allowed = TestServer::start_configured(&db.url, db.blob_location(), allow_loopback);
    let url = allowed.url();
    inspector
        .engine(&url, jiandu_sync::SyncConfig::default())
        .sync_once(&CancelToken::new(), &quiet)
        .await
        .unwrap();
    let r = http
        .get(format!("{url}/api/v1/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            "jiandu_http_requests_total{route=\"/api/v1/sync/pull\",method=\"GET\",status=\"2xx\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains("jiandu_http_request_duration_seconds_bucket{route=\"/api/v1/sync/pull\"")
    );
    assert!(text.contains("jiandu_db_pool_connections"));
    assert!(text.contains("jiandu_uploads_pending 0"), "{text}");
    assert!(text.contains("jiandu_info{database=\"sqlite\",blobs=\"folder\""));
    allowed.kill();
}

#[test]
fn serve_with_photos_in_s3_takes_credentials_from_the_environment() {
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiandu_server_cli"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &d.path().join("server.sqlite").to_string_lossy(),
            "--blobs",
            &format!("s3://{BUCKET}/cli"),
        ])
        .env("JIANDU_S3_ENDPOINT", s3.endpoint())
        .env("JIANDU_S3_ACCESS_KEY_ID", ACCESS_KEY)
        .env("JIANDU_S3_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("JIANDU_LOG", "debug")
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced(&mut child, "jiandu-server listening on ", "jiandu-server");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let health: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{addr}/api/v1/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert_eq!(health["blobs"], "s3", "{health}");
    assert!(log.contains("starting"), "the settings were logged: {log}");
    assert!(
        !log.contains(SECRET_KEY),
        "the secret is never logged: {log}"
    );
    assert!(
        !d.path().join(".jiandu-data/blobs").exists(),
        "no local folder"
    );

    // Without the keys the server refuses to start, and says where they go.
    let out = Command::new(env!("CARGO_BIN_EXE_jiandu_server_cli"))
        .args(["serve", "--listen", "127.0.0.1:0", "--blobs", "s3://x/y"])
        .env("JIANDU_DB", d.path().join("other.sqlite"))
        .env_remove("JIANDU_S3_ACCESS_KEY_ID")
        .env_remove("JIANDU_S3_SECRET_ACCESS_KEY")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("JIANDU_S3_ACCESS_KEY_ID"), "{err}");
}
