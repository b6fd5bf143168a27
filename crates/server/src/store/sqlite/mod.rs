//! [`ServerStore`] on SQLite (rusqlite, bundled): the embedded default.
//!
//! Reads run on a pool of read connections ([`pool`], WAL: each reads its own
//! snapshot while the writer writes), from tokio's blocking pool. Every write goes
//! to the one writer thread ([`writer`]), which commits the writes that queued up
//! meanwhile as one group: one transaction and one fsync for many requests, each
//! in its own savepoint and answered with its own result after the commit. Every
//! connection is opened by [`open_connection`], which sets the pragmas in one
//! place. The trait's areas live in their own files: `people`,
//! `registry`, `draws`, `inspections`, `sync` and `audit`.

use super::*;
use crate::audit::AuditEvent;
use chrono::SecondsFormat;
use jiandu_core::Role;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod migrations;
use migrations::MIGRATIONS;

mod audit;
mod draws;
mod inspections;
mod people;
mod plans;
mod pool;
mod push;
mod registry;
mod sessions;
mod sync;
mod writer;

/// Opens a connection with the pragmas every server connection needs.
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;",
    )?;
    // Statements are prepared once per connection (`prepare_cached`); a push alone
    // uses about fifteen, beyond rusqlite's default of sixteen kept.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Applies pending migrations in one transaction, with the version guard.
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL
         );",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let supported = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, ts(Utc::now())],
        )?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO server_state (id, epoch, change_seq) VALUES (1, ?1, 0)",
        params![Uuid::now_v7().to_string()],
    )?;
    tx.commit()?;
    Ok(())
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| conversion(e.to_string()))
}

fn conversion(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::<dyn std::error::Error + Send + Sync>::from(msg),
    )
}

fn uuid_col(row: &Row, idx: &str) -> rusqlite::Result<Uuid> {
    let s: String = row.get(idx)?;
    Uuid::parse_str(&s).map_err(|e| conversion(e.to_string()))
}

/// Bumps the change sequence: call once per writing transaction.
fn bump(tx: &Connection) -> StoreResult<i64> {
    Ok(tx
        .prepare_cached(
            "UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Appends the audit entry of change `seq`, chained to the last entry.
fn append_audit(tx: &Connection, seq: i64, stamp: &Stamp, event: &AuditEvent) -> StoreResult<()> {
    let prev: Option<String> = tx
        .prepare_cached("SELECT hash FROM audit_log ORDER BY change_seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let e = AuditEntry::seal(
        seq,
        crate::audit::time_text(stamp.at),
        stamp.actor.clone(),
        event,
        prev.unwrap_or_else(|| crate::audit::GENESIS.to_owned()),
    );
    tx.prepare_cached(
        "INSERT INTO audit_log (change_seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.change_seq,
        e.at,
        e.actor,
        e.action,
        e.subject,
        e.detail,
        e.prev_hash,
        e.hash
    ])?;
    Ok(())
}

const USER_COLS: &str =
    "id, username, display_name, role, badge_no, team, district, disabled, created_at, seq";

fn user_row(row: &Row) -> rusqlite::Result<User> {
    let role: String = row.get("role")?;
    Ok(User {
        id: uuid_col(row, "id")?,
        username: row.get("username")?,
        display_name: row.get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| conversion(format!("role {role}")))?,
        badge_no: row.get("badge_no")?,
        team: row.get("team")?,
        district: row.get("district")?,
        disabled: row.get::<_, i64>("disabled")? != 0,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
        seq: row.get("seq")?,
    })
}

const DEVICE_COLS: &str =
    "id, user_id, name, created_at, revoked_at, seq, last_sync_at, revoked_kind, last_used_at";

fn device_row(row: &Row) -> rusqlite::Result<Device> {
    let revoked = row.get::<_, Option<String>>("revoked_at")?.is_some();
    Ok(Device {
        id: uuid_col(row, "id")?,
        user_id: uuid_col(row, "user_id")?,
        name: row.get("name")?,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
        revoked_at: row
            .get::<_, Option<String>>("revoked_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
        seq: row.get("seq")?,
        last_sync_at: row
            .get::<_, Option<String>>("last_sync_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
        revoked_kind: revoked
            .then(|| row.get::<_, Option<String>>("revoked_kind"))
            .transpose()?
            .map(|k| RevokeKind::parse(k.as_deref())),
        last_used_at: row
            .get::<_, Option<String>>("last_used_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
    })
}

const INSTITUTION_COLS: &str =
    "id, name, credit_code, licence_no, category, district, address, legal_representative, phone";

fn institution_row(row: &Row) -> rusqlite::Result<Institution> {
    Ok(Institution {
        id: uuid_col(row, "id")?,
        name: row.get("name")?,
        credit_code: row.get("credit_code")?,
        licence_no: row.get("licence_no")?,
        category: CategoryCode(row.get("category")?),
        district: row.get("district")?,
        address: row.get("address")?,
        legal_representative: row.get("legal_representative")?,
        phone: row.get("phone")?,
    })
}

const DRAW_COLS: &str = "id, plan_id, plan_version, seed, algorithm, inputs_hash, tasks_hash, \
     inputs, created_by, created_at, freeze_id";

fn draw_row(row: &Row) -> rusqlite::Result<DrawRecord> {
    let inputs: String = row.get("inputs")?;
    let freeze: Option<String> = row.get("freeze_id")?;
    Ok(DrawRecord {
        freeze_id: freeze
            .map(|f| Uuid::parse_str(&f).map_err(|e| conversion(e.to_string())))
            .transpose()?,
        id: uuid_col(row, "id")?,
        plan_id: row.get("plan_id")?,
        plan_version: row.get("plan_version")?,
        seed: row.get("seed")?,
        algorithm: row.get("algorithm")?,
        inputs_hash: row.get("inputs_hash")?,
        tasks_hash: row.get("tasks_hash")?,
        inputs: serde_json::from_str(&inputs).map_err(|e| conversion(e.to_string()))?,
        created_by: row.get("created_by")?,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
    })
}

const TASK_COLS: &str = "t.id, t.draw_id, t.plan_id, t.plan_version, t.position, t.checklist, t.kind, t.followup, \
     t.institution_id, t.category, t.drawn_inspectors, t.seq, \
     (SELECT group_concat(user_id, ',') FROM \
        (SELECT user_id FROM task_inspectors ti WHERE ti.task_id = t.id ORDER BY position)) AS current";

fn task_row(row: &Row) -> rusqlite::Result<StoredTask> {
    let kind: String = row.get("kind")?;
    let drawn: String = row.get("drawn_inspectors")?;
    let current: Option<String> = row.get("current")?;
    let inspectors = current
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s).map_err(|e| conversion(e.to_string())))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(StoredTask {
        id: uuid_col(row, "id")?,
        draw_id: uuid_col(row, "draw_id")?,
        plan_id: row.get("plan_id")?,
        plan_version: row.get("plan_version")?,
        position: row.get("position")?,
        checklist: row.get("checklist")?,
        kind: parse_kind(&kind).ok_or_else(|| conversion(format!("kind {kind}")))?,
        followup: row.get("followup")?,
        institution_id: uuid_col(row, "institution_id")?,
        category: CategoryCode(row.get("category")?),
        drawn_inspectors: serde_json::from_str(&drawn).map_err(|e| conversion(e.to_string()))?,
        inspectors,
        seq: row.get("seq")?,
    })
}

fn inspection_row(row: &Row) -> rusqlite::Result<StoredInspection> {
    let body: String = row.get("body")?;
    Ok(StoredInspection {
        inspection: serde_json::from_str(&body).map_err(|e| conversion(e.to_string()))?,
        seq: row.get("seq")?,
    })
}

fn reassignment_row(row: &Row) -> rusqlite::Result<Reassignment> {
    Ok(Reassignment {
        id: uuid_col(row, "id")?,
        draw_id: uuid_col(row, "draw_id")?,
        task_id: uuid_col(row, "task_id")?,
        from_user: uuid_col(row, "from_user")?,
        to_user: uuid_col(row, "to_user")?,
        reason: row.get("reason")?,
        by: row.get("by_name")?,
        at: parse_ts(&row.get::<_, String>("at")?)?,
    })
}

fn review_row(row: &Row) -> rusqlite::Result<ReviewRecord> {
    Ok(ReviewRecord {
        id: uuid_col(row, "id")?,
        inspection_id: uuid_col(row, "inspection_id")?,
        decision: {
            let d: String = row.get("decision")?;
            ReviewDecision::parse(&d).ok_or_else(|| conversion(format!("decision {d}")))?
        },
        reviewed_version: row.get::<_, i64>("reviewed_version")? as u64,
        comment: row.get("comment")?,
        reviewer: uuid_col(row, "reviewer")?,
        at: parse_ts(&row.get::<_, String>("at")?)?,
    })
}

fn is_unique_violation(e: &rusqlite::Error, column: &str) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(msg))
        if f.code == rusqlite::ErrorCode::ConstraintViolation
            && msg.contains("UNIQUE") && msg.contains(column))
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    readers: Arc<pool::ReadPool>,
    writer: Arc<writer::Writer>,
}

/// Read connections: one a core, at least two.
fn read_pool_size() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(2)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, applies migrations and starts
    /// the writer and the read connections.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        let p = path.clone();
        tokio::task::spawn_blocking(move || -> StoreResult<SqliteStore> {
            if let Some(dir) = p.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(StoreError::internal)?;
            }
            let mut conn = open_connection(&p)?;
            migrate(&mut conn)?;
            let writer = writer::Writer::start(conn)?;
            let readers = pool::ReadPool::open(&p, read_pool_size())?;
            Ok(SqliteStore {
                path: p,
                readers: Arc::new(readers),
                writer: Arc::new(writer),
            })
        })
        .await
        .map_err(StoreError::internal)?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many read connections the store keeps.
    pub fn read_connections(&self) -> usize {
        self.readers.size()
    }

    /// Runs `f` on a read connection, in a read transaction (one snapshot).
    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(StoreError::internal)?
    }

    /// Runs `f` on the writer, in its own savepoint of the next group transaction:
    /// `f` answers whether to keep what it wrote. The answer comes once the group
    /// is committed (durable).
    async fn write_raw<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<(T, bool)> + Send + 'static,
    {
        self.writer.submit(f).await
    }

    /// Runs `f` as one write (see [`Self::write_raw`]) with the change sequence
    /// bumped once and `event` appended to the audit log under `stamp`, all committed together.
    async fn write<T, F>(&self, stamp: &Stamp, event: AuditEvent, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> StoreResult<T> + Send + 'static,
    {
        self.write_if_changed(stamp, event, move |tx, seq| Ok((f(tx, seq)?, true)))
            .await
    }

    /// Like [`Self::write`], for a write that may turn out to change nothing (a
    /// replay): `f` answers whether it wrote anything, and when it did not, the
    /// write is rolled back, so the change sequence does not move and no
    /// audit entry is written: devices have nothing new to pull.
    async fn write_if_changed<T, F>(&self, stamp: &Stamp, event: AuditEvent, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, i64) -> StoreResult<(T, bool)> + Send + 'static,
    {
        let stamp = stamp.clone();
        self.write_raw(move |tx| {
            let seq = bump(tx)?;
            let (out, changed) = f(tx, seq)?;
            if changed {
                append_audit(tx, seq, &stamp, &event)?;
            }
            Ok((out, changed))
        })
        .await
    }
}

fn get_user(conn: &Connection, id: Uuid) -> StoreResult<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
            params![id.to_string()],
            user_row,
        )
        .optional()?)
}

fn get_user_by_name(conn: &Connection, username: &str) -> StoreResult<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLS} FROM users WHERE username = ?1"),
            params![username],
            user_row,
        )
        .optional()?)
}

fn get_task(conn: &Connection, id: Uuid) -> StoreResult<Option<StoredTask>> {
    Ok(conn
        .query_row(
            &format!("SELECT {TASK_COLS} FROM tasks t WHERE t.id = ?1"),
            params![id.to_string()],
            task_row,
        )
        .optional()?)
}

fn get_inspection(conn: &Connection, id: Uuid) -> StoreResult<Option<StoredInspection>> {
    Ok(conn
        .query_row(
            "SELECT body, seq FROM inspections WHERE id = ?1",
            params![id.to_string()],
            inspection_row,
        )
        .optional()?)
}

#[async_trait]
impl ServerStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    /// The read connections (the one writer is not pooled).
    fn pool_use(&self) -> Option<crate::metrics::PoolUse> {
        let idle = self.readers.idle() as u64;
        let size = self.readers.size() as u64;
        Some(crate::metrics::PoolUse {
            size,
            in_use: size.saturating_sub(idle),
            max: size,
            waiting: 0,
        })
    }

    async fn state(&self) -> StoreResult<ServerState> {
        self.with(|c| {
            let (epoch, seq): (String, i64) = c.query_row(
                "SELECT epoch, change_seq FROM server_state WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(ServerState {
                epoch: Uuid::parse_str(&epoch).map_err(StoreError::internal)?,
                change_seq: seq,
            })
        })
        .await
    }
}
