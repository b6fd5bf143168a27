//! Running, recording, verifying and adjusting draws (双随机抽取).
//!
//! The arithmetic is `jiandu_core::draw` (pure, deterministic); this module gathers
//! its inputs from the store (registry, staff directory with declared conflicts,
//! who inspected what in the previous campaign, the 回头看 list), records the draw
//! with everything needed to recompute it, and enforces the re-assignment cap.

use crate::error::ApiError;
use crate::store::{DrawRecord, Reassignment, ServerStore, StoredTask, User};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use jiandu_core::Plan;
use jiandu_core::draw::{
    self, DrawInputs, DrawInspector, DrawUnit, MIN_TEAM_SIZE, PenalisedUnit, reassignment_allowance,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A draw as shown to people and machines: the record (without the bulky inputs)
/// and its tasks with names.
#[derive(Debug, Clone, Serialize)]
pub struct DrawView {
    pub id: Uuid,
    pub plan_id: String,
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

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub id: Uuid,
    pub position: i64,
    pub checklist: String,
    /// national / city / followup.
    pub kind: &'static str,
    pub followup: Option<String>,
    pub institution: InstitutionRef,
    pub category: String,
    pub inspectors: Vec<InspectorRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstitutionRef {
    pub id: Uuid,
    pub name: String,
    pub credit_code: String,
    pub district: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InspectorRef {
    pub id: Uuid,
    pub name: String,
    pub badge_no: String,
}

/// Result of `draw verify`.
#[derive(Debug, Clone, Serialize)]
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

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Gathers the draw inputs for `plan` from the store.
pub async fn gather_inputs(store: &dyn ServerStore, plan: &Plan) -> Result<DrawInputs, ApiError> {
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

/// Draws for `plan` with `seed`; records it unless `dry_run`.
pub async fn run(
    store: &dyn ServerStore,
    plan: &Plan,
    seed: &str,
    by: &str,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<DrawView, ApiError> {
    if seed.chars().count() > 200 {
        return Err(bad("invalid_seed", "抽取种子最多 200 个字符"));
    }
    let inputs = gather_inputs(store, plan).await?;
    let result = draw::draw(seed, &inputs).map_err(|e| bad(e.code(), e.to_string()))?;
    let draw_id = Uuid::now_v7();
    let tasks: Vec<StoredTask> = result
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| StoredTask {
            id: Uuid::now_v7(),
            draw_id,
            plan_id: plan.id.clone(),
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
        seed: seed.to_owned(),
        algorithm: result.algorithm.clone(),
        inputs_hash: result.inputs_hash.clone(),
        tasks_hash: result.tasks_hash(),
        inputs: serde_json::to_value(&inputs).map_err(ApiError::internal)?,
        created_by: by.to_owned(),
        created_at: now,
    };
    if !dry_run {
        store
            .save_draw(record.clone(), plan.year, tasks.clone())
            .await?;
    }
    view(store, &record, tasks, !dry_run).await
}

/// The view of a recorded draw.
pub async fn show(store: &dyn ServerStore, draw_id: Uuid) -> Result<DrawView, ApiError> {
    let record = store
        .draw(draw_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("抽取记录 {draw_id} 不存在")))?;
    let tasks = store.tasks_of_draw(draw_id).await?;
    view(store, &record, tasks, true).await
}

async fn view(
    store: &dyn ServerStore,
    record: &DrawRecord,
    tasks: Vec<StoredTask>,
    recorded: bool,
) -> Result<DrawView, ApiError> {
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
            kind: crate::store::kind_str(t.kind),
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

/// Recomputes a recorded draw from its record alone and compares.
pub async fn verify(store: &dyn ServerStore, draw_id: Uuid) -> Result<VerifyReport, ApiError> {
    let record = store
        .draw(draw_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("抽取记录 {draw_id} 不存在")))?;
    let inputs: DrawInputs = serde_json::from_value(record.inputs.clone()).map_err(|e| {
        bad(
            "corrupt_record",
            format!("抽取记录中的输入数据无法读取：{e}"),
        )
    })?;
    let inputs_hash_matches = inputs.hash() == record.inputs_hash;
    let recomputed = draw::draw_versioned(&record.algorithm, &record.seed, &inputs)
        .map_err(|e| bad(e.code(), e.to_string()))?;
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

/// A request to replace one inspector of a task.
#[derive(Debug, Clone)]
pub struct ReassignOrder {
    pub task_id: Uuid,
    pub from: Uuid,
    pub to: Uuid,
    pub reason: String,
    /// Who orders it (recorded).
    pub by: String,
}

/// Re-assigns one inspector of a task (调整检查人员), within the plan's cap.
pub async fn reassign(
    store: &dyn ServerStore,
    plan: &Plan,
    order: ReassignOrder,
    now: DateTime<Utc>,
) -> Result<Reassignment, ApiError> {
    let ReassignOrder {
        task_id,
        from,
        to,
        reason,
        by,
    } = order;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(bad("reason_required", "调整检查人员必须填写原因"));
    }
    if reason.chars().count() > 1000 {
        return Err(bad("too_long", "调整原因最多 1000 个字符"));
    }
    let task = store
        .task(task_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("任务 {task_id} 不存在")))?;
    if task.plan_id != plan.id {
        return Err(bad("wrong_plan", "任务不属于该计划"));
    }
    let new = store
        .user_by_id(to)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("检查人员 {to} 不存在")))?;
    if new.role != jiandu_core::Role::Inspector || new.badge_no.is_none() || new.disabled {
        return Err(bad(
            "not_an_inspector",
            format!("“{}”不是在岗的执法检查人员", new.display_name),
        ));
    }
    let institution = store
        .institution(task.institution_id)
        .await?
        .ok_or_else(|| ApiError::internal("task without institution"))?;
    let conflicted = store
        .staff_for_draw()
        .await?
        .into_iter()
        .find(|s| s.user.id == to)
        .is_some_and(|s| s.conflict_codes.contains(&institution.credit_code));
    if conflicted {
        return Err(bad(
            "conflict_of_interest",
            format!(
                "“{}”已声明与“{}”存在利害关系，应当回避",
                new.display_name, institution.name
            ),
        ));
    }
    let previous = store.assignments_in_year(plan.year - 1).await?;
    if previous.contains(&(task.institution_id, to)) {
        return Err(bad(
            "inspected_last_campaign",
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
        by,
        at: now,
    };
    store.reassign(r.clone(), allowance).await?;
    Ok(r)
}

/// Human-readable listing of a draw (the `draw` command's output).
pub fn render(view: &DrawView) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "抽取记录 {}{}\n计划：{}  种子：{}  算法：{}\n输入哈希：{}\n结果哈希：{}\n执行人：{}  时间：{}\n共 {} 项任务",
        view.id,
        if view.recorded {
            ""
        } else {
            "（试算，未保存）"
        },
        view.plan_id,
        view.seed,
        view.algorithm,
        view.inputs_hash,
        view.tasks_hash,
        view.created_by,
        view.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        view.tasks.len()
    );
    for t in &view.tasks {
        let kind = match t.kind {
            "national" => "国家双随机",
            "city" => "市级双随机",
            _ => "回头看",
        };
        let people: Vec<String> = t
            .inspectors
            .iter()
            .map(|p| format!("{}（{}）", p.name, p.badge_no))
            .collect();
        let _ = writeln!(
            out,
            "{:>4}  {}  {}  {}  {}  {}  检查人员：{}",
            t.position + 1,
            kind,
            t.checklist,
            t.institution.name,
            t.institution.credit_code,
            t.category,
            people.join("、")
        );
    }
    out
}
