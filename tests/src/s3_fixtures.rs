//! A real S3-compatible server in its own process (src/bin/s3_server.rs: s3s over
//! a folder), for the object-storage tests. The test passes the binary's path
//! (`env!("CARGO_BIN_EXE_s3_server")`, known only to the tests themselves).

use jiandu_server::blobs::S3Location;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The bucket every test uses.
pub const BUCKET: &str = "jiandu-photos";
pub const ACCESS_KEY: &str = "jiandu-test-access";
/// Must never appear in the jiandu-server's output (tests check).
pub const SECRET_KEY: &str = "jiandu-test-secret-5f2c";

/// A running S3 server over a temp folder.
#[derive(Debug)]
pub struct S3Server {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    child: Child,
}

impl S3Server {
    /// Starts `exe` (the s3_server binary) on a fresh folder with the bucket
    /// [`BUCKET`], on a port of the system's choosing.
    pub fn start(exe: &str) -> S3Server {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join(BUCKET)).expect("bucket folder");
        Self::start_in(exe, root, 0)
    }

    fn start_in(exe: &str, root: tempfile::TempDir, port: u16) -> S3Server {
        let mut child = Command::new(exe)
            .arg(root.path())
            .env("S3_ACCESS_KEY", ACCESS_KEY)
            .env("S3_SECRET_KEY", SECRET_KEY)
            .env("S3_PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("s3_server starts");
        let line = crate::process::announced(&mut child, "listening ", "s3_server");
        let addr = line
            .parse()
            .unwrap_or_else(|_| panic!("unexpected s3_server address: {line}"));
        S3Server { addr, root, child }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where a jiandu-server keeps photos under `prefix` in this server's bucket.
    pub fn location(&self, prefix: &str) -> S3Location {
        S3Location {
            bucket: BUCKET.into(),
            prefix: prefix.into(),
            endpoint: Some(self.endpoint()),
            region: "us-east-1".into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
        }
    }

    /// The folder the objects under `prefix` are files in (s3s-fs keeps
    /// `<root>/<bucket>/<key>`): tests read back what the server stored.
    pub fn folder(&self, prefix: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(prefix)
    }

    /// Stops the server (the folder stays).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same folder and port.
    pub fn restart(mut self, exe: &str) -> S3Server {
        self.stop();
        let port = self.addr.port();
        let root = std::mem::replace(&mut self.root, tempfile::tempdir().expect("temp dir"));
        Self::start_in(exe, root, port)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
