//! A jiandu-server process for the group-commit crash test
//! (tests/tests/group_commit.rs): the real HTTP API over `store::open(DB)`, with
//! the fixture plans the device stores use.
//!
//! Usage: `push_server <database> <blob folder | s3://BUCKET/PREFIX>`, the object
//! store's endpoint and credentials in `JIANDU_S3_*` (read by the server's own
//! settings). Prints `listening ADDR` once it accepts connections; the tests kill
//! it with SIGKILL. Also the server processes of the two-server test
//! (tests/tests/two_servers.rs).

use jiandu_server::http;
use jiandu_server::service::Platform;
use jiandu_server::store;
use jiandu_tests::store_fixtures::templates;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(db), Some(blobs)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: push_server <database> <blob folder>");
        return ExitCode::from(2);
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("push_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = rt.block_on(async move {
        let store = store::open(db).await.map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut out = std::io::stdout();
        writeln!(out, "listening {addr}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        let settings = jiandu_server::settings::Settings::resolve(
            Some(db.clone()),
            Some(blobs.into()),
            None,
            Default::default(),
        )
        .map_err(|e| e.to_string())?;
        let blobs = jiandu_server::blobs::BlobStore::open(&settings.blobs)?;
        // JIANDU_METRICS_ALLOW: addresses that may read /api/v1/metrics (the tests).
        let allow: Vec<String> = std::env::var("JIANDU_METRICS_ALLOW")
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let allow = jiandu_server::settings::TrustedProxies::parse(&allow)?;
        let state = Platform::new(store, templates())
            .with_blob_store(blobs)
            .with_metrics_allow(allow);
        http::serve(listener, state, 1024 * 1024, std::future::pending())
            .await
            .map_err(|e| e.to_string())
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("push_server: {e}");
            ExitCode::FAILURE
        }
    }
}
