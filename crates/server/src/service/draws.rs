//! Running, recording, verifying and adjusting draws (双随机抽取, the double-random
//! draw).
//!
//! The arithmetic is `jiandu_core::draw` (pure, deterministic); this module gathers
//! its inputs from the store (registry, staff directory with declared conflicts,
//! who inspected what in the previous campaign, the 回头看 list), records the draw
//! with everything needed to recompute it, and enforces the re-assignment cap.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult, chars};
use crate::model::{DrawRecord, Reassignment, StoredTask, User};
use crate::store::{ReassignState, ServerStore};
use chrono::{DateTime, Utc};
use jiandu_core::draw::{
    self, DrawInputs, DrawInspector, DrawUnit, MIN_TEAM_SIZE, PenalisedUnit, reassignment_allowance,
};
use jiandu_core::inspection::DrawKind;
use jiandu_core::{Plan, Role};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A draw as shown to people and machines: the record (without the bulky inputs)
/// and its tasks with names.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrawView {
    pub id: Uuid,
    pub plan_id: String,
    /// The plan version drawn.
    pub plan_version: u32,
    pub seed: String,
    pub algorithm: String,
    pub inputs_hash: String,
    pub tasks_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// False for `--dry-run`: computed, not recorded.
    pub recorded: bool,
    pub tasks: Vec<TaskView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    pub position: i64,
    pub checklist: String,
    pub kind: DrawKind,
    pub followup: Option<String>,
    pub institution: InstitutionRef,
    pub category: String,
    pub inspectors: Vec<InspectorRef>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstitutionRef {
    pub id: Uuid,
    pub name: String,
    pub credit_code: String,
    pub district: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectorRef {
    pub id: Uuid,
    pub name: String,
    pub badge_no: String,
}

/// Result of `draw verify`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub draw_id: Uuid,
    /// Everything agrees: the recorded inputs hash to the recorded hash, and
    /// recomputing gives exactly the recorded tasks.
    pub matches: bool,
    pub inputs_hash_matches: bool,
    pub recomputed_tasks_hash: String,
    pub recorded_tasks_hash: String,
    /// Tasks stored in the database (as drawn) agree with the record.
    pub stored_tasks_match: bool,
    pub message: String,
}

/// One line of the draw list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrawListItem {
    pub id: Uuid,
    pub plan_id: String,
    pub plan_version: u32,
    pub seed: String,
    pub algorithm: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /draws`: a draw, or a dry run that records nothing.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawRequest {
    pub plan_id: String,
    /// The seed, e.g. the numbers of a public lottery (公开摇号): at most 200
    /// characters, not empty.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub seed: String,
    #[serde(default)]
    pub dry_run: bool,
}

/// `POST /tasks/{id}/reassign`: replace one inspector, with a reason.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    pub from: Uuid,
    pub to: Uuid,
    /// 调整原因: 1–1000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: String,
}

/// Longest seed accepted (characters).
pub const MAX_SEED_CHARS: usize = 200;
/// Longest re-assignment reason accepted (characters).
pub const MAX_REASON_CHARS: usize = 1000;

fn bad(code: ErrorCode, message: impl Into<String>) -> ServiceError {
    ServiceError::new(code, message)
}

fn draw_error(e: draw::DrawError) -> ServiceError {
    bad(
        ErrorCode::parse(e.code()).unwrap_or(ErrorCode::Internal),
        e.to_string(),
    )
}

/// Gathers the draw inputs for `plan` from the store.
pub async fn gather_inputs(store: &dyn ServerStore, plan: &Plan) -> ServiceResult<DrawInputs> {
    let institutions = store.list_institutions().await?;
    let by_code: HashMap<&str, Uuid> = institutions
        .iter()
        .map(|i| (i.credit_code.as_str(), i.id))
        .collect();
    let previous = store.assignments_in_year(plan.year - 1).await?;
    let mut previous_by_user: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (unit, user) in previous {
        previous_by_user.entry(user).or_default().push(unit);
    }
    let staff = store.staff_for_draw().await?;
    let inspectors = staff
        .into_iter()
        .map(|s| DrawInspector {
            id: s.user.id,
            district: s.user.district.clone(),
            conflicts: s
                .conflict_codes
                .iter()
                .filter_map(|c| by_code.get(c.as_str()).copied())
                .collect(),
            previous: previous_by_user.remove(&s.user.id).unwrap_or_default(),
        })
        .collect();
    let followed: HashSet<&str> = plan.campaigns.iter().map(|c| c.code.as_str()).collect();
    let penalised = store
        .penalised()
        .await?
        .into_iter()
        .filter(|p| followed.contains(p.campaign.as_str()))
        .filter_map(|p| {
            by_code
                .get(p.credit_code.as_str())
                .map(|&id| PenalisedUnit {
                    campaign: p.campaign,
                    unit_id: id,
                })
        })
        .collect();
    let units = institutions
        .into_iter()
        .map(|i| DrawUnit {
            id: i.id,
            category: i.category,
            district: i.district,
        })
        .collect();
    let mut inputs = DrawInputs {
        plan: plan.clone(),
        units,
        inspectors,
        penalised,
        team_size: MIN_TEAM_SIZE,
    };
    inputs.normalize();
    Ok(inputs)
}

/// Draws for a plan with `seed` (administrators only); records it unless
/// `dry_run`. A plan is drawn once.
pub async fn run(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    req: DrawRequest,
) -> ServiceResult<DrawView> {
    actor.require(&[Role::Admin])?;
    let version = super::plans::current(p, &req.plan_id).await?;
    let plan = &*version.plan;
    let (seed, dry_run) = (req.seed.as_str(), req.dry_run);
    if chars(seed) > MAX_SEED_CHARS {
        return Err(bad(ErrorCode::InvalidSeed, "抽取种子最多 200 个字符"));
    }
    let store = p.store();
    let inputs = gather_inputs(store, plan).await?;
    let result = draw::draw(seed, &inputs).map_err(draw_error)?;
    let draw_id = Uuid::now_v7();
    let tasks: Vec<StoredTask> = result
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| StoredTask {
            id: Uuid::now_v7(),
            draw_id,
            plan_id: plan.id.clone(),
            plan_version: version.version,
            position: i as i64,
            checklist: t.checklist.clone(),
            kind: t.kind,
            followup: t.followup.clone(),
            institution_id: t.unit_id,
            category: t.category.clone(),
            drawn_inspectors: t.inspectors.clone(),
            inspectors: t.inspectors.clone(),
            seq: 0,
        })
        .collect();
    let record = DrawRecord {
        id: draw_id,
        plan_id: plan.id.clone(),
        plan_version: version.version,
        seed: seed.to_owned(),
        algorithm: result.algorithm.clone(),
        inputs_hash: result.inputs_hash.clone(),
        tasks_hash: result.tasks_hash(),
        inputs: serde_json::to_value(&inputs).map_err(ServiceError::internal)?,
        created_by: actor.name(),
        created_at: now,
    };
    if !dry_run {
        // The plan as drawn is kept with the draw, whatever later binaries carry.
        super::plans::keep(p, actor, now, &version).await?;
        store
            .save_draw(&actor.stamp(now), record.clone(), plan.year, tasks.clone())
            .await?;
    }
    view(store, &record, tasks, !dry_run).await
}

/// Recorded draws (administrators and team leads).
pub async fn list(p: &Platform, actor: &Actor) -> ServiceResult<Vec<DrawListItem>> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    Ok(p.store
        .draws()
        .await?
        .into_iter()
        .map(|d| DrawListItem {
            id: d.id,
            plan_id: d.plan_id,
            plan_version: d.plan_version,
            seed: d.seed,
            algorithm: d.algorithm,
            created_by: d.created_by,
            created_at: d.created_at,
        })
        .collect())
}

/// The view of a recorded draw (administrators and team leads).
pub async fn show(p: &Platform, actor: &Actor, draw_id: Uuid) -> ServiceResult<DrawView> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let store = p.store();
    let record = store
        .draw(draw_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("抽取记录 {draw_id} 不存在")))?;
    let tasks = store.tasks_of_draw(draw_id).await?;
    view(store, &record, tasks, true).await
}

async fn view(
    store: &dyn ServerStore,
    record: &DrawRecord,
    tasks: Vec<StoredTask>,
    recorded: bool,
) -> ServiceResult<DrawView> {
    let institutions: HashMap<Uuid, _> = store
        .list_institutions()
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let users: HashMap<Uuid, User> = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let tasks = tasks
        .into_iter()
        .map(|t| TaskView {
            id: t.id,
            position: t.position,
            checklist: t.checklist.clone(),
            kind: t.kind,
            followup: t.followup.clone(),
            institution: institutions
                .get(&t.institution_id)
                .map(|i| InstitutionRef {
                    id: i.id,
                    name: i.name.clone(),
                    credit_code: i.credit_code.clone(),
                    district: i.district.clone(),
                })
                .unwrap_or(InstitutionRef {
                    id: t.institution_id,
                    name: String::new(),
                    credit_code: String::new(),
                    district: String::new(),
                }),
            category: t.category.to_string(),
            inspectors: t
                .inspectors
                .iter()
                .map(|id| InspectorRef {
                    id: *id,
                    name: users
                        .get(id)
                        .map(|u| u.display_name.clone())
                        .unwrap_or_default(),
                    badge_no: users
                        .get(id)
                        .and_then(|u| u.badge_no.clone())
                        .unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    Ok(DrawView {
        id: record.id,
        plan_id: record.plan_id.clone(),
        plan_version: record.plan_version,
        seed: record.seed.clone(),
        algorithm: record.algorithm.clone(),
        inputs_hash: record.inputs_hash.clone(),
        tasks_hash: record.tasks_hash.clone(),
        created_by: record.created_by.clone(),
        created_at: record.created_at,
        recorded,
        tasks,
    })
}

/// Recomputes a recorded draw from its record alone and compares (administrators
/// and team leads).
pub async fn verify(p: &Platform, actor: &Actor, draw_id: Uuid) -> ServiceResult<VerifyReport> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let store = p.store();
    let record = store
        .draw(draw_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("抽取记录 {draw_id} 不存在")))?;
    let inputs: DrawInputs = serde_json::from_value(record.inputs.clone()).map_err(|e| {
        bad(
            ErrorCode::CorruptRecord,
            format!("抽取记录中的输入数据无法读取：{e}"),
        )
    })?;
    let inputs_hash_matches = inputs.hash() == record.inputs_hash;
    let recomputed =
        draw::draw_versioned(&record.algorithm, &record.seed, &inputs).map_err(draw_error)?;
    let recomputed_tasks_hash = recomputed.tasks_hash();
    let stored: Vec<_> = store
        .tasks_of_draw(draw_id)
        .await?
        .iter()
        .map(StoredTask::as_drawn)
        .collect();
    let stored_tasks_match = draw::tasks_hash(&stored) == record.tasks_hash;
    let matches =
        inputs_hash_matches && recomputed_tasks_hash == record.tasks_hash && stored_tasks_match;
    let message = if matches {
        format!(
            "一致：按记录的种子、输入和算法 {} 重新计算，得到与记录完全相同的 {} 项任务",
            record.algorithm,
            recomputed.tasks.len()
        )
    } else if !inputs_hash_matches {
        "不一致：记录中的输入数据与其哈希不符（记录可能被改动）".to_owned()
    } else if recomputed_tasks_hash != record.tasks_hash {
        "不一致：重新计算的抽取结果与记录不同".to_owned()
    } else {
        "不一致：数据库中的任务与抽取记录不同（任务可能被改动）".to_owned()
    };
    Ok(VerifyReport {
        draw_id,
        matches,
        inputs_hash_matches,
        recomputed_tasks_hash,
        recorded_tasks_hash: record.tasks_hash,
        stored_tasks_match,
        message,
    })
}

/// Re-assigns one inspector of a task (调整检查人员; administrators only), within
/// the plan's cap on the share of drawn inspectors that may be changed (003:
/// 不得超过抽取人员总数的15%), checked in the same transaction as the write.
pub async fn reassign(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    task_id: Uuid,
    req: ReassignRequest,
) -> ServiceResult<Reassignment> {
    actor.require(&[Role::Admin])?;
    let store = p.store();
    let ReassignRequest { from, to, reason } = req;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(bad(ErrorCode::ReasonRequired, "调整检查人员必须填写原因"));
    }
    if chars(reason) > MAX_REASON_CHARS {
        return Err(bad(ErrorCode::TooLong, "调整原因最多 1000 个字符"));
    }
    let task = store
        .task(task_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("任务 {task_id} 不存在")))?;
    let plan = super::plans::plan_of(p, &task.plan_id, task.plan_version).await?;
    let new = store
        .user_by_id(to)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("检查人员 {to} 不存在")))?;
    if new.role != Role::Inspector || new.badge_no.is_none() || new.disabled {
        return Err(bad(
            ErrorCode::NotAnInspector,
            format!("“{}”不是在岗的执法检查人员", new.display_name),
        ));
    }
    let institution = store
        .institution(task.institution_id)
        .await?
        .ok_or_else(|| ServiceError::internal("task without institution"))?;
    let conflicted = store
        .staff_for_draw()
        .await?
        .into_iter()
        .find(|s| s.user.id == to)
        .is_some_and(|s| s.conflict_codes.contains(&institution.credit_code));
    if conflicted {
        return Err(bad(
            ErrorCode::ConflictOfInterest,
            format!(
                "“{}”已声明与“{}”存在利害关系，应当回避",
                new.display_name, institution.name
            ),
        ));
    }
    let previous = store.assignments_in_year(plan.year - 1).await?;
    if previous.contains(&(task.institution_id, to)) {
        return Err(bad(
            ErrorCode::InspectedLastCampaign,
            format!(
                "“{}”在上一轮抽查中检查过“{}”，不得再次分配",
                new.display_name, institution.name
            ),
        ));
    }
    let drawn: HashSet<Uuid> = store
        .tasks_of_draw(task.draw_id)
        .await?
        .iter()
        .flat_map(|t| t.drawn_inspectors.clone())
        .collect();
    let allowance = reassignment_allowance(plan.reassignment_cap_percent, drawn.len());
    let r = Reassignment {
        id: Uuid::now_v7(),
        draw_id: task.draw_id,
        task_id,
        from_user: from,
        to_user: to,
        reason: reason.to_owned(),
        by: actor.name(),
        at: now,
    };
    let decide =
        Box::new(move |st: &ReassignState| reassign_rule(st, allowance, task_id, from, to));
    store
        .reassign(&actor.stamp(now), r.clone(), allowance, decide)
        .await?;
    Ok(r)
}

/// The rules a re-assignment must pass on the state inside its transaction: the
/// cap, the task, who is on it. Answers the position of the replaced inspector.
pub fn reassign_rule(
    st: &ReassignState,
    allowance: usize,
    task_id: Uuid,
    from: Uuid,
    to: Uuid,
) -> ServiceResult<usize> {
    if st.done >= allowance {
        return Err(bad(
            ErrorCode::ReassignmentCap,
            format!(
                "调整检查人员已达上限：本次抽取最多可调整 {allowance} 人次（不超过抽取人员总数的规定比例），已调整 {} 人次",
                st.done
            ),
        ));
    }
    let task = st
        .task
        .as_ref()
        .ok_or_else(|| ServiceError::not_found(format!("任务 {task_id} 不存在")))?;
    let Some(pos) = task.inspectors.iter().position(|u| *u == from) else {
        return Err(bad(ErrorCode::NotAssigned, "被调整的检查人员不在该任务中"));
    };
    if task.inspectors.contains(&to) {
        return Err(bad(ErrorCode::AlreadyAssigned, "新检查人员已在该任务中"));
    }
    Ok(pos)
}

/// The re-assignments of a draw against the plan's cap (调整比例), as the console's
/// draw page shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReassignmentStatus {
    pub draw_id: Uuid,
    /// Re-assignments made so far.
    pub used: usize,
    /// How many the cap allows (None: the plan sets no cap).
    pub allowed: Option<usize>,
    /// The plan's cap in percent of the drawn inspectors.
    pub cap_percent: Option<u32>,
    pub reassignments: Vec<Reassignment>,
}

/// The re-assignments of a draw and its cap (administrators and team leads).
pub async fn reassignment_status(
    p: &Platform,
    actor: &Actor,
    draw_id: Uuid,
) -> ServiceResult<ReassignmentStatus> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let record = p
        .store
        .draw(draw_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("抽取记录 {draw_id} 不存在")))?;
    let plan = super::plans::plan_of(p, &record.plan_id, record.plan_version).await?;
    let drawn: HashSet<Uuid> = p
        .store
        .tasks_of_draw(draw_id)
        .await?
        .iter()
        .flat_map(|t| t.drawn_inspectors.clone())
        .collect();
    let reassignments = p.store.reassignments(draw_id).await?;
    Ok(ReassignmentStatus {
        draw_id,
        used: reassignments.len(),
        allowed: plan
            .reassignment_cap_percent
            .map(|_| reassignment_allowance(plan.reassignment_cap_percent, drawn.len())),
        cap_percent: plan.reassignment_cap_percent,
        reassignments,
    })
}

/// One row of a plan's table with its population and the counts its quotas give
/// (the draw page shows them before the draw).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PopulationRow {
    pub checklist: String,
    /// 序号 as printed.
    pub number: String,
    /// 监督检查对象 as printed.
    pub label: String,
    pub categories: Vec<String>,
    /// Units of these categories in the registry.
    pub population: usize,
    /// Units the 国家双随机 quota draws (None: no national quota).
    pub national: Option<usize>,
    /// Units the 市级双随机 quota draws (None: no city quota).
    pub city: Option<usize>,
}

/// The population of every row of a plan's tables and the counts its ratios give
/// (administrators and team leads).
pub async fn population(
    p: &Platform,
    actor: &Actor,
    plan_id: &str,
) -> ServiceResult<Vec<PopulationRow>> {
    use jiandu_core::plan::QuotaRule;
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let version = super::plans::current(p, plan_id).await?;
    let plan = &*version.plan;
    let counts: HashMap<jiandu_core::CategoryCode, u64> =
        p.store.institution_counts().await?.into_iter().collect();
    let mut out = Vec::new();
    for c in &plan.checklists {
        for r in &c.rows {
            let population: usize = r
                .categories
                .iter()
                .map(|k| counts.get(k).copied().unwrap_or(0) as usize)
                .sum();
            let count = |q: Option<&jiandu_core::plan::Quota>, taken: usize| {
                q.and_then(|q| q.rule()).map(|rule| match rule {
                    QuotaRule::Percent(x) => draw::ratio_count(population, x),
                    QuotaRule::Count(n) => (n as usize).min(population),
                    QuotaRule::Remainder => population.saturating_sub(taken),
                })
            };
            let national = count(r.national.as_ref(), 0);
            let city = count(r.city.as_ref(), national.unwrap_or(0));
            out.push(PopulationRow {
                checklist: c.code.clone(),
                number: r.number.clone(),
                label: r.label.clone(),
                categories: r.categories.iter().map(|k| k.to_string()).collect(),
                population,
                national,
                city,
            });
        }
    }
    Ok(out)
}

/// A recorded draw's task list as an XLSX file (任务清单), for printing and for
/// bureaus' own systems (administrators and team leads).
pub async fn tasks_xlsx(p: &Platform, actor: &Actor, draw_id: Uuid) -> ServiceResult<Vec<u8>> {
    let v = show(p, actor, draw_id).await?;
    let rows: Vec<Vec<String>> = v
        .tasks
        .iter()
        .map(|t| {
            vec![
                (t.position + 1).to_string(),
                t.checklist.clone(),
                t.category.clone(),
                t.institution.name.clone(),
                t.institution.credit_code.clone(),
                t.institution.district.clone(),
                t.inspectors
                    .iter()
                    .map(|i| format!("{}（{}）", i.name, i.badge_no))
                    .collect::<Vec<_>>()
                    .join("、"),
            ]
        })
        .collect();
    let title = format!(
        "{} 第 {} 版 抽取任务清单（种子：{}）",
        v.plan_id, v.plan_version, v.seed
    );
    crate::formats::task_list_xlsx(
        &title,
        &[
            "序号",
            "检查表",
            "类别",
            "单位名称",
            "统一社会信用代码",
            "区县",
            "检查人员（执法证号）",
        ],
        &rows,
    )
    .map_err(ServiceError::internal)
}
