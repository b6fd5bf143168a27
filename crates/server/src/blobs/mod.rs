//! Where photos and signature images are kept: a local folder ([`folder`], the
//! default, `--blobs DIR`) or an S3-compatible object store ([`s3`],
//! `--blobs s3://BUCKET/PREFIX`). Both store verified bytes content-addressed by
//! SHA-256 (`<sha[0..2]>/<sha>`) and stage partial uploads so that the durable
//! offset of an upload can be read back after a cut connection or a restart (and,
//! in the object store, by any server process).
//!
//! Storage only, like `crate::store`: which upload may write where, and when a
//! file is complete, is decided by `crate::service::sync`.

pub mod folder;
pub mod s3;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

pub use folder::BlobFolder;
pub use s3::{S3Blobs, S3Location};

/// A SHA-256 in lower-case hex, the only names content files have.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where the blobs are, as the settings say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    Folder(PathBuf),
    S3(S3Location),
}

#[derive(Debug)]
enum Backend {
    Folder(Arc<BlobFolder>),
    S3(S3Blobs),
}

/// The blob store of a server process, and one lock per upload so a retried chunk
/// reaching the same process waits for the cut request it replaces instead of
/// interleaving with it. (Across processes, the object store's chunk chain and
/// the hash check keep an upload whole: see [`s3`].)
#[derive(Debug)]
pub struct BlobStore {
    backend: Backend,
    uploads: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
    /// Chunks gathered in memory at once (object store): each holds up to
    /// `MAX_CHUNK_BYTES`, so this bounds the memory of a flood of uploads
    /// (64 × 4 MiB = 256 MiB); further chunks wait for a slot.
    buffers: Arc<tokio::sync::Semaphore>,
}

/// Chunks the object store backend gathers in memory at once.
pub const CHUNK_BUFFERS: usize = 64;

fn joined<T>(r: Result<std::io::Result<T>, tokio::task::JoinError>) -> std::io::Result<T> {
    r.map_err(std::io::Error::other)?
}

impl BlobStore {
    /// A local folder.
    pub fn folder(root: PathBuf) -> Self {
        Self::with(Backend::Folder(Arc::new(BlobFolder::new(root))))
    }

    /// An object store (no request is made yet: see [`BlobStore::check`]).
    pub fn s3(loc: &S3Location) -> Result<Self, String> {
        Ok(Self::with(Backend::S3(S3Blobs::new(loc)?)))
    }

    pub fn open(loc: &BlobLocation) -> Result<Self, String> {
        match loc {
            BlobLocation::Folder(dir) => Ok(Self::folder(dir.clone())),
            BlobLocation::S3(s3) => Self::s3(s3),
        }
    }

    fn with(backend: Backend) -> Self {
        Self {
            backend,
            uploads: Mutex::new(HashMap::new()),
            buffers: Arc::new(tokio::sync::Semaphore::new(CHUNK_BUFFERS)),
        }
    }

    /// "folder" or "s3" (logs, health, metrics).
    pub fn kind(&self) -> &'static str {
        match self.backend {
            Backend::Folder(_) => "folder",
            Backend::S3(_) => "s3",
        }
    }

    /// The folder, for the folder backend.
    pub fn folder_root(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Folder(f) => Some(f.root()),
            Backend::S3(_) => None,
        }
    }

    /// The lock of one upload (held while a chunk is written).
    pub fn upload_lock(&self, id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry(id).or_default().clone()
    }

    /// Bytes of a partial upload stored so far: the durable offset (0 when none).
    pub async fn partial_len(&self, id: Uuid) -> std::io::Result<u64> {
        match &self.backend {
            Backend::Folder(f) => Ok(f.partial_len(id)),
            Backend::S3(s) => s.partial_len(id).await,
        }
    }

    /// Starts receiving one chunk at `offset` (the current durable offset). With
    /// the object store, waits for one of [`CHUNK_BUFFERS`] memory slots.
    pub async fn begin_chunk(&self, id: Uuid, offset: u64) -> std::io::Result<ChunkSink> {
        Ok(match &self.backend {
            Backend::Folder(f) => ChunkSink::File {
                file: f.append(id)?,
                folder: f.clone(),
                id,
                offset,
            },
            Backend::S3(_) => ChunkSink::Buffer {
                id,
                offset,
                bytes: Vec::new(),
                _slot: self
                    .buffers
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(std::io::Error::other)?,
            },
        })
    }

    /// Removes a partial upload (refused or failed its check).
    pub async fn drop_partial(&self, id: Uuid) -> std::io::Result<()> {
        match &self.backend {
            Backend::Folder(f) => {
                f.drop_partial(id);
                Ok(())
            }
            Backend::S3(s) => s.drop_partial(id).await,
        }
    }

    /// Checks a complete partial upload against `sha256`: on a match its bytes
    /// become visible under their content name (once: identical bytes are kept
    /// once) and the staging is removed; on a mismatch the staging is removed and
    /// `Ok(false)` answered.
    pub async fn finish(&self, id: Uuid, sha256: &str) -> std::io::Result<bool> {
        if !is_sha256(sha256) {
            return Ok(false);
        }
        match &self.backend {
            Backend::Folder(f) => {
                let f = f.clone();
                let sha = sha256.to_owned();
                joined(
                    tokio::task::spawn_blocking(move || {
                        if f.hash_partial(id)? != sha {
                            f.drop_partial(id);
                            return Ok(false);
                        }
                        f.commit_partial(id, &sha)?;
                        Ok(true)
                    })
                    .await,
                )
            }
            Backend::S3(s) => {
                let bytes = s.read_partial(id).await?;
                let (bytes, hash) = tokio::task::spawn_blocking(move || {
                    use sha2::Digest;
                    let h = hex::encode(sha2::Sha256::digest(&bytes));
                    (bytes, h)
                })
                .await
                .map_err(std::io::Error::other)?;
                if hash != sha256 {
                    s.drop_partial(id).await?;
                    return Ok(false);
                }
                s.put_content(sha256, bytes).await?;
                s.drop_partial(id).await?;
                Ok(true)
            }
        }
    }

    /// The verified bytes with this hash (None: not here).
    pub async fn read(&self, sha256: &str) -> std::io::Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Folder(f) => {
                let f = f.clone();
                let sha = sha256.to_owned();
                joined(tokio::task::spawn_blocking(move || Ok(f.read(&sha))).await)
            }
            Backend::S3(s) => s.read(sha256).await,
        }
    }

    /// Removes partial uploads not written for `expiry` before `now`; answers how many.
    pub async fn drop_partials_older_than(
        &self,
        now: std::time::SystemTime,
        expiry: std::time::Duration,
    ) -> std::io::Result<usize> {
        match &self.backend {
            Backend::Folder(f) => {
                let f = f.clone();
                joined(
                    tokio::task::spawn_blocking(move || f.drop_partials_older_than(now, expiry))
                        .await,
                )
            }
            Backend::S3(s) => s.drop_partials_older_than(now, expiry).await,
        }
    }

    /// Whether the store can be used now (the health endpoint): the folder is a
    /// folder (or not made yet); the object store answers with these credentials.
    pub async fn check(&self) -> Result<(), String> {
        match &self.backend {
            Backend::Folder(f) => match std::fs::metadata(f.root()) {
                Ok(m) if m.is_dir() => Ok(()),
                Ok(_) => Err(format!("{} is not a folder", f.root().display())),
                // Not made yet: the first upload creates it (`serve` does at start).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("{}: {e}", f.root().display())),
            },
            Backend::S3(s) => s.check().await,
        }
    }
}

/// One chunk being received: appended to the partial file as it arrives (folder),
/// or gathered and stored as one object when it ends (object store; a chunk is at
/// most `MAX_CHUNK_BYTES`).
#[derive(Debug)]
pub enum ChunkSink {
    File {
        file: folder::PartialFile,
        folder: Arc<BlobFolder>,
        id: Uuid,
        offset: u64,
    },
    Buffer {
        id: Uuid,
        offset: u64,
        bytes: Vec<u8>,
        _slot: tokio::sync::OwnedSemaphorePermit,
    },
}

impl ChunkSink {
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            ChunkSink::File { file, .. } => file.write(data),
            ChunkSink::Buffer { bytes, .. } => {
                bytes.extend_from_slice(data);
                Ok(())
            }
        }
    }

    /// Makes what was received durable: the answer to the chunk reports it.
    pub async fn commit(self, store: &BlobStore) -> std::io::Result<()> {
        match (self, &store.backend) {
            (ChunkSink::File { file, .. }, _) => {
                joined(tokio::task::spawn_blocking(move || file.sync()).await)
            }
            (
                ChunkSink::Buffer {
                    id, offset, bytes, ..
                },
                Backend::S3(s),
            ) => s.put_chunk(id, offset, bytes).await,
            (ChunkSink::Buffer { .. }, Backend::Folder(_)) => Err(std::io::Error::other(
                "a buffered chunk on the folder backend",
            )),
        }
    }

    /// Forgets what this chunk received (a refused chunk is not kept).
    pub async fn abandon(self) -> std::io::Result<()> {
        match self {
            ChunkSink::File {
                file,
                folder,
                id,
                offset,
            } => {
                drop(file);
                joined(
                    tokio::task::spawn_blocking(move || folder.truncate_partial(id, offset)).await,
                )
            }
            ChunkSink::Buffer { .. } => Ok(()),
        }
    }
}
