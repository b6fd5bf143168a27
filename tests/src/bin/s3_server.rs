//! A real S3-compatible server for the object-storage tests: `s3s` (the S3
//! protocol: SigV4 authentication, XML, path-style requests) over `s3s-fs` (objects
//! as files `<root>/<bucket>/<key>`), on 127.0.0.1 in its own process.
//!
//! Usage: `s3_server <root folder>`, with the credentials it accepts in
//! `S3_ACCESS_KEY` and `S3_SECRET_KEY`. Buckets are the folders under the root.
//! Prints `listening ADDR` once it accepts connections (the port is chosen by the
//! system, or `S3_PORT`); the tests kill it.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(root) = std::env::args().nth(1) else {
        eprintln!("usage: s3_server <root folder> (S3_ACCESS_KEY, S3_SECRET_KEY)");
        return ExitCode::from(2);
    };
    let (Ok(access), Ok(secret)) = (
        std::env::var("S3_ACCESS_KEY"),
        std::env::var("S3_SECRET_KEY"),
    ) else {
        eprintln!("s3_server: S3_ACCESS_KEY and S3_SECRET_KEY must be set");
        return ExitCode::from(2);
    };
    let port: u16 = std::env::var("S3_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("s3_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served: Result<(), String> = rt.block_on(async move {
        let fs = s3s_fs::FileSystem::new(&root).map_err(|e| format!("{e:?}"))?;
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(access, secret));
            b.build()
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let mut out = std::io::stdout();
        writeln!(out, "listening {addr}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3_server: {e}");
            ExitCode::FAILURE
        }
    }
}
