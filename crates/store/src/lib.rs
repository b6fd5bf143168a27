//! jiandu-store: the device-side store of Jiandu (监督).
//!
//! One SQLite file per signed-in user, in that user's data folder, with the evidence
//! files beside it:
//!
//! ```text
//! <data_dir>/device.db         the database (WAL: device.db-wal, device.db-shm)
//! <data_dir>/photos/<id>       photos, written once, SHA-256 in the database
//! <data_dir>/signatures/<id>   signature PNGs, likewise
//! ```
//!
//! [`Store::open`] is the only way to get a connection: it checks the file, sets the
//! pragmas (WAL, foreign keys, busy timeout, synchronous=FULL) and applies the
//! embedded migrations all-or-nothing. Every change then runs in ONE transaction
//! that writes the record, an outbox entry for sync (with a gapless `device_seq`) and
//! an audit-log entry, after checking jiandu-core's rules (editable state, known
//! check point, observation size, consistent outcome, …). Time and the acting
//! person are always arguments; ids come from an injectable [`IdSource`].
//!
//! Modules: `db` (opening, pragmas, migrations); `tasks` (from the server, task
//! list); `plans` (plan versions the platform sent); `inspections` (content and transitions); `evidence` (photos,
//! signatures); `log` (outbox and audit log); `files` (durable evidence files);
//! `sync` (enrolment, push answers, conflicts, pull pages, uploads, 文号 blocks).

mod codec;
pub mod crypto;
mod db;
mod error;
mod evidence;
mod files;
mod ids;
mod inspections;
mod log;
mod plans;
mod sync;
mod tasks;

pub use crypto::{DataKey, KeyVault, UnlockError};
pub use db::SCHEMA_VERSION;
pub use error::{Result, StoreError};
pub use evidence::{
    GeoPoint, MAX_PHOTO_BYTES, MAX_SIGNATURE_BYTES, PhotoMeta, PhotoRecord, Refusal, UploadItem,
    Witness,
};
pub use files::{FileIntegrity, FileSource};
pub use ids::{IdSource, SequentialIds, UuidV7};
pub use inspections::{Answer, Review};
pub use log::{AuditEntry, OutboxEntry, OutboxStats};
pub use sync::{Conflict, DocNumberStock, PullTally, PushTally, SyncState, UploadJob};
pub use tasks::{TaskFilter, TaskRow};

use chrono::{DateTime, Utc};
use jiandu_core::Actor;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::fs::File;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The device store: one open database of one user, plus its evidence folders.
pub struct Store {
    conn: Connection,
    /// Bumped each time a pull stores a plan version new to this device.
    plans_changed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    path: PathBuf,
    data: files::DataDir,
    ids: Box<dyn IdSource>,
    /// The data key of an encrypted store (None: a plain store, before a PIN).
    key: Option<DataKey>,
    /// Shared lock on the data folder, held for the store's life (see files.rs).
    _folder_lock: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

/// What a change produced: the record's id, its inspection, the outbox position and
/// the inspection's version after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// Id of the record written (finding, photo, signature or the inspection itself).
    pub id: Uuid,
    pub inspection_id: Uuid,
    /// The outbox entry's position in this device's log.
    pub device_seq: i64,
    /// Inspection version after the change.
    pub version: u64,
}

/// Opens (or creates) the store whose database is `path`; its data folder is the
/// folder that holds `path`. See [`Store::open`].
pub fn open(path: impl AsRef<Path>) -> Result<Store> {
    Store::open(path)
}

impl Store {
    /// Opens (or creates) the database at `path`.
    ///
    /// Refuses, leaving the file untouched: a damaged file (`db_corrupt`), a SQLite
    /// file that is not ours (`db_foreign`), a database from a newer app version
    /// (`db_newer`). Creates `photos/` and `signatures/` beside the database and,
    /// when no other store has the folder open, removes temporary files left by a
    /// crash.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_inner(path.as_ref(), None)
    }

    /// Opens the encrypted store at `path` with its data key. A folder whose
    /// encryption did not finish (a crash during [`Store::encrypt_folder`]) is
    /// encrypted first; a wrong key is refused (`key_mismatch`) with nothing read.
    pub fn open_encrypted(path: impl AsRef<Path>, key: &DataKey) -> Result<Store> {
        let path = path.as_ref();
        if !encrypted_marker(path).exists() {
            Self::encrypt_folder(path, key)?;
        }
        Self::open_inner(path, Some(key.clone()))
    }

    /// Whether the store at `path` has been encrypted completely.
    pub fn is_encrypted(path: impl AsRef<Path>) -> bool {
        encrypted_marker(path.as_ref()).exists()
    }

    /// Encrypts a plain store in place, with no store open on it: the database is
    /// copied with `sqlcipher_export` into an encrypted file that replaces it by one
    /// rename (until then the plain one is intact), then each photo and signature
    /// is sealed in place (temporary file, fsync, rename). A crash anywhere leaves a
    /// folder this function finishes on the next run; nothing is lost, and a marker
    /// file says when all is done. Calling it on an encrypted folder only checks.
    pub fn encrypt_folder(path: &Path, key: &DataKey) -> Result<()> {
        let root = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let data = files::DataDir { root };
        std::fs::create_dir_all(&data.root).map_err(|e| StoreError::io(&data.root, e))?;
        let lock_path = data.lock_file();
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Invalid(
                    "本机数据正在使用，暂时无法加密，请稍后再试".into(),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&lock_path, e)),
        }
        let tmp = data
            .root
            .join(format!("{}device.db.enc", files::TEMP_PREFIX));
        for stale in [tmp.clone(), with_suffix(&tmp, "-journal")] {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(&stale, e)),
            }
        }
        if db::is_plain_sqlite(path)? {
            let conn = db::open_connection(path, None)?;
            db::export_to(&conn, &tmp, Some(key))?;
            File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| StoreError::io(&tmp, e))?;
            // Everything in the WAL is in the plain file before its WAL goes.
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            drop(conn);
            for side in [with_suffix(path, "-wal"), with_suffix(path, "-shm")] {
                match std::fs::remove_file(&side) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io(&side, e)),
                }
            }
            std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
            files::sync_dir(&data.root)?;
            tracing::info!(path = %path.display(), "device database encrypted");
        } else if !path.exists() {
            // A new store: created encrypted by the first open.
        }
        let mut sealed = 0usize;
        for dir in [data.photos(), data.signatures()] {
            sealed += seal_dir(&dir, key)?;
        }
        crypto::write_durably(&encrypted_marker(path), b"1\n")?;
        tracing::info!(files_sealed = sealed, "evidence files encrypted");
        let _ = lock.unlock();
        Ok(())
    }

    /// The data key of an encrypted store.
    pub fn data_key(&self) -> Option<&DataKey> {
        self.key.as_ref()
    }

    /// The content of a photo's file (decrypted in memory).
    pub fn read_photo(&self, id: Uuid) -> Result<Vec<u8>> {
        files::read_plain(&self.photo_path(id), self.key.as_ref())
    }

    /// The content of a signature's PNG (decrypted in memory).
    pub fn read_signature(&self, id: Uuid) -> Result<Vec<u8>> {
        files::read_plain(&self.signature_path(id), self.key.as_ref())
    }

    /// The content of an evidence file given by its path (a photo or signature).
    pub fn read_evidence(&self, path: &Path) -> Result<Vec<u8>> {
        files::read_plain(path, self.key.as_ref())
    }

    fn open_inner(path: &Path, key: Option<DataKey>) -> Result<Store> {
        let path = path.to_owned();
        let root = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let data = files::DataDir { root };
        // A new user's folder may not exist yet; the database file itself is checked
        // (and refused) before anything is created beside it.
        std::fs::create_dir_all(&data.root).map_err(|e| StoreError::io(&data.root, e))?;
        let conn = db::open_connection(&path, key.as_ref())?;
        for dir in [data.photos(), data.signatures()] {
            std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        }
        let (lock, removed) = files::lock_and_clean(&data)?;
        tracing::info!(path = %path.display(), temp_files_removed = removed, "device store opened");
        Ok(Store {
            conn,
            plans_changed: Default::default(),
            path,
            data,
            ids: Box::new(UuidV7),
            key,
            _folder_lock: lock,
        })
    }

    /// Replaces the id source (tests pin ids with [`SequentialIds`]).
    pub fn set_id_source(&mut self, ids: Box<dyn IdSource>) {
        self.ids = ids;
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a consistent copy of the database to `dest` (which must not exist), as
    /// of now: `VACUUM INTO`, so a copy taken while the app runs is never torn.
    /// An encrypted store's copy is encrypted with the same key.
    pub fn export_copy(&self, dest: &Path) -> Result<()> {
        match &self.key {
            None => {
                self.conn
                    .execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
                Ok(())
            }
            Some(key) => db::export_to(&self.conn, dest, Some(key)),
        }
    }

    /// [`Store::export_copy`] of the database at `db` without this store: a
    /// read-only connection of its own copies a snapshot, so a large copy holds no
    /// lock the app or sync wait for (导出本机数据 while a sync runs). `key` opens
    /// `db`; `dest_key` encrypts the copy (`None`: plain, only when chosen).
    pub fn export_snapshot(
        db: &Path,
        dest: &Path,
        key: Option<&DataKey>,
        dest_key: Option<&DataKey>,
    ) -> Result<()> {
        db::snapshot(db, dest, key, dest_key)
    }

    /// The data folder (holds the database, `photos/` and `signatures/`).
    pub fn data_dir(&self) -> &Path {
        &self.data.root
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a healthy database, else SQLite's list
    /// of problems. Reads the whole file: for a settings screen or before a backup,
    /// not for every open.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The schema version stored in the database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken up front, so
    /// a busy database waits at BEGIN, not halfway through) and commits.
    fn write<T>(
        &mut self,
        actor: Option<&Actor>,
        at: DateTime<Utc>,
        f: impl FnOnce(&mut log::Change<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx: Transaction<'_> = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut change = log::Change {
            tx: &tx,
            ids: self.ids.as_mut(),
            actor,
            at,
        };
        let out = f(&mut change)?;
        tx.commit()?;
        Ok(out)
    }
}

/// `<db>.encrypted`: written once the folder is entirely encrypted.
fn encrypted_marker(db: &Path) -> PathBuf {
    with_suffix(db, ".encrypted")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Seals every plain file of `dir` in place (temporary files are skipped).
fn seal_dir(dir: &Path, key: &DataKey) -> Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(files::TEMP_PREFIX) || !entry.path().is_file() {
            continue;
        }
        if files::seal_in_place(&entry.path(), key)? {
            n += 1;
        }
    }
    Ok(n)
}
