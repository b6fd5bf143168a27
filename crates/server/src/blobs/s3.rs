//! Photos in an S3-compatible object store (`--blobs s3://BUCKET/PREFIX`): MinIO,
//! RustFS, Ceph, Alibaba OSS, AWS S3. Through the `object_store` crate.
//!
//! Layout under `PREFIX` (the same as the folder's, so tools and tests read both):
//!
//! - `<sha[0..2]>/<sha>`: verified bytes, content-addressed;
//! - `partial/<upload id>/<offset, 20 digits>`: one object per chunk received. The
//!   durable offset of an upload is the end of the chain of chunk objects that
//!   starts at 0 (each begins where the one before ends), so any server process
//!   derives it by one LIST; no server holds upload state in memory.
//!
//! A chunk object is written once its bytes have arrived (or the connection was
//! cut: what arrived is kept, as on disk), with one PUT: an answered chunk is in
//! the store. On the last byte the chain is read back, hashed, and only bytes
//! whose SHA-256 matches the registration are written under their content name.

use super::is_sha256;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// Where the photos are: `s3://BUCKET/PREFIX`, and how to reach the store. The
/// secret is never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix inside the bucket, without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// e.g. `http://127.0.0.1:9000`; None: AWS S3 of the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "s3://{}/{} (endpoint {}, region {})",
            self.bucket,
            self.prefix,
            self.endpoint.as_deref().unwrap_or("AWS"),
            self.region
        )
    }
}

/// `s3://BUCKET/PREFIX` → (bucket, prefix); None when `s` is not such a URL.
pub fn parse_url(s: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

/// The object store backend.
#[derive(Debug)]
pub struct S3Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn io(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        e => std::io::Error::other(e.to_string()),
    }
}

impl S3Blobs {
    pub fn new(loc: &S3Location) -> Result<Self, String> {
        use object_store::aws::AmazonS3Builder;
        use object_store::{ClientOptions, RetryConfig};
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&loc.bucket)
            .with_region(&loc.region)
            .with_access_key_id(&loc.access_key_id)
            .with_secret_access_key(&loc.secret_access_key)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(true)
                    .with_connect_timeout(std::time::Duration::from_secs(5))
                    .with_timeout(std::time::Duration::from_secs(60)),
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(20),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &loc.endpoint {
            b = b.with_endpoint(endpoint);
        }
        let store = b.build().map_err(|e| e.to_string())?;
        Ok(Self {
            store: Arc::new(store),
            prefix: loc.prefix.clone(),
        })
    }

    fn key(&self, rest: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rest)
        } else {
            ObjectPath::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn content(&self, sha256: &str) -> ObjectPath {
        self.key(&format!("{}/{sha256}", &sha256[..2]))
    }

    fn partial_dir(&self, id: Uuid) -> ObjectPath {
        self.key(&format!("partial/{id}"))
    }

    fn chunk(&self, id: Uuid, offset: u64) -> ObjectPath {
        self.key(&format!("partial/{id}/{offset:020}"))
    }

    /// Chunk objects of an upload: offset → (key, size).
    async fn chunks(&self, id: Uuid) -> std::io::Result<BTreeMap<u64, (ObjectPath, u64)>> {
        let dir = self.partial_dir(id);
        let metas: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(io)?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let offset = m.location.filename()?.parse::<u64>().ok()?;
                Some((offset, (m.location, m.size)))
            })
            .collect())
    }

    /// The chain of chunk objects from offset 0, in order.
    fn chain(chunks: &BTreeMap<u64, (ObjectPath, u64)>) -> Vec<(ObjectPath, u64)> {
        let mut pos = 0u64;
        let mut out = Vec::new();
        while let Some((key, size)) = chunks.get(&pos) {
            if *size == 0 {
                break;
            }
            out.push((key.clone(), *size));
            pos += size;
        }
        out
    }

    pub async fn partial_len(&self, id: Uuid) -> std::io::Result<u64> {
        Ok(Self::chain(&self.chunks(id).await?)
            .iter()
            .map(|(_, s)| s)
            .sum())
    }

    /// Stores the bytes of one chunk received at `offset`.
    pub async fn put_chunk(&self, id: Uuid, offset: u64, bytes: Vec<u8>) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.store
            .put(&self.chunk(id, offset), PutPayload::from(bytes))
            .await
            .map_err(io)?;
        Ok(())
    }

    pub async fn drop_partial(&self, id: Uuid) -> std::io::Result<()> {
        for (_, (key, _)) in self.chunks(id).await? {
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    /// The bytes of the upload's chain, read back in order.
    pub async fn read_partial(&self, id: Uuid) -> std::io::Result<Vec<u8>> {
        let chain = Self::chain(&self.chunks(id).await?);
        let mut out = Vec::with_capacity(chain.iter().map(|(_, s)| *s as usize).sum());
        for (key, _) in chain {
            let bytes = self
                .store
                .get(&key)
                .await
                .map_err(io)?
                .bytes()
                .await
                .map_err(io)?;
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// Writes verified bytes under their content name (unless already there).
    pub async fn put_content(&self, sha256: &str, bytes: Vec<u8>) -> std::io::Result<()> {
        debug_assert_eq!(hex::encode(Sha256::digest(&bytes)), sha256);
        let key = self.content(sha256);
        match self.store.head(&key).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(io(e)),
        }
        self.store
            .put(&key, PutPayload::from(Bytes::from(bytes)))
            .await
            .map_err(io)?;
        Ok(())
    }

    pub async fn read(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        if !is_sha256(sha256) {
            return Ok(None);
        }
        match self.store.get(&self.content(sha256)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(io)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    /// Removes the chunks of uploads whose newest chunk is older than `expiry`.
    pub async fn drop_partials_older_than(
        &self,
        now: std::time::SystemTime,
        expiry: std::time::Duration,
    ) -> std::io::Result<usize> {
        let dir = self.key("partial");
        let metas: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(io)?;
        let cutoff: chrono::DateTime<chrono::Utc> = (now - expiry).into();
        let mut uploads: HashMap<String, (chrono::DateTime<chrono::Utc>, Vec<ObjectPath>)> =
            HashMap::new();
        for m in metas {
            let parts: Vec<_> = m.location.parts().collect();
            let Some(upload) = parts.len().checked_sub(2).and_then(|i| parts.get(i)) else {
                continue;
            };
            let e = uploads
                .entry(upload.as_ref().to_owned())
                .or_insert((m.last_modified, Vec::new()));
            e.0 = e.0.max(m.last_modified);
            e.1.push(m.location);
        }
        let mut removed = 0;
        for (_, (newest, keys)) in uploads {
            if newest <= cutoff {
                for k in keys {
                    match self.store.delete(&k).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(io(e)),
                    }
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The store answers with these credentials (a HEAD of a key that need not exist).
    pub async fn check(&self) -> Result<(), String> {
        match self.store.head(&self.key("health-check")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}
