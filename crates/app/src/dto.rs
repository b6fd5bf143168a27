//! Types that cross to the UI, exported to TypeScript (`ui/src/bindings/`).
//!
//! They are views shaped for screens, not the domain types themselves: the domain
//! stays in `jiandu-core` (which knows nothing of TypeScript), and a screen gets
//! exactly what it shows, with Chinese labels already chosen in one place. Ids travel
//! as strings, dates as `YYYY-MM-DD`, instants as RFC 3339, money as integer fen plus
//! preformatted 元 and 万元 strings (never floats).
//!
//! `tests/bindings.rs` fails when the committed bindings differ from these types.

use jiandu_core::inspection::DrawKind;
use jiandu_core::{InspectionStatus, PublicCategory, Role, Verdict};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Mirrors `jiandu_core::InspectionStatus` for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    Assigned,
    InProgress,
    Submitted,
    Unreachable,
    Returned,
    Resubmitted,
    Approved,
}

impl From<InspectionStatus> for StatusCode {
    fn from(s: InspectionStatus) -> Self {
        match s {
            InspectionStatus::Assigned => Self::Assigned,
            InspectionStatus::InProgress => Self::InProgress,
            InspectionStatus::Submitted => Self::Submitted,
            InspectionStatus::Unreachable => Self::Unreachable,
            InspectionStatus::Returned => Self::Returned,
            InspectionStatus::Resubmitted => Self::Resubmitted,
            InspectionStatus::Approved => Self::Approved,
        }
    }
}

/// The five chips of the task list. 待审核 gathers the three states that wait for a
/// team lead (first submission, resubmission, 无法联系).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// 待检查.
    Todo,
    /// 检查中.
    InProgress,
    /// 待审核.
    AwaitingReview,
    /// 已退回.
    Returned,
    /// 已通过.
    Approved,
}

impl StatusFilter {
    pub fn matches(self, s: InspectionStatus) -> bool {
        match self {
            Self::Todo => s == InspectionStatus::Assigned,
            Self::InProgress => s == InspectionStatus::InProgress,
            Self::AwaitingReview => s.awaits_review(),
            Self::Returned => s == InspectionStatus::Returned,
            Self::Approved => s == InspectionStatus::Approved,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum VerdictCode {
    /// 符合.
    Compliant,
    /// 不符合.
    NonCompliant,
    /// 合理缺项.
    NotApplicable,
}

impl From<VerdictCode> for Verdict {
    fn from(v: VerdictCode) -> Self {
        match v {
            VerdictCode::Compliant => Verdict::Compliant,
            VerdictCode::NonCompliant => Verdict::NonCompliant,
            VerdictCode::NotApplicable => Verdict::NotApplicable,
        }
    }
}

impl From<Verdict> for VerdictCode {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Compliant => VerdictCode::Compliant,
            Verdict::NonCompliant => VerdictCode::NonCompliant,
            Verdict::NotApplicable => VerdictCode::NotApplicable,
        }
    }
}

/// The four public result categories (四类公开结果).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PublicCategoryCode {
    NoProblem,
    Corrected,
    Penalised,
    Unreachable,
}

impl From<PublicCategoryCode> for PublicCategory {
    fn from(c: PublicCategoryCode) -> Self {
        match c {
            PublicCategoryCode::NoProblem => PublicCategory::NoProblem,
            PublicCategoryCode::Corrected => PublicCategory::Corrected,
            PublicCategoryCode::Penalised => PublicCategory::Penalised,
            PublicCategoryCode::Unreachable => PublicCategory::Unreachable,
        }
    }
}

impl From<PublicCategory> for PublicCategoryCode {
    fn from(c: PublicCategory) -> Self {
        match c {
            PublicCategory::NoProblem => PublicCategoryCode::NoProblem,
            PublicCategory::Corrected => PublicCategoryCode::Corrected,
            PublicCategory::Penalised => PublicCategoryCode::Penalised,
            PublicCategory::Unreachable => PublicCategoryCode::Unreachable,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RoleCode {
    /// 检查人员.
    Inspector,
    /// 组长.
    TeamLead,
}

impl From<RoleCode> for Role {
    fn from(r: RoleCode) -> Self {
        match r {
            RoleCode::Inspector => Role::Inspector,
            RoleCode::TeamLead => Role::TeamLead,
        }
    }
}

/// 国家双随机 / 市级双随机 / 回头看.
pub fn draw_label(kind: DrawKind) -> &'static str {
    match kind {
        DrawKind::National => "国家双随机",
        DrawKind::City => "市级双随机",
        DrawKind::FollowUp => "回头看",
    }
}

/// Who is signed in on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Profile {
    pub user_id: String,
    pub username: String,
    /// 姓名.
    pub display_name: String,
    pub role: RoleCode,
    /// 执法证号 (empty for a team lead who holds none).
    pub badge_no: String,
    pub server_url: String,
    /// 演示模式: demo data on this device, no server.
    pub demo: bool,
}

/// What the first screen needs to decide between 首次设置 and the task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Startup {
    pub profile: Option<Profile>,
    /// Build version, shown on the settings screen.
    pub version: String,
    /// The app lock: whether a PIN must be set or entered first.
    pub lock: crate::lock::LockView,
}

/// 首次设置: server address, user, password.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct SignInInput {
    pub server_url: String,
    pub username: String,
    pub password: String,
}

/// The offline badge and last sync time that every screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncBadge {
    /// Whether the last contact with the server succeeded (false in demo mode).
    pub online: bool,
    /// RFC 3339; `None`: never synced.
    pub last_sync_at: Option<String>,
    /// Local changes not yet accepted by the server.
    pub pending_changes: u32,
}

/// Filters of the task list; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
#[ts(optional_fields)]
pub struct TaskQuery {
    /// Matches the unit's name or its 统一社会信用代码 (substring, case-insensitive).
    pub search: Option<String>,
    pub status: Option<StatusFilter>,
    pub plan_id: Option<String>,
    /// Institution category code.
    pub category: Option<String>,
    /// Only 回头看 tasks.
    pub followup_only: Option<bool>,
}

/// One row of the task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TaskSummary {
    pub task_id: String,
    pub plan_id: String,
    pub plan_title: String,
    pub checklist_name: String,
    pub category: String,
    pub category_name: String,
    pub unit_name: String,
    pub credit_code: String,
    pub district: String,
    pub address: String,
    pub status: StatusCode,
    /// 待检查 / 检查中 / 待审核 / 已退回 / 已通过 …
    pub status_label: String,
    /// 国家双随机 / 市级双随机 / 回头看.
    pub draw_label: String,
    /// A 回头看 (follow-up) task.
    pub followup: bool,
    /// `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// Days from today (China Standard Time) to the deadline; negative when overdue.
    pub days_left: Option<i32>,
    pub answered: u32,
    pub total: u32,
}

/// One plan in the list's filter menu, with its categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PlanFacet {
    pub plan_id: String,
    pub title: String,
    pub categories: Vec<CategoryFacet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CategoryFacet {
    pub code: String,
    pub name: String,
}

/// The task list screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TaskList {
    pub tasks: Vec<TaskSummary>,
    /// Tasks on this device before filtering.
    pub total: u32,
    /// Count per status chip, before the status filter (so chips show their numbers).
    pub counts: StatusCounts,
    pub plans: Vec<PlanFacet>,
    pub sync: SyncBadge,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
pub struct StatusCounts {
    pub todo: u32,
    pub in_progress: u32,
    pub awaiting_review: u32,
    pub returned: u32,
    pub approved: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct InspectorView {
    pub user_id: String,
    pub name: String,
    /// 执法证号.
    pub badge_no: String,
}

/// 任务详情.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TaskDetail {
    pub summary: TaskSummary,
    pub checklist_title: String,
    /// The table's 备注, e.g. 检查内容可合理缺项.
    pub checklist_note: Option<String>,
    pub licence_no: String,
    /// 法定代表人/负责人.
    pub legal_representative: String,
    pub phone: String,
    pub inspectors: Vec<InspectorView>,
    /// 亮证 time (RFC 3339), when done.
    pub started_at: Option<String>,
    /// 检查地点.
    pub place: String,
    /// 退回意见 of the last return.
    pub review_comment: Option<String>,
    pub outcome: Option<OutcomeView>,
    /// Content may be changed now (检查中 or 已退回).
    pub editable: bool,
    /// Inspection version (审核 names the version it reviewed).
    pub version: u32,
}

/// 亮证: both inspectors' 执法证号 shown and confirmed; starts the inspection.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ShowCredentialsInput {
    pub task_id: String,
    /// User ids of the inspectors whose credentials were shown.
    pub confirmed: Vec<String>,
    /// 检查地点 (defaults to the unit's address in the UI).
    pub place: String,
}

/// Answered / total applicable check points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct Progress {
    pub answered: u32,
    pub total: u32,
    /// 不符合 answers still without an observation.
    pub missing_observations: u32,
}

/// One check point on the checklist screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PointView {
    pub code: String,
    pub text: String,
    /// False for points outside the unit's category (shown greyed, never asked).
    pub applicable: bool,
    pub verdict: Option<VerdictCode>,
    pub observation: String,
    /// 不符合 without an observation: the red marker until one is typed.
    pub needs_observation: bool,
    pub photo_count: u32,
}

/// A numbered item (检查内容) as in the plan's 附表, with its points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ItemView {
    pub number: String,
    pub title: String,
    pub text: String,
    /// False when no point of the item applies to the unit.
    pub applicable: bool,
    pub points: Vec<PointView>,
}

/// 检查表.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ChecklistView {
    pub task_id: String,
    pub unit_name: String,
    pub name: String,
    pub title: String,
    pub note: Option<String>,
    pub items: Vec<ItemView>,
    pub progress: Progress,
    pub editable: bool,
    pub status: StatusCode,
    pub status_label: String,
}

/// One tap: a verdict for a point.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct AnswerInput {
    pub task_id: String,
    pub point: String,
    pub verdict: VerdictCode,
}

/// The observation (现场检查情况) of a point, saved as it is typed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ObservationInput {
    pub task_id: String,
    pub point: String,
    pub observation: String,
}

/// What a tap changed: the point and the progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PointSaved {
    pub point: PointView,
    pub progress: Progress,
}

/// 处理结果 as entered. The fine is typed in 元 and parsed exactly to fen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct OutcomeInput {
    pub task_id: String,
    pub category: PublicCategoryCode,
    /// 查处案件数 (行政处罚 only).
    pub cases: u32,
    /// 罚没款金额 in 元 as typed ("5000", "5000.50"); empty means 0.
    pub fine_yuan: String,
    pub revoked_licence: bool,
    pub revoked_subjects: bool,
    pub revoked_personnel: bool,
    pub cancelled_filing: bool,
    /// 监督意见.
    pub opinion: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OutcomeView {
    pub category: PublicCategoryCode,
    pub category_label: String,
    pub cases: u32,
    /// Integer fen.
    #[ts(type = "number")]
    pub fine_fen: i64,
    /// e.g. "5000.00".
    pub fine_yuan: String,
    /// e.g. "0.5000".
    pub fine_wan: String,
    pub revoked_licence: bool,
    pub revoked_subjects: bool,
    pub revoked_personnel: bool,
    pub cancelled_filing: bool,
    pub opinion: String,
    pub unreachable_reason: Option<String>,
}

/// An inspection waiting for the team lead (组长审核).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReviewItem {
    pub summary: TaskSummary,
    pub version: u32,
    pub non_compliant: u32,
    pub outcome: Option<OutcomeView>,
    /// RFC 3339.
    pub submitted_at: Option<String>,
}

/// 审核: approve, or return with a comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct ReviewInput {
    pub task_id: String,
    /// The version the lead read (an approval names exactly what it approves).
    pub version: u32,
    pub approve: bool,
    /// 退回意见 (required to return).
    pub comment: String,
}
