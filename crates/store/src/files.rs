//! Evidence files (photos, signature images) on disk.
//!
//! A file is written exactly once: into a temporary file in the same folder, flushed
//! to the disk (fsync), renamed to its final name (its record id), and the folder is
//! flushed so the rename itself survives a power cut. Only then does the caller
//! insert the database row, so a row never points to a missing or partial file.
//! A crash before the rename leaves a `.tmp-*` file that the next exclusive open
//! removes; a crash after the rename but before the commit leaves a complete file
//! with no row, which is harmless (never shown, never uploaded).

use crate::crypto::DataKey;
use crate::error::{Result, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Prefix of files being written; anything with it after a crash is garbage.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// Where the bytes of a new file come from.
#[derive(Debug, Clone, Copy)]
pub enum FileSource<'a> {
    /// Bytes in memory (e.g. straight from the camera API).
    Bytes(&'a [u8]),
    /// A file to copy (e.g. the camera's own temporary file). It is copied, not
    /// moved: the store owns its copy and nobody else can alter it.
    Path(&'a Path),
}

/// A file made durable: its content hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub sha256: String,
    pub size: u64,
}

/// Result of re-reading an evidence file against the hash recorded at capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FileIntegrity {
    /// Same size, same SHA-256 as recorded.
    Intact,
    /// The file is gone.
    Missing,
    /// The file is shorter or longer than recorded (e.g. truncated).
    SizeMismatch { expected: u64, actual: u64 },
    /// Same size, different content.
    HashMismatch { expected: String, actual: String },
}

impl FileIntegrity {
    pub fn is_intact(&self) -> bool {
        matches!(self, Self::Intact)
    }
}

/// Writes `source` as `<dir>/<id>` once and durably. `check_head` inspects the first
/// bytes (file-type signature) and returns an error message to refuse the file.
pub(crate) fn write_once(
    dir: &Path,
    id: Uuid,
    source: FileSource<'_>,
    max_bytes: u64,
    check_head: impl Fn(&[u8]) -> Result<()>,
    key: Option<&DataKey>,
) -> Result<Written> {
    let final_path = dir.join(id.to_string());
    // Never overwrite: ids are unique, so an existing file means a defect upstream.
    if final_path.exists() {
        return Err(StoreError::Data(format!(
            "文件 {} 已存在，拒绝覆盖",
            final_path.display()
        )));
    }
    let tmp = dir.join(format!("{TEMP_PREFIX}{id}"));
    let result = (|| -> Result<Written> {
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| StoreError::io(&tmp, e))?;
        if let FileSource::Path(p) = source
            && let Ok(meta) = fs::metadata(p)
            && meta.len() > max_bytes
        {
            return Err(StoreError::TooLarge {
                size: meta.len(),
                max: max_bytes,
            });
        }
        let written = match (source, key) {
            (FileSource::Bytes(b), None) => {
                copy_hashing(b, &mut out, &tmp, max_bytes, &check_head)?
            }
            (FileSource::Path(p), None) => {
                let src = File::open(p).map_err(|e| StoreError::io(p, e))?;
                copy_hashing(src, &mut out, &tmp, max_bytes, &check_head)?
            }
            (source, Some(key)) => {
                // Sealed whole: evidence files are bounded (MAX_PHOTO_BYTES), and
                // the tag covers the entire content.
                let mut plain = zeroize::Zeroizing::new(Vec::new());
                let written = match source {
                    FileSource::Bytes(b) => {
                        copy_hashing(b, &mut *plain, &tmp, max_bytes, &check_head)?
                    }
                    FileSource::Path(p) => {
                        let src = File::open(p).map_err(|e| StoreError::io(p, e))?;
                        copy_hashing(src, &mut *plain, &tmp, max_bytes, &check_head)?
                    }
                };
                let sealed = key.seal(&file_aad(dir, &id.to_string()), &plain);
                out.write_all(&sealed)
                    .map_err(|e| StoreError::io(&tmp, e))?;
                written
            }
        };
        out.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
        Ok(written)
    })();
    let written = match result {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = fs::rename(&tmp, &final_path) {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(&final_path, e));
    }
    sync_dir(dir)?;
    Ok(written)
}

fn copy_hashing(
    mut src: impl Read,
    out: &mut impl Write,
    out_path: &Path,
    max_bytes: u64,
    check_head: &impl Fn(&[u8]) -> Result<()>,
) -> Result<Written> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size: u64 = 0;
    // The first bytes are gathered before anything is written, to check the type.
    let mut head = Vec::with_capacity(16);
    loop {
        let n = src
            .read(&mut buf)
            .map_err(|e| StoreError::io(out_path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > max_bytes {
            return Err(StoreError::TooLarge {
                size,
                max: max_bytes,
            });
        }
        if head.len() < 16 {
            let take = (16 - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| StoreError::io(out_path, e))?;
    }
    if size == 0 {
        return Err(StoreError::Invalid("文件为空（0 字节），请重新拍摄".into()));
    }
    check_head(&head)?;
    Ok(Written {
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

/// The associated data a sealed evidence file is bound to: its folder's name and
/// its own (`photos/<id>`), so a sealed file moved or renamed does not open.
pub(crate) fn file_aad(dir: &Path, name: &str) -> Vec<u8> {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{folder}/{name}").into_bytes()
}

/// The content of the evidence file `path`: opened with `key` when it is sealed.
/// A plain file is returned as it is only when there is no key (a store not yet
/// encrypted): with a key, every file must be sealed.
pub(crate) fn read_plain(path: &Path, key: Option<&DataKey>) -> Result<Vec<u8>> {
    let bytes = fs::read(path).map_err(|e| StoreError::io(path, e))?;
    match key {
        Some(key) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            key.open(&file_aad(dir, &name), &bytes)
        }
        None if crate::crypto::is_sealed(&bytes) => {
            Err(StoreError::Data("文件已加密，需要先输入 PIN 码解锁".into()))
        }
        None => Ok(bytes),
    }
}

/// Seals the plain evidence file `path` in place (temporary file, fsync, rename):
/// a crash leaves either the plain file or the sealed one, never neither.
pub(crate) fn seal_in_place(path: &Path, key: &DataKey) -> Result<bool> {
    let bytes = zeroize::Zeroizing::new(fs::read(path).map_err(|e| StoreError::io(path, e))?);
    if crate::crypto::is_sealed(&bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sealed = key.seal(&file_aad(dir, &name), &bytes);
    crate::crypto::write_durably(path, &sealed)?;
    Ok(true)
}

/// Re-reads `path` and compares it with what was recorded.
pub(crate) fn verify(
    path: &Path,
    expected_sha256: &str,
    expected_size: u64,
    key: Option<&DataKey>,
) -> Result<FileIntegrity> {
    if let Some(key) = key {
        let plain = match read_plain(path, Some(key)) {
            Ok(p) => p,
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileIntegrity::Missing);
            }
            Err(StoreError::Io { path, source }) => return Err(StoreError::Io { path, source }),
            Err(_) => {
                return Ok(FileIntegrity::HashMismatch {
                    expected: expected_sha256.to_owned(),
                    actual: "（加密文件已损坏，无法解密）".into(),
                });
            }
        };
        if plain.len() as u64 != expected_size {
            return Ok(FileIntegrity::SizeMismatch {
                expected: expected_size,
                actual: plain.len() as u64,
            });
        }
        let actual = hex::encode(Sha256::digest(&plain));
        if actual != expected_sha256 {
            return Ok(FileIntegrity::HashMismatch {
                expected: expected_sha256.to_owned(),
                actual,
            });
        }
        return Ok(FileIntegrity::Intact);
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileIntegrity::Missing),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let actual_size = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    if actual_size != expected_size {
        return Ok(FileIntegrity::SizeMismatch {
            expected: expected_size,
            actual: actual_size,
        });
    }
    let actual = sha256_of(file, path)?;
    if actual != expected_sha256 {
        return Ok(FileIntegrity::HashMismatch {
            expected: expected_sha256.to_owned(),
            actual,
        });
    }
    Ok(FileIntegrity::Intact)
}

fn sha256_of(mut r: impl Read, path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Flushes a directory so that a rename or removal in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; NTFS journals renames itself.
        let _ = dir;
    }
    Ok(())
}

/// Removes the temporary files a crash left behind in `dir`. Only called while this
/// process holds the data folder's lock exclusively, so no live writer owns them.
pub(crate) fn remove_orphan_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            fs::remove_file(entry.path()).map_err(|e| StoreError::io(entry.path(), e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// The data folder of one store: the database's folder, with `photos/` and
/// `signatures/` beside the database file.
#[derive(Debug, Clone)]
pub(crate) struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn photos(&self) -> PathBuf {
        self.root.join("photos")
    }
    pub fn signatures(&self) -> PathBuf {
        self.root.join("signatures")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(".jiandu-store.lock")
    }
}

/// Takes the data folder's lock: shared for the store's whole life; exclusive only
/// briefly at open, to clean up after a crash when no other store is using the
/// folder. Returns the lock file (dropping it releases the lock) and whether the
/// cleanup ran.
pub(crate) fn lock_and_clean(data: &DataDir) -> Result<(File, usize)> {
    let path = data.lock_file();
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    let mut removed = 0;
    match lock.try_lock() {
        Ok(()) => {
            removed += remove_orphan_temps(&data.photos())?;
            removed += remove_orphan_temps(&data.signatures())?;
            lock.unlock().map_err(|e| StoreError::io(&path, e))?;
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            // Another store uses the folder: its temp files may be live writes.
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
    }
    lock.lock_shared().map_err(|e| StoreError::io(&path, e))?;
    Ok((lock, removed))
}
