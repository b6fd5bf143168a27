//! Tasks (抽查任务): written by sync from what the server sends, read by the task list.
//!
//! Tasks are the server's (single writer): storing one writes no outbox entry, only
//! an audit entry with no user (it came from the server).

use crate::Store;
use crate::codec::{
    date, draw_kind_str, json, parse_date, parse_draw_kind, parse_opt_uuid, parse_uuid,
};
use crate::error::{Result, StoreError};
use crate::log::Change;
use chrono::{DateTime, NaiveDate, Utc};
use jiandu_core::inspection::{AssignedInspector, DrawKind, Institution, Task};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{CategoryCode, InspectionStatus};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// One line of the task list: light, with status and progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRow {
    pub task_id: Uuid,
    pub plan_id: String,
    pub checklist: String,
    pub draw_kind: DrawKind,
    pub deadline: Option<NaiveDate>,
    pub institution_name: String,
    pub category: CategoryCode,
    pub district: String,
    pub address: String,
    /// `None` until the inspection starts.
    pub inspection_id: Option<Uuid>,
    /// 待检查 until an inspection exists.
    pub status: InspectionStatus,
    /// Check points answered.
    pub answered: u32,
    /// Check points that apply to this unit (from the plan); `None` when this app
    /// version does not know the plan or checklist.
    pub total: Option<u32>,
    /// Points answered 不符合.
    pub non_compliant: u32,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only these statuses (empty: all).
    pub statuses: Vec<InspectionStatus>,
}

impl Store {
    /// Stores a task from the server, replacing an earlier copy (institution
    /// snapshot and assigned inspectors included).
    pub fn upsert_task(&mut self, task: &Task, at: DateTime<Utc>) -> Result<()> {
        self.upsert_tasks(std::slice::from_ref(task), at)
    }

    /// Stores a page of tasks from the server in one transaction.
    pub fn upsert_tasks(&mut self, tasks: &[Task], at: DateTime<Utc>) -> Result<()> {
        self.write(None, at, |c| {
            for task in tasks {
                upsert_task_in(c, task)?;
            }
            Ok(())
        })
    }

    /// A stored task with its institution snapshot and inspectors.
    pub fn task(&self, id: Uuid) -> Result<Task> {
        read_task(&self.conn, id)?.ok_or_else(|| StoreError::not_found("检查任务", id))
    }

    /// The task list: one light row per task with its status and progress, in
    /// deadline order (no deadline last), then by institution name.
    ///
    /// One query over tasks and inspections, never one query per task. The counts
    /// of answered and 不符合 points are columns of the inspection that triggers keep
    /// exact in the transaction of each finding (counting 120,000 findings at every
    /// list took most of the 50 ms budget). The number of applicable points comes
    /// from the templates, computed once per (plan, checklist, category).
    pub fn list_tasks(&self, templates: &TemplateSet, filter: &TaskFilter) -> Result<Vec<TaskRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id, t.plan_id, t.checklist, t.draw_kind, t.deadline, t.institution_name,
                    t.category, t.district, t.address, i.id, i.status,
                    coalesce(i.answered_count, 0), coalesce(i.non_compliant_count, 0),
                    t.plan_version
             FROM tasks t
             LEFT JOIN inspections i ON i.task_id = t.id
             ORDER BY t.deadline IS NULL, t.deadline, t.institution_name, t.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut totals: HashMap<(String, u32, String, String), Option<u32>> = HashMap::new();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let status = match r.get::<_, Option<String>>(10)? {
                None => InspectionStatus::Assigned,
                Some(s) => InspectionStatus::parse(&s)
                    .ok_or_else(|| StoreError::Data(format!("未知的检查状态“{s}”")))?,
            };
            if !filter.statuses.is_empty() && !filter.statuses.contains(&status) {
                continue;
            }
            let plan_id: String = r.get(1)?;
            let plan_version: u32 = r.get(13)?;
            let checklist: String = r.get(2)?;
            let category = CategoryCode(r.get(6)?);
            let total = *totals
                .entry((
                    plan_id.clone(),
                    plan_version,
                    checklist.clone(),
                    category.0.clone(),
                ))
                .or_insert_with(|| {
                    templates
                        .plan_version(&plan_id, plan_version)
                        .and_then(|p| p.checklist(&checklist))
                        .map(|c| c.applicable_points(&category).count() as u32)
                });
            out.push(TaskRow {
                task_id: parse_uuid(&r.get::<_, String>(0)?)?,
                plan_id,
                checklist,
                draw_kind: parse_draw_kind(&r.get::<_, String>(3)?)?,
                deadline: r
                    .get::<_, Option<String>>(4)?
                    .as_deref()
                    .map(parse_date)
                    .transpose()?,
                institution_name: r.get(5)?,
                category,
                district: r.get(7)?,
                address: r.get(8)?,
                inspection_id: parse_opt_uuid(r.get(9)?)?,
                status,
                answered: r.get::<_, i64>(11)? as u32,
                total,
                non_compliant: r.get::<_, i64>(12)? as u32,
            });
        }
        Ok(out)
    }
}

/// Stores one task from the server inside the caller's transaction (no outbox
/// entry: the server is the single writer of tasks).
pub(crate) fn upsert_task_in(c: &mut Change<'_>, task: &Task) -> Result<()> {
    let before = read_task(c.tx, task.id)?;
    if before.as_ref() == Some(task) {
        return Ok(());
    }
    let i = &task.institution;
    c.tx.execute(
        "INSERT INTO tasks (id, plan_id, checklist, draw_kind, followup, deadline,
                institution_id, institution_name, credit_code, licence_no, category,
                district, address, legal_representative, phone, received_at, plan_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (id) DO UPDATE SET
                plan_id = excluded.plan_id, plan_version = excluded.plan_version,
                checklist = excluded.checklist,
                draw_kind = excluded.draw_kind, followup = excluded.followup,
                deadline = excluded.deadline, institution_id = excluded.institution_id,
                institution_name = excluded.institution_name,
                credit_code = excluded.credit_code, licence_no = excluded.licence_no,
                category = excluded.category, district = excluded.district,
                address = excluded.address,
                legal_representative = excluded.legal_representative,
                phone = excluded.phone, received_at = excluded.received_at",
        params![
            task.id.to_string(),
            task.plan_id,
            task.checklist,
            draw_kind_str(task.draw_kind),
            task.followup,
            task.deadline.map(date),
            i.id.to_string(),
            i.name,
            i.credit_code,
            i.licence_no,
            i.category.as_str(),
            i.district,
            i.address,
            i.legal_representative,
            i.phone,
            c.at(),
            task.plan_version,
        ],
    )?;
    c.tx.execute(
        "DELETE FROM task_inspectors WHERE task_id = ?1",
        [task.id.to_string()],
    )?;
    for (pos, ins) in task.inspectors.iter().enumerate() {
        c.tx.execute(
            "INSERT INTO task_inspectors (task_id, position, user_id, name, badge_no)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                task.id.to_string(),
                pos as i64,
                ins.user_id.to_string(),
                ins.name,
                ins.badge_no
            ],
        )?;
    }
    let before = before.as_ref().map(json).transpose()?;
    c.audit("task", task.id, "upsert_task", before, Some(json(task)?))?;
    Ok(())
}

pub(crate) fn read_task(conn: &Connection, id: Uuid) -> Result<Option<Task>> {
    let row = conn
        .query_row(
            "SELECT plan_id, checklist, draw_kind, followup, deadline, institution_id,
                    institution_name, credit_code, licence_no, category, district, address,
                    legal_representative, phone, plan_version
             FROM tasks WHERE id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ),
                    Institution {
                        id: Uuid::nil(),
                        name: r.get(6)?,
                        credit_code: r.get(7)?,
                        licence_no: r.get(8)?,
                        category: CategoryCode(r.get(9)?),
                        district: r.get(10)?,
                        address: r.get(11)?,
                        legal_representative: r.get(12)?,
                        phone: r.get(13)?,
                    },
                    r.get::<_, String>(5)?,
                    r.get::<_, u32>(14)?,
                ))
            },
        )
        .optional()?;
    let Some((
        (plan_id, checklist, draw_kind, followup, deadline),
        mut institution,
        inst_id,
        plan_version,
    )) = row
    else {
        return Ok(None);
    };
    institution.id = parse_uuid(&inst_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, name, badge_no FROM task_inspectors WHERE task_id = ?1 ORDER BY position",
    )?;
    let mut inspectors = Vec::new();
    let mut rows = stmt.query([id.to_string()])?;
    while let Some(r) = rows.next()? {
        inspectors.push(AssignedInspector {
            user_id: parse_uuid(&r.get::<_, String>(0)?)?,
            name: r.get(1)?,
            badge_no: r.get(2)?,
        });
    }
    Ok(Some(Task {
        id,
        plan_id,
        plan_version,
        checklist,
        draw_kind: parse_draw_kind(&draw_kind)?,
        followup,
        institution,
        inspectors,
        deadline: deadline.as_deref().map(parse_date).transpose()?,
    }))
}
