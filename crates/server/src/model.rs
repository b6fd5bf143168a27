//! The records the platform keeps: what the service layer reads and writes and the
//! store persists. No rule lives here (see [`crate::service`]) and no storage detail
//! (see [`crate::store`]).

use chrono::{DateTime, Utc};
use jiandu_core::draw::DrawnTask;
use jiandu_core::inspection::{DrawKind, Inspection};
use jiandu_core::protocol::{BlobKind, PhotoRecord, UserView};
use jiandu_core::{CategoryCode, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// 科室 / 检查组 (team).
    pub team: String,
    /// 区县 (district).
    pub district: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub seq: i64,
}

impl User {
    /// The user as the API shows them: never a password hash.
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            badge_no: self.badge_no.clone(),
            team: self.team.clone(),
            district: self.district.clone(),
            disabled: self.disabled,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Device {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub seq: i64,
    /// When the device last pushed or pulled (None: never since enrolment).
    #[serde(default)]
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Why it was revoked (set with `revoked_at`; a device revoked before kinds
    /// existed reads as `retired`).
    #[serde(default)]
    pub revoked_kind: Option<RevokeKind>,
    /// When its token last authenticated a request (written at most hourly; None:
    /// not since enrolment). A token unused for longer than the expiry is refused.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Why a device's token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevokeKind {
    /// 丢失: at its next contact the device is told to erase its keys.
    Lost,
    /// 停用: the device stops syncing; its data stays locked, exportable with the PIN.
    Retired,
    /// The device signed out (its own token, `DELETE /me/token`).
    SignedOut,
    /// The user's password was reset: every device signs in again.
    PasswordReset,
    /// The user was disabled: every device of the user, for good.
    UserDisabled,
}

impl RevokeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeKind::Lost => "lost",
            RevokeKind::Retired => "retired",
            RevokeKind::SignedOut => "signed_out",
            RevokeKind::PasswordReset => "password_reset",
            RevokeKind::UserDisabled => "user_disabled",
        }
    }

    /// A stored kind; anything unknown (or none) reads as `retired`.
    pub fn parse(s: Option<&str>) -> RevokeKind {
        match s {
            Some("lost") => RevokeKind::Lost,
            Some("signed_out") => RevokeKind::SignedOut,
            Some("password_reset") => RevokeKind::PasswordReset,
            Some("user_disabled") => RevokeKind::UserDisabled,
            _ => RevokeKind::Retired,
        }
    }

    /// As the console and the command line name it.
    pub fn label(self) -> &'static str {
        match self {
            RevokeKind::Lost => "丢失",
            RevokeKind::Retired => "停用",
            RevokeKind::SignedOut => "已退出登录",
            RevokeKind::PasswordReset => "密码已重置",
            RevokeKind::UserDisabled => "账号已停用",
        }
    }
}

/// A signed-in browser of the web console (控制台会话, console session). The cookie's
/// token is never stored, only its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Sent back in `X-CSRF-Token` by every request that changes state.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Signed out or the user disabled: never valid again.
    pub ended_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("csrf_token", &"***")
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("ended_at", &self.ended_at)
            .finish()
    }
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

/// A unit penalised in an earlier campaign (回头看名单, the follow-up list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenalisedEntry {
    pub campaign: String,
    pub credit_code: String,
    pub note: String,
}

/// One registry import (名录库导入): applied in one transaction, or not at all.
#[derive(Debug, Clone, Default)]
pub struct RegistryImport {
    pub institutions: Vec<Institution>,
    /// Services (服务项目) of institutions, by credit code, as codes of the
    /// catalogue: only when the file has the column (a file without it leaves what
    /// is stored).
    pub services: std::collections::BTreeMap<String, Vec<String>>,
    pub staff: Vec<StaffEntry>,
    pub penalised: Vec<PenalisedEntry>,
    /// The file's row of each entry of `penalised` (same order), for problems found
    /// against the registry.
    pub penalised_rows: Vec<usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// Where a plan version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanSource {
    /// A template this binary carries (the seed plans).
    Builtin,
    /// A bureau's own file, imported on the platform.
    Imported,
}

/// Whether tablets see a plan version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// 待发布: imported and valid, under review; not drawn, not sent to tablets.
    Draft,
    /// 已发布: drawable and sent to the tablets of its tasks.
    Published,
}

/// A stored plan version (its content never changes).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanVersionRow {
    pub plan_id: String,
    pub version: u32,
    pub state: PlanState,
    pub source: PlanSource,
    pub title: String,
    pub year: i32,
    /// The TOML as imported.
    pub toml: String,
    pub sha256: String,
    /// The validated plan, as JSON.
    pub body: serde_json::Value,
    pub format: u32,
    pub imported_by: String,
    pub imported_at: DateTime<Utc>,
    pub published_by: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub seq: i64,
}

/// The record of a draw (双随机抽取): enough to recompute it (`draw verify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawRecord {
    pub id: Uuid,
    pub plan_id: String,
    /// The plan version drawn (its tasks carry it too).
    #[serde(default = "first_version")]
    pub plan_version: u32,
    pub seed: String,
    pub algorithm: String,
    pub inputs_hash: String,
    pub tasks_hash: String,
    /// The [`jiandu_core::draw::DrawInputs`] snapshot, as JSON.
    pub inputs: serde_json::Value,
    /// Who ran it (username, or the operator named on the command line).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The freeze whose inputs it used (None: drawn before freezes existed).
    #[serde(default)]
    pub freeze_id: Option<Uuid>,
}

/// A freeze of a plan's draw inputs (抽取输入冻结): fixed, hashed and audited before
/// the seed is entered; the real draw uses exactly these inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DrawFreeze {
    pub id: Uuid,
    pub plan_id: String,
    pub plan_version: u32,
    /// The [`jiandu_core::draw::DrawInputs`] snapshot, as JSON.
    pub inputs: serde_json::Value,
    /// SHA-256 of the published form (`jiandu-draw/2`): what the public sees first.
    pub inputs_hash: String,
    pub frozen_by: String,
    pub frozen_at: DateTime<Utc>,
}

fn first_version() -> u32 {
    1
}

/// A task as stored: the drawn task plus its id and current inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredTask {
    pub id: Uuid,
    pub draw_id: Uuid,
    pub plan_id: String,
    /// The plan version the task was drawn with.
    pub plan_version: u32,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// A re-assignment as pull needs it (tombstones for the inspector it left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassignmentSeq {
    pub seq: i64,
    pub task_id: Uuid,
    pub from_user: Uuid,
}

/// An inspection as the server holds it: the core type plus bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredInspection {
    pub inspection: Inspection,
    pub seq: i64,
}

/// What a team lead decided (审核).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// 通过: the inspection is locked.
    Approve,
    /// 退回: back to the inspectors with comments.
    Return,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Approve => "approve",
            ReviewDecision::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(ReviewDecision::Approve),
            "return" => Some(ReviewDecision::Return),
            _ => None,
        }
    }
}

/// A review decision, kept as history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub id: Uuid,
    pub inspection_id: Uuid,
    pub decision: ReviewDecision,
    /// The exact inspection version reviewed.
    pub reviewed_version: u64,
    pub comment: Option<String>,
    pub reviewer: Uuid,
    pub at: DateTime<Utc>,
}

/// A stored blob (photo or signature image) as the server knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobRow {
    pub id: Uuid,
    pub kind: BlobKind,
    pub inspection_id: Uuid,
    pub sha256: String,
    /// `None` until known (a signature's size comes with its registration).
    pub size: Option<u64>,
    pub mime: String,
    /// Bytes received and their hash verified.
    pub complete: bool,
    pub voided: bool,
    /// The photo's metadata (None for a signature image).
    pub meta: Option<PhotoRecord>,
    pub seq: i64,
}
