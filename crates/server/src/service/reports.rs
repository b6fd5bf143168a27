//! Reports: the 汇总表 (summary tables), the public result list (一公开: four
//! categories) and progress per category against the plan's deadlines.
//!
//! The arithmetic is `jiandu_core::summary::compute`; this module only gathers
//! approved inspections and the registry populations. The files (CSV, XLSX) are
//! laid out by `crate::formats`.

use super::{Actor, Platform, ServiceError, ServiceResult};
use crate::model::{Institution, StoredTask};
use crate::store::ServerStore;
use chrono::NaiveDate;
use jiandu_core::inspection::InspectionStatus;
use jiandu_core::plan::{SummaryRow, SummaryTable};
use jiandu_core::summary::{self, SummaryReport, UnitResult};
use jiandu_core::{CategoryCode, Plan, PublicCategory, Role};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Tasks of a plan, their inspections and the registry, loaded once.
struct PlanData {
    tasks: Vec<StoredTask>,
    inspections: HashMap<Uuid, jiandu_core::Inspection>,
    institutions: HashMap<Uuid, Institution>,
}

async fn load(store: &dyn ServerStore, plan: &Plan) -> ServiceResult<PlanData> {
    let tasks = store.tasks_for(Some(&plan.id), None).await?;
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let inspections = store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .map(|i| (i.inspection.task_id, i.inspection))
        .collect();
    let institutions = store
        .list_institutions()
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    Ok(PlanData {
        tasks,
        inspections,
        institutions,
    })
}

/// The plan version a plan's reports use: the one its draw was made with (every
/// task of the draw carries it), or the newest published one before any draw.
pub async fn plan_version(p: &Platform, plan_id: &str) -> ServiceResult<super::plans::PlanVersion> {
    let drawn = p
        .store
        .draws()
        .await?
        .into_iter()
        .find(|d| d.plan_id == plan_id);
    match drawn {
        Some(d) => super::plans::version(p, plan_id, d.plan_version).await,
        None => super::plans::current(p, plan_id).await,
    }
}

/// Computes one summary table of a plan from its approved inspections
/// (administrators and team leads).
pub async fn summary_table(
    p: &Platform,
    actor: &Actor,
    plan_id: &str,
    table_code: &str,
) -> ServiceResult<(Plan, SummaryTable, SummaryReport)> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let version = plan_version(p, plan_id).await?;
    let plan = &*version.plan;
    let store = p.store();
    let table = plan.summary(table_code).ok_or_else(|| {
        let known: Vec<&str> = plan.summaries.iter().map(|s| s.code.as_str()).collect();
        ServiceError::not_found(format!(
            "计划“{}”没有汇总表“{table_code}”（可选：{}）",
            plan.id,
            known.join("、")
        ))
    })?;
    // The few bytes each approved inspection contributes (inspection_results).
    let mut units: Vec<UnitResult> = store.approved_results(&plan.id).await?;
    let counts: HashMap<CategoryCode, u64> =
        store.institution_counts().await?.into_iter().collect();
    // 回头看 rows count the penalised units of their campaign, and rows that select
    // by service (服务项目) the units offering it: only those tables need the
    // registry itself.
    let followup_rows = table.rows.iter().any(|r| r.followup.is_some());
    let service_rows = table.rows.iter().any(|r| !r.services.is_empty());
    let (penalised, institutions) = if followup_rows || service_rows {
        (store.penalised().await?, store.list_institutions().await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut effective: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
    if service_rows {
        let catalogue = plan.catalogue(&super::plans::catalogue(p).await?);
        let mut declared = store.institution_services().await?;
        for i in &institutions {
            let d = declared.remove(&i.id).unwrap_or_default();
            effective.insert(i.id, catalogue.effective_services(&i.category, &d));
        }
        for u in &mut units {
            if let Some(s) = effective.get(&u.institution_id) {
                u.services = s.clone();
            }
        }
    }
    let by_code: HashMap<&str, &Institution> = institutions
        .iter()
        .map(|i| (i.credit_code.as_str(), i))
        .collect();
    let no_services: Vec<String> = Vec::new();
    let services_of = |i: &Institution| effective.get(&i.id).unwrap_or(&no_services);
    let population = |row: &SummaryRow| -> u64 {
        match &row.followup {
            // 被处罚单位数: units penalised in that campaign.
            Some(campaign) => penalised
                .iter()
                .filter(|p| &p.campaign == campaign)
                .filter(|p| {
                    by_code.get(p.credit_code.as_str()).is_some_and(|i| {
                        SummaryTable::row_matches_unit(
                            row,
                            &i.category,
                            services_of(i),
                            Some(campaign),
                        )
                    })
                })
                .count() as u64,
            // 辖区内单位总数 of a table with rows by service: each unit of the
            // registry in the first row that takes it, as inspected units are.
            None if service_rows => institutions
                .iter()
                .filter(|i| {
                    table
                        .rows
                        .iter()
                        .find(|r| {
                            r.followup.is_none()
                                && SummaryTable::row_matches_unit(
                                    r,
                                    &i.category,
                                    services_of(i),
                                    None,
                                )
                        })
                        .is_some_and(|r| std::ptr::eq(r, row))
                })
                .count() as u64,
            // 辖区内单位总数: the registry.
            None => counts
                .iter()
                .filter(|(c, _)| row.categories.is_empty() || row.categories.contains(c))
                .map(|(_, n)| n)
                .sum(),
        }
    };
    let mut report = summary::compute(plan, table, &units, &population);
    report.plan_version = version.version;
    Ok((plan.clone(), table.clone(), report))
}

/// One line of the public result list (一公开).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicEntry {
    pub institution: String,
    pub credit_code: String,
    pub address: String,
    pub category: String,
    /// One of 抽查未发现问题 / 发现问题已责令改正 / 行政处罚 / 无法联系.
    pub result: &'static str,
    pub result_code: &'static str,
    /// Penalty figures for 行政处罚: cases and fine in 元.
    pub penalty: Option<String>,
    /// The day the inspection ended (检查日期).
    pub inspected_on: Option<NaiveDate>,
}

/// The public result list: approved inspections of a plan, by unit.
pub async fn public_list(p: &Platform, plan_id: &str) -> ServiceResult<Vec<PublicEntry>> {
    let version = plan_version(p, plan_id).await?;
    let plan = &*version.plan;
    let catalogue = plan.catalogue(p.plans.builtin_catalogue());
    let data = load(p.store(), plan).await?;
    let mut out = Vec::new();
    for t in &data.tasks {
        let Some(i) = data.inspections.get(&t.id) else {
            continue;
        };
        let (true, Some(outcome), Some(inst)) = (
            i.status == InspectionStatus::Approved,
            i.outcome.as_ref(),
            data.institutions.get(&t.institution_id),
        ) else {
            continue;
        };
        out.push(PublicEntry {
            institution: inst.name.clone(),
            credit_code: jiandu_core::draw::credit_code_label(&inst.credit_code),
            address: inst.address.clone(),
            category: catalogue
                .get(&t.category)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| t.category.to_string()),
            result: outcome.category.label(),
            result_code: outcome.category.as_str(),
            penalty: match (outcome.category, &outcome.penalty) {
                (PublicCategory::Penalised, Some(p)) => {
                    Some(format!("查处案件 {} 件，罚没款 {}", p.cases, p.fine))
                }
                _ => None,
            },
            inspected_on: i.ended_at.or(i.started_at).map(|t| t.date_naive()),
        });
    }
    out.sort_by(|a, b| (a.result_code, &a.credit_code).cmp(&(b.result_code, &b.credit_code)));
    Ok(out)
}

/// Progress of one category (per checklist).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgressRow {
    pub checklist: String,
    pub category: String,
    pub category_name: String,
    pub drawn: usize,
    /// Inspected (submitted, unreachable, returned, resubmitted or approved).
    pub done: usize,
    pub approved: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub plan_id: String,
    /// The plan version the tasks were drawn with.
    pub plan_version: u32,
    pub rows: Vec<ProgressRow>,
    pub deadlines: Vec<DeadlineStatus>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadlineStatus {
    pub date: NaiveDate,
    pub what: String,
    /// Days from `today` (negative: passed).
    pub days_left: i64,
}

/// Per category of a plan: drawn, inspected, approved; days to each deadline
/// (administrators and team leads).
pub async fn progress(
    p: &Platform,
    actor: &Actor,
    plan_id: &str,
    today: NaiveDate,
) -> ServiceResult<Progress> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let version = plan_version(p, plan_id).await?;
    let plan = &*version.plan;
    let catalogue = plan.catalogue(p.plans.builtin_catalogue());
    let data = load(p.store(), plan).await?;
    let mut rows: Vec<ProgressRow> = Vec::new();
    for t in &data.tasks {
        let idx = match rows
            .iter()
            .position(|r| r.checklist == t.checklist && r.category == t.category.as_str())
        {
            Some(i) => i,
            None => {
                rows.push(ProgressRow {
                    checklist: t.checklist.clone(),
                    category: t.category.to_string(),
                    category_name: catalogue
                        .get(&t.category)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    drawn: 0,
                    done: 0,
                    approved: 0,
                });
                rows.len() - 1
            }
        };
        let r = &mut rows[idx];
        r.drawn += 1;
        if let Some(i) = data.inspections.get(&t.id) {
            use InspectionStatus::*;
            if matches!(
                i.status,
                Submitted | Unreachable | Returned | Resubmitted | Approved
            ) {
                r.done += 1;
            }
            if i.status == Approved {
                r.approved += 1;
            }
        }
    }
    Ok(Progress {
        plan_id: plan.id.clone(),
        plan_version: version.version,
        rows,
        deadlines: plan
            .deadlines
            .iter()
            .map(|d| DeadlineStatus {
                date: d.date,
                what: d.what.clone(),
                days_left: (d.date - today).num_days(),
            })
            .collect(),
    })
}

/// One line of the dashboard (首页): a plan's tasks in one district, by state.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DashboardRow {
    pub plan_id: String,
    pub plan_title: String,
    pub district: String,
    pub drawn: usize,
    /// 待检查: drawn, not started.
    pub assigned: usize,
    /// 检查中.
    pub in_progress: usize,
    /// 待审核 (submitted or resubmitted).
    pub submitted: usize,
    /// 已退回.
    pub returned: usize,
    /// 已通过.
    pub approved: usize,
    /// 无法联系 (awaiting review).
    pub unreachable: usize,
    /// Not approved although the plan's last deadline has passed.
    pub overdue: usize,
}

/// Inspections ended and approved up to one day (the progress chart).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DashboardPoint {
    pub date: NaiveDate,
    /// Inspections ended up to this day (cumulative).
    pub inspected: usize,
    /// Of which approved now.
    pub approved: usize,
}

/// A plan's deadlines and progress over time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DashboardPlan {
    pub plan_id: String,
    pub plan_title: String,
    pub deadlines: Vec<DeadlineStatus>,
    pub timeline: Vec<DashboardPoint>,
}

/// The dashboard (首页): every drawn plan, per district, with deadlines.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub today: NaiveDate,
    pub rows: Vec<DashboardRow>,
    pub plans: Vec<DashboardPlan>,
}

/// The dashboard of what the actor may see: an administrator every district, a
/// team lead their team's tasks (administrators and team leads).
pub async fn dashboard(p: &Platform, actor: &Actor, today: NaiveDate) -> ServiceResult<Dashboard> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let scope = actor.scope(p).await?;
    let mut plan_ids: Vec<String> = p
        .store
        .draws()
        .await?
        .into_iter()
        .map(|d| d.plan_id)
        .collect();
    plan_ids.sort();
    plan_ids.dedup();
    let mut rows: Vec<DashboardRow> = Vec::new();
    let mut plans = Vec::new();
    for plan_id in plan_ids {
        let version = plan_version(p, &plan_id).await?;
        let plan = &*version.plan;
        let data = load(p.store(), plan).await?;
        let last_deadline = plan.deadlines.iter().map(|d| d.date).max();
        let overdue_now = last_deadline.is_some_and(|d| d < today);
        let mut ended: Vec<(NaiveDate, bool)> = Vec::new();
        for t in &data.tasks {
            if let Some(scope) = &scope
                && !t.inspectors.iter().any(|i| scope.contains(i))
            {
                continue;
            }
            let district = data
                .institutions
                .get(&t.institution_id)
                .map(|i| i.district.clone())
                .unwrap_or_default();
            let idx = match rows
                .iter()
                .position(|r| r.plan_id == plan.id && r.district == district)
            {
                Some(i) => i,
                None => {
                    rows.push(DashboardRow {
                        plan_id: plan.id.clone(),
                        plan_title: plan.title.clone(),
                        district,
                        ..Default::default()
                    });
                    rows.len() - 1
                }
            };
            let r = &mut rows[idx];
            r.drawn += 1;
            use InspectionStatus::*;
            let status = data.inspections.get(&t.id).map(|i| i.status);
            match status {
                None | Some(Assigned) => r.assigned += 1,
                Some(InProgress) => r.in_progress += 1,
                Some(Submitted | Resubmitted) => r.submitted += 1,
                Some(Returned) => r.returned += 1,
                Some(Approved) => r.approved += 1,
                Some(Unreachable) => r.unreachable += 1,
            }
            if overdue_now && status != Some(Approved) {
                r.overdue += 1;
            }
            if let Some(i) = data.inspections.get(&t.id)
                && let Some(end) = i.ended_at
                && i.status != InProgress
            {
                ended.push((end.date_naive(), i.status == Approved));
            }
        }
        ended.sort();
        let mut timeline: Vec<DashboardPoint> = Vec::new();
        let (mut inspected, mut approved) = (0, 0);
        for (date, ok) in ended {
            inspected += 1;
            approved += usize::from(ok);
            match timeline.last_mut() {
                Some(last) if last.date == date => {
                    last.inspected = inspected;
                    last.approved = approved;
                }
                _ => timeline.push(DashboardPoint {
                    date,
                    inspected,
                    approved,
                }),
            }
        }
        plans.push(DashboardPlan {
            plan_id: plan.id.clone(),
            plan_title: plan.title.clone(),
            deadlines: plan
                .deadlines
                .iter()
                .map(|d| DeadlineStatus {
                    date: d.date,
                    what: d.what.clone(),
                    days_left: (d.date - today).num_days(),
                })
                .collect(),
            timeline,
        });
    }
    Ok(Dashboard { today, rows, plans })
}
