//! [`ServerStore`] on PostgreSQL (tokio-postgres + deadpool), for a platform that
//! outgrows one machine. Same rules as SQLite, checked by the same conformance
//! suite; the SQL differs where the dialects do (UUID, TIMESTAMPTZ, JSONB types).

use super::sqlite::{already_drawn, cap_reached, check_expected};
use super::*;
use crate::audit::{AuditEntry, AuditEvent};
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::str::FromStr;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

/// Embedded migrations: (version, SQL), applied in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../../migrations/server-postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../../migrations/server-postgres/0002_sync.sql"),
    ),
    (
        3,
        include_str!("../../../../migrations/server-postgres/0003_audit.sql"),
    ),
    (
        4,
        include_str!("../../../../migrations/server-postgres/0004_inspection_results.sql"),
    ),
];

mod sync_impl;

/// Serialises concurrent migrations of several server processes.
const MIGRATION_LOCK: i64 = 0x6a69_616e_6475; // "jiandu"

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
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
    /// Connects (pool of up to 16 connections) and applies migrations.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Internal(format!("invalid postgres URL: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(StoreError::internal)?;
        let store = PgStore { pool };
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
/// audit log in the same transaction, after that lock, so the chain never forks.
async fn bump(tx: &impl GenericClient, event: &AuditEvent) -> StoreResult<i64> {
    let seq: i64 = tx
        .query_one(
            "UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq",
            &[],
        )
        .await?
        .try_get(0)?;
    let prev: Option<String> = match tx
        .query_opt(
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
        crate::audit::now_text(),
        crate::audit::actor(),
        event,
        prev.unwrap_or_else(|| crate::audit::GENESIS.to_owned()),
    );
    tx.execute(
        "INSERT INTO audit_log (change_seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
    Ok(seq)
}

const USER_COLS: &str =
    "id, username, display_name, role, badge_no, team, district, disabled, created_at, seq";

fn user_row(r: &Row) -> StoreResult<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: parse_role(&role).ok_or_else(|| StoreError::Internal(format!("role {role}")))?,
        badge_no: r.try_get("badge_no")?,
        team: r.try_get("team")?,
        district: r.try_get("district")?,
        disabled: r.try_get("disabled")?,
        created_at: r.try_get("created_at")?,
        seq: r.try_get("seq")?,
    })
}

const DEVICE_COLS: &str = "id, user_id, name, created_at, revoked_at, seq";

fn device_row(r: &Row) -> StoreResult<Device> {
    Ok(Device {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
        seq: r.try_get("seq")?,
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

const DRAW_COLS: &str =
    "id, plan_id, seed, algorithm, inputs_hash, tasks_hash, inputs, created_by, created_at";

fn draw_row(r: &Row) -> StoreResult<DrawRecord> {
    Ok(DrawRecord {
        id: r.try_get("id")?,
        plan_id: r.try_get("plan_id")?,
        seed: r.try_get("seed")?,
        algorithm: r.try_get("algorithm")?,
        inputs_hash: r.try_get("inputs_hash")?,
        tasks_hash: r.try_get("tasks_hash")?,
        inputs: r.try_get("inputs")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

const TASK_COLS: &str = "t.id, t.draw_id, t.plan_id, t.position, t.checklist, t.kind, t.followup, \
     t.institution_id, t.category, t.drawn_inspectors, t.seq, \
     ARRAY(SELECT ti.user_id FROM task_inspectors ti WHERE ti.task_id = t.id ORDER BY ti.position) AS current";

fn task_row(r: &Row) -> StoreResult<StoredTask> {
    let kind: String = r.try_get("kind")?;
    let drawn: serde_json::Value = r.try_get("drawn_inspectors")?;
    Ok(StoredTask {
        id: r.try_get("id")?,
        draw_id: r.try_get("draw_id")?,
        plan_id: r.try_get("plan_id")?,
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
        decision: r.try_get("decision")?,
        reviewed_version: r.try_get::<_, i64>("reviewed_version")? as u64,
        comment: r.try_get("comment")?,
        reviewer: r.try_get("reviewer")?,
        at: r.try_get("at")?,
    })
}

fn rows<T>(rows: Vec<Row>, f: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

async fn get_user(c: &impl GenericClient, id: Uuid) -> StoreResult<Option<User>> {
    c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(user_row)
    .transpose()
}

async fn get_task(c: &impl GenericClient, id: Uuid) -> StoreResult<Option<StoredTask>> {
    c.query_opt(
        &format!("SELECT {TASK_COLS} FROM tasks t WHERE t.id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(task_row)
    .transpose()
}

fn user_not_found(username: &str) -> StoreError {
    StoreError::NotFound(format!("用户“{username}”不存在"))
}

#[async_trait]
impl ServerStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn state(&self) -> StoreResult<ServerState> {
        let c = self.pool.get().await?;
        let r = c
            .query_one(
                "SELECT epoch, change_seq FROM server_state WHERE id = 1",
                &[],
            )
            .await?;
        Ok(ServerState {
            epoch: r.try_get(0)?,
            change_seq: r.try_get(1)?,
        })
    }

    async fn create_user(&self, u: NewUser) -> StoreResult<User> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::create_user(&u)).await?;
        let r = tx
            .execute(
                "INSERT INTO users (id, username, display_name, role, badge_no, team, district,
                                    password_hash, disabled, created_at, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10)",
                &[
                    &u.id,
                    &u.username,
                    &u.display_name,
                    &role_str(u.role),
                    &u.badge_no,
                    &u.team,
                    &u.district,
                    &u.password_hash,
                    &u.created_at,
                    &seq,
                ],
            )
            .await;
        match r {
            Err(e) if unique_violation(&e, "username") => {
                return Err(StoreError::Conflict {
                    code: "username_taken",
                    message: format!("用户名“{}”已存在", u.username),
                });
            }
            Err(e) if unique_violation(&e, "badge_no") => {
                return Err(StoreError::Conflict {
                    code: "badge_taken",
                    message: format!(
                        "执法证号“{}”已属于另一用户",
                        u.badge_no.as_deref().unwrap_or("")
                    ),
                });
            }
            r => {
                r?;
            }
        }
        let user = get_user(&tx, u.id)
            .await?
            .ok_or_else(|| StoreError::Internal("user vanished".into()))?;
        tx.commit().await?;
        Ok(user)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!("SELECT {USER_COLS} FROM users ORDER BY username"),
                &[],
            )
            .await?,
            user_row,
        )
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        let c = self.pool.get().await?;
        get_user(&c, id).await
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ANY($1)"),
                &[&ids],
            )
            .await?,
            user_row,
        )
    }

    async fn user_credentials(
        &self,
        username: &str,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let c = self.pool.get().await?;
        let r = c
            .query_opt(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"),
                &[&username],
            )
            .await?;
        match r {
            None => Ok(None),
            Some(r) => Ok(Some((user_row(&r)?, r.try_get("password_hash")?))),
        }
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<User> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::set_disabled(username, disabled)).await?;
        let r = tx
            .query_opt(
                &format!(
                    "UPDATE users SET disabled = $1, seq = $2 WHERE username = $3 RETURNING {USER_COLS}"
                ),
                &[&disabled, &seq, &username],
            )
            .await?;
        let user = user_row(&r.ok_or_else(|| user_not_found(username))?)?;
        tx.commit().await?;
        Ok(user)
    }

    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::set_password(username)).await?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $1, seq = $2 WHERE username = $3",
                &[&password_hash, &seq, &username],
            )
            .await?;
        if n == 0 {
            return Err(user_not_found(username));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_device(&self, d: Device, token_hash: &str) -> StoreResult<Device> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::create_device(&d)).await?;
        tx.execute(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at, revoked_at, seq)
             VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            &[&d.id, &d.user_id, &d.name, &token_hash, &d.created_at, &seq],
        )
        .await?;
        tx.commit().await?;
        Ok(Device {
            seq,
            revoked_at: None,
            ..d
        })
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>> {
        let c = self.pool.get().await?;
        let Some(r) = c
            .query_opt(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = $1"),
                &[&token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let device = device_row(&r)?;
        let user = get_user(&c, device.user_id)
            .await?
            .ok_or_else(|| StoreError::Internal("device without user".into()))?;
        Ok(Some((device, user)))
    }

    async fn device(&self, id: Uuid) -> StoreResult<Option<Device>> {
        let c = self.pool.get().await?;
        c.query_opt(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(device_row)
        .transpose()
    }

    async fn list_devices(&self, user_id: Option<Uuid>) -> StoreResult<Vec<Device>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE $1::UUID IS NULL OR user_id = $1
                     ORDER BY created_at, id"
                ),
                &[&user_id],
            )
            .await?,
            device_row,
        )
    }

    async fn revoke_device(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<Device> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::revoke_device(id, at)).await?;
        tx.execute(
            "UPDATE devices SET revoked_at = $1, seq = $2 WHERE id = $3 AND revoked_at IS NULL",
            &[&at, &seq, &id],
        )
        .await?;
        let d = tx
            .query_opt(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
                &[&id],
            )
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("设备 {id} 不存在")))?;
        let d = device_row(&d)?;
        tx.commit().await?;
        Ok(d)
    }

    async fn import_registry(&self, import: RegistryImport) -> StoreResult<ImportCounts> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::import_registry(&import)).await?;
        let mut counts = ImportCounts::default();
        // Institutions go up a thousand a statement (arrays unnested server-side): a
        // city's registry of 50,000 is 50 round trips, not 50,000. Credit codes are
        // unique within an import (the CSV reader refuses duplicates), which ON
        // CONFLICT DO UPDATE needs within one statement.
        for chunk in import.institutions.chunks(1000) {
            let col = |f: fn(&Institution) -> &str| chunk.iter().map(f).collect::<Vec<&str>>();
            let ids: Vec<Uuid> = chunk.iter().map(|i| i.id).collect();
            let inserted = tx
                .query(
                    "INSERT INTO institutions (id, credit_code, name, licence_no, category,
                         district, address, legal_representative, phone, seq)
                     SELECT u.*, $10::bigint FROM UNNEST($1::uuid[], $2::text[], $3::text[],
                         $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) AS u
                     ON CONFLICT (credit_code) DO UPDATE SET name = excluded.name,
                         licence_no = excluded.licence_no, category = excluded.category,
                         district = excluded.district, address = excluded.address,
                         legal_representative = excluded.legal_representative,
                         phone = excluded.phone, seq = excluded.seq
                     RETURNING (xmax = 0) AS inserted",
                    &[
                        &ids,
                        &col(|i| &i.credit_code),
                        &col(|i| &i.name),
                        &col(|i| &i.licence_no),
                        &col(|i| i.category.as_str()),
                        &col(|i| &i.district),
                        &col(|i| &i.address),
                        &col(|i| &i.legal_representative),
                        &col(|i| &i.phone),
                        &seq,
                    ],
                )
                .await?;
            for r in inserted {
                if r.try_get::<_, bool>("inserted")? {
                    counts.institutions_added += 1;
                } else {
                    counts.institutions_updated += 1;
                }
            }
        }
        for s in &import.staff {
            let existing = tx
                .query_opt("SELECT id FROM users WHERE badge_no = $1", &[&s.badge_no])
                .await?;
            let user_id: Uuid = match existing {
                Some(r) => {
                    let id: Uuid = r.try_get(0)?;
                    tx.execute(
                        "UPDATE users SET display_name = $1, team = $2, district = $3, seq = $4
                         WHERE id = $5",
                        &[&s.name, &s.team, &s.district, &seq, &id],
                    )
                    .await?;
                    counts.staff_updated += 1;
                    id
                }
                None => {
                    let id = Uuid::now_v7();
                    let r = tx
                        .execute(
                            "INSERT INTO users (id, username, display_name, role, badge_no, team,
                                 district, password_hash, disabled, created_at, seq)
                             VALUES ($1, $2, $3, 'inspector', $4, $5, $6, NULL, FALSE, now(), $7)",
                            &[
                                &id,
                                &s.username,
                                &s.name,
                                &s.badge_no,
                                &s.team,
                                &s.district,
                                &seq,
                            ],
                        )
                        .await;
                    if let Err(e) = &r
                        && unique_violation(e, "username")
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
            tx.execute("DELETE FROM conflicts WHERE user_id = $1", &[&user_id])
                .await?;
            for code in &s.conflicts {
                tx.execute(
                    "INSERT INTO conflicts (user_id, credit_code, seq) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&user_id, code, &seq],
                )
                .await?;
            }
        }
        for p in &import.penalised {
            tx.execute(
                "INSERT INTO penalised_units (campaign, credit_code, note, seq)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (campaign, credit_code) DO UPDATE SET note = excluded.note, seq = excluded.seq",
                &[&p.campaign, &p.credit_code, &p.note, &seq],
            )
            .await?;
            counts.penalised += 1;
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn list_institutions(&self) -> StoreResult<Vec<Institution>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!("SELECT {INSTITUTION_COLS} FROM institutions ORDER BY credit_code"),
                &[],
            )
            .await?,
            institution_row,
        )
    }

    async fn institution(&self, id: Uuid) -> StoreResult<Option<Institution>> {
        let c = self.pool.get().await?;
        c.query_opt(
            &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(institution_row)
        .transpose()
    }

    async fn institutions_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Institution>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE id = ANY($1)"),
                &[&ids],
            )
            .await?,
            institution_row,
        )
    }

    async fn staff_for_draw(&self) -> StoreResult<Vec<StaffForDraw>> {
        let c = self.pool.get().await?;
        let users = rows(
            c.query(
                &format!(
                    "SELECT {USER_COLS} FROM users
                     WHERE role = 'inspector' AND NOT disabled AND badge_no IS NOT NULL ORDER BY id"
                ),
                &[],
            )
            .await?,
            user_row,
        )?;
        let mut conflicts: HashMap<Uuid, Vec<String>> = HashMap::new();
        for r in c
            .query(
                "SELECT user_id, credit_code FROM conflicts ORDER BY user_id, credit_code",
                &[],
            )
            .await?
        {
            conflicts
                .entry(r.try_get(0)?)
                .or_default()
                .push(r.try_get(1)?);
        }
        Ok(users
            .into_iter()
            .map(|user| StaffForDraw {
                conflict_codes: conflicts.remove(&user.id).unwrap_or_default(),
                user,
            })
            .collect())
    }

    async fn penalised(&self) -> StoreResult<Vec<PenalisedEntry>> {
        let c = self.pool.get().await?;
        c.query(
            "SELECT campaign, credit_code, note FROM penalised_units ORDER BY campaign, credit_code",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(PenalisedEntry {
                campaign: r.try_get(0)?,
                credit_code: r.try_get(1)?,
                note: r.try_get(2)?,
            })
        })
        .collect()
    }

    async fn assignments_in_year(&self, year: i32) -> StoreResult<Vec<(Uuid, Uuid)>> {
        let c = self.pool.get().await?;
        c.query(
            "SELECT t.institution_id, ti.user_id FROM tasks t
             JOIN draws d ON d.id = t.draw_id
             JOIN task_inspectors ti ON ti.task_id = t.id
             WHERE d.plan_year = $1",
            &[&year],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    async fn save_draw(
        &self,
        record: DrawRecord,
        plan_year: i32,
        tasks: Vec<StoredTask>,
    ) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::save_draw(&record, &tasks)).await?;
        let r = tx
            .execute(
                "INSERT INTO draws (id, plan_id, plan_year, seed, algorithm, inputs_hash, tasks_hash,
                     inputs, created_by, created_at, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &record.id,
                    &record.plan_id,
                    &plan_year,
                    &record.seed,
                    &record.algorithm,
                    &record.inputs_hash,
                    &record.tasks_hash,
                    &record.inputs,
                    &record.created_by,
                    &record.created_at,
                    &seq,
                ],
            )
            .await;
        if let Err(e) = &r
            && unique_violation(e, "plan_id")
        {
            return Err(already_drawn(&record.plan_id));
        }
        r?;
        // Tasks and their inspectors a thousand a statement (arrays unnested
        // server-side): a draw of 5,000 tasks is a dozen round trips.
        for chunk in tasks.chunks(1000) {
            let ids: Vec<Uuid> = chunk.iter().map(|t| t.id).collect();
            let plans: Vec<&str> = chunk.iter().map(|t| t.plan_id.as_str()).collect();
            let positions: Vec<i64> = chunk.iter().map(|t| t.position).collect();
            let checklists: Vec<&str> = chunk.iter().map(|t| t.checklist.as_str()).collect();
            let kinds: Vec<&str> = chunk.iter().map(|t| kind_str(t.kind)).collect();
            let followups: Vec<Option<&str>> =
                chunk.iter().map(|t| t.followup.as_deref()).collect();
            let institutions: Vec<Uuid> = chunk.iter().map(|t| t.institution_id).collect();
            let categories: Vec<&str> = chunk.iter().map(|t| t.category.as_str()).collect();
            let drawn = chunk
                .iter()
                .map(|t| serde_json::to_value(&t.drawn_inspectors))
                .collect::<Result<Vec<_>, _>>()?;
            tx.execute(
                "INSERT INTO tasks (id, draw_id, plan_id, position, checklist, kind, followup,
                     institution_id, category, drawn_inspectors, seq)
                 SELECT u.id, $2, u.plan_id, u.position, u.checklist, u.kind, u.followup,
                     u.institution_id, u.category, u.drawn, $11::bigint
                 FROM UNNEST($1::uuid[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                     $7::text[], $8::uuid[], $9::text[], $10::jsonb[])
                     AS u(id, plan_id, position, checklist, kind, followup, institution_id,
                          category, drawn)",
                &[
                    &ids,
                    &record.id,
                    &plans,
                    &positions,
                    &checklists,
                    &kinds,
                    &followups,
                    &institutions,
                    &categories,
                    &drawn,
                    &seq,
                ],
            )
            .await?;
            let mut a_task = Vec::new();
            let mut a_user = Vec::new();
            let mut a_pos = Vec::new();
            for t in chunk {
                for (i, u) in t.inspectors.iter().enumerate() {
                    a_task.push(t.id);
                    a_user.push(*u);
                    a_pos.push(i as i64);
                }
            }
            tx.execute(
                "INSERT INTO task_inspectors (task_id, user_id, position)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[])",
                &[&a_task, &a_user, &a_pos],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn draw(&self, id: Uuid) -> StoreResult<Option<DrawRecord>> {
        let c = self.pool.get().await?;
        c.query_opt(
            &format!("SELECT {DRAW_COLS} FROM draws WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(draw_row)
        .transpose()
    }

    async fn draws(&self) -> StoreResult<Vec<DrawRecord>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!("SELECT {DRAW_COLS} FROM draws ORDER BY created_at, id"),
                &[],
            )
            .await?,
            draw_row,
        )
    }

    async fn tasks_of_draw(&self, draw_id: Uuid) -> StoreResult<Vec<StoredTask>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                &format!(
                    "SELECT {TASK_COLS} FROM tasks t WHERE t.draw_id = $1 ORDER BY t.position"
                ),
                &[&draw_id],
            )
            .await?,
            task_row,
        )
    }

    async fn task(&self, id: Uuid) -> StoreResult<Option<StoredTask>> {
        let c = self.pool.get().await?;
        get_task(&c, id).await
    }

    async fn tasks_for(
        &self,
        plan_id: Option<&str>,
        users: Option<&[Uuid]>,
    ) -> StoreResult<Vec<StoredTask>> {
        let c = self.pool.get().await?;
        let users: Option<Vec<Uuid>> = users.map(<[Uuid]>::to_vec);
        rows(
            c.query(
                &format!(
                    // Driven by task_inspectors_user when users are given: a
                    // device's pull reads its own few tasks, not every task.
                    "SELECT {TASK_COLS} FROM tasks t
                     WHERE ($1::TEXT IS NULL OR t.plan_id = $1)
                       AND ($2::UUID[] IS NULL OR t.id IN (
                            SELECT ti.task_id FROM task_inspectors ti
                            WHERE ti.user_id = ANY($2)))
                     ORDER BY t.plan_id, t.position"
                ),
                &[&plan_id, &users],
            )
            .await?,
            task_row,
        )
    }

    async fn reassign(&self, r: Reassignment, allowance: usize) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // The change-sequence row lock also serialises concurrent re-assignments,
        // so the cap below cannot be overrun by two at once.
        let seq = bump(&tx, &crate::audit::events::reassign(&r, allowance)).await?;
        let done: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM reassignments WHERE draw_id = $1",
                &[&r.draw_id],
            )
            .await?
            .try_get(0)?;
        if done as usize >= allowance {
            return Err(cap_reached(done as usize, allowance));
        }
        let task = get_task(&tx, r.task_id)
            .await?
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
            "DELETE FROM task_inspectors WHERE task_id = $1 AND user_id = $2",
            &[&r.task_id, &r.from_user],
        )
        .await?;
        tx.execute(
            "INSERT INTO task_inspectors (task_id, user_id, position) VALUES ($1, $2, $3)",
            &[&r.task_id, &r.to_user, &(pos as i64)],
        )
        .await?;
        tx.execute(
            "UPDATE tasks SET seq = $1 WHERE id = $2",
            &[&seq, &r.task_id],
        )
        .await?;
        tx.execute(
            "INSERT INTO reassignments (id, draw_id, task_id, from_user, to_user, reason, by_name, at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &r.id,
                &r.draw_id,
                &r.task_id,
                &r.from_user,
                &r.to_user,
                &r.reason,
                &r.by,
                &r.at,
                &seq,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reassignments(&self, draw_id: Uuid) -> StoreResult<Vec<Reassignment>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                "SELECT id, draw_id, task_id, from_user, to_user, reason, by_name, at
                 FROM reassignments WHERE draw_id = $1 ORDER BY seq, id",
                &[&draw_id],
            )
            .await?,
            reassignment_row,
        )
    }

    async fn put_inspection(
        &self,
        inspection: Inspection,
        expected_version: Option<u64>,
        updated_at: DateTime<Utc>,
    ) -> StoreResult<StoredInspection> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(
            &tx,
            &crate::audit::events::put_inspection(&inspection, expected_version),
        )
        .await?;
        let current: Option<i64> = tx
            .query_opt(
                "SELECT version FROM inspections WHERE id = $1 FOR UPDATE",
                &[&inspection.id],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        check_expected(current.map(|v| v as u64), expected_version)?;
        tx.execute(
            "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
                 body = excluded.body, updated_at = excluded.updated_at, seq = excluded.seq",
            &[
                &inspection.id,
                &inspection.task_id,
                &inspection.status.as_str(),
                &(inspection.version as i64),
                &serde_json::to_value(&inspection)?,
                &updated_at,
                &seq,
            ],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await?;
        Ok(StoredInspection { inspection, seq })
    }

    async fn inspection(&self, id: Uuid) -> StoreResult<Option<StoredInspection>> {
        let c = self.pool.get().await?;
        c.query_opt("SELECT body, seq FROM inspections WHERE id = $1", &[&id])
            .await?
            .as_ref()
            .map(inspection_row)
            .transpose()
    }

    async fn inspections_of_tasks(&self, task_ids: &[Uuid]) -> StoreResult<Vec<StoredInspection>> {
        let c = self.pool.get().await?;
        let ids = task_ids.to_vec();
        rows(
            c.query(
                "SELECT body, seq FROM inspections WHERE task_id = ANY($1) ORDER BY id",
                &[&ids],
            )
            .await?,
            inspection_row,
        )
    }

    async fn record_review(
        &self,
        review: ReviewRecord,
        inspection: Inspection,
    ) -> StoreResult<StoredInspection> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, &crate::audit::events::review(&review, &inspection)).await?;
        let current: Option<i64> = tx
            .query_opt(
                "SELECT version FROM inspections WHERE id = $1 FOR UPDATE",
                &[&inspection.id],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        let Some(current) = current else {
            return Err(StoreError::NotFound(format!(
                "检查记录 {} 不存在",
                inspection.id
            )));
        };
        check_expected(Some(current as u64), Some(review.reviewed_version))?;
        tx.execute(
            "UPDATE inspections SET status = $1, version = $2, body = $3, updated_at = $4, seq = $5
             WHERE id = $6",
            &[
                &inspection.status.as_str(),
                &(inspection.version as i64),
                &serde_json::to_value(&inspection)?,
                &review.at,
                &seq,
                &inspection.id,
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO reviews (id, inspection_id, decision, reviewed_version, comment, reviewer, at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &review.id,
                &review.inspection_id,
                &review.decision,
                &(review.reviewed_version as i64),
                &review.comment,
                &review.reviewer,
                &review.at,
                &seq,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(StoredInspection { inspection, seq })
    }

    async fn approved_results(
        &self,
        plan_id: &str,
    ) -> StoreResult<Vec<jiandu_core::summary::UnitResult>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT t.institution_id, t.category, t.followup, t.checklist,
                        r.non_compliant, r.outcome
                 FROM inspection_results r JOIN tasks t ON t.id = r.task_id
                 WHERE t.plan_id = $1 AND r.status = 'approved' AND r.outcome IS NOT NULL",
                &[&plan_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let points: serde_json::Value = r.try_get(4)?;
                let outcome: serde_json::Value = r.try_get(5)?;
                Ok(jiandu_core::summary::UnitResult {
                    institution_id: r.try_get(0)?,
                    category: CategoryCode(r.try_get(1)?),
                    followup: r.try_get(2)?,
                    checklist: r.try_get(3)?,
                    non_compliant_points: serde_json::from_value(points)?,
                    outcome: serde_json::from_value(outcome)?,
                })
            })
            .collect()
    }

    async fn institution_counts(&self) -> StoreResult<Vec<(CategoryCode, u64)>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT category, COUNT(*)::BIGINT FROM institutions GROUP BY category ORDER BY category",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((CategoryCode(r.try_get(0)?), r.try_get::<_, i64>(1)? as u64)))
            .collect()
    }

    async fn audit_start(&self) -> StoreResult<i64> {
        let c = self.pool.get().await?;
        Ok(
            c.query_one("SELECT after_seq FROM audit_start WHERE id = 1", &[])
                .await?
                .try_get(0)?,
        )
    }

    async fn audit_entries(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let c = self.pool.get().await?;
        let rows = c
            .query(
                "SELECT change_seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    change_seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev_hash: r.try_get(6)?,
                    hash: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn reviews(&self, inspection_id: Uuid) -> StoreResult<Vec<ReviewRecord>> {
        let c = self.pool.get().await?;
        rows(
            c.query(
                "SELECT id, inspection_id, decision, reviewed_version, comment, reviewer, at
                 FROM reviews WHERE inspection_id = $1 ORDER BY seq, id",
                &[&inspection_id],
            )
            .await?,
            review_row,
        )
    }
}

use std::collections::HashMap;
