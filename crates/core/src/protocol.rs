//! The sync protocol (SYNC.md): the wire shapes the device (jiandu-sync) and the
//! central platform (jiandu-server) exchange, defined once.
//!
//! - Push: the device sends its outbox rows as they are ([`PushItem`]); the server
//!   parses each into a typed [`Mutation`] ([`Mutation::parse`]), applies it with the
//!   same [`crate::Inspection`] methods the device used, and answers per item
//!   ([`ItemOutcome`]): `applied {version, server_seq}` or
//!   `rejected {reason, message, current}`. A replayed item gets its stored answer.
//! - Pull: pages of [`Change`]s in server change-sequence order, with the server's
//!   epoch ([`PullPage`]). A page never splits one sequence value, so `since=next`
//!   never skips a change.
//! - Photos: registered by id and SHA-256 ([`BlobRegistration`]), uploaded in chunks
//!   at `Upload-Offset` (tus header names), verified on the last byte.
//! - Document numbers (文号): blocks leased per device, authority and year
//!   ([`DocNumberLease`]).
//! - Progress: what the UI's progress bar shows ([`SyncProgress`]).
//!
//! Payloads are the jiandu-core serde shapes the device store writes into its
//! outbox, so a new field is added in one place.

use crate::inspection::{Finding, Inspection, Role, Signature, Task};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most items one push request may carry.
pub const MAX_PUSH_ITEMS: usize = 500;
/// Largest push request body (bytes). An observation may be 200,000 characters, so a
/// batch is cut by size as well as by count.
pub const MAX_PUSH_BYTES: usize = 8 * 1024 * 1024;
/// Largest pull page the server returns (changes; one sequence value is never split).
pub const MAX_PULL_LIMIT: usize = 1000;
/// Photo chunks: at least 1 MiB (except the last) and at most 4 MiB.
pub const MIN_CHUNK_BYTES: u64 = 1024 * 1024;
pub const MAX_CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// Largest blob accepted (20 MiB, the device's own photo limit).
pub const MAX_BLOB_BYTES: u64 = 20 * 1024 * 1024;
/// tus header names.
pub const UPLOAD_OFFSET: &str = "Upload-Offset";
pub const UPLOAD_LENGTH: &str = "Upload-Length";
/// Content type of a chunk (tus).
pub const CHUNK_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// Largest document-number block a device may lease at once.
pub const MAX_LEASE_BLOCK: u32 = 200;

/// Error body of every non-2xx answer: `code` for machines, `message` (Chinese) for
/// people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// Each problem on its own, when there are several (e.g. every problem of a
    /// refused plan or registry file, each naming where it is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// `POST /api/v1/devices/enroll`: what a person types at 首次设置. The server checks
/// exactly what the schema says: each name 1–100 characters with at least one that
/// is not a space (surrounding spaces are ignored), a password of at most 1024.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub password: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub device_name: String,
}

/// Longest username or device name accepted at enrolment (characters).
pub const MAX_NAME_CHARS: usize = 100;
/// Longest password accepted (characters).
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A user as the platform shows them (enrolment, `/me`, the user list): never a
/// password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub badge_no: Option<String>,
    /// 科室 / 检查组. Absent from an older platform.
    #[serde(default)]
    pub team: String,
    /// 区县. Absent from an older platform.
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub disabled: bool,
}

/// The answer to an enrolment: the device's own bearer token (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollResponse {
    pub device_id: Uuid,
    pub token: String,
    pub user: UserView,
    pub epoch: Uuid,
    /// 执法机关 the platform prints on its archive copies: the device prints the same
    /// on its documents. Absent from an older platform.
    #[serde(default)]
    pub authority: Option<String>,
}

// ---------------------------------------------------------------------------------
// Push

/// One outbox entry as the device sends it (the store's outbox row, unchanged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushItem {
    pub mutation_id: Uuid,
    pub device_seq: i64,
    /// inspection, finding, photo or signature.
    pub entity: String,
    pub entity_id: Uuid,
    pub inspection_id: Uuid,
    /// start, set_outcome, submit, mark_unreachable, upsert, create, void.
    pub op: String,
    /// The inspection version the change was made on, on the device.
    pub base_version: Option<u64>,
    pub payload: serde_json::Value,
}

/// `POST /api/v1/sync/push`: items in device_seq order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// At most [`MAX_PUSH_ITEMS`].
    #[cfg_attr(feature = "openapi", schema(max_items = 500))]
    pub items: Vec<PushItem>,
}

/// Why the server refused an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The inspection was approved: nothing changes any more.
    Locked,
    /// The server's record moved on in a way that conflicts (e.g. another device
    /// started this task's inspection, or the state no longer allows the action).
    Stale,
    /// This user may not make this change (not assigned, wrong role).
    Forbidden,
    /// The change breaks a rule or is malformed.
    Invalid,
    /// An earlier change of the same inspection from this device was rejected, so
    /// this one has nothing to apply to.
    DependencyRejected,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::Stale => "stale",
            Self::Forbidden => "forbidden",
            Self::Invalid => "invalid",
            Self::DependencyRejected => "dependency_rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Locked,
            Self::Stale,
            Self::Forbidden,
            Self::Invalid,
            Self::DependencyRejected,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// What the conflicts list shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Locked => "已审核通过，不能再修改",
            Self::Stale => "服务器上的记录已变化",
            Self::Forbidden => "无权修改",
            Self::Invalid => "内容不符合规则",
            Self::DependencyRejected => "之前的修改被拒绝",
        }
    }
}

/// The result of one pushed item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemOutcome {
    /// Applied: the inspection's version on the server after it, and the server
    /// change sequence value of the transaction.
    Applied { version: u64, server_seq: i64 },
    /// Refused; `current` is the server's record (None when it has none).
    Rejected {
        reason: RejectReason,
        /// Chinese, for the inspector.
        message: String,
        current: Option<Box<ServerInspection>>,
    },
}

impl ItemOutcome {
    /// The wire tag (`status`): `applied` or `rejected`, as the server also
    /// stores it beside the answer.
    pub fn status(&self) -> &'static str {
        match self {
            ItemOutcome::Applied { .. } => "applied",
            ItemOutcome::Rejected { .. } => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    pub mutation_id: Uuid,
    #[serde(flatten)]
    pub outcome: ItemOutcome,
}

/// The answer to a push: one result per item, in the request's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<PushResult>,
}

/// A photo's metadata, as the device store writes it into the outbox
/// (jiandu-store's `PhotoRecord` has this exact JSON shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRecord {
    pub id: Uuid,
    pub inspection_id: Uuid,
    pub finding_id: Option<Uuid>,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    pub size_bytes: u64,
    pub mime: String,
    pub taken_at: DateTime<Utc>,
    pub location: Option<GeoPoint>,
    pub captured_by: Uuid,
    pub captured_at: DateTime<Utc>,
    pub voided_by: Option<Uuid>,
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
}

/// WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A pushed change, typed: what (entity, op) means and the record it carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// 亮证: the inspection starts (payload: the inspection header after the start).
    Start(Box<Inspection>),
    /// 处理结果 chosen.
    SetOutcome(Box<Inspection>),
    /// 提交审核.
    Submit(Box<Inspection>),
    /// 无法联系.
    MarkUnreachable(Box<Inspection>),
    /// An answer to one check point, new or replaced.
    UpsertFinding(Box<Finding>),
    /// A photo attached.
    CreatePhoto(Box<PhotoRecord>),
    /// A photo voided (作废), never deleted.
    VoidPhoto(Box<PhotoRecord>),
    /// A signature, or a party's refusal to sign.
    CreateSignature(Box<Signature>),
    /// The 意见书's 文号 issued on site (payload: the inspection header after it).
    SetOpinionNumber(Box<Inspection>),
    /// The 监督意见 confirmed (payload: the inspection header with `opinion`).
    SetOpinion(Box<Inspection>),
    /// The 现场笔录's 记录人 / 回避 / 在场人 (payload: the header with
    /// `record_details`).
    SetRecordDetails(Box<Inspection>),
}

impl Mutation {
    /// Reads an outbox row's (entity, op, payload). `Err` is a Chinese message for an
    /// `invalid` rejection.
    pub fn parse(item: &PushItem) -> Result<Mutation, String> {
        fn de<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<Box<T>, String> {
            // From the borrowed value: no copy of the payload per item.
            T::deserialize(v)
                .map(Box::new)
                .map_err(|e| format!("修改内容格式不正确：{e}"))
        }
        let p = &item.payload;
        let m = match (item.entity.as_str(), item.op.as_str()) {
            ("inspection", "start") => Mutation::Start(de(p)?),
            ("inspection", "set_outcome") => Mutation::SetOutcome(de(p)?),
            ("inspection", "submit") => Mutation::Submit(de(p)?),
            ("inspection", "mark_unreachable") => Mutation::MarkUnreachable(de(p)?),
            ("inspection", "set_opinion_number") => Mutation::SetOpinionNumber(de(p)?),
            ("inspection", "set_opinion") => Mutation::SetOpinion(de(p)?),
            ("inspection", "set_record_details") => Mutation::SetRecordDetails(de(p)?),
            ("finding", "upsert") => Mutation::UpsertFinding(de(p)?),
            ("photo", "create") => Mutation::CreatePhoto(de(p)?),
            ("photo", "void") => Mutation::VoidPhoto(de(p)?),
            ("signature", "create") => Mutation::CreateSignature(de(p)?),
            (e, o) => return Err(format!("未知的修改类型：{e}/{o}")),
        };
        // The row's ids must agree with its payload: the server files results under
        // them.
        let (entity_id, inspection_id) = match &m {
            Mutation::Start(i)
            | Mutation::SetOutcome(i)
            | Mutation::Submit(i)
            | Mutation::MarkUnreachable(i)
            | Mutation::SetOpinionNumber(i)
            | Mutation::SetOpinion(i)
            | Mutation::SetRecordDetails(i) => (i.id, i.id),
            Mutation::UpsertFinding(f) => (f.id, f.inspection_id),
            Mutation::CreatePhoto(p) | Mutation::VoidPhoto(p) => (p.id, p.inspection_id),
            Mutation::CreateSignature(s) => (s.id, s.inspection_id),
        };
        if entity_id != item.entity_id || inspection_id != item.inspection_id {
            return Err("修改记录的编号与内容不一致".into());
        }
        Ok(m)
    }
}

// ---------------------------------------------------------------------------------
// Pull

/// An inspection as the server holds it, with its evidence metadata: what a pull
/// brings and what a rejection shows beside the local edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInspection {
    pub inspection: Inspection,
    pub photos: Vec<PhotoRecord>,
    pub signatures: Vec<Signature>,
    /// Server change sequence value that last wrote it.
    pub seq: i64,
}

/// One change visible to the pulling user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeBody {
    /// A plan version the user's tasks use, sent before the first task that needs
    /// it (and again with a task newly given to the user), so a tablet works any
    /// task it holds with no signal.
    Plan { plan: Box<PlanChange> },
    /// A task (with its institution snapshot and inspectors), new or changed.
    Task { task: Box<Task> },
    /// Tombstone: the task is no longer this user's (re-assigned away).
    TaskRemoved { task_id: Uuid },
    /// An inspection: content, review decision (退回 with comments, 通过).
    Inspection { inspection: Box<ServerInspection> },
    /// A kind of change a later platform sends that this build does not know: kept
    /// out of the way instead of failing the page.
    #[serde(other)]
    Unknown,
}

/// A published plan version as a pull carries it. The plan itself travels as JSON
/// with its format number, so a tablet that cannot read it (a plan of a later
/// format, or one with fields it does not know) stores that fact and asks for an
/// update (请更新应用) instead of failing the page or mis-rendering the checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanChange {
    pub id: String,
    pub version: u32,
    /// [`crate::plan::PLAN_FORMAT`] of the platform that validated it.
    pub format: u32,
    /// SHA-256 (hex) of the plan's TOML source: what was reviewed and published.
    pub sha256: String,
    /// The validated [`crate::Plan`], as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub plan: serde_json::Value,
}

impl PlanChange {
    /// The plan, if this build can read it; otherwise a Chinese explanation.
    pub fn read(&self) -> Result<crate::Plan, String> {
        let outdated = || {
            format!(
                "计划“{}”（第 {} 版）使用了本应用不认识的新格式，请更新应用后再检查",
                self.id, self.version
            )
        };
        if self.format > crate::plan::PLAN_FORMAT {
            return Err(outdated());
        }
        let plan: crate::Plan =
            serde_json::from_value(self.plan.clone()).map_err(|_| outdated())?;
        if plan.id != self.id {
            return Err(format!("计划编号不一致：“{}”与“{}”", self.id, plan.id));
        }
        Ok(plan)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub seq: i64,
    #[serde(flatten)]
    pub body: ChangeBody,
}

/// `GET /api/v1/sync/pull?since=SEQ&limit=N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullPage {
    /// The server database's identity: a new epoch means restore, resync from 0.
    pub epoch: Uuid,
    pub changes: Vec<Change>,
    /// Cursor for the next request (`since`).
    pub next: i64,
    pub has_more: bool,
}

// ---------------------------------------------------------------------------------
// Photos (and signature images)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlobKind {
    Photo,
    Signature,
}

impl BlobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Signature => "signature",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "photo" => Some(Self::Photo),
            "signature" => Some(Self::Signature),
            _ => None,
        }
    }
}

/// `POST /api/v1/photos`: announces a file by id and hash before its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobRegistration {
    pub id: Uuid,
    pub kind: BlobKind,
    pub inspection_id: Uuid,
    /// SHA-256, lowercase hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Bytes, 1 to [`MAX_BLOB_BYTES`].
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 20_971_520_u64))]
    pub size: u64,
    pub mime: String,
}

/// Where an upload stands (`POST /api/v1/photos` and `HEAD`/`PATCH …/content`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobStatus {
    pub id: Uuid,
    /// Bytes the server holds durably.
    pub offset: u64,
    pub size: u64,
    /// The hash was verified: nothing more to send.
    pub complete: bool,
}

// ---------------------------------------------------------------------------------
// Document numbers (文号)

/// `POST /api/v1/doc-numbers/lease`. `request_id` makes a retried request return
/// the same block instead of a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseRequest {
    pub request_id: Uuid,
    /// Issuing authority's 文号 prefix, e.g. `并卫监`: 1–50 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 50, pattern = r"\S")
    )]
    pub authority: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 2000, maximum = 2100))]
    pub year: i32,
    /// How many numbers (1..=[`MAX_LEASE_BLOCK`]).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub count: u32,
    /// The highest number this device has ever held for this authority and year.
    /// Informational only: the server alone decides numbers and does not trust it
    /// (one request must not exhaust a series for every device); the device itself
    /// skips any leased number at or below it (a server restored from an older
    /// backup).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 4_294_967_295_u32))]
    pub floor: u32,
}

/// A block of document numbers `first..=last` for one device, authority and year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocNumberLease {
    pub authority: String,
    pub year: i32,
    pub first: u32,
    pub last: u32,
}

// ---------------------------------------------------------------------------------
// Progress

/// Which step a sync is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Push,
    Photos,
    Leases,
    Pull,
    Done,
}

/// What the progress bar shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncProgress {
    /// Outbox items still to push.
    pub items_left: u64,
    /// Items pushed in this sync.
    pub items_done: u64,
    /// Photo bytes still to upload, and uploaded in this sync.
    pub bytes_left: u64,
    pub bytes_done: u64,
    /// Photos (and signature images) not yet verified by the server.
    pub photos_left: u64,
    /// Changes pulled in this sync.
    pub changes_pulled: u64,
}

/// Events a sync reports, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncEvent {
    Started,
    Progress {
        phase: SyncPhase,
        progress: SyncProgress,
    },
    /// Finished; `conflicts`: rejected edits waiting for the inspector.
    Finished {
        progress: SyncProgress,
        conflicts: u64,
    },
    /// Stopped by an error; retried later with backoff.
    Failed {
        code: String,
        message: String,
    },
    /// The device was revoked: sync stops for good; local data is kept.
    Revoked {
        message: String,
    },
    /// The platform declared this device lost (丢失): its token is forgotten and
    /// its keys must be erased now; sync stops for good.
    Lost {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(entity: &str, op: &str, payload: serde_json::Value) -> PushItem {
        PushItem {
            mutation_id: Uuid::nil(),
            device_seq: 1,
            entity: entity.into(),
            entity_id: Uuid::from_u128(1),
            inspection_id: Uuid::from_u128(1),
            op: op.into(),
            base_version: Some(0),
            payload,
        }
    }

    #[test]
    fn outcomes_have_stable_wire_names() {
        let applied = PushResult {
            mutation_id: Uuid::nil(),
            outcome: ItemOutcome::Applied {
                version: 3,
                server_seq: 9,
            },
        };
        let v = serde_json::to_value(&applied).expect("serializes");
        assert_eq!(v["status"], "applied");
        assert_eq!(v["status"], applied.outcome.status());
        assert_eq!(v["server_seq"], 9);
        let rejected = ItemOutcome::Rejected {
            reason: RejectReason::DependencyRejected,
            message: "x".into(),
            current: None,
        };
        let v = serde_json::to_value(&rejected).expect("serializes");
        assert_eq!(v["status"], rejected.status());
        assert_eq!(v["reason"], "dependency_rejected");
        for r in [
            RejectReason::Locked,
            RejectReason::Stale,
            RejectReason::Forbidden,
            RejectReason::Invalid,
            RejectReason::DependencyRejected,
        ] {
            assert_eq!(serde_json::to_value(r).expect("serializes"), r.as_str());
            assert_eq!(RejectReason::parse(r.as_str()), Some(r));
        }
    }

    #[test]
    fn parse_checks_kind_and_ids() {
        let insp = Inspection::new(Uuid::from_u128(1), Uuid::from_u128(2));
        let payload = serde_json::to_value(&insp).expect("serializes");
        assert!(matches!(
            Mutation::parse(&item("inspection", "start", payload.clone())),
            Ok(Mutation::Start(_))
        ));
        assert!(Mutation::parse(&item("inspection", "explode", payload.clone())).is_err());
        let mut wrong = item("inspection", "submit", payload);
        wrong.entity_id = Uuid::from_u128(7);
        assert!(
            Mutation::parse(&wrong).is_err(),
            "ids must match the payload"
        );
        assert!(Mutation::parse(&item("finding", "upsert", serde_json::json!({}))).is_err());
    }
}
