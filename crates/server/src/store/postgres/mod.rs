//! [`ServerStore`] on PostgreSQL (tokio-postgres + deadpool), for a platform that
//! outgrows one machine. The same storage guarantees as SQLite, checked by the same
//! conformance suite; the SQL differs where the dialects do (UUID, TIMESTAMPTZ,
//! JSONB types). The trait's areas live in their own files, as for SQLite.

use super::*;
use crate::audit::AuditEvent;
use cached::Cached;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiandu_core::Role;
use std::str::FromStr;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

/// Embedded migrations: (version, SQL), applied in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../../../migrations/server-postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../../../migrations/server-postgres/0002_sync.sql"),
    ),
    (
        3,
        include_str!("../../../../../migrations/server-postgres/0003_audit.sql"),
    ),
    (
        4,
        include_str!("../../../../../migrations/server-postgres/0004_inspection_results.sql"),
    ),
    (
        5,
        include_str!("../../../../../migrations/server-postgres/0005_plans.sql"),
    ),
    (
        6,
        include_str!("../../../../../migrations/server-postgres/0006_console_sessions.sql"),
    ),
    (
        7,
        include_str!("../../../../../migrations/server-postgres/0007_draw_fidelity.sql"),
    ),
    (
        8,
        include_str!("../../../../../migrations/server-postgres/0008_device_revocation.sql"),
    ),
    (
        9,
        include_str!("../../../../../migrations/server-postgres/0009_sign_in_failures.sql"),
    ),
    (
        10,
        include_str!("../../../../../migrations/server-postgres/0010_lz4_bodies.sql"),
    ),
];

mod audit;
mod cached;
mod draws;
mod inspections;
mod people;
mod pipeline;
mod plans;
mod push;
mod registry;
mod rows;
mod sessions;
mod sync;
pub mod tls;
mod writer;

/// Serialises concurrent migrations of several server processes.
const MIGRATION_LOCK: i64 = 0x6a69_616e_6475; // "jiandu"

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// This process's sync writes (push, document-number lease, blob size and
    /// completion) queue here before taking a connection: at most one of them at a
    /// time waits on the change-sequence row lock, which every writer takes and
    /// which serialises them anyway. Without it, a day's end of hundreds of pushes holds every pooled
    /// connection waiting on the row lock (none left for pulls), and each commit
    /// wakes all the waiting backends for one to get it. Per process by design:
    /// between server processes the row lock alone orders the writes.
    sync_writes: Arc<tokio::sync::Mutex<()>>,
    /// This process's pushes, written in groups (`writer.rs`).
    pushes: Arc<writer::PushWriter>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pool's config holds the password: never print it.
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    e.into()
}

fn unique_violation(e: &tokio_postgres::Error, constraint_part: &str) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && e.as_db_error()
            .and_then(|d| d.constraint())
            .is_some_and(|c| c.contains(constraint_part))
}

impl PgStore {
    /// Connects (pool of up to 16 connections) and applies migrations; with
    /// `sslmode=require` the server's certificate may also chain to the PEM file
    /// `JIANDU_DB_CA` names (a bureau's private CA).
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let ca = std::env::var_os("JIANDU_DB_CA").map(std::path::PathBuf::from);
        Self::open_with_ca(url, ca.as_deref()).await
    }

    /// [`Self::open`] with the private CA given instead of read from the environment.
    pub async fn open_with_ca(url: &str, ca: Option<&std::path::Path>) -> StoreResult<PgStore> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Internal(format!("invalid postgres URL: {e}")))?;
        let mc = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        // sslmode=require: TLS, verified (a server without TLS is refused); otherwise
        // in the clear, as before (a default `prefer` must not start failing on a
        // server with a self-signed certificate).
        let manager = if config.get_ssl_mode() != tokio_postgres::config::SslMode::Require {
            Manager::from_config(config, NoTls, mc)
        } else {
            let tls = tls::RustlsConnect::new(ca).map_err(StoreError::Internal)?;
            Manager::from_config(config, tls, mc)
        };
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(StoreError::internal)?;
        let store = PgStore {
            pool,
            sync_writes: Arc::default(),
            pushes: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Creates a fresh, uniquely named database on the server `admin_url` points at
    /// and returns its URL: every test gets its own.
    pub async fn scratch_database(admin_url: &str) -> StoreResult<String> {
        let (client, conn) = tokio_postgres::connect(admin_url, NoTls).await?;
        let handle = tokio::spawn(conn);
        let name = format!("jiandu_test_{}", Uuid::now_v7().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        drop(client);
        let _ = handle.await;
        let (base, query) = match admin_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin_url, String::new()),
        };
        let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
        let host_part = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        Ok(format!("{host_part}/{name}{query}"))
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL
             );",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        let supported = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > supported {
            return Err(StoreError::TooNew {
                found: current,
                supported,
            });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
                &[version],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO server_state (id, epoch, change_seq) VALUES (1, $1, 0)
             ON CONFLICT (id) DO NOTHING",
            &[&Uuid::now_v7()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Bumps the change sequence: once per writing transaction. The row lock it takes
/// serialises writers, so sequence values commit in order. Appends `event` to the
/// audit log under `stamp` in the same transaction, after that lock, so the chain
/// never forks.
async fn bump(tx: &impl GenericClient, stamp: &Stamp, event: &AuditEvent) -> StoreResult<i64> {
    let seq = next_seq(tx).await?;
    append_audit(tx, seq, stamp, event).await?;
    Ok(seq)
}

/// The change-sequence bump alone, for a write whose audit entry is known only
/// after its decision: it must call [`append_audit`] before committing.
async fn next_seq(tx: &impl GenericClient) -> StoreResult<i64> {
    Ok(tx
        .q_one(
            "UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq",
            &[],
        )
        .await?
        .try_get(0)?)
}

const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (change_seq, at, actor, action, subject, detail, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Appends the audit entry of change `seq`, chained to the last entry. Call only
/// under the change-sequence row lock.
async fn append_audit(
    tx: &impl GenericClient,
    seq: i64,
    stamp: &Stamp,
    event: &AuditEvent,
) -> StoreResult<()> {
    let prev: Option<String> = match tx
        .q_opt(
            "SELECT hash FROM audit_log ORDER BY change_seq DESC LIMIT 1",
            &[],
        )
        .await?
    {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    };
    let e = AuditEntry::seal(
        seq,
        crate::audit::time_text(stamp.at),
        stamp.actor.clone(),
        event,
        prev.unwrap_or_else(|| crate::audit::GENESIS.to_owned()),
    );
    tx.exec(
        INSERT_AUDIT,
        &[
            &e.change_seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.subject,
            &e.detail,
            &e.prev_hash,
            &e.hash,
        ],
    )
    .await?;
    Ok(())
}

const USER_COLS: &str =
    "id, username, display_name, role, badge_no, team, district, disabled, created_at, seq";

fn user_row(r: &Row) -> StoreResult<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Internal(format!("role {role}")))?,
        badge_no: r.try_get("badge_no")?,
        team: r.try_get("team")?,
        district: r.try_get("district")?,
        disabled: r.try_get("disabled")?,
        created_at: r.try_get("created_at")?,
        seq: r.try_get("seq")?,
    })
}

const DEVICE_COLS: &str =
    "id, user_id, name, created_at, revoked_at, seq, last_sync_at, revoked_kind, last_used_at";

fn device_row(r: &Row) -> StoreResult<Device> {
    let revoked_at: Option<DateTime<Utc>> = r.try_get("revoked_at")?;
    let kind: Option<String> = r.try_get("revoked_kind")?;
    Ok(Device {
        revoked_kind: revoked_at.map(|_| RevokeKind::parse(kind.as_deref())),
        last_used_at: r.try_get("last_used_at")?,
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        seq: r.try_get("seq")?,
        last_sync_at: r.try_get("last_sync_at")?,
    })
}

const INSTITUTION_COLS: &str =
    "id, name, credit_code, licence_no, category, district, address, legal_representative, phone";

fn institution_row(r: &Row) -> StoreResult<Institution> {
    Ok(Institution {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        credit_code: r.try_get("credit_code")?,
        licence_no: r.try_get("licence_no")?,
        category: CategoryCode(r.try_get("category")?),
        district: r.try_get("district")?,
        address: r.try_get("address")?,
        legal_representative: r.try_get("legal_representative")?,
        phone: r.try_get("phone")?,
    })
}

const DRAW_COLS: &str = "id, plan_id, plan_version, seed, algorithm, inputs_hash, tasks_hash, \
     inputs, created_by, created_at, freeze_id";

fn draw_row(r: &Row) -> StoreResult<DrawRecord> {
    Ok(DrawRecord {
        freeze_id: r.try_get("freeze_id")?,
        id: r.try_get("id")?,
        plan_id: r.try_get("plan_id")?,
        plan_version: version(r.try_get("plan_version")?)?,
        seed: r.try_get("seed")?,
        algorithm: r.try_get("algorithm")?,
        inputs_hash: r.try_get("inputs_hash")?,
        tasks_hash: r.try_get("tasks_hash")?,
        inputs: r.try_get("inputs")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

const TASK_COLS: &str = "t.id, t.draw_id, t.plan_id, t.plan_version, t.position, t.checklist, t.kind, t.followup, \
     t.institution_id, t.category, t.drawn_inspectors, t.seq, \
     ARRAY(SELECT ti.user_id FROM task_inspectors ti WHERE ti.task_id = t.id ORDER BY ti.position) AS current";

fn task_row(r: &Row) -> StoreResult<StoredTask> {
    let kind: String = r.try_get("kind")?;
    let drawn: serde_json::Value = r.try_get("drawn_inspectors")?;
    Ok(StoredTask {
        id: r.try_get("id")?,
        draw_id: r.try_get("draw_id")?,
        plan_id: r.try_get("plan_id")?,
        plan_version: version(r.try_get("plan_version")?)?,
        position: r.try_get("position")?,
        checklist: r.try_get("checklist")?,
        kind: parse_kind(&kind).ok_or_else(|| StoreError::Internal(format!("kind {kind}")))?,
        followup: r.try_get("followup")?,
        institution_id: r.try_get("institution_id")?,
        category: CategoryCode(r.try_get("category")?),
        drawn_inspectors: serde_json::from_value(drawn)?,
        inspectors: r.try_get("current")?,
        seq: r.try_get("seq")?,
    })
}

fn inspection_row(r: &Row) -> StoreResult<StoredInspection> {
    let body: serde_json::Value = r.try_get("body")?;
    Ok(StoredInspection {
        inspection: serde_json::from_value(body)?,
        seq: r.try_get("seq")?,
    })
}

fn reassignment_row(r: &Row) -> StoreResult<Reassignment> {
    Ok(Reassignment {
        id: r.try_get("id")?,
        draw_id: r.try_get("draw_id")?,
        task_id: r.try_get("task_id")?,
        from_user: r.try_get("from_user")?,
        to_user: r.try_get("to_user")?,
        reason: r.try_get("reason")?,
        by: r.try_get("by_name")?,
        at: r.try_get("at")?,
    })
}

fn review_row(r: &Row) -> StoreResult<ReviewRecord> {
    Ok(ReviewRecord {
        id: r.try_get("id")?,
        inspection_id: r.try_get("inspection_id")?,
        decision: {
            let d: String = r.try_get("decision")?;
            ReviewDecision::parse(&d)
                .ok_or_else(|| StoreError::Internal(format!("decision {d}")))?
        },
        reviewed_version: r.try_get::<_, i64>("reviewed_version")? as u64,
        comment: r.try_get("comment")?,
        reviewer: r.try_get("reviewer")?,
        at: r.try_get("at")?,
    })
}

/// A plan version number as stored (INTEGER).
fn version(v: i32) -> StoreResult<u32> {
    u32::try_from(v).map_err(StoreError::internal)
}

fn rows<T>(rows: Vec<Row>, f: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

async fn get_user(c: &impl GenericClient, id: Uuid) -> StoreResult<Option<User>> {
    c.q_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(user_row)
    .transpose()
}

async fn get_task(c: &impl GenericClient, id: Uuid) -> StoreResult<Option<StoredTask>> {
    c.q_opt(
        &format!("SELECT {TASK_COLS} FROM tasks t WHERE t.id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(task_row)
    .transpose()
}

#[async_trait]
impl ServerStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_use(&self) -> Option<crate::metrics::PoolUse> {
        let s = self.pool.status();
        Some(crate::metrics::PoolUse {
            size: s.size as u64,
            in_use: s.size.saturating_sub(s.available) as u64,
            max: s.max_size as u64,
            waiting: s.waiting as u64,
        })
    }

    async fn state(&self) -> StoreResult<ServerState> {
        let c = self.pool.get().await?;
        let r = c
            .q_one(
                "SELECT epoch, change_seq FROM server_state WHERE id = 1",
                &[],
            )
            .await?;
        Ok(ServerState {
            epoch: r.try_get(0)?,
            change_seq: r.try_get(1)?,
        })
    }
}
