//! Server storage: one trait, [`ServerStore`], two implementations.
//!
//! - [`sqlite::SqliteStore`]: the embedded default (rusqlite, one file, nothing to
//!   install). Blocking calls run on tokio's blocking pool.
//! - [`postgres::PgStore`]: PostgreSQL through tokio-postgres and a small pool, for
//!   a platform that outgrows one machine.
//!
//! Both keep the same rules, checked by one conformance suite
//! (`crates/server/tests/store_conformance.rs`):
//! - every writing transaction bumps the server change sequence exactly once (a
//!   one-row table updated under the write lock, never a Postgres SEQUENCE whose
//!   values can commit out of order) and stamps the rows it writes with it: sync
//!   pulls (`since=SEQ`) rely on it;
//! - the database carries an `epoch` (a UUID made when it is created); a restored
//!   database gets a new one so devices know to resync from zero;
//! - migrations are applied all-or-nothing, and a database newer than the binary is
//!   refused ([`crate::error::StoreError::TooNew`]).

pub mod postgres;
pub mod sqlite;
pub mod sync;

use crate::error::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jiandu_core::draw::DrawnTask;
use jiandu_core::inspection::{DrawKind, Inspection};
use jiandu_core::{CategoryCode, Role};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store a settings URL names: `postgres://…` / `postgresql://…` for
/// PostgreSQL, anything else (optionally `sqlite://`) a SQLite file path.
pub async fn open(url: &str) -> StoreResult<Arc<dyn ServerStore>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Arc::new(sqlite::SqliteStore::open(path.as_ref()).await?))
    }
}

pub fn role_str(role: Role) -> &'static str {
    match role {
        Role::Inspector => "inspector",
        Role::TeamLead => "team_lead",
        Role::Admin => "admin",
    }
}

pub fn parse_role(s: &str) -> Option<Role> {
    match s {
        "inspector" => Some(Role::Inspector),
        "team_lead" => Some(Role::TeamLead),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

pub fn kind_str(kind: DrawKind) -> &'static str {
    match kind {
        DrawKind::National => "national",
        DrawKind::City => "city",
        DrawKind::FollowUp => "followup",
    }
}

pub fn parse_kind(s: &str) -> Option<DrawKind> {
    match s {
        "national" => Some(DrawKind::National),
        "city" => Some(DrawKind::City),
        "followup" => Some(DrawKind::FollowUp),
        _ => None,
    }
}

/// The database's identity and the last change sequence value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServerState {
    pub epoch: Uuid,
    pub change_seq: i64,
}

/// A person who may use the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// 执法证号 (law-enforcement badge number); required for inspectors.
    pub badge_no: Option<String>,
    pub team: String,
    pub district: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub seq: i64,
}

/// A user to create. `password_hash` is an argon2id PHC string, or `None` for a
/// staff-directory entry that cannot sign in yet.
#[derive(Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub badge_no: Option<String>,
    pub team: String,
    pub district: String,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// An enrolled device. Its bearer token is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub seq: i64,
}

/// An entry of the registry of inspected institutions (检查对象名录库): the same type
/// the device receives in its tasks, so the two cannot drift.
pub use jiandu_core::inspection::Institution;

/// A staff-directory entry (执法检查人员名录库): an inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEntry {
    pub name: String,
    pub badge_no: String,
    pub team: String,
    pub district: String,
    /// Username to sign in with; defaults to the badge number.
    pub username: String,
    /// Credit codes of units with a declared conflict of interest (回避).
    pub conflicts: Vec<String>,
}

/// A unit penalised in an earlier campaign (回头看 list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenalisedEntry {
    pub campaign: String,
    pub credit_code: String,
    pub note: String,
}

/// One registry import: applied in one transaction, or not at all.
#[derive(Debug, Clone, Default)]
pub struct RegistryImport {
    pub institutions: Vec<Institution>,
    pub staff: Vec<StaffEntry>,
    pub penalised: Vec<PenalisedEntry>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub institutions_added: usize,
    pub institutions_updated: usize,
    pub staff_added: usize,
    pub staff_updated: usize,
    pub penalised: usize,
}

/// An inspector as the draw needs them: conflicts by credit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffForDraw {
    pub user: User,
    pub conflict_codes: Vec<String>,
}

/// The record of a draw: enough to recompute it (`draw verify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawRecord {
    pub id: Uuid,
    pub plan_id: String,
    pub seed: String,
    pub algorithm: String,
    pub inputs_hash: String,
    pub tasks_hash: String,
    /// The [`jiandu_core::draw::DrawInputs`] snapshot, as JSON.
    pub inputs: serde_json::Value,
    /// Who ran it (username, or the operator named on the command line).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A task as stored: the drawn task plus its id and current inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTask {
    pub id: Uuid,
    pub draw_id: Uuid,
    pub plan_id: String,
    /// Position in the draw's task list (the order the draw produced).
    pub position: i64,
    pub checklist: String,
    pub kind: DrawKind,
    pub followup: Option<String>,
    pub institution_id: Uuid,
    pub category: CategoryCode,
    /// Inspectors as drawn (never changes; `draw verify` compares these).
    pub drawn_inspectors: Vec<Uuid>,
    /// Inspectors now (after re-assignments).
    pub inspectors: Vec<Uuid>,
    pub seq: i64,
}

impl StoredTask {
    pub fn as_drawn(&self) -> DrawnTask {
        DrawnTask {
            checklist: self.checklist.clone(),
            kind: self.kind,
            followup: self.followup.clone(),
            unit_id: self.institution_id,
            category: self.category.clone(),
            inspectors: self.drawn_inspectors.clone(),
        }
    }
}

/// A re-assignment of one inspector on one task (调整检查人员).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassignment {
    pub id: Uuid,
    pub draw_id: Uuid,
    pub task_id: Uuid,
    pub from_user: Uuid,
    pub to_user: Uuid,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// An inspection as the server holds it: the core type plus bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInspection {
    pub inspection: Inspection,
    pub seq: i64,
}

/// A review decision (审核), kept as history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub id: Uuid,
    pub inspection_id: Uuid,
    /// `approve` or `return`.
    pub decision: String,
    /// The exact inspection version reviewed.
    pub reviewed_version: u64,
    pub comment: Option<String>,
    pub reviewer: Uuid,
    pub at: DateTime<Utc>,
}

/// Storage of the central platform. Every method is one transaction.
#[async_trait]
pub trait ServerStore: sync::SyncStore + Send + Sync + std::fmt::Debug {
    /// Which backend: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    async fn state(&self) -> StoreResult<ServerState>;

    // People and devices.
    /// Creates a user; `Conflict{code:"username_taken"|"badge_taken"}` on duplicates.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The users among `ids` (unknown ids are skipped), in one query: a pull names
    /// the inspectors of all its tasks at once.
    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>>;
    /// The user and their password hash (None: cannot sign in).
    async fn user_credentials(&self, username: &str)
    -> StoreResult<Option<(User, Option<String>)>>;
    async fn set_user_disabled(&self, username: &str, disabled: bool) -> StoreResult<User>;
    async fn set_password(&self, username: &str, password_hash: &str) -> StoreResult<()>;
    async fn create_device(&self, device: Device, token_hash: &str) -> StoreResult<Device>;
    /// The device (revoked or not) and its user, by the SHA-256 of its token.
    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>>;
    async fn device(&self, id: Uuid) -> StoreResult<Option<Device>>;
    async fn list_devices(&self, user_id: Option<Uuid>) -> StoreResult<Vec<Device>>;
    /// Revokes a device; revoking twice keeps the first time.
    async fn revoke_device(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<Device>;

    // Registry.
    /// Upserts institutions (by credit code), staff (by badge number) and the
    /// penalised list, all in one transaction.
    async fn import_registry(&self, import: RegistryImport) -> StoreResult<ImportCounts>;
    async fn list_institutions(&self) -> StoreResult<Vec<Institution>>;
    async fn institution(&self, id: Uuid) -> StoreResult<Option<Institution>>;
    /// The institutions among `ids` (unknown ids are skipped), in one query.
    async fn institutions_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Institution>>;
    /// Active (not disabled) inspectors with a badge, with their declared conflicts.
    async fn staff_for_draw(&self) -> StoreResult<Vec<StaffForDraw>>;
    async fn penalised(&self) -> StoreResult<Vec<PenalisedEntry>>;

    // Draws and tasks.
    /// (institution, inspector) pairs of every task drawn for a plan of `year`.
    async fn assignments_in_year(&self, year: i32) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Saves a draw and its tasks; `Conflict{code:"already_drawn"}` when the plan
    /// already has one. `plan_year` is stored for "previous campaign" look-ups.
    async fn save_draw(
        &self,
        record: DrawRecord,
        plan_year: i32,
        tasks: Vec<StoredTask>,
    ) -> StoreResult<()>;
    async fn draw(&self, id: Uuid) -> StoreResult<Option<DrawRecord>>;
    async fn draws(&self) -> StoreResult<Vec<DrawRecord>>;
    async fn tasks_of_draw(&self, draw_id: Uuid) -> StoreResult<Vec<StoredTask>>;
    async fn task(&self, id: Uuid) -> StoreResult<Option<StoredTask>>;
    /// Tasks of a plan whose current inspectors include one of `users` (None: all).
    async fn tasks_for(
        &self,
        plan_id: Option<&str>,
        users: Option<&[Uuid]>,
    ) -> StoreResult<Vec<StoredTask>>;
    /// Replaces `from` by `to` on a task, unless the draw already has `allowance`
    /// re-assignments (`Conflict{code:"reassignment_cap"}`), checked in the same
    /// transaction.
    async fn reassign(&self, r: Reassignment, allowance: usize) -> StoreResult<()>;
    async fn reassignments(&self, draw_id: Uuid) -> StoreResult<Vec<Reassignment>>;

    // Inspections and review.
    /// Inserts or replaces an inspection. `expected_version`: the version the
    /// caller read (None for a new one); a different stored version is
    /// `Conflict{code:"stale"}`.
    async fn put_inspection(
        &self,
        inspection: Inspection,
        expected_version: Option<u64>,
        updated_at: DateTime<Utc>,
    ) -> StoreResult<StoredInspection>;
    async fn inspection(&self, id: Uuid) -> StoreResult<Option<StoredInspection>>;
    async fn inspections_of_tasks(&self, task_ids: &[Uuid]) -> StoreResult<Vec<StoredInspection>>;
    /// Saves a review decision together with the inspection it changed (which must
    /// still be at `review.reviewed_version` in the store).
    async fn record_review(
        &self,
        review: ReviewRecord,
        inspection: Inspection,
    ) -> StoreResult<StoredInspection>;
    async fn reviews(&self, inspection_id: Uuid) -> StoreResult<Vec<ReviewRecord>>;

    // Reports.
    /// What the 汇总表 need of every approved inspection of a plan (its task's unit,
    /// category, 回头看 campaign and checklist; its 不符合 points and outcome), read
    /// from `inspection_results`, which triggers keep in step with `inspections`.
    async fn approved_results(
        &self,
        plan_id: &str,
    ) -> StoreResult<Vec<jiandu_core::summary::UnitResult>>;
    /// Registry size per category.
    async fn institution_counts(&self) -> StoreResult<Vec<(CategoryCode, u64)>>;

    // Audit log (read only: entries are appended by the writing methods above, in
    // their own transactions; nothing updates or deletes them).
    /// Changes up to this sequence value predate the audit log.
    async fn audit_start(&self) -> StoreResult<i64>;
    /// Up to `limit` entries with `change_seq > after`, in order.
    async fn audit_entries(
        &self,
        after: i64,
        limit: usize,
    ) -> StoreResult<Vec<crate::audit::AuditEntry>>;
}
