//! Storage of the platform: one trait per area, [`ServerStore`] over all of them, two
//! implementations. Storage only: no rule and no message for people lives here.
//!
//! - [`sqlite::SqliteStore`]: the embedded default (rusqlite, one file, nothing to
//!   install). Blocking calls run on tokio's blocking pool.
//! - [`postgres::PgStore`]: PostgreSQL through tokio-postgres and a small pool, for
//!   a platform that outgrows one machine.
//!
//! Both keep the same storage guarantees, checked by one conformance suite
//! (`crates/server/tests/store_conformance.rs`):
//! - every change bumps the server change sequence exactly once, even when a
//!   grouped writer commits several changes in one transaction (a
//!   one-row table updated under the write lock, never a Postgres SEQUENCE whose
//!   values can commit out of order), stamps the rows it writes with it and appends
//!   one audit entry under the [`Stamp`] it is given: sync pulls (`since=SEQ`) and
//!   the audit chain rely on it;
//! - the database carries an `epoch` (a UUID made when it is created); a restored
//!   database gets a new one so devices know to resync from zero;
//! - migrations are applied all-or-nothing, and a database newer than the binary is
//!   refused ([`StoreError::TooNew`]).
//!
//! Where a rule must see state inside the transaction (the re-assignment cap, the
//! version a review names, a push item, a document-number block), the service passes a decision
//! function ([`Decide`]); the store reads, calls it, and writes what it answers, or
//! passes its refusal through ([`StoreError::Refused`]).

mod error;
pub mod postgres;
mod push;
pub mod sqlite;

use crate::audit::{AuditEntry, AuditEvent};
use crate::error::ServiceError;
use crate::model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jiandu_core::CategoryCode;
use jiandu_core::inspection::{Inspection, Signature};
use jiandu_core::protocol::{BlobKind, DocNumberLease, LeaseRequest, PushResult, ServerInspection};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub use error::{StoreError, StoreResult, Unique};

/// Who writes and when: recorded in the audit entry of the writing transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// As the audit log names actors: a username with its device, `cli:NAME`,
    /// `system` (see `crate::service::Actor::audit_name`).
    pub actor: String,
    pub at: DateTime<Utc>,
}

impl Stamp {
    pub fn new(actor: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            actor: actor.into(),
            at,
        }
    }

    /// Library callers with no person behind them (tests, benchmarks, the demo).
    pub fn system(at: DateTime<Utc>) -> Self {
        Self::new("system", at)
    }
}

/// A rule of the service layer, run inside a store transaction on the state read
/// there: `Ok` is what to write, `Err` refuses (nothing is written).
pub type Decide<S, T> = Box<dyn FnOnce(&S) -> Result<T, ServiceError> + Send>;

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

/// Storage names of a draw kind (the `tasks.kind` column).
pub(crate) fn kind_str(kind: jiandu_core::inspection::DrawKind) -> &'static str {
    use jiandu_core::inspection::DrawKind::*;
    match kind {
        National => "national",
        City => "city",
        FollowUp => "followup",
    }
}

pub(crate) fn parse_kind(s: &str) -> Option<jiandu_core::inspection::DrawKind> {
    use jiandu_core::inspection::DrawKind::*;
    match s {
        "national" => Some(National),
        "city" => Some(City),
        "followup" => Some(FollowUp),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------
// People and devices

#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Creates a user; [`StoreError::Duplicate`] for a taken username or badge.
    async fn create_user(&self, stamp: &Stamp, user: NewUser) -> StoreResult<User>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// The users among `ids` (unknown ids are skipped), in one query: a pull names
    /// the inspectors of all its tasks at once.
    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>>;
    /// The user and their password hash (None: cannot sign in).
    async fn user_credentials(&self, username: &str)
    -> StoreResult<Option<(User, Option<String>)>>;
    /// None: no such user. Disabling also revokes every device of the user not yet
    /// revoked (kind `user_disabled`), in the same transaction.
    async fn set_user_disabled(
        &self,
        stamp: &Stamp,
        username: &str,
        disabled: bool,
    ) -> StoreResult<Option<User>>;
    /// False: no such user. Also revokes every device of the user not yet revoked
    /// (kind `password_reset`), in the same transaction.
    async fn set_password(
        &self,
        stamp: &Stamp,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<bool>;
    async fn create_device(
        &self,
        stamp: &Stamp,
        device: Device,
        token_hash: &str,
    ) -> StoreResult<Device>;
    /// The device (revoked or not) and its user, by the SHA-256 of its token.
    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>>;
    async fn device(&self, id: Uuid) -> StoreResult<Option<Device>>;
    async fn list_devices(&self, user_id: Option<Uuid>) -> StoreResult<Vec<Device>>;
    /// Revokes a device as `kind`; revoking twice keeps the first time and kind,
    /// except that a device revoked otherwise may still be declared lost.
    /// None: no such device.
    async fn revoke_device(
        &self,
        stamp: &Stamp,
        id: Uuid,
        kind: RevokeKind,
    ) -> StoreResult<Option<Device>>;
}

// ---------------------------------------------------------------------------------
// Registry

#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Upserts institutions (by credit code), staff (by badge number) and the
    /// penalised list, all in one transaction.
    async fn import_registry(
        &self,
        stamp: &Stamp,
        import: RegistryImport,
    ) -> StoreResult<ImportCounts>;
    async fn list_institutions(&self) -> StoreResult<Vec<Institution>>;
    async fn institution(&self, id: Uuid) -> StoreResult<Option<Institution>>;
    /// The institutions among `ids` (unknown ids are skipped), in one query.
    async fn institutions_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Institution>>;
    /// Active (not disabled) inspectors with a badge, with their declared conflicts.
    async fn staff_for_draw(&self) -> StoreResult<Vec<StaffForDraw>>;
    async fn penalised(&self) -> StoreResult<Vec<PenalisedEntry>>;
    /// Registry size per category.
    async fn institution_counts(&self) -> StoreResult<Vec<(CategoryCode, u64)>>;
    /// The declared services of every institution that has any.
    async fn institution_services(&self) -> StoreResult<HashMap<Uuid, Vec<String>>>;
}

// ---------------------------------------------------------------------------------
// Plans

#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Stored versions, of one plan or of all, by plan id then version.
    async fn plan_versions(&self, plan_id: Option<&str>) -> StoreResult<Vec<PlanVersionRow>>;
    async fn plan_version(
        &self,
        plan_id: &str,
        version: u32,
    ) -> StoreResult<Option<PlanVersionRow>>;
    /// Stores a new version of `row.plan_id`: `decide` sees the latest stored
    /// version of that plan (None: none yet) and answers the new version's number.
    async fn add_plan_version(
        &self,
        stamp: &Stamp,
        row: PlanVersionRow,
        decide: Decide<Option<PlanVersionRow>, u32>,
    ) -> StoreResult<PlanVersionRow>;
    /// Stores a version exactly as given unless that (plan, version) is stored
    /// already (a built-in plan a draw uses); answers whether it wrote.
    async fn keep_plan_version(&self, stamp: &Stamp, row: PlanVersionRow) -> StoreResult<bool>;
    /// Publishes a version (a published one stays as it is). None: no such version.
    async fn publish_plan_version(
        &self,
        stamp: &Stamp,
        plan_id: &str,
        version: u32,
    ) -> StoreResult<Option<PlanVersionRow>>;
}

// ---------------------------------------------------------------------------------
// Draws and tasks

/// What a re-assignment decision reads inside its transaction.
#[derive(Debug, Clone)]
pub struct ReassignState {
    /// Re-assignments the draw already has.
    pub done: usize,
    /// The task as stored now (None: no such task).
    pub task: Option<StoredTask>,
}

#[async_trait]
pub trait DrawStore: Send + Sync {
    /// Saves a freeze of a plan's draw inputs (audited `draw.freeze`).
    async fn save_freeze(&self, stamp: &Stamp, freeze: DrawFreeze) -> StoreResult<()>;
    /// A plan's freezes, oldest first.
    async fn freezes(&self, plan_id: &str) -> StoreResult<Vec<DrawFreeze>>;
    /// Writes an audit entry and nothing else (a dry run of a draw: computed, not
    /// recorded, but never without a trace).
    async fn audit_only(&self, stamp: &Stamp, event: AuditEvent) -> StoreResult<()>;
    /// (institution, inspector) pairs of every task drawn for a plan of `year`.
    async fn assignments_in_year(&self, year: i32) -> StoreResult<Vec<(Uuid, Uuid)>>;
    /// Saves a draw and its tasks; [`Unique::DrawOfPlan`] when the plan already has
    /// one. `plan_year` is stored for "previous campaign" look-ups.
    async fn save_draw(
        &self,
        stamp: &Stamp,
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
    /// Replaces `r.from_user` by `r.to_user` on `r.task_id` at the position
    /// `decide` answers, deciding on the state read in the same transaction.
    /// `allowance` is recorded in the audit entry.
    async fn reassign(
        &self,
        stamp: &Stamp,
        r: Reassignment,
        allowance: usize,
        decide: Decide<ReassignState, usize>,
    ) -> StoreResult<()>;
    async fn reassignments(&self, draw_id: Uuid) -> StoreResult<Vec<Reassignment>>;
    /// Re-assignments written after `since`.
    async fn reassignments_since(&self, since: i64) -> StoreResult<Vec<ReassignmentSeq>>;
}

// ---------------------------------------------------------------------------------
// Inspections and review

/// What a review decision reads inside its transaction.
#[derive(Debug, Clone)]
pub struct ReviewState {
    /// The inspection as stored now (None: no such inspection).
    pub inspection: Option<StoredInspection>,
    /// Photos and signature images of it not yet received and verified.
    pub incomplete_blobs: u64,
}

#[async_trait]
pub trait InspectionStore: Send + Sync {
    /// Inserts or replaces an inspection when `decide`, given the stored one,
    /// agrees (e.g. the version the caller read).
    async fn put_inspection(
        &self,
        stamp: &Stamp,
        inspection: Inspection,
        expected_version: Option<u64>,
        decide: Decide<Option<StoredInspection>, ()>,
    ) -> StoreResult<StoredInspection>;
    async fn inspection(&self, id: Uuid) -> StoreResult<Option<StoredInspection>>;
    async fn inspections_of_tasks(&self, task_ids: &[Uuid]) -> StoreResult<Vec<StoredInspection>>;
    /// Saves a review decision together with the inspection `decide` makes of the
    /// state read in the transaction.
    async fn record_review(
        &self,
        stamp: &Stamp,
        review: ReviewRecord,
        decide: Decide<ReviewState, Inspection>,
    ) -> StoreResult<StoredInspection>;
    async fn reviews(&self, inspection_id: Uuid) -> StoreResult<Vec<ReviewRecord>>;
    /// What the summary tables need of every approved inspection of a plan (its task's unit,
    /// category, follow-up campaign and checklist; its non-compliant points and
    /// outcome), read from `inspection_results`, which triggers keep in step with
    /// `inspections`.
    async fn approved_results(
        &self,
        plan_id: &str,
    ) -> StoreResult<Vec<jiandu_core::summary::UnitResult>>;
}

// ---------------------------------------------------------------------------------
// Sync: push results, blobs, signatures and document-number leases

pub use push::{BlobWrite, DecideItem, ItemDecision, ItemState, PreparedItem};

/// A document-number block (first, last) answered by a lease decision, given the
/// last number the counter issued (0 for none).
pub type DecideLease = Decide<u32, (u32, u32)>;

#[async_trait]
pub trait SyncStore: Send + Sync {
    /// Applies a batch of push items in ONE transaction (one change-sequence value):
    /// each item already answered for this device gets its stored answer; every
    /// other item's decision runs on the state read in the transaction, and its
    /// answer is stored under (device, mutation) with the change. A batch whose
    /// every item was answered before writes nothing (no sequence value, no audit
    /// entry).
    async fn push(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        items: Vec<PreparedItem>,
    ) -> StoreResult<Vec<PushResult>>;

    /// The inspections with their photos' metadata and signatures.
    async fn inspection_bundles(
        &self,
        inspections: Vec<StoredInspection>,
    ) -> StoreResult<Vec<ServerInspection>>;

    async fn blob(&self, id: Uuid) -> StoreResult<Option<BlobRow>>;

    /// Records a blob's size at registration (when the push did not know it).
    async fn set_blob_size(&self, stamp: &Stamp, id: Uuid, size: u64) -> StoreResult<()>;

    /// Marks a blob's bytes received and verified (bumps the change sequence).
    async fn complete_blob(&self, stamp: &Stamp, id: Uuid) -> StoreResult<()>;

    /// Blobs of an inspection (not voided) whose bytes are not verified yet.
    async fn incomplete_blobs(&self, inspection_id: Uuid) -> StoreResult<u64>;

    /// Every blob, for audits and tests.
    async fn all_blobs(&self) -> StoreResult<Vec<BlobRow>>;

    /// Leases a block of document numbers: the same block again for a known
    /// (device, request_id); otherwise the block `decide` answers for the
    /// counter's last issued number, which becomes the block's last.
    async fn lease_doc_numbers(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        request: LeaseRequest,
        decide: DecideLease,
    ) -> StoreResult<DocNumberLease>;

    /// Every lease, with its device, in issue order.
    async fn doc_number_leases(&self) -> StoreResult<Vec<(Uuid, DocNumberLease)>>;
}

// ---------------------------------------------------------------------------------
// Audit log (read only: entries are appended by the writing methods above, in
// their own transactions; nothing updates or deletes them)

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Changes up to this sequence value predate the audit log.
    async fn audit_start(&self) -> StoreResult<i64>;
    /// Up to `limit` entries with `change_seq > after`, in order.
    async fn audit_entries(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}

/// Storage of the central platform: every area. Every method is one transaction.
// ---------------------------------------------------------------------------------
// Console sessions and device activity: not synced data, so these writes move
// neither the change sequence nor the audit log.

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session under the SHA-256 of its cookie token.
    async fn create_session(&self, session: ConsoleSession, token_hash: &str) -> StoreResult<()>;
    /// The session (ended or not) and its user, by the SHA-256 of its token.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(ConsoleSession, User)>>;
    /// Records a use of the session (idle expiry counts from it).
    async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends one session (sign-out); ending twice keeps the first time.
    async fn end_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Ends every open session of a user (disabled); answers how many.
    async fn end_user_sessions(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<u64>;
    /// Records that a device pushed or pulled (`devices.last_sync_at`).
    async fn device_synced(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records that a device's token authenticated a request (`devices.last_used_at`;
    /// token expiry counts from it). Not audited, no change sequence.
    async fn device_used(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()>;

    /// Failed sign-ins under `keys` whose window started after `since`: (key,
    /// failures, first failure). Shared by every server (`auth::LoginLimiter`).
    async fn sign_in_failures(
        &self,
        keys: &[String],
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u32, DateTime<Utc>)>>;

    /// Counts one failure under each of `keys` at `now`; a key whose window started
    /// at or before `since` starts a new one (expired rows are deleted).
    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Forgets the failures counted under `key` (a successful sign-in).
    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;

    /// Pushed photos and signatures whose bytes are not all here (`/metrics`).
    async fn pending_uploads(&self) -> StoreResult<u64>;
}

#[async_trait]
pub trait ServerStore:
    PeopleStore
    + RegistryStore
    + PlanStore
    + DrawStore
    + InspectionStore
    + SyncStore
    + AuditStore
    + SessionStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Which backend: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// How much of the connection pool is in use now (`/metrics`).
    fn pool_use(&self) -> Option<crate::metrics::PoolUse>;

    async fn state(&self) -> StoreResult<ServerState>;
}
