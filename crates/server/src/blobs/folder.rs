//! The blob folder (the default backend): photos and signature images as files,
//! content-addressed by SHA-256 (`<root>/<sha[0..2]>/<sha>`), with partial uploads
//! beside them (`<root>/partial/<id>`) whose length is the durable upload offset.
//! Blocking file calls: [`super::BlobStore`] runs the slow ones off the runtime.

use super::is_sha256;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// A local folder of blobs.
#[derive(Debug)]
pub struct BlobFolder {
    root: PathBuf,
}

impl BlobFolder {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn partial(&self, id: Uuid) -> PathBuf {
        self.root.join("partial").join(id.to_string())
    }

    /// Where verified bytes with this hash live.
    pub fn content_path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Bytes of a partial upload on disk (0 when none).
    pub fn partial_len(&self, id: Uuid) -> u64 {
        std::fs::metadata(self.partial(id))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The verified bytes with this hash (None: not here).
    pub fn read(&self, sha256: &str) -> Option<Vec<u8>> {
        if !is_sha256(sha256) {
            return None;
        }
        std::fs::read(self.content_path(sha256)).ok()
    }

    /// Opens the partial file of an upload for appending.
    pub fn append(&self, id: Uuid) -> std::io::Result<PartialFile> {
        let path = self.partial(id);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(PartialFile { file })
    }

    /// Cuts a partial upload back to `len` bytes (a refused chunk is not kept).
    pub fn truncate_partial(&self, id: Uuid, len: u64) -> std::io::Result<()> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.partial(id))?;
        f.set_len(len)?;
        f.sync_all()
    }

    /// Removes partial uploads not written for `expiry` before `now`; answers how many.
    pub fn drop_partials_older_than(
        &self,
        now: std::time::SystemTime,
        expiry: std::time::Duration,
    ) -> std::io::Result<usize> {
        let dir = self.root.join("partial");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let modified = e.metadata().and_then(|m| m.modified())?;
            if now.duration_since(modified).is_ok_and(|age| age >= expiry) {
                std::fs::remove_file(e.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub fn drop_partial(&self, id: Uuid) {
        let _ = std::fs::remove_file(self.partial(id));
    }

    /// SHA-256 of a partial upload.
    pub fn hash_partial(&self, id: Uuid) -> std::io::Result<String> {
        let mut f = std::fs::File::open(self.partial(id))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Moves a verified partial upload to its content address (durably: the
    /// folder is synced), or drops it when those bytes are already there.
    pub fn commit_partial(&self, id: Uuid, sha256: &str) -> std::io::Result<()> {
        let target = self.content_path(sha256);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if target.exists() {
            self.drop_partial(id);
            return Ok(());
        }
        std::fs::rename(self.partial(id), &target)?;
        if let Some(dir) = target.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

/// A partial upload open for appending.
#[derive(Debug)]
pub struct PartialFile {
    file: std::fs::File,
}

impl PartialFile {
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Makes what was written durable: the answer to the chunk reports it.
    pub fn sync(self) -> std::io::Result<()> {
        self.file.sync_all()
    }
}
