//! What the documents say beyond the checklist, edited on the tablet:
//!
//! - the 监督意见 (supervision opinion) of the 卫生监督意见书: drafted from the
//!   findings (each 不符合 point with its observation and the plan's legal basis,
//!   the 改正期限 from the plan's `correction_days`, the usual 改正要求), edited by
//!   the inspector and confirmed ([`App::save_opinion`]). The 意见书 prints exactly
//!   what is stored; one made before any confirmation stores the draft first, so
//!   even then what is printed is what is stored (and synced).
//! - the 现场笔录's 记录人 (one of the inspectors), the party's answer on 回避 and
//!   the 在场人 ([`App::save_record_details`]).
//!
//! Both travel by sync as inspection header changes (`set_opinion`,
//! `set_record_details`), decided on the platform by the same core rules.

use crate::dto::InspectorView;
use crate::error::{AppError, AppResult};
use crate::{App, Session};
use chrono::NaiveDate;
use jiandu_core::inspection::{
    Inspection, Opinion, OpinionProblem, PresentPerson, PublicCategory, RecordDetails, Recusal,
    Task, china_date,
};
use jiandu_docs::record::item_label;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

/// One problem of the 监督意见 as shown for editing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OpinionProblemView {
    /// The check point it was drafted from; `None`: added by the inspector.
    pub point: Option<String>,
    /// The check point as printed in the record ("5.医疗文书管理情况：处方"), or "".
    pub item: String,
    /// The problem as printed.
    pub text: String,
    /// 法律依据; "" when none.
    pub basis: String,
}

/// 监督意见 screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct OpinionView {
    pub task_id: String,
    pub unit_name: String,
    pub problems: Vec<OpinionProblemView>,
    /// 改正期限, `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// 改正要求.
    pub requirements: String,
    /// True: the inspector confirmed this opinion (the 意见书 prints it); false:
    /// the draft from the findings, not saved yet.
    pub confirmed: bool,
    /// The day of the inspection (`YYYY-MM-DD`, China time): the earliest deadline.
    pub inspected_on: Option<String>,
    /// The plan's days to correct (the draft's deadline is this many days after
    /// the inspection's day).
    pub correction_days: u32,
    /// 行政处罚: the 意见书 says the case is handled separately (另案处理).
    pub separate_case: bool,
    /// The 不符合 findings changed since the opinion was confirmed: the draft
    /// would differ (the UI offers 按检查结果重新起草).
    pub findings_changed: bool,
    pub editable: bool,
}

/// The 监督意见 as the inspector confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct OpinionInput {
    pub task_id: String,
    pub problems: Vec<OpinionProblemView>,
    /// 改正期限, `YYYY-MM-DD`; required when there are problems.
    pub deadline: Option<String>,
    pub requirements: String,
}

/// A 在场人 (person present) with their 职务.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresentPersonView {
    pub name: String,
    pub post: String,
}

/// 笔录信息 screen: 记录人, 回避, 在场人.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RecordDetailsView {
    pub task_id: String,
    /// The inspectors on site (the 记录人 is one of them).
    pub inspectors: Vec<InspectorView>,
    /// User id of the 记录人, once chosen.
    pub recorder: Option<String>,
    /// 申请回避 (true) / 不申请 (false); `None`: not answered yet.
    pub recusal_requested: Option<bool>,
    pub recusal_reason: String,
    pub present: Vec<PresentPersonView>,
    pub editable: bool,
}

/// 记录人, 回避 and 在场人 as entered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, TS)]
pub struct RecordDetailsInput {
    pub task_id: String,
    /// User id of one of the task's inspectors.
    pub recorder: String,
    pub recusal_requested: bool,
    pub recusal_reason: String,
    pub present: Vec<PresentPersonView>,
}

fn parse_date(text: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::new("opinion_invalid", format!("改正期限“{text}”不是有效日期")))
}

impl App {
    /// The 监督意见 draft of an inspection (what the 意见书 prints until one is
    /// confirmed).
    fn draft_of(&self, s: &Session, task: &Task, insp: &Inspection) -> AppResult<Opinion> {
        let plans = self.plans(s);
        let (plan, checklist) = Self::lookup(&plans, task)?;
        Ok(Opinion::draft(checklist, insp, plan.correction_days()))
    }

    fn opinion_view(
        &self,
        s: &Session,
        task: &Task,
        insp: &Inspection,
        opinion: &Opinion,
        confirmed: bool,
    ) -> AppResult<OpinionView> {
        let plans = self.plans(s);
        let (plan, checklist) = Self::lookup(&plans, task)?;
        let draft = Opinion::draft(checklist, insp, plan.correction_days());
        let points = |o: &Opinion| -> Vec<Option<String>> {
            o.problems.iter().map(|p| p.point.clone()).collect()
        };
        let drafted: Vec<Option<String>> = points(opinion)
            .into_iter()
            .filter(|p| p.is_some())
            .collect();
        Ok(OpinionView {
            task_id: task.id.to_string(),
            unit_name: task.institution.name.clone(),
            problems: opinion
                .problems
                .iter()
                .map(|p| OpinionProblemView {
                    point: p.point.clone(),
                    item: p
                        .point
                        .as_deref()
                        .map(|c| item_label(checklist, c))
                        .unwrap_or_default(),
                    text: p.text.clone(),
                    basis: p.basis.clone(),
                })
                .collect(),
            deadline: opinion.deadline.map(|d| d.format("%Y-%m-%d").to_string()),
            requirements: opinion.requirements.clone(),
            confirmed,
            inspected_on: insp
                .started_at
                .map(|t| china_date(t).format("%Y-%m-%d").to_string()),
            correction_days: plan.correction_days(),
            separate_case: insp
                .outcome
                .as_ref()
                .is_some_and(|o| o.category == PublicCategory::Penalised),
            findings_changed: confirmed && drafted != points(&draft),
            editable: insp.status.is_editable(),
        })
    }

    /// 监督意见 screen: the confirmed opinion, else the draft from the findings.
    pub fn opinion(&self, task_id: &str) -> AppResult<OpinionView> {
        let s = self.session()?;
        let (task, insp) = s.editable(task_id)?;
        match &insp.opinion {
            Some(o) => self.opinion_view(&s, &task, &insp, o, true),
            None => {
                let draft = self.draft_of(&s, &task, &insp)?;
                self.opinion_view(&s, &task, &insp, &draft, false)
            }
        }
    }

    /// A fresh draft from the findings as they are now (按检查结果重新起草), not
    /// saved: the inspector edits and confirms it.
    pub fn opinion_draft(&self, task_id: &str) -> AppResult<OpinionView> {
        let s = self.session()?;
        let (task, insp) = s.editable(task_id)?;
        let draft = self.draft_of(&s, &task, &insp)?;
        let mut view = self.opinion_view(&s, &task, &insp, &draft, false)?;
        view.confirmed = false;
        Ok(view)
    }

    /// Confirms the 监督意见 as edited: the 意见书 prints it from now on.
    pub fn save_opinion(&self, input: OpinionInput) -> AppResult<OpinionView> {
        let s = self.session()?;
        let (_, insp) = s.editable(&input.task_id)?;
        let deadline = match input.deadline.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(parse_date(d)?),
        };
        let opinion = Opinion {
            problems: input
                .problems
                .into_iter()
                .map(|p| OpinionProblem {
                    point: p.point.filter(|c| !c.trim().is_empty()),
                    text: p.text.trim().to_owned(),
                    basis: p.basis.trim().to_owned(),
                })
                .collect(),
            deadline,
            requirements: input.requirements.trim().to_owned(),
        };
        let actor = s.actor()?;
        let now = self.clock.now();
        s.store().set_opinion(insp.id, &opinion, &actor, now)?;
        let (task, insp) = s.editable(&input.task_id)?;
        self.opinion_view(&s, &task, &insp, &opinion, true)
    }

    /// Before a 意见书 is printed with no confirmed opinion: stores the draft, so
    /// that what is printed is what is stored and synced. Nothing is stored once
    /// the inspection cannot change any more (the draft is printed as it is).
    pub(crate) fn confirm_draft_for_print(&self, s: &Session, task: &Task, insp: &Inspection) {
        if insp.opinion.is_some() || !insp.status.is_editable() {
            return;
        }
        let stored = self.draft_of(s, task, insp).and_then(|draft| {
            let actor = s.actor()?;
            s.store()
                .set_opinion(insp.id, &draft, &actor, self.clock.now())
                .map_err(AppError::from)
        });
        if let Err(e) = stored {
            tracing::warn!(inspection = %insp.id, error = %e.message, "draft opinion not stored");
        }
    }

    /// 笔录信息 screen.
    pub fn record_details(&self, task_id: &str) -> AppResult<RecordDetailsView> {
        let s = self.session()?;
        let (task, insp) = s.editable(task_id)?;
        Ok(record_view(&task, &insp))
    }

    /// Saves 记录人, 回避 and 在场人 (checked: the recorder is one of the task's
    /// inspectors, a 回避 request has a reason, each 在场人 has name and post).
    pub fn save_record_details(&self, input: RecordDetailsInput) -> AppResult<RecordDetailsView> {
        let s = self.session()?;
        let (_, insp) = s.editable(&input.task_id)?;
        let recorder = Uuid::parse_str(input.recorder.trim())
            .map_err(|_| AppError::new("record_invalid", "请选择记录人"))?;
        let details = RecordDetails {
            recorder,
            recusal: Recusal {
                requested: input.recusal_requested,
                reason: input.recusal_reason.trim().to_owned(),
            },
            present: input
                .present
                .into_iter()
                .map(|p| PresentPerson {
                    name: p.name.trim().to_owned(),
                    post: p.post.trim().to_owned(),
                })
                .collect(),
        };
        let actor = s.actor()?;
        let now = self.clock.now();
        s.store()
            .set_record_details(insp.id, &details, &actor, now)?;
        let (task, insp) = s.editable(&input.task_id)?;
        Ok(record_view(&task, &insp))
    }
}

fn record_view(task: &Task, insp: &Inspection) -> RecordDetailsView {
    let d = insp.record_details.as_ref();
    RecordDetailsView {
        task_id: task.id.to_string(),
        inspectors: task
            .inspectors
            .iter()
            .map(|i| InspectorView {
                user_id: i.user_id.to_string(),
                name: i.name.clone(),
                badge_no: i.badge_no.clone(),
            })
            .collect(),
        recorder: d.map(|d| d.recorder.to_string()),
        recusal_requested: d.map(|d| d.recusal.requested),
        recusal_reason: d.map(|d| d.recusal.reason.clone()).unwrap_or_default(),
        present: d
            .map(|d| {
                d.present
                    .iter()
                    .map(|p| PresentPersonView {
                        name: p.name.clone(),
                        post: p.post.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        editable: insp.status.is_editable(),
    }
}
