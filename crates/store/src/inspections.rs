//! Inspections (现场检查): findings, outcome and the transitions an inspector makes
//! on the device (start, submit, mark unreachable), plus review decisions arriving
//! from the server.
//!
//! Each write loads the inspection as a jiandu-core [`Inspection`] inside its
//! transaction, applies the core method (which enforces the rules: editable state,
//! known check point, observation size, readiness to submit), then writes the rows,
//! one outbox entry per change and one audit entry per change, and commits. A rule
//! violation returns before anything is written.

use crate::codec::{json, parse_opt_ts, parse_opt_uuid, parse_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::log::Change;
use crate::tasks::read_task;
use crate::{Saved, Store};
use chrono::{DateTime, Utc};
use jiandu_core::inspection::{
    DrawKind, Opinion, RecordDetails, Task, check_editable, check_outcome,
};
use jiandu_core::plan::Checklist;
use jiandu_core::templates::TemplateSet;
use jiandu_core::{
    Actor, Fen, Finding, Inspection, InspectionStatus, Outcome, Penalty, PublicCategory, Role,
    RuleViolation, Verdict,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// The answer to one check point, as the inspector gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// Check point code from the plan, e.g. `med.5.1`.
    pub point: &'a str,
    pub verdict: Verdict,
    /// 现场检查情况 (may be empty while typing; required for 不符合 at submission).
    pub observation: &'a str,
}

/// A review decision made on the server (审核通过 / 退回), applied by sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// [`InspectionStatus::Approved`] or [`InspectionStatus::Returned`].
    pub status: InspectionStatus,
    /// The inspection's version on the server after the decision.
    pub version: u64,
    /// 退回意见 (for a return).
    pub comment: Option<String>,
    pub reviewed_by: Uuid,
}

impl Store {
    /// The inspection of a task on this device, if one exists.
    pub fn inspection_for_task(&self, task_id: Uuid) -> Result<Option<Uuid>> {
        inspection_id_for_task(&self.conn, task_id)
    }

    /// Loads an inspection with its findings (each with its non-voided photo ids).
    pub fn load_inspection(&self, id: Uuid) -> Result<Inspection> {
        // One read transaction: header, findings and photos from the same snapshot,
        // even if another connection writes in between.
        let snapshot = self.conn.unchecked_transaction()?;
        let insp = read_inspection(&snapshot, id)?;
        snapshot.finish()?;
        insp.ok_or_else(|| StoreError::not_found("检查", id))
    }

    /// 亮证 done: starts the inspection of `task_id` at `place`. Creates the
    /// inspection (a new id) if the task has none yet.
    pub fn start_inspection(
        &mut self,
        task_id: Uuid,
        place: &str,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        self.write(Some(actor), at, |c| {
            let task = read_task(c.tx, task_id)?
                .ok_or_else(|| StoreError::not_found("检查任务", task_id))?;
            check_assigned(&task, actor)?;
            let (mut insp, before) = match inspection_id_for_task(c.tx, task_id)? {
                Some(id) => {
                    let insp = read_inspection(c.tx, id)?
                        .ok_or_else(|| StoreError::not_found("检查", id))?;
                    let before = header_json(&insp)?;
                    (insp, Some(before))
                }
                None => (Inspection::new(c.new_id(), task_id), None),
            };
            let base = insp.version;
            insp.start(actor, place, at)?;
            transition(c, &insp, "start", base, before)
        })
    }

    /// Records the answer to one check point (a new answer to the same point
    /// replaces the earlier one, keeping the finding's id and photos).
    pub fn record_finding(
        &mut self,
        templates: &TemplateSet,
        inspection_id: Uuid,
        answer: Answer<'_>,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        let mut saved = self.record_findings(templates, inspection_id, &[answer], actor, at)?;
        saved
            .pop()
            .ok_or_else(|| StoreError::Data("没有保存任何检查结果".into()))
    }

    /// Records several answers in one transaction (e.g. "其余各项均符合"): all or
    /// none. Each answer gets its own outbox and audit entry.
    pub fn record_findings(
        &mut self,
        templates: &TemplateSet,
        inspection_id: Uuid,
        answers: &[Answer<'_>],
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Vec<Saved>> {
        self.write(Some(actor), at, |c| {
            let (task, mut insp) = load_for_edit(c.tx, inspection_id, actor)?;
            check_editable(insp.status)?;
            let checklist = resolve_checklist(templates, &task)?;
            let category = &task.institution.category;
            let mut out = Vec::with_capacity(answers.len());
            for a in answers {
                let before = insp.findings.iter().find(|f| f.point == a.point).cloned();
                let finding = Finding {
                    id: match &before {
                        Some(f) => f.id,
                        None => c.new_id(),
                    },
                    inspection_id,
                    point: a.point.to_owned(),
                    verdict: a.verdict,
                    observation: a.observation.to_owned(),
                    photo_ids: before
                        .as_ref()
                        .map(|f| f.photo_ids.clone())
                        .unwrap_or_default(),
                    recorded_by: actor.user_id,
                    recorded_at: at,
                };
                let base = insp.version;
                insp.record_finding(checklist, category, finding.clone())?;
                c.tx.prepare_cached(
                    "INSERT INTO findings (id, inspection_id, point, verdict, observation,
                                           recorded_by, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (inspection_id, point) DO UPDATE SET
                        verdict = excluded.verdict, observation = excluded.observation,
                        recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                )?
                .execute(params![
                    finding.id.to_string(),
                    inspection_id.to_string(),
                    finding.point,
                    finding.verdict.as_str(),
                    finding.observation,
                    actor.user_id.to_string(),
                    ts(at),
                ])?;
                let seq = c.outbox(
                    "finding",
                    finding.id,
                    inspection_id,
                    "upsert",
                    Some(base),
                    &finding,
                )?;
                let action = if before.is_some() { "update" } else { "create" };
                let before = before.as_ref().map(json).transpose()?;
                c.audit("finding", finding.id, action, before, Some(json(&finding)?))?;
                out.push(Saved {
                    id: finding.id,
                    inspection_id,
                    device_seq: seq,
                    version: insp.version,
                });
            }
            write_header(c, &insp)?;
            Ok(out)
        })
    }

    /// Sets the outcome (处理结果). Checked on its own here (penalty figures present
    /// exactly for 行政处罚, no negative fine); checked against the findings at
    /// submission, since findings may still change. 无法联系 has its own action.
    pub fn set_outcome(
        &mut self,
        inspection_id: Uuid,
        outcome: &Outcome,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        self.write(Some(actor), at, |c| {
            let (_task, mut insp) = load_for_edit(c.tx, inspection_id, actor)?;
            check_editable(insp.status)?;
            if outcome.category == PublicCategory::Unreachable {
                return Err(RuleViolation::OutcomeInconsistent(
                    "单位无法联系时请使用“无法联系”操作，而不是选择处理结果",
                )
                .into());
            }
            // Self-consistency only: pretend the findings agree with the category.
            let as_if_non_compliant = matches!(
                outcome.category,
                PublicCategory::Corrected | PublicCategory::Penalised
            );
            check_outcome(outcome, as_if_non_compliant)?;
            let before = header_json(&insp)?;
            let base = insp.version;
            insp.set_outcome(outcome.clone())?;
            transition(c, &insp, "set_outcome", base, Some(before))
        })
    }

    /// Records the 意见书's 文号 printed on site (once; the same number again
    /// changes nothing and sends nothing), so the platform's archive copy carries it.
    pub fn record_opinion_number(
        &mut self,
        inspection_id: Uuid,
        number: &str,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Option<Saved>> {
        self.write(Some(actor), at, |c| {
            let (_task, mut insp) = load_for_edit(c.tx, inspection_id, actor)?;
            if insp.opinion_number.as_deref() == Some(number.trim()) {
                return Ok(None);
            }
            let before = header_json(&insp)?;
            let base = insp.version;
            insp.record_opinion_number(number)?;
            transition(c, &insp, "set_opinion_number", base, Some(before)).map(Some)
        })
    }

    /// Confirms the 监督意见 (the draft as the inspector edited it): what the
    /// 意见书 prints from now on. Saving the same opinion again changes nothing.
    pub fn set_opinion(
        &mut self,
        inspection_id: Uuid,
        opinion: &Opinion,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Option<Saved>> {
        self.write(Some(actor), at, |c| {
            let (_task, mut insp) = load_for_edit(c.tx, inspection_id, actor)?;
            check_editable(insp.status)?;
            if insp.opinion.as_ref() == Some(opinion) {
                return Ok(None);
            }
            let before = header_json(&insp)?;
            let base = insp.version;
            insp.set_opinion(opinion.clone())?;
            transition(c, &insp, "set_opinion", base, Some(before)).map(Some)
        })
    }

    /// Records the 现场笔录's 记录人, 回避 answer and 在场人 (the recorder must be
    /// one of the task's inspectors).
    pub fn set_record_details(
        &mut self,
        inspection_id: Uuid,
        details: &RecordDetails,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Option<Saved>> {
        self.write(Some(actor), at, |c| {
            let (task, mut insp) = load_for_edit(c.tx, inspection_id, actor)?;
            check_editable(insp.status)?;
            if insp.record_details.as_ref() == Some(details) {
                return Ok(None);
            }
            let before = header_json(&insp)?;
            let base = insp.version;
            let inspectors: Vec<Uuid> = task.inspectors.iter().map(|i| i.user_id).collect();
            insp.set_record_details(details.clone(), &inspectors)?;
            transition(c, &insp, "set_record_details", base, Some(before)).map(Some)
        })
    }

    /// Submits for review (提交审核): every applicable point answered, every 不符合
    /// with an observation, an outcome consistent with the findings.
    pub fn submit(
        &mut self,
        templates: &TemplateSet,
        inspection_id: Uuid,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        self.write(Some(actor), at, |c| {
            let (task, mut insp) = load_for_edit(c.tx, inspection_id, actor)?;
            check_editable(insp.status)?;
            let checklist = resolve_checklist(templates, &task)?;
            let before = header_json(&insp)?;
            let base = insp.version;
            insp.submit(actor, checklist, &task.institution.category, at)?;
            transition(c, &insp, "submit", base, Some(before))
        })
    }

    /// 无法联系: the unit could not be inspected (e.g. closed when visited). Works
    /// before or after the inspection started; goes to review.
    pub fn mark_unreachable(
        &mut self,
        task_id: Uuid,
        reason: &str,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<Saved> {
        self.write(Some(actor), at, |c| {
            let task = read_task(c.tx, task_id)?
                .ok_or_else(|| StoreError::not_found("检查任务", task_id))?;
            check_assigned(&task, actor)?;
            let (mut insp, before) = match inspection_id_for_task(c.tx, task_id)? {
                Some(id) => {
                    let insp = read_inspection(c.tx, id)?
                        .ok_or_else(|| StoreError::not_found("检查", id))?;
                    let before = header_json(&insp)?;
                    (insp, Some(before))
                }
                None => (Inspection::new(c.new_id(), task_id), None),
            };
            let base = insp.version;
            insp.mark_unreachable(actor, reason, at)?;
            transition(c, &insp, "mark_unreachable", base, before)
        })
    }

    /// Applies a review decision that sync brought from the server (the server is
    /// the single writer of reviews: no outbox entry). An approval locks the
    /// inspection: every later edit on this device is refused with `locked`.
    pub fn apply_review(
        &mut self,
        inspection_id: Uuid,
        review: &Review,
        at: DateTime<Utc>,
    ) -> Result<()> {
        if !matches!(
            review.status,
            InspectionStatus::Approved | InspectionStatus::Returned
        ) {
            return Err(StoreError::Invalid(format!(
                "审核结果只能是“已通过”或“已退回”，收到“{}”",
                review.status.label()
            )));
        }
        self.write(None, at, |c| {
            let mut insp = read_inspection(c.tx, inspection_id)?
                .ok_or_else(|| StoreError::not_found("检查", inspection_id))?;
            let before = header_json(&insp)?;
            insp.status = review.status;
            insp.version = review.version;
            insp.reviewed_by = Some(review.reviewed_by);
            if review.status == InspectionStatus::Returned {
                insp.review_comment = review.comment.clone();
            }
            write_header(c, &insp)?;
            c.audit(
                "inspection",
                inspection_id,
                "apply_review",
                Some(before),
                Some(header_json(&insp)?),
            )
        })
    }
}

/// Writes the inspection header, its outbox entry and audit entry for a transition.
fn transition(
    c: &mut Change<'_>,
    insp: &Inspection,
    op: &str,
    base_version: u64,
    before: Option<String>,
) -> Result<Saved> {
    write_header(c, insp)?;
    let header = header_only(insp);
    let seq = c.outbox(
        "inspection",
        insp.id,
        insp.id,
        op,
        Some(base_version),
        &header,
    )?;
    c.audit("inspection", insp.id, op, before, Some(json(&header)?))?;
    Ok(Saved {
        id: insp.id,
        inspection_id: insp.id,
        device_seq: seq,
        version: insp.version,
    })
}

/// The inspection without its findings (findings travel as their own entries).
fn header_only(insp: &Inspection) -> Inspection {
    Inspection {
        findings: Vec::new(),
        ..insp.clone()
    }
}

pub(crate) fn header_json(insp: &Inspection) -> Result<String> {
    json(&header_only(insp))
}

/// Only an inspector the draw assigned to this task edits its inspection (single
/// writer, SYNC.md): the server would reject anyone else's change anyway.
pub(crate) fn check_assigned(task: &Task, actor: &Actor) -> Result<(), RuleViolation> {
    if actor.role != Role::Inspector {
        return Err(RuleViolation::Forbidden("只有检查人员可以录入检查内容"));
    }
    if !task.inspectors.iter().any(|i| i.user_id == actor.user_id) {
        return Err(RuleViolation::Forbidden(
            "只有本任务分派的检查人员可以录入检查内容",
        ));
    }
    Ok(())
}

/// Loads an inspection and its task for an edit by `actor`.
pub(crate) fn load_for_edit(
    conn: &Connection,
    inspection_id: Uuid,
    actor: &Actor,
) -> Result<(Task, Inspection)> {
    let insp = read_inspection(conn, inspection_id)?
        .ok_or_else(|| StoreError::not_found("检查", inspection_id))?;
    let task = read_task(conn, insp.task_id)?
        .ok_or_else(|| StoreError::not_found("检查任务", insp.task_id))?;
    check_assigned(&task, actor)?;
    Ok((task, insp))
}

/// Why a task's plan version is not here: one this app cannot read (请更新应用), or
/// one not received yet.
pub(crate) fn unknown_plan(templates: &TemplateSet, task: &Task) -> StoreError {
    let why = match templates.unreadable(&task.plan_id, task.plan_version) {
        Some(why) => why.to_owned(),
        None => format!(
            "本机还没有检查计划“{}”（第 {} 版）：请联网同步一次后再检查",
            task.plan_id, task.plan_version
        ),
    };
    StoreError::UnknownPlan {
        plan: task.plan_id.clone(),
        why,
    }
}

/// The checklist a task follows, with its category checked against the catalogue
/// and the checklist's own draw rows.
pub(crate) fn resolve_checklist<'t>(
    templates: &'t TemplateSet,
    task: &Task,
) -> Result<&'t Checklist> {
    let plan = templates
        .plan_version(&task.plan_id, task.plan_version)
        .ok_or_else(|| unknown_plan(templates, task))?;
    let checklist =
        plan.checklist(&task.checklist)
            .ok_or_else(|| StoreError::UnknownChecklist {
                plan: task.plan_id.clone(),
                checklist: task.checklist.clone(),
            })?;
    let category = &task.institution.category;
    if templates.catalogue.get(category).is_none() {
        return Err(StoreError::UnknownCategory(category.0.clone()));
    }
    // A 回头看 task is on the table its campaign names whatever the unit's category
    // (a beauty salon on the medical table); a row drawn by service takes any.
    if task.draw_kind != DrawKind::FollowUp && !checklist.may_hold(category) {
        return Err(StoreError::CategoryNotInChecklist {
            category: category.0.clone(),
            checklist: format!("{}（{}）", checklist.name, checklist.code),
        });
    }
    Ok(checklist)
}

pub(crate) fn write_header(c: &mut Change<'_>, insp: &Inspection) -> Result<()> {
    let outcome = insp.outcome.as_ref();
    let penalty = outcome.and_then(|o| o.penalty.as_ref());
    let flag = |f: fn(&Penalty) -> bool| penalty.map(|p| i64::from(f(p)));
    let at = c.at();
    c.tx.prepare_cached(
        "INSERT INTO inspections (id, task_id, status, version, started_at, ended_at, place,
            outcome_category, penalty_cases, penalty_fine_fen, penalty_revoked_licence,
            penalty_revoked_subjects, penalty_revoked_personnel, penalty_cancelled_filing,
            opinion, unreachable_reason, review_comment, reviewed_by, created_at, updated_at,
            opinion_number, opinion_doc, record_details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?19, ?20, ?21, ?22)
         ON CONFLICT (id) DO UPDATE SET
            status = excluded.status, version = excluded.version,
            started_at = excluded.started_at, ended_at = excluded.ended_at,
            place = excluded.place, outcome_category = excluded.outcome_category,
            penalty_cases = excluded.penalty_cases,
            penalty_fine_fen = excluded.penalty_fine_fen,
            penalty_revoked_licence = excluded.penalty_revoked_licence,
            penalty_revoked_subjects = excluded.penalty_revoked_subjects,
            penalty_revoked_personnel = excluded.penalty_revoked_personnel,
            penalty_cancelled_filing = excluded.penalty_cancelled_filing,
            opinion = excluded.opinion, unreachable_reason = excluded.unreachable_reason,
            review_comment = excluded.review_comment, reviewed_by = excluded.reviewed_by,
            updated_at = excluded.updated_at, opinion_number = excluded.opinion_number,
            opinion_doc = excluded.opinion_doc, record_details = excluded.record_details",
    )?
    .execute(params![
        insp.id.to_string(),
        insp.task_id.to_string(),
        insp.status.as_str(),
        insp.version as i64,
        insp.started_at.map(ts),
        insp.ended_at.map(ts),
        insp.place,
        outcome.map(|o| o.category.as_str()),
        penalty.map(|p| i64::from(p.cases)),
        penalty.map(|p| p.fine.0),
        flag(|p| p.revoked_licence),
        flag(|p| p.revoked_subjects),
        flag(|p| p.revoked_personnel),
        flag(|p| p.cancelled_filing),
        outcome.and_then(|o| o.opinion.as_deref()),
        outcome.and_then(|o| o.unreachable_reason.as_deref()),
        insp.review_comment,
        insp.reviewed_by.map(|u| u.to_string()),
        at,
        insp.opinion_number,
        insp.opinion.as_ref().map(json).transpose()?,
        insp.record_details.as_ref().map(json).transpose()?,
    ])?;
    Ok(())
}

/// Bumps the version of an inspection after an evidence change (photo, signature)
/// that core's methods do not cover, after the same editability check.
pub(crate) fn bump_version(c: &mut Change<'_>, insp: &mut Inspection) -> Result<u64> {
    check_editable(insp.status)?;
    let base = insp.version;
    insp.version += 1;
    c.tx.execute(
        "UPDATE inspections SET version = ?2, updated_at = ?3 WHERE id = ?1",
        params![insp.id.to_string(), insp.version as i64, c.at()],
    )?;
    Ok(base)
}

pub(crate) fn inspection_id_for_task(conn: &Connection, task_id: Uuid) -> Result<Option<Uuid>> {
    conn.query_row(
        "SELECT id FROM inspections WHERE task_id = ?1",
        [task_id.to_string()],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .as_deref()
    .map(parse_uuid)
    .transpose()
}

pub(crate) fn read_inspection(conn: &Connection, id: Uuid) -> Result<Option<Inspection>> {
    type Header = (
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        [Option<i64>; 6],
        [Option<String>; 7],
    );
    let row: Option<Header> = conn
        .prepare_cached(
            "SELECT task_id, status, version, started_at, ended_at, place, outcome_category,
                    penalty_cases, penalty_fine_fen, penalty_revoked_licence,
                    penalty_revoked_subjects, penalty_revoked_personnel,
                    penalty_cancelled_filing, opinion, unreachable_reason, review_comment,
                    reviewed_by, opinion_number, opinion_doc, record_details
             FROM inspections WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                [
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                    r.get(12)?,
                ],
                [
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                    r.get(17)?,
                    r.get(18)?,
                    r.get(19)?,
                ],
            ))
        })
        .optional()?;
    let Some((task_id, status, version, started, ended, place, category, pen, texts)) = row else {
        return Ok(None);
    };
    let [
        opinion,
        unreachable_reason,
        review_comment,
        reviewed_by,
        opinion_number,
        opinion_doc,
        record_details,
    ] = texts;
    let outcome = match category {
        None => None,
        Some(c) => {
            let category = PublicCategory::parse(&c)
                .ok_or_else(|| StoreError::Data(format!("未知的处理结果“{c}”")))?;
            let penalty = match pen {
                [Some(cases), Some(fine), Some(l), Some(s), Some(p), Some(f)] => Some(Penalty {
                    cases: u32::try_from(cases)
                        .map_err(|_| StoreError::Data(format!("查处案件数“{cases}”无效")))?,
                    fine: Fen(fine),
                    revoked_licence: l != 0,
                    revoked_subjects: s != 0,
                    revoked_personnel: p != 0,
                    cancelled_filing: f != 0,
                }),
                _ => None,
            };
            Some(Outcome {
                category,
                penalty,
                opinion,
                unreachable_reason,
            })
        }
    };
    let mut insp = Inspection {
        id,
        task_id: parse_uuid(&task_id)?,
        status: InspectionStatus::parse(&status)
            .ok_or_else(|| StoreError::Data(format!("未知的检查状态“{status}”")))?,
        version: version as u64,
        started_at: parse_opt_ts(started)?,
        ended_at: parse_opt_ts(ended)?,
        place,
        findings: Vec::new(),
        outcome,
        review_comment,
        reviewed_by: parse_opt_uuid(reviewed_by)?,
        opinion_number,
        opinion: opinion_doc
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Data(format!("监督意见无法读取：{e}")))?,
        record_details: record_details
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Data(format!("现场笔录信息无法读取：{e}")))?,
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, point, verdict, observation, recorded_by, recorded_at
         FROM findings WHERE inspection_id = ?1 ORDER BY rowid",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    while let Some(r) = rows.next()? {
        let verdict: String = r.get(2)?;
        insp.findings.push(Finding {
            id: parse_uuid(&r.get::<_, String>(0)?)?,
            inspection_id: id,
            point: r.get(1)?,
            verdict: Verdict::parse(&verdict)
                .ok_or_else(|| StoreError::Data(format!("未知的检查结论“{verdict}”")))?,
            observation: r.get(3)?,
            photo_ids: Vec::new(),
            recorded_by: parse_uuid(&r.get::<_, String>(4)?)?,
            recorded_at: parse_ts(&r.get::<_, String>(5)?)?,
        });
    }
    // Photos in id (= capture) order, not arrival order: a restored device gets
    // the files in whatever order the downloads finish.
    let mut stmt = conn.prepare_cached(
        "SELECT id, finding_id FROM photos
         WHERE inspection_id = ?1 AND finding_id IS NOT NULL AND voided_at IS NULL
         ORDER BY id",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    while let Some(r) = rows.next()? {
        let photo = parse_uuid(&r.get::<_, String>(0)?)?;
        let finding = parse_uuid(&r.get::<_, String>(1)?)?;
        if let Some(f) = insp.findings.iter_mut().find(|f| f.id == finding) {
            f.photo_ids.push(photo);
        }
    }
    Ok(Some(insp))
}
