//! Tasks, inspections, findings, outcomes, signatures and the review state machine.
//!
//! The rules every side must apply identically live here:
//! - an inspection is edited only while 检查中 (in progress) or 已退回 (returned);
//! - it cannot be submitted while an applicable check point is unanswered, while a
//!   不符合 (non-compliant) finding lacks an observation, or without a consistent
//!   outcome (行政处罚 needs its penalty figures);
//! - only a team lead approves or returns, never an inspector (not even their own
//!   work), and an approval names the exact version it reviewed;
//! - once approved (已通过) nothing changes any more.
//!
//! Every transition takes the acting person and the time as arguments: no clock here.

use crate::category::CategoryCode;
use crate::money::Fen;
use crate::plan::Checklist;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// Who acts, with which role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 监督员 / 执法人员 (inspector, holds a 执法证).
    Inspector,
    /// 组长 / 科室负责人 (team lead, reviews).
    TeamLead,
    /// 管理员.
    Admin,
}

impl Role {
    /// The wire and storage name (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::TeamLead => "team_lead",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Inspector, Role::TeamLead, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// 检查人员 / 组长 / 管理员.
    pub fn label(self) -> &'static str {
        match self {
            Role::Inspector => "检查人员",
            Role::TeamLead => "组长",
            Role::Admin => "管理员",
        }
    }
}

/// How a task came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DrawKind {
    /// 国家双随机.
    National,
    /// 市级双随机.
    City,
    /// 回头看: follow-up of a unit penalised in an earlier campaign.
    FollowUp,
}

/// The inspected unit as the task carries it (a snapshot of the registry entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Institution {
    pub id: Uuid,
    pub name: String,
    /// 统一社会信用代码 (unified social credit code, GB 32100); for a unit without one
    /// (an unlicensed place or a person on the 回头看名单) its masked identity
    /// `名称|地址|证件号` (see [`crate::draw::masked_identity`]; printed through
    /// [`crate::draw::credit_code_label`]).
    pub credit_code: String,
    /// 执业许可证登记号 (practice licence registration number).
    pub licence_no: String,
    pub category: CategoryCode,
    pub district: String,
    pub address: String,
    /// 法定代表人/负责人.
    pub legal_representative: String,
    pub phone: String,
}

/// An inspector assigned to a task, with their 执法证号 (law-enforcement badge number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignedInspector {
    pub user_id: Uuid,
    pub name: String,
    pub badge_no: String,
}

/// A drawn inspection task (抽查任务).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: Uuid,
    pub plan_id: String,
    /// The plan version the task was drawn with: its checklist, documents and
    /// 汇总表 use that version, whatever is published later.
    #[serde(default = "first_version")]
    pub plan_version: u32,
    /// Code of the checklist (工作计划表) the inspection follows.
    pub checklist: String,
    pub draw_kind: DrawKind,
    /// Campaign code when `draw_kind` is [`DrawKind::FollowUp`].
    pub followup: Option<String>,
    pub institution: Institution,
    pub inspectors: Vec<AssignedInspector>,
    pub deadline: Option<NaiveDate>,
}

fn first_version() -> u32 {
    1
}

/// State of an inspection. Chinese labels are what the task list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InspectionStatus {
    /// 待检查.
    Assigned,
    /// 检查中.
    InProgress,
    /// 待审核 (first submission).
    Submitted,
    /// 无法联系: recorded on site (e.g. the unit had closed), awaiting review.
    Unreachable,
    /// 已退回: returned with comments; editable again.
    Returned,
    /// 待审核（再次提交）.
    Resubmitted,
    /// 已通过: locked for good.
    Approved,
}

impl InspectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Assigned => "待检查",
            Self::InProgress => "检查中",
            Self::Submitted => "待审核",
            Self::Unreachable => "无法联系（待审核）",
            Self::Returned => "已退回",
            Self::Resubmitted => "再次提交（待审核）",
            Self::Approved => "已通过",
        }
    }

    /// Content (findings, photos, outcome, signatures) may change.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::InProgress | Self::Returned)
    }

    /// Waiting for a team lead.
    pub fn awaits_review(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::Resubmitted | Self::Unreachable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::Unreachable => "unreachable",
            Self::Returned => "returned",
            Self::Resubmitted => "resubmitted",
            Self::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Assigned,
            Self::InProgress,
            Self::Submitted,
            Self::Unreachable,
            Self::Returned,
            Self::Resubmitted,
            Self::Approved,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// The answer to one check point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 符合.
    Compliant,
    /// 不符合.
    NonCompliant,
    /// 合理缺项: does not apply to this unit (not the same as compliant).
    NotApplicable,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Self::Compliant => "符合",
            Self::NonCompliant => "不符合",
            Self::NotApplicable => "合理缺项",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compliant => "compliant",
            Self::NonCompliant => "non_compliant",
            Self::NotApplicable => "not_applicable",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Compliant, Self::NonCompliant, Self::NotApplicable]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A finding (检查结果): the answer to one check point, with what was observed and
/// the photos that prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    pub id: Uuid,
    pub inspection_id: Uuid,
    pub point: String,
    pub verdict: Verdict,
    /// Facts observed (现场检查情况); required for 不符合 at submission.
    pub observation: String,
    /// Photos (evidence) attached to this finding, by id.
    pub photo_ids: Vec<Uuid>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// The four public result categories (抽查结果, seed 003 工作要求（一）).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PublicCategory {
    /// 抽查未发现问题.
    NoProblem,
    /// 发现问题已责令改正.
    Corrected,
    /// 行政处罚.
    Penalised,
    /// 无法联系（检查时单位已关闭等情形）.
    Unreachable,
}

impl PublicCategory {
    pub fn label(self) -> &'static str {
        match self {
            Self::NoProblem => "抽查未发现问题",
            Self::Corrected => "发现问题已责令改正",
            Self::Penalised => "行政处罚",
            Self::Unreachable => "无法联系",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoProblem => "no_problem",
            Self::Corrected => "corrected",
            Self::Penalised => "penalised",
            Self::Unreachable => "unreachable",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::NoProblem,
            Self::Corrected,
            Self::Penalised,
            Self::Unreachable,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// Penalty figures (行政处罚情况) of one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Penalty {
    /// 查处案件数.
    pub cases: u32,
    /// 罚没款金额, in fen.
    pub fine: Fen,
    /// 吊销《医疗机构执业许可证》.
    pub revoked_licence: bool,
    /// 吊销诊疗科目.
    pub revoked_subjects: bool,
    /// 吊销人员（医师）资格证.
    pub revoked_personnel: bool,
    /// 注销或者撤销备案证.
    pub cancelled_filing: bool,
}

/// The outcome (处理结果) of an inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    pub category: PublicCategory,
    /// Present exactly when `category` is 行政处罚.
    pub penalty: Option<Penalty>,
    /// 监督意见 (the opinion written into the 卫生监督意见书), if one is issued.
    pub opinion: Option<String>,
    /// Why the unit could not be contacted (for 无法联系).
    pub unreachable_reason: Option<String>,
}

/// One problem of the 监督意见 (supervision opinion): a 不符合 check point as drafted
/// from its finding, or one the inspector added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpinionProblem {
    /// The check point it was drafted from; `None` for a problem the inspector added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<String>,
    /// The problem as printed (drafted from the point and its observation).
    pub text: String,
    /// 法律依据 (legal basis) it breaks, e.g. 《处方管理办法》第三十七条; empty: none
    /// given (drafted from the plan's check point when the plan names one).
    #[serde(default)]
    pub basis: String,
}

/// The 监督意见 of the 卫生监督意见书 as the inspector confirmed it: what is printed
/// is exactly this. Problems are printed numbered 一、二、三…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Opinion {
    #[serde(default)]
    pub problems: Vec<OpinionProblem>,
    /// 改正期限 (correction deadline); required when there are problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<NaiveDate>,
    /// 改正要求 (what must be done); required when there are problems.
    #[serde(default)]
    pub requirements: String,
}

/// Most problems one opinion carries.
pub const MAX_OPINION_PROBLEMS: usize = 100;

/// Longest legal basis, requirement text or name accepted (characters).
pub const MAX_SHORT_TEXT_CHARS: usize = 2_000;

/// The requirements a draft opinion proposes (the inspector edits them).
pub const DRAFT_REQUIREMENTS: &str =
    "对上述问题立即整改，并于改正期限届满前将整改情况书面报告我机关。";

/// The day in China (UTC+8) of an instant: the date printed on the documents.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    (t + chrono::Duration::hours(8)).date_naive()
}

impl Opinion {
    /// The draft of an inspection's opinion: each 不符合 finding, in checklist order,
    /// with its observation and the plan's legal basis for the point; the deadline
    /// `correction_days` after the inspection's day; the usual requirements. With
    /// no 不符合 finding: no problem, no deadline, no requirements.
    pub fn draft(checklist: &Checklist, inspection: &Inspection, correction_days: u32) -> Opinion {
        let mut problems = Vec::new();
        for item in &checklist.items {
            for p in &item.points {
                let Some(f) = inspection
                    .findings
                    .iter()
                    .find(|f| f.point == p.code && f.verdict == Verdict::NonCompliant)
                else {
                    continue;
                };
                let label = if p.text == item.title {
                    item.title.clone()
                } else {
                    format!("{}（{}）", item.title, p.text)
                };
                let observation = f.observation.trim().trim_end_matches(['。', '；', ';']);
                let text = if observation.is_empty() {
                    format!("{label}不符合要求")
                } else {
                    format!("{label}：{observation}")
                };
                problems.push(OpinionProblem {
                    point: Some(p.code.clone()),
                    text,
                    basis: p.basis.clone().unwrap_or_default(),
                });
            }
        }
        if problems.is_empty() {
            return Opinion {
                problems,
                deadline: None,
                requirements: String::new(),
            };
        }
        let deadline = inspection
            .started_at
            .map(|t| china_date(t) + chrono::Duration::days(i64::from(correction_days)));
        Opinion {
            problems,
            deadline,
            requirements: DRAFT_REQUIREMENTS.to_owned(),
        }
    }
}

/// Checks an opinion: each problem described, a deadline not before the day of
/// the inspection and requirements when there are problems, sizes bounded.
pub fn check_opinion(
    opinion: &Opinion,
    inspected_on: Option<NaiveDate>,
) -> Result<(), RuleViolation> {
    let bad = |m: String| Err(RuleViolation::Opinion(m));
    if opinion.problems.len() > MAX_OPINION_PROBLEMS {
        return bad(format!("监督意见最多 {MAX_OPINION_PROBLEMS} 条问题"));
    }
    for (k, p) in opinion.problems.iter().enumerate() {
        let n = k + 1;
        if p.text.trim().is_empty() {
            return bad(format!("第 {n} 条问题的内容不能为空"));
        }
        if p.text.chars().count() > MAX_OBSERVATION_CHARS {
            return bad(format!("第 {n} 条问题的内容过长"));
        }
        if p.basis.chars().count() > MAX_SHORT_TEXT_CHARS {
            return bad(format!("第 {n} 条问题的法律依据过长"));
        }
    }
    if opinion.requirements.chars().count() > MAX_OBSERVATION_CHARS {
        return bad("改正要求过长".into());
    }
    if opinion.problems.is_empty() {
        return Ok(());
    }
    let Some(deadline) = opinion.deadline else {
        return bad("请选择改正期限".into());
    };
    if let Some(day) = inspected_on
        && deadline < day
    {
        return bad(format!(
            "改正期限（{}）不能早于检查日期（{}）",
            deadline.format("%Y-%m-%d"),
            day.format("%Y-%m-%d")
        ));
    }
    if opinion.requirements.trim().is_empty() {
        return bad("请填写改正要求".into());
    }
    Ok(())
}

/// The party's answer on recusal (回避): told of the right to ask that an inspector
/// step aside (《行政处罚法》第43条), it asks (申请) or not (不申请).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recusal {
    /// 申请回避.
    pub requested: bool,
    /// The party's reason, as said; required when it asks.
    #[serde(default)]
    pub reason: String,
}

/// A person present (在场人) for the inspected party, with their post (职务).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentPerson {
    pub name: String,
    /// 职务, e.g. 院长, 药房负责人.
    pub post: String,
}

/// What the 现场笔录 records beside the findings: the 记录人 (recorder), the
/// party's answer on 回避 and the 在场人.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordDetails {
    /// 记录人: one of the task's inspectors, by user id.
    pub recorder: Uuid,
    pub recusal: Recusal,
    #[serde(default)]
    pub present: Vec<PresentPerson>,
}

/// Most 在场人 one record names.
pub const MAX_PRESENT: usize = 20;

/// Checks the record's details against the task's inspectors.
pub fn check_record_details(d: &RecordDetails, inspectors: &[Uuid]) -> Result<(), RuleViolation> {
    let bad = |m: String| Err(RuleViolation::Record(m));
    if !inspectors.contains(&d.recorder) {
        return bad("记录人须是本任务的执法人员之一".into());
    }
    let reason = d.recusal.reason.trim();
    if d.recusal.requested && reason.is_empty() {
        return bad("当事人申请回避时，请填写申请理由".into());
    }
    if reason.chars().count() > MAX_SHORT_TEXT_CHARS {
        return bad("回避理由过长".into());
    }
    if d.present.len() > MAX_PRESENT {
        return bad(format!("在场人最多 {MAX_PRESENT} 位"));
    }
    for (k, p) in d.present.iter().enumerate() {
        let n = k + 1;
        if p.name.trim().is_empty() {
            return bad(format!("第 {n} 位在场人的姓名不能为空"));
        }
        if p.post.trim().is_empty() {
            return bad(format!("第 {n} 位在场人的职务不能为空"));
        }
        if p.name.chars().count() > 100 || p.post.chars().count() > 100 {
            return bad(format!("第 {n} 位在场人的姓名或职务过长"));
        }
    }
    Ok(())
}

/// Who signs a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignatureRole {
    /// 执法人员.
    Inspector,
    /// 被检查人 / 当事人 (the inspected party).
    Party,
    /// 见证人 (witness, when the party refuses to sign).
    Witness,
}

impl SignatureRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inspector => "inspector",
            Self::Party => "party",
            Self::Witness => "witness",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Inspector, Self::Party, Self::Witness]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A handwritten signature captured on screen, or a recorded refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    pub id: Uuid,
    pub inspection_id: Uuid,
    pub role: SignatureRole,
    pub signer_name: String,
    /// SHA-256 of the PNG stroke image; `None` when the party refused.
    pub image_sha256: Option<String>,
    /// 当事人拒绝签字: the refusal and its reason (《行政强制法》第18条).
    pub refusal_reason: Option<String>,
    pub signed_at: DateTime<Utc>,
}

/// Why a rule refused an action. `code()` is stable for machines; `Display` is the
/// Chinese sentence a person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("该检查已审核通过，不能再修改")]
    Locked,
    #[error("当前状态为“{}”，不能{action}", status.label())]
    WrongState {
        status: InspectionStatus,
        action: &'static str,
    },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("还有 {} 个检查要点未作答：{}", .0.len(), .0.join("、"))]
    Unanswered(Vec<String>),
    #[error("以下“不符合”项缺少现场检查情况描述：{}", .0.join("、"))]
    ObservationMissing(Vec<String>),
    #[error("检查要点“{0}”不属于本检查表，或不适用于该单位类别")]
    UnknownPoint(String),
    #[error("请先选择处理结果（四类公开结果之一）")]
    OutcomeMissing,
    #[error("{0}")]
    OutcomeInconsistent(&'static str),
    #[error("审核的版本（{reviewed}）不是最新版本（{current}），请刷新后重新审核")]
    StaleVersion { reviewed: u64, current: u64 },
    #[error("{0}不能为空")]
    Empty(&'static str),
    #[error("{0}")]
    TooLong(String),
    /// A 文号 once issued stays the document's number.
    #[error("该检查的意见书已使用文号“{0}”，文号一经使用不能更改")]
    NumberIssued(String),
    /// The 监督意见 as edited is incomplete or inconsistent.
    #[error("{0}")]
    Opinion(String),
    /// The 现场笔录's details (记录人, 回避, 在场人) are incomplete.
    #[error("{0}")]
    Record(String),
}

impl RuleViolation {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::WrongState { .. } => "wrong_state",
            Self::Forbidden(_) => "forbidden",
            Self::Unanswered(_) => "unanswered",
            Self::ObservationMissing(_) => "observation_missing",
            Self::UnknownPoint(_) => "unknown_point",
            Self::OutcomeMissing => "outcome_missing",
            Self::OutcomeInconsistent(_) => "outcome_inconsistent",
            Self::StaleVersion { .. } => "stale",
            Self::Empty(_) => "empty",
            Self::TooLong(_) => "too_long",
            Self::NumberIssued(_) => "number_issued",
            Self::Opinion(_) => "opinion_invalid",
            Self::Record(_) => "record_invalid",
        }
    }
}

/// Longest observation accepted (characters). Generous: a 20,000-character
/// observation must go through; a runaway paste of megabytes must not.
pub const MAX_OBSERVATION_CHARS: usize = 200_000;

/// Checks an edit of content is allowed in `status`.
pub fn check_editable(status: InspectionStatus) -> Result<(), RuleViolation> {
    match status {
        InspectionStatus::Approved => Err(RuleViolation::Locked),
        s if s.is_editable() => Ok(()),
        s => Err(RuleViolation::WrongState {
            status: s,
            action: "修改检查内容",
        }),
    }
}

/// Checks an observation's size (not its presence: a 不符合 tap is saved at once and
/// its observation typed afterwards; presence is checked at submission).
pub fn check_observation(text: &str) -> Result<(), RuleViolation> {
    let n = text.chars().count();
    if n > MAX_OBSERVATION_CHARS {
        return Err(RuleViolation::TooLong(format!(
            "现场检查情况过长（{n} 字），最多 {MAX_OBSERVATION_CHARS} 字"
        )));
    }
    Ok(())
}

/// Checks an outcome on its own and against the findings.
pub fn check_outcome(outcome: &Outcome, any_non_compliant: bool) -> Result<(), RuleViolation> {
    use PublicCategory::*;
    let bad = |m| Err(RuleViolation::OutcomeInconsistent(m));
    match (outcome.category, &outcome.penalty) {
        (Penalised, None) => return bad("选择“行政处罚”时必须填写查处案件数和罚没款金额"),
        (Penalised, Some(p)) => {
            if p.cases == 0 {
                return bad("选择“行政处罚”时查处案件数至少为 1");
            }
            if p.fine.0 < 0 {
                return bad("罚没款金额不能为负数");
            }
        }
        (_, Some(_)) => return bad("只有“行政处罚”才能填写处罚情况"),
        _ => {}
    }
    match outcome.category {
        NoProblem if any_non_compliant => bad("存在“不符合”项，处理结果不能为“抽查未发现问题”"),
        Corrected | Penalised if !any_non_compliant => {
            bad("没有“不符合”项，处理结果不能为“发现问题已责令改正”或“行政处罚”")
        }
        Unreachable
            if outcome
                .unreachable_reason
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .is_empty() =>
        {
            bad("“无法联系”需要注明原因（例如检查时单位已关闭）")
        }
        _ => Ok(()),
    }
}

/// An inspection (现场检查) with everything recorded on site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inspection {
    pub id: Uuid,
    pub task_id: Uuid,
    pub status: InspectionStatus,
    /// Bumped by every accepted change; an approval names the version it reviewed.
    pub version: u64,
    /// 亮证: when credentials were shown (the inspection's start).
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// 检查地点.
    pub place: String,
    pub findings: Vec<Finding>,
    pub outcome: Option<Outcome>,
    /// Comments of the last return (退回意见).
    pub review_comment: Option<String>,
    pub reviewed_by: Option<Uuid>,
    /// The 卫生监督意见书's 文号 as printed on site (taken from the device's leased
    /// block when the document was first made), so the platform's archive copy
    /// carries the same number. Issued once: never changed afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opinion_number: Option<String>,
    /// The 监督意见 as the inspector confirmed it (drafted from the findings and
    /// edited); the 意见书 prints exactly this. `None`: not confirmed yet (the
    /// documents print the draft, [`Opinion::draft`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opinion: Option<Opinion>,
    /// 记录人, 回避 and 在场人 of the 现场笔录, once entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_details: Option<RecordDetails>,
}

impl Inspection {
    pub fn new(id: Uuid, task_id: Uuid) -> Self {
        Self {
            id,
            task_id,
            status: InspectionStatus::Assigned,
            version: 0,
            started_at: None,
            ended_at: None,
            place: String::new(),
            findings: Vec::new(),
            outcome: None,
            review_comment: None,
            reviewed_by: None,
            opinion_number: None,
            opinion: None,
            record_details: None,
        }
    }

    fn bump(&mut self) {
        self.version += 1;
    }

    /// 亮证 done: the inspection starts.
    pub fn start(
        &mut self,
        actor: &Actor,
        place: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RuleViolation> {
        require_inspector(actor)?;
        match self.status {
            InspectionStatus::Approved => return Err(RuleViolation::Locked),
            InspectionStatus::Assigned => {}
            s => {
                return Err(RuleViolation::WrongState {
                    status: s,
                    action: "开始检查",
                });
            }
        }
        if place.trim().is_empty() {
            return Err(RuleViolation::Empty("检查地点"));
        }
        self.status = InspectionStatus::InProgress;
        self.started_at = Some(at);
        self.place = place.trim().to_owned();
        self.bump();
        Ok(())
    }

    /// Records or replaces the answer to a check point.
    pub fn record_finding(
        &mut self,
        checklist: &Checklist,
        category: &CategoryCode,
        finding: Finding,
    ) -> Result<(), RuleViolation> {
        check_editable(self.status)?;
        if !checklist
            .applicable_points(category)
            .any(|(_, p)| p.code == finding.point)
        {
            return Err(RuleViolation::UnknownPoint(finding.point));
        }
        check_observation(&finding.observation)?;
        match self.findings.iter_mut().find(|f| f.point == finding.point) {
            Some(existing) => *existing = finding,
            None => self.findings.push(finding),
        }
        self.bump();
        Ok(())
    }

    pub fn set_outcome(&mut self, outcome: Outcome) -> Result<(), RuleViolation> {
        check_editable(self.status)?;
        self.outcome = Some(outcome);
        self.bump();
        Ok(())
    }

    /// Records the 意见书's 文号 issued on site. Once the inspection has started and
    /// until it is approved; a number is issued once: the same number again changes
    /// nothing, another one is refused.
    pub fn record_opinion_number(&mut self, number: &str) -> Result<(), RuleViolation> {
        let number = number.trim();
        if number.is_empty() {
            return Err(RuleViolation::Empty("意见书文号"));
        }
        match self.status {
            InspectionStatus::Approved => return Err(RuleViolation::Locked),
            InspectionStatus::Assigned => {
                return Err(RuleViolation::WrongState {
                    status: self.status,
                    action: "登记意见书文号",
                });
            }
            _ => {}
        }
        match &self.opinion_number {
            Some(n) if n == number => Ok(()),
            Some(n) => Err(RuleViolation::NumberIssued(n.clone())),
            None => {
                self.opinion_number = Some(number.to_owned());
                self.bump();
                Ok(())
            }
        }
    }

    /// Confirms the 监督意见 (the edited draft) while the inspection is editable.
    pub fn set_opinion(&mut self, opinion: Opinion) -> Result<(), RuleViolation> {
        check_editable(self.status)?;
        check_opinion(&opinion, self.started_at.map(china_date))?;
        self.opinion = Some(opinion);
        self.bump();
        Ok(())
    }

    /// Records the 现场笔录's 记录人, 回避 answer and 在场人 while editable;
    /// `inspectors` are the task's (the recorder must be one of them).
    pub fn set_record_details(
        &mut self,
        details: RecordDetails,
        inspectors: &[Uuid],
    ) -> Result<(), RuleViolation> {
        check_editable(self.status)?;
        check_record_details(&details, inspectors)?;
        self.record_details = Some(details);
        self.bump();
        Ok(())
    }

    pub fn any_non_compliant(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.verdict == Verdict::NonCompliant)
    }

    /// What still blocks submission, as a rule violation; `Ok` when ready.
    pub fn check_ready(
        &self,
        checklist: &Checklist,
        category: &CategoryCode,
    ) -> Result<(), RuleViolation> {
        let answered: HashMap<&str, &Finding> = self
            .findings
            .iter()
            .map(|f| (f.point.as_str(), f))
            .collect();
        let mut missing = Vec::new();
        let mut no_observation = Vec::new();
        for (item, point) in checklist.applicable_points(category) {
            match answered.get(point.code.as_str()) {
                None => missing.push(format!("{}.{}", item.number, point.text)),
                Some(f)
                    if f.verdict == Verdict::NonCompliant && f.observation.trim().is_empty() =>
                {
                    no_observation.push(format!("{}.{}", item.number, point.text))
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            return Err(RuleViolation::Unanswered(missing));
        }
        if !no_observation.is_empty() {
            return Err(RuleViolation::ObservationMissing(no_observation));
        }
        let outcome = self.outcome.as_ref().ok_or(RuleViolation::OutcomeMissing)?;
        if outcome.category == PublicCategory::Unreachable {
            return Err(RuleViolation::OutcomeInconsistent(
                "单位无法联系时请使用“无法联系”操作，而不是提交检查结果",
            ));
        }
        check_outcome(outcome, self.any_non_compliant())
    }

    /// Submits for review (提交审核).
    pub fn submit(
        &mut self,
        actor: &Actor,
        checklist: &Checklist,
        category: &CategoryCode,
        at: DateTime<Utc>,
    ) -> Result<(), RuleViolation> {
        require_inspector(actor)?;
        check_editable(self.status)?;
        self.check_ready(checklist, category)?;
        self.status = match self.status {
            InspectionStatus::Returned => InspectionStatus::Resubmitted,
            _ => InspectionStatus::Submitted,
        };
        self.ended_at = Some(at);
        self.bump();
        Ok(())
    }

    /// 无法联系: the unit could not be inspected (closed, moved, …); goes to review.
    pub fn mark_unreachable(
        &mut self,
        actor: &Actor,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RuleViolation> {
        require_inspector(actor)?;
        match self.status {
            InspectionStatus::Approved => return Err(RuleViolation::Locked),
            InspectionStatus::Assigned
            | InspectionStatus::InProgress
            | InspectionStatus::Returned => {}
            s => {
                return Err(RuleViolation::WrongState {
                    status: s,
                    action: "登记无法联系",
                });
            }
        }
        if reason.trim().is_empty() {
            return Err(RuleViolation::Empty("无法联系的原因"));
        }
        self.outcome = Some(Outcome {
            category: PublicCategory::Unreachable,
            penalty: None,
            opinion: None,
            unreachable_reason: Some(reason.trim().to_owned()),
        });
        self.status = InspectionStatus::Unreachable;
        self.ended_at = Some(at);
        self.bump();
        Ok(())
    }

    /// Approval (审核通过) of exactly `reviewed_version`; locks the inspection.
    pub fn approve(&mut self, actor: &Actor, reviewed_version: u64) -> Result<(), RuleViolation> {
        self.check_review(actor, reviewed_version, "审核通过")?;
        self.status = InspectionStatus::Approved;
        self.reviewed_by = Some(actor.user_id);
        self.bump();
        Ok(())
    }

    /// Return with comments (退回); the inspector may edit and resubmit.
    pub fn return_with_comments(
        &mut self,
        actor: &Actor,
        reviewed_version: u64,
        comment: &str,
    ) -> Result<(), RuleViolation> {
        self.check_review(actor, reviewed_version, "退回")?;
        if comment.trim().is_empty() {
            return Err(RuleViolation::Empty("退回意见"));
        }
        self.status = InspectionStatus::Returned;
        self.review_comment = Some(comment.trim().to_owned());
        self.reviewed_by = Some(actor.user_id);
        self.bump();
        Ok(())
    }

    fn check_review(
        &self,
        actor: &Actor,
        reviewed_version: u64,
        action: &'static str,
    ) -> Result<(), RuleViolation> {
        if actor.role != Role::TeamLead {
            return Err(RuleViolation::Forbidden(
                "只有组长可以审核，检查人员不能审核（包括自己的检查）",
            ));
        }
        match self.status {
            InspectionStatus::Approved => return Err(RuleViolation::Locked),
            s if s.awaits_review() => {}
            s => return Err(RuleViolation::WrongState { status: s, action }),
        }
        if reviewed_version != self.version {
            return Err(RuleViolation::StaleVersion {
                reviewed: reviewed_version,
                current: self.version,
            });
        }
        Ok(())
    }
}

fn require_inspector(actor: &Actor) -> Result<(), RuleViolation> {
    if actor.role != Role::Inspector {
        return Err(RuleViolation::Forbidden("只有检查人员可以录入检查内容"));
    }
    Ok(())
}
