//! The photo upload rules of issue 15 with the photos in a real S3 server
//! (src/bin/s3_server.rs, its own process), through the real HTTP API, and the
//! staging seen by a second server on the same database and bucket:
//!
//! - a short chunk that is not the last is refused (`chunk_too_small`) and stores
//!   nothing;
//! - an accepted chunk is one object `partial/<id>/<offset>`; the offset it makes
//!   durable is answered by ANOTHER server process (nothing in memory);
//! - a chunk at the wrong offset writes nothing (`offset_mismatch`, 409);
//! - more bytes than registered are refused (`chunk_too_large`) and the staging
//!   dropped;
//! - an upload whose bytes do not hash to the registration is refused
//!   (`hash_mismatch`) and nothing becomes visible;
//! - the sweep removes an expired partial upload's chunk objects, not before;
//! - a good upload, its chunks sent to the two servers in turn, ends as one content
//!   object with the photo's bytes and no staging left; it downloads from either.
#![allow(clippy::unwrap_used)]

use jiandu_server::service::sync::sweep_partial_uploads;
use jiandu_sync::{CancelToken, SyncReport, TokenStore};
use jiandu_tests::s3_fixtures::S3Server;
use jiandu_tests::store_fixtures::jpeg;
use jiandu_tests::store_fixtures::templates;
use jiandu_tests::sync_fixtures::{Device, ServerDb, inspect, seed};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::path::Path;

const MIB: usize = 1024 * 1024;

fn quiet(_: jiandu_core::protocol::SyncEvent) {}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

struct Upload {
    http: reqwest::Client,
    token: String,
    id: uuid::Uuid,
}

impl Upload {
    async fn chunk(&self, url: &str, offset: usize, bytes: Vec<u8>) -> (StatusCode, String, u64) {
        let r = self
            .http
            .patch(format!("{url}/api/v1/photos/{}/content", self.id))
            .bearer_auth(&self.token)
            .header("Upload-Offset", offset.to_string())
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let at = r
            .headers()
            .get("Upload-Offset")
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(u64::MAX);
        let code = r
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status, code, at)
    }

    async fn offset(&self, url: &str) -> u64 {
        let r = self
            .http
            .head(format!("{url}/api/v1/photos/{}/content", self.id))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.headers()["Upload-Offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_rules_hold_on_s3_and_any_server_resumes() {
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let db = ServerDb::sqlite().with_s3(&s3, "rules");
    let world = seed(&*db.open().await, 1).await;
    let one = db.start();
    let two = db.start();
    let dev = Device::enrolled(&world.inspectors[0], &one.url()).await;
    let engine = dev.engine(&one.url(), Default::default());
    engine.sync_once(&CancelToken::new(), &quiet).await.unwrap();
    let len = 2 * MIB + 12_345;
    let insp = inspect(&dev, world.tasks[0], &[len], 7, true);
    let bytes = jpeg(len, 700);
    let token = dev.tokens.load().unwrap().unwrap();
    // The inspection and its photo's record, without the bytes.
    engine
        .push(
            &token,
            &CancelToken::new(),
            &quiet,
            &mut SyncReport::default(),
        )
        .await
        .unwrap();
    let photo = dev.with(|s| s.list_photos(insp)).unwrap().remove(0);
    assert_eq!(
        photo.sha256,
        hex::encode(Sha256::digest(&bytes)),
        "fixture bytes"
    );
    let up = Upload {
        http: reqwest::Client::new(),
        token,
        id: photo.id,
    };
    let register = |url: String| {
        let http = up.http.clone();
        let token = up.token.clone();
        let body = serde_json::json!({
            "id": photo.id, "kind": "photo", "inspection_id": insp,
            "sha256": photo.sha256, "size": len, "mime": "image/jpeg",
        });
        async move {
            let r = http
                .post(format!("{url}/api/v1/photos"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<serde_json::Value>().await.unwrap()["offset"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(register(one.url()).await, 0);
    let partial = db.blobs().join("partial").join(photo.id.to_string());

    // A short chunk that is not the last: refused, nothing stored.
    let (st, code, _) = up.chunk(&one.url(), 0, bytes[..100 * 1024].to_vec()).await;
    assert_eq!(
        (st, code.as_str()),
        (StatusCode::BAD_REQUEST, "chunk_too_small")
    );
    assert!(files_under(&partial).is_empty(), "nothing staged");
    assert_eq!(up.offset(&two.url()).await, 0);

    // 1 MiB at server one: one chunk object; server two answers its offset.
    let (st, _, at) = up.chunk(&one.url(), 0, bytes[..MIB].to_vec()).await;
    assert_eq!((st, at), (StatusCode::NO_CONTENT, MIB as u64));
    assert_eq!(
        files_under(&partial),
        vec![partial.join(format!("{:020}", 0))],
        "one object per chunk, named by its offset"
    );
    assert_eq!(
        up.offset(&two.url()).await,
        MIB as u64,
        "another process resumes"
    );
    assert_eq!(register(two.url()).await, MIB as u64);

    // At the wrong offset: nothing written, told where to resume.
    let (st, code, at) = up.chunk(&two.url(), 0, bytes[..MIB].to_vec()).await;
    assert_eq!(
        (st, code.as_str(), at),
        (StatusCode::CONFLICT, "offset_mismatch", MIB as u64)
    );
    assert_eq!(files_under(&partial).len(), 1);

    // The sweep: not expired yet, then expired.
    let p = jiandu_server::service::Platform::new(db.open().await, templates())
        .with_blob_store(jiandu_server::blobs::BlobStore::open(&db.blob_location()).unwrap());
    let now = std::time::SystemTime::now();
    assert_eq!(sweep_partial_uploads(&p, now).await.unwrap(), 0);
    let later = now + p.uploads.partial_upload_expiry + std::time::Duration::from_secs(60);
    assert_eq!(sweep_partial_uploads(&p, later).await.unwrap(), 1);
    assert!(
        files_under(&partial).is_empty(),
        "the chunk objects are gone"
    );
    assert_eq!(up.offset(&one.url()).await, 0);

    // More than registered: refused, the staging dropped.
    let (st, _, _) = up.chunk(&one.url(), 0, bytes[..MIB].to_vec()).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mut too_long = bytes[MIB..].to_vec();
    too_long.extend_from_slice(&[0; 100]);
    let (st, code, _) = up.chunk(&two.url(), MIB, too_long).await;
    assert_eq!(
        (st, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "chunk_too_large")
    );
    assert!(files_under(&partial).is_empty());
    assert_eq!(up.offset(&two.url()).await, 0);

    // Wrong bytes to the end: refused, nothing visible.
    let content = db.blobs().join(&photo.sha256[..2]).join(&photo.sha256);
    let mut wrong = bytes.clone();
    wrong[MIB + 5] ^= 0xFF;
    for (url, from, to) in [
        (one.url(), 0, MIB),
        (two.url(), MIB, 2 * MIB),
        (one.url(), 2 * MIB, len),
    ] {
        let (st, code, _) = up.chunk(&url, from, wrong[from..to].to_vec()).await;
        if to == len {
            assert_eq!(
                (st, code.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch")
            );
        } else {
            assert_eq!(st, StatusCode::NO_CONTENT);
        }
    }
    assert!(!content.exists(), "unverified bytes are never visible");
    assert!(files_under(&partial).is_empty());

    // The right bytes, chunks to the two servers in turn: one content object.
    for (url, from, to) in [
        (two.url(), 0, MIB),
        (one.url(), MIB, 2 * MIB),
        (two.url(), 2 * MIB, len),
    ] {
        let (st, _, at) = up.chunk(&url, from, bytes[from..to].to_vec()).await;
        assert_eq!((st, at), (StatusCode::NO_CONTENT, to as u64));
    }
    assert_eq!(std::fs::read(&content).unwrap(), bytes);
    assert!(files_under(&partial).is_empty(), "staging removed");
    for url in [one.url(), two.url()] {
        let got = up
            .http
            .get(format!("{url}/api/v1/photos/{}/content", photo.id))
            .bearer_auth(&up.token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(got.as_ref(), &bytes[..]);
    }
    let store = db.open().await;
    assert!(store.blob(photo.id).await.unwrap().unwrap().complete);
    one.kill();
    two.kill();
}
