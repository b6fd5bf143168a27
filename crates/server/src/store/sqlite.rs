//! [`ServerStore`] on SQLite (rusqlite, bundled): the embedded default.
//!
//! One connection behind a mutex, used from tokio's blocking pool: SQLite has one
//! writer at a time anyway, and WAL lets readers of other processes (backups, the
//! CLI) proceed. Every connection is opened by [`open_connection`], which sets the
//! pragmas in one place.

use super::*;
use crate::audit::{AuditEntry, AuditEvent};
use chrono::SecondsFormat;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Embedded migrations: (version, SQL), applied in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../../migrations/server-sqlite/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../../migrations/server-sqlite/0002_sync.sql"),
    ),
    (
        3,
        include_str!("../../../../migrations/server-sqlite/0003_audit.sql"),
    ),
    (
        4,
        include_str!("../../../../migrations/server-sqlite/0004_inspection_results.sql"),
    ),
];

mod sync_impl;

/// Opens a connection with the pragmas every server connection needs.
pub fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;",
    )?;
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
fn bump(tx: &Transaction) -> StoreResult<i64> {
    Ok(tx.query_row(
        "UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq",
        [],
        |r| r.get(0),
    )?)
}

/// Appends the audit entry of change `seq`, chained to the last entry.
fn append_audit(tx: &Transaction, seq: i64, actor: String, event: &AuditEvent) -> StoreResult<()> {
    let prev: Option<String> = tx
        .query_row(
            "SELECT hash FROM audit_log ORDER BY change_seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let e = AuditEntry::seal(
        seq,
        crate::audit::now_text(),
        actor,
        event,
        prev.unwrap_or_else(|| crate::audit::GENESIS.to_owned()),
    );
    tx.execute(
        "INSERT INTO audit_log (change_seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            e.change_seq,
            e.at,
            e.actor,
            e.action,
            e.subject,
            e.detail,
            e.prev_hash,
            e.hash
        ],
    )?;
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
        role: parse_role(&role).ok_or_else(|| conversion(format!("role {role}")))?,
        badge_no: row.get("badge_no")?,
        team: row.get("team")?,
        district: row.get("district")?,
        disabled: row.get::<_, i64>("disabled")? != 0,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
        seq: row.get("seq")?,
    })
}

const DEVICE_COLS: &str = "id, user_id, name, created_at, revoked_at, seq";

fn device_row(row: &Row) -> rusqlite::Result<Device> {
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

const DRAW_COLS: &str =
    "id, plan_id, seed, algorithm, inputs_hash, tasks_hash, inputs, created_by, created_at";

fn draw_row(row: &Row) -> rusqlite::Result<DrawRecord> {
    let inputs: String = row.get("inputs")?;
    Ok(DrawRecord {
        id: uuid_col(row, "id")?,
        plan_id: row.get("plan_id")?,
        seed: row.get("seed")?,
        algorithm: row.get("algorithm")?,
        inputs_hash: row.get("inputs_hash")?,
        tasks_hash: row.get("tasks_hash")?,
        inputs: serde_json::from_str(&inputs).map_err(|e| conversion(e.to_string()))?,
        created_by: row.get("created_by")?,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
    })
}

const TASK_COLS: &str = "t.id, t.draw_id, t.plan_id, t.position, t.checklist, t.kind, t.followup, \
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
        decision: row.get("decision")?,
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
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<Connection> {
            if let Some(dir) = p.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(StoreError::internal)?;
            }
            let mut conn = open_connection(&p)?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(StoreError::internal)??;
        Ok(SqliteStore {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Internal("sqlite connection mutex poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(StoreError::internal)?
    }

    /// Runs `f` in an IMMEDIATE transaction with the change sequence bumped once and
    /// `event` appended to the audit log, all committed together.
    async fn write<T, F>(&self, event: AuditEvent, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction, i64) -> StoreResult<T> + Send + 'static,
    {
        // Read here: the task-local actor is not visible on the blocking pool.
        let actor = crate::audit::actor();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seq = bump(&tx)?;
            let out = f(&tx, seq)?;
            append_audit(&tx, seq, actor, &event)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// Like [`Self::write`], for a write that may turn out to change nothing (a
    /// replay): `f` answers whether it wrote anything, and when it did not, the
    /// transaction is rolled back, so the change sequence does not move and no
    /// audit entry is written: devices have nothing new to pull.
    async fn write_if_changed<T, F>(&self, event: AuditEvent, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction, i64) -> StoreResult<(T, bool)> + Send + 'static,
    {
        let actor = crate::audit::actor();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seq = bump(&tx)?;
            let (out, changed) = f(&tx, seq)?;
            if changed {
                append_audit(&tx, seq, actor, &event)?;
                tx.commit()?;
            } else {
                tx.rollback()?;
            }
            Ok(out)
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

fn user_not_found(username: &str) -> StoreError {
    StoreError::NotFound(format!("用户“{username}”不存在"))
}

#[async_trait]
impl ServerStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
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

    async fn create_user(&self, u: NewUser) -> StoreResult<User> {
        let event = crate::audit::events::create_user(&u);
        self.write(event, move |tx, seq| {
            let r = tx.execute(
                "INSERT INTO users (id, username, display_name, role, badge_no, team, district,
                                    password_hash, disabled, created_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10)",
                params![
                    u.id.to_string(),
                    u.username,
                    u.display_name,
                    role_str(u.role),
                    u.badge_no,
                    u.team,
                    u.district,
                    u.password_hash,
                    ts(u.created_at),
                    seq
                ],
            );
            match r {
                Err(e) if is_unique_violation(&e, "username") => Err(StoreError::Conflict {
                    code: "username_taken",
                    message: format!("用户名“{}”已存在", u.username),
                }),
                Err(e) if is_unique_violation(&e, "badge_no") => Err(StoreError::Conflict {
                    code: "badge_taken",
                    message: format!(
                        "执法证号“{}”已属于另一用户",
                        u.badge_no.as_deref().unwrap_or("")
                    ),
                }),
                Err(e) => Err(e.into()),
                Ok(_) => {
                    get_user(tx, u.id)?.ok_or_else(|| StoreError::Internal("user vanished".into()))
                }
            }
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY username"))?;
            let rows = st.query_map([], user_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.with(move |c| get_user(c, id)).await
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        // In-process: one prepared statement per id costs no round trip.
        let ids = ids.to_vec();
        self.with(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(get_user(c, id)?);
            }
            Ok(out)
        })
        .await
    }

    async fn user_credentials(
        &self,
        username: &str,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let username = username.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = ?1"),
                params![username],
                |r| Ok((user_row(r)?, r.get("password_hash")?)),
            )
            .optional()?)
        })
        .await
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<User> {
        let username = username.to_owned();
        let event = crate::audit::events::set_disabled(&username, disabled);
        self.write(event, move |tx, seq| {
            let n = tx.execute(
                "UPDATE users SET disabled = ?1, seq = ?2 WHERE username = ?3",
                params![disabled as i64, seq, username],
            )?;
            if n == 0 {
                return Err(user_not_found(&username));
            }
            get_user_by_name(tx, &username)?.ok_or_else(|| user_not_found(&username))
        })
        .await
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<()> {
        let username = username.to_owned();
        let hash = password_hash.to_owned();
        let event = crate::audit::events::set_password(&username);
        self.write(event, move |tx, seq| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?1, seq = ?2 WHERE username = ?3",
                params![hash, seq, username],
            )?;
            if n == 0 {
                return Err(user_not_found(&username));
            }
            Ok(())
        })
        .await
    }

    async fn create_device(&self, d: Device, token_hash: &str) -> StoreResult<Device> {
        let token_hash = token_hash.to_owned();
        let event = crate::audit::events::create_device(&d);
        self.write(event, move |tx, seq| {
            tx.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at, revoked_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                params![
                    d.id.to_string(),
                    d.user_id.to_string(),
                    d.name,
                    token_hash,
                    ts(d.created_at),
                    seq
                ],
            )?;
            Ok(Device {
                seq,
                revoked_at: None,
                ..d
            })
        })
        .await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            let device = c
                .query_row(
                    &format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = ?1"),
                    params![token_hash],
                    device_row,
                )
                .optional()?;
            let Some(device) = device else {
                return Ok(None);
            };
            let user = get_user(c, device.user_id)?
                .ok_or_else(|| StoreError::Internal("device without user".into()))?;
            Ok(Some((device, user)))
        })
        .await
    }

    async fn device(&self, id: Uuid) -> StoreResult<Option<Device>> {
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                params![id.to_string()],
                device_row,
            )
            .optional()?)
        })
        .await
    }

    async fn list_devices(&self, user_id: Option<Uuid>) -> StoreResult<Vec<Device>> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE ?1 IS NULL OR user_id = ?1 ORDER BY created_at, id"
            ))?;
            let rows = st.query_map(params![user_id.map(|u| u.to_string())], device_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke_device(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<Device> {
        let event = crate::audit::events::revoke_device(id, at);
        self.write(event, move |tx, seq| {
            tx.execute(
                "UPDATE devices SET revoked_at = ?1, seq = ?2 WHERE id = ?3 AND revoked_at IS NULL",
                params![ts(at), seq, id.to_string()],
            )?;
            tx.query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                params![id.to_string()],
                device_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("设备 {id} 不存在")))
        })
        .await
    }

    async fn import_registry(&self, import: RegistryImport) -> StoreResult<ImportCounts> {
        let event = crate::audit::events::import_registry(&import);
        self.write(event, move |tx, seq| {
            let mut counts = ImportCounts::default();
            {
                let mut find =
                    tx.prepare_cached("SELECT id FROM institutions WHERE credit_code = ?1")?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO institutions (id, credit_code, name, licence_no, category, district,
                         address, legal_representative, phone, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                let mut update = tx.prepare_cached(
                    "UPDATE institutions SET name = ?2, licence_no = ?3, category = ?4, district = ?5,
                         address = ?6, legal_representative = ?7, phone = ?8, seq = ?9
                     WHERE credit_code = ?1",
                )?;
                for i in &import.institutions {
                    let existing: Option<String> =
                        find.query_row(params![i.credit_code], |r| r.get(0)).optional()?;
                    if existing.is_some() {
                        update.execute(params![
                            i.credit_code,
                            i.name,
                            i.licence_no,
                            i.category.as_str(),
                            i.district,
                            i.address,
                            i.legal_representative,
                            i.phone,
                            seq
                        ])?;
                        counts.institutions_updated += 1;
                    } else {
                        insert.execute(params![
                            i.id.to_string(),
                            i.credit_code,
                            i.name,
                            i.licence_no,
                            i.category.as_str(),
                            i.district,
                            i.address,
                            i.legal_representative,
                            i.phone,
                            seq
                        ])?;
                        counts.institutions_added += 1;
                    }
                }
            }
            for s in &import.staff {
                let existing: Option<(String, String)> = tx
                    .query_row(
                        "SELECT id, role FROM users WHERE badge_no = ?1",
                        params![s.badge_no],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let user_id = match existing {
                    Some((id, _)) => {
                        tx.execute(
                            "UPDATE users SET display_name = ?1, team = ?2, district = ?3, seq = ?4
                             WHERE id = ?5",
                            params![s.name, s.team, s.district, seq, id],
                        )?;
                        counts.staff_updated += 1;
                        id
                    }
                    None => {
                        let id = Uuid::now_v7().to_string();
                        let r = tx.execute(
                            "INSERT INTO users (id, username, display_name, role, badge_no, team,
                                 district, password_hash, disabled, created_at, seq)
                             VALUES (?1, ?2, ?3, 'inspector', ?4, ?5, ?6, NULL, 0, ?7, ?8)",
                            params![
                                id,
                                s.username,
                                s.name,
                                s.badge_no,
                                s.team,
                                s.district,
                                ts(Utc::now()),
                                seq
                            ],
                        );
                        if let Err(e) = &r
                            && is_unique_violation(e, "username")
                        {
                            return Err(StoreError::Conflict {
                                code: "username_taken",
                                message: format!(
                                    "执法证号 {} 的用户名“{}”已被其他用户使用",
                                    s.badge_no, s.username
                                ),
                            });
                        }
                        r?;
                        counts.staff_added += 1;
                        id
                    }
                };
                tx.execute(
                    "DELETE FROM conflicts WHERE user_id = ?1",
                    params![user_id],
                )?;
                for code in &s.conflicts {
                    tx.execute(
                        "INSERT OR IGNORE INTO conflicts (user_id, credit_code, seq) VALUES (?1, ?2, ?3)",
                        params![user_id, code, seq],
                    )?;
                }
            }
            for p in &import.penalised {
                tx.execute(
                    "INSERT INTO penalised_units (campaign, credit_code, note, seq)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (campaign, credit_code) DO UPDATE SET note = excluded.note, seq = excluded.seq",
                    params![p.campaign, p.credit_code, p.note, seq],
                )?;
                counts.penalised += 1;
            }
            Ok(counts)
        })
        .await
    }

    async fn list_institutions(&self) -> StoreResult<Vec<Institution>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {INSTITUTION_COLS} FROM institutions ORDER BY credit_code"
            ))?;
            let rows = st.query_map([], institution_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn institution(&self, id: Uuid) -> StoreResult<Option<Institution>> {
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = ?1"),
                params![id.to_string()],
                institution_row,
            )
            .optional()?)
        })
        .await
    }

    async fn institutions_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Institution>> {
        let ids = ids.to_vec();
        self.with(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {INSTITUTION_COLS} FROM institutions WHERE id = ?1"
            ))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(
                    st.query_row(params![id.to_string()], institution_row)
                        .optional()?,
                );
            }
            Ok(out)
        })
        .await
    }

    async fn staff_for_draw(&self) -> StoreResult<Vec<StaffForDraw>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {USER_COLS} FROM users
                 WHERE role = 'inspector' AND disabled = 0 AND badge_no IS NOT NULL
                 ORDER BY id"
            ))?;
            let users = st
                .query_map([], user_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut conflicts = c.prepare(
                "SELECT credit_code FROM conflicts WHERE user_id = ?1 ORDER BY credit_code",
            )?;
            let mut out = Vec::with_capacity(users.len());
            for user in users {
                let codes = conflicts
                    .query_map(params![user.id.to_string()], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()?;
                out.push(StaffForDraw {
                    user,
                    conflict_codes: codes,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn penalised(&self) -> StoreResult<Vec<PenalisedEntry>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT campaign, credit_code, note FROM penalised_units ORDER BY campaign, credit_code",
            )?;
            let rows = st.query_map([], |r| {
                Ok(PenalisedEntry {
                    campaign: r.get(0)?,
                    credit_code: r.get(1)?,
                    note: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn assignments_in_year(&self, year: i32) -> StoreResult<Vec<(Uuid, Uuid)>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT t.institution_id, ti.user_id FROM tasks t
                 JOIN draws d ON d.id = t.draw_id
                 JOIN task_inspectors ti ON ti.task_id = t.id
                 WHERE d.plan_year = ?1",
            )?;
            let rows = st.query_map(params![year], |r| {
                Ok((uuid_col(r, "institution_id")?, uuid_col(r, "user_id")?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn save_draw(
        &self,
        record: DrawRecord,
        plan_year: i32,
        tasks: Vec<StoredTask>,
    ) -> StoreResult<()> {
        let event = crate::audit::events::save_draw(&record, &tasks);
        self.write(event, move |tx, seq| {
            let r = tx.execute(
                "INSERT INTO draws (id, plan_id, plan_year, seed, algorithm, inputs_hash, tasks_hash,
                     inputs, created_by, created_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    record.id.to_string(),
                    record.plan_id,
                    plan_year,
                    record.seed,
                    record.algorithm,
                    record.inputs_hash,
                    record.tasks_hash,
                    serde_json::to_string(&record.inputs)?,
                    record.created_by,
                    ts(record.created_at),
                    seq
                ],
            );
            if let Err(e) = &r
                && is_unique_violation(e, "plan_id")
            {
                return Err(already_drawn(&record.plan_id));
            }
            r?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO tasks (id, draw_id, plan_id, position, checklist, kind, followup,
                     institution_id, category, drawn_inspectors, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            let mut assign = tx.prepare_cached(
                "INSERT INTO task_inspectors (task_id, user_id, position) VALUES (?1, ?2, ?3)",
            )?;
            for t in &tasks {
                insert.execute(params![
                    t.id.to_string(),
                    record.id.to_string(),
                    t.plan_id,
                    t.position,
                    t.checklist,
                    kind_str(t.kind),
                    t.followup,
                    t.institution_id.to_string(),
                    t.category.as_str(),
                    serde_json::to_string(&t.drawn_inspectors)?,
                    seq
                ])?;
                for (i, u) in t.inspectors.iter().enumerate() {
                    assign.execute(params![t.id.to_string(), u.to_string(), i as i64])?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn draw(&self, id: Uuid) -> StoreResult<Option<DrawRecord>> {
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {DRAW_COLS} FROM draws WHERE id = ?1"),
                params![id.to_string()],
                draw_row,
            )
            .optional()?)
        })
        .await
    }

    async fn draws(&self) -> StoreResult<Vec<DrawRecord>> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {DRAW_COLS} FROM draws ORDER BY created_at, id"
            ))?;
            let rows = st.query_map([], draw_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn tasks_of_draw(&self, draw_id: Uuid) -> StoreResult<Vec<StoredTask>> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {TASK_COLS} FROM tasks t WHERE t.draw_id = ?1 ORDER BY t.position"
            ))?;
            let rows = st.query_map(params![draw_id.to_string()], task_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn task(&self, id: Uuid) -> StoreResult<Option<StoredTask>> {
        self.with(move |c| get_task(c, id)).await
    }

    async fn tasks_for(
        &self,
        plan_id: Option<&str>,
        users: Option<&[Uuid]>,
    ) -> StoreResult<Vec<StoredTask>> {
        let plan_id = plan_id.map(str::to_owned);
        let users: Option<String> = users.map(|u| {
            serde_json::to_string(&u.iter().map(|x| x.to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        });
        self.with(move |c| {
            // With users: driven by task_inspectors_user (a device's pull reads its own
            // few tasks, not every task); a separate statement, because `?2 IS NULL OR`
            // would keep SQLite from using the index.
            let sql = if users.is_some() {
                format!(
                    "SELECT {TASK_COLS} FROM tasks t
                     WHERE (?1 IS NULL OR t.plan_id = ?1)
                       AND t.id IN (SELECT ti.task_id FROM task_inspectors ti
                                    WHERE ti.user_id IN (SELECT value FROM json_each(?2)))
                     ORDER BY t.plan_id, t.position"
                )
            } else {
                format!(
                    "SELECT {TASK_COLS} FROM tasks t
                     WHERE (?1 IS NULL OR t.plan_id = ?1) AND ?2 IS NULL
                     ORDER BY t.plan_id, t.position"
                )
            };
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params![plan_id, users], task_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn reassign(&self, r: Reassignment, allowance: usize) -> StoreResult<()> {
        let event = crate::audit::events::reassign(&r, allowance);
        self.write(event, move |tx, seq| {
            let done: i64 = tx.query_row(
                "SELECT COUNT(*) FROM reassignments WHERE draw_id = ?1",
                params![r.draw_id.to_string()],
                |row| row.get(0),
            )?;
            if done as usize >= allowance {
                return Err(cap_reached(done as usize, allowance));
            }
            let task = get_task(tx, r.task_id)?
                .ok_or_else(|| StoreError::NotFound(format!("任务 {} 不存在", r.task_id)))?;
            let Some(pos) = task.inspectors.iter().position(|u| *u == r.from_user) else {
                return Err(StoreError::Conflict {
                    code: "not_assigned",
                    message: "被调整的检查人员不在该任务中".into(),
                });
            };
            if task.inspectors.contains(&r.to_user) {
                return Err(StoreError::Conflict {
                    code: "already_assigned",
                    message: "新检查人员已在该任务中".into(),
                });
            }
            tx.execute(
                "DELETE FROM task_inspectors WHERE task_id = ?1 AND user_id = ?2",
                params![r.task_id.to_string(), r.from_user.to_string()],
            )?;
            tx.execute(
                "INSERT INTO task_inspectors (task_id, user_id, position) VALUES (?1, ?2, ?3)",
                params![r.task_id.to_string(), r.to_user.to_string(), pos as i64],
            )?;
            tx.execute(
                "UPDATE tasks SET seq = ?1 WHERE id = ?2",
                params![seq, r.task_id.to_string()],
            )?;
            tx.execute(
                "INSERT INTO reassignments (id, draw_id, task_id, from_user, to_user, reason, by_name, at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    r.id.to_string(),
                    r.draw_id.to_string(),
                    r.task_id.to_string(),
                    r.from_user.to_string(),
                    r.to_user.to_string(),
                    r.reason,
                    r.by,
                    ts(r.at),
                    seq
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn reassignments(&self, draw_id: Uuid) -> StoreResult<Vec<Reassignment>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT id, draw_id, task_id, from_user, to_user, reason, by_name, at
                 FROM reassignments WHERE draw_id = ?1 ORDER BY seq, id",
            )?;
            let rows = st.query_map(params![draw_id.to_string()], reassignment_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn put_inspection(
        &self,
        inspection: Inspection,
        expected_version: Option<u64>,
        updated_at: DateTime<Utc>,
    ) -> StoreResult<StoredInspection> {
        let event = crate::audit::events::put_inspection(&inspection, expected_version);
        self.write(event, move |tx, seq| {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM inspections WHERE id = ?1",
                    params![inspection.id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            check_expected(current.map(|v| v as u64), expected_version)?;
            let body = serde_json::to_string(&inspection)?;
            tx.execute(
                "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
                     body = excluded.body, updated_at = excluded.updated_at, seq = excluded.seq",
                params![
                    inspection.id.to_string(),
                    inspection.task_id.to_string(),
                    inspection.status.as_str(),
                    inspection.version as i64,
                    body,
                    ts(updated_at),
                    seq
                ],
            )?;
            Ok(StoredInspection { inspection, seq })
        })
        .await
    }

    async fn inspection(&self, id: Uuid) -> StoreResult<Option<StoredInspection>> {
        self.with(move |c| get_inspection(c, id)).await
    }

    async fn inspections_of_tasks(&self, task_ids: &[Uuid]) -> StoreResult<Vec<StoredInspection>> {
        let ids =
            serde_json::to_string(&task_ids.iter().map(|x| x.to_string()).collect::<Vec<_>>())?;
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT body, seq FROM inspections
                 WHERE task_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
            )?;
            let rows = st.query_map(params![ids], inspection_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn record_review(
        &self,
        review: ReviewRecord,
        inspection: Inspection,
    ) -> StoreResult<StoredInspection> {
        let event = crate::audit::events::review(&review, &inspection);
        self.write(event, move |tx, seq| {
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM inspections WHERE id = ?1",
                    params![inspection.id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(current) = current else {
                return Err(StoreError::NotFound(format!("检查记录 {} 不存在", inspection.id)));
            };
            check_expected(Some(current as u64), Some(review.reviewed_version))?;
            tx.execute(
                "UPDATE inspections SET status = ?1, version = ?2, body = ?3, updated_at = ?4, seq = ?5
                 WHERE id = ?6",
                params![
                    inspection.status.as_str(),
                    inspection.version as i64,
                    serde_json::to_string(&inspection)?,
                    ts(review.at),
                    seq,
                    inspection.id.to_string()
                ],
            )?;
            tx.execute(
                "INSERT INTO reviews (id, inspection_id, decision, reviewed_version, comment, reviewer, at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    review.id.to_string(),
                    review.inspection_id.to_string(),
                    review.decision,
                    review.reviewed_version as i64,
                    review.comment,
                    review.reviewer.to_string(),
                    ts(review.at),
                    seq
                ],
            )?;
            Ok(StoredInspection { inspection, seq })
        })
        .await
    }

    async fn approved_results(
        &self,
        plan_id: &str,
    ) -> StoreResult<Vec<jiandu_core::summary::UnitResult>> {
        let plan_id = plan_id.to_owned();
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT t.institution_id, t.category, t.followup, t.checklist,
                        r.non_compliant, r.outcome
                 FROM inspection_results r JOIN tasks t ON t.id = r.task_id
                 WHERE t.plan_id = ?1 AND r.status = 'approved' AND r.outcome IS NOT NULL",
            )?;
            let rows = st.query_map(params![plan_id], |r| {
                let points: String = r.get(4)?;
                let outcome: String = r.get(5)?;
                Ok(jiandu_core::summary::UnitResult {
                    institution_id: uuid_col(r, "institution_id")?,
                    category: CategoryCode(r.get(1)?),
                    followup: r.get(2)?,
                    checklist: r.get(3)?,
                    non_compliant_points: serde_json::from_str(&points)
                        .map_err(|e| conversion(e.to_string()))?,
                    outcome: serde_json::from_str(&outcome)
                        .map_err(|e| conversion(e.to_string()))?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn institution_counts(&self) -> StoreResult<Vec<(CategoryCode, u64)>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT category, COUNT(*) FROM institutions GROUP BY category ORDER BY category",
            )?;
            let rows = st.query_map([], |r| {
                Ok((CategoryCode(r.get(0)?), r.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn audit_start(&self) -> StoreResult<i64> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT after_seq FROM audit_start WHERE id = 1", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn audit_entries(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT change_seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, limit as i64], |r| {
                Ok(AuditEntry {
                    change_seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    detail: r.get(5)?,
                    prev_hash: r.get(6)?,
                    hash: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn reviews(&self, inspection_id: Uuid) -> StoreResult<Vec<ReviewRecord>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT id, inspection_id, decision, reviewed_version, comment, reviewer, at
                 FROM reviews WHERE inspection_id = ?1 ORDER BY seq, id",
            )?;
            let rows = st.query_map(params![inspection_id.to_string()], review_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

/// Shared by both backends: optimistic version check.
pub(crate) fn check_expected(current: Option<u64>, expected: Option<u64>) -> StoreResult<()> {
    if current == expected {
        return Ok(());
    }
    Err(StoreError::Conflict {
        code: "stale",
        message: match (current, expected) {
            (Some(c), Some(e)) => {
                format!("检查记录已被更新（当前版本 {c}，提交基于版本 {e}），请刷新")
            }
            (Some(_), None) => "检查记录已存在".into(),
            _ => "检查记录不存在".into(),
        },
    })
}

pub(crate) fn already_drawn(plan_id: &str) -> StoreError {
    StoreError::Conflict {
        code: "already_drawn",
        message: format!("计划“{plan_id}”已经抽取过，抽取结果不得随意更改"),
    }
}

pub(crate) fn cap_reached(done: usize, allowance: usize) -> StoreError {
    StoreError::Conflict {
        code: "reassignment_cap",
        message: format!(
            "调整检查人员已达上限：本次抽取最多可调整 {allowance} 人次（不超过抽取人员总数的规定比例），已调整 {done} 人次"
        ),
    }
}
