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
        let path = path.as_ref().to_owned();
        let root = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let data = files::DataDir { root };
        // A new user's folder may not exist yet; the database file itself is checked
        // (and refused) before anything is created beside it.
        std::fs::create_dir_all(&data.root).map_err(|e| StoreError::io(&data.root, e))?;
        let conn = db::open_connection(&path)?;
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
    pub fn export_copy(&self, dest: &Path) -> Result<()> {
        self.conn
            .execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
        Ok(())
    }

    /// [`Store::export_copy`] of the database at `db` without this store: a
    /// read-only connection of its own copies a snapshot, so a large copy holds no
    /// lock the app or sync wait for (导出本机数据 while a sync runs).
    pub fn export_snapshot(db: &Path, dest: &Path) -> Result<()> {
        db::snapshot(db, dest)
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
