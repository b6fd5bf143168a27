//! Running, recording, verifying and adjusting draws (双随机抽取, the double-random
//! draw).
//!
//! The arithmetic is `jiandu_core::draw` (pure, deterministic); this module gathers
//! its inputs from the store (registry, staff directory with declared conflicts,
//! who inspected what in the previous campaign, the 回头看 list), records the draw
//! with everything needed to recompute it, and enforces the re-assignment cap.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult, chars};
use crate::model::{DrawFreeze, DrawRecord, Reassignment, StoredTask, User};
use crate::store::{ReassignState, ServerStore};
use chrono::{DateTime, Utc};
use jiandu_core::draw::{
    self, DrawInputs, DrawInspector, DrawUnit, MIN_TEAM_SIZE, PenalisedUnit, reassignment_allowance,
};
use jiandu_core::inspection::DrawKind;
use jiandu_core::plan::Catalogue;
use jiandu_core::{Plan, Role};
use serde::{Deserialize, Serialize};
use sha2::Digest;
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

/// Gathers the draw inputs for `plan` from the store: units keyed by credit code
/// with their effective services (`catalogue`: the one `plan` reads), inspectors by
/// badge number. A penalised unit the registry does not hold is an error naming it,
/// never a silent skip.
pub async fn gather_inputs(
    store: &dyn ServerStore,
    plan: &Plan,
    catalogue: &Catalogue,
) -> ServiceResult<DrawInputs> {
    let institutions = store.list_institutions().await?;
    let mut services = store.institution_services().await?;
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
            badge: s.user.badge_no.clone(),
        })
        .collect();
    let followed: HashSet<&str> = plan.campaigns.iter().map(|c| c.code.as_str()).collect();
    let mut penalised = Vec::new();
    let mut missing = Vec::new();
    for p in store.penalised().await? {
        if !followed.contains(p.campaign.as_str()) {
            continue;
        }
        match by_code.get(p.credit_code.as_str()) {
            Some(&id) => penalised.push(PenalisedUnit {
                campaign: p.campaign,
                unit_id: id,
            }),
            None => missing.push(format!("{}（{}）", p.credit_code, p.campaign)),
        }
    }
    if !missing.is_empty() {
        return Err(bad(
            ErrorCode::InvalidDrawInputs,
            format!(
                "回头看名单中有 {} 个单位不在名录库中，无法安排回头看：{}。请先在名录库中导入这些单位（无证经营者填名称、地址）",
                missing.len(),
                missing.join("、")
            ),
        ));
    }
    let units = institutions
        .into_iter()
        .map(|i| {
            let declared = services.remove(&i.id).unwrap_or_default();
            DrawUnit {
                id: i.id,
                services: catalogue.effective_services(&i.category, &declared),
                key: Some(i.credit_code),
                category: i.category,
                district: i.district,
            }
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

/// A freeze as shown (without the bulky inputs).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FreezeView {
    pub id: Uuid,
    pub plan_id: String,
    pub plan_version: u32,
    /// SHA-256 of the published inputs: publish it before the seed is drawn.
    pub inputs_hash: String,
    pub units: usize,
    pub inspectors: usize,
    pub penalised: usize,
    pub frozen_by: String,
    pub frozen_at: DateTime<Utc>,
}

/// `POST /draws/freeze`: fix a plan's draw inputs before the seed.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub plan_id: String,
}

fn freeze_view(f: &DrawFreeze, inputs: &DrawInputs) -> FreezeView {
    FreezeView {
        id: f.id,
        plan_id: f.plan_id.clone(),
        plan_version: f.plan_version,
        inputs_hash: f.inputs_hash.clone(),
        units: inputs.units.len(),
        inspectors: inputs.inspectors.len(),
        penalised: inputs.penalised.len(),
        frozen_by: f.frozen_by.clone(),
        frozen_at: f.frozen_at,
    }
}

/// The draw inputs a draw record or a freeze stored.
fn stored_inputs(value: &serde_json::Value) -> ServiceResult<DrawInputs> {
    serde_json::from_value(value.clone()).map_err(|e| {
        bad(
            ErrorCode::CorruptRecord,
            format!("抽取记录中的输入数据无法读取：{e}"),
        )
    })
}

/// The draw inputs of `plan` as the registry holds them now, read with the
/// catalogue the plan reads (built-in, published plans' and its own categories and
/// services).
async fn live_inputs(p: &Platform, plan: &Plan) -> ServiceResult<DrawInputs> {
    let catalogue = plan.catalogue(&super::plans::catalogue(p).await?);
    gather_inputs(p.store(), plan, &catalogue).await
}

/// Freezes a plan's draw inputs (抽取输入冻结; administrators only): the registry,
/// staff directory with conflicts, last campaign's assignments and the 回头看 list
/// as they are now, with the SHA-256 of their published form. Audited
/// (`draw.freeze`); publish the hash, then draw the seed in public. A plan not yet
/// drawn may be frozen again (a corrected registry): every freeze stays on record
/// and the draw uses the newest.
pub async fn freeze(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    req: FreezeRequest,
) -> ServiceResult<FreezeView> {
    actor.require(&[Role::Admin])?;
    let version = super::plans::current(p, &req.plan_id).await?;
    let plan = &*version.plan;
    let store = p.store();
    if store.draws().await?.iter().any(|d| d.plan_id == plan.id) {
        return Err(bad(
            ErrorCode::AlreadyDrawn,
            format!("计划“{}”已经抽取过，不能再冻结输入", plan.id),
        ));
    }
    let inputs = live_inputs(p, plan).await?;
    let inputs_hash = inputs.public().map_err(draw_error)?.hash();
    let f = DrawFreeze {
        id: Uuid::now_v7(),
        plan_id: plan.id.clone(),
        plan_version: version.version,
        inputs: serde_json::to_value(&inputs).map_err(ServiceError::internal)?,
        inputs_hash,
        frozen_by: actor.name(),
        frozen_at: now,
    };
    store.save_freeze(&actor.stamp(now), f.clone()).await?;
    Ok(freeze_view(&f, &inputs))
}

/// A plan's freezes, oldest first (administrators and team leads).
pub async fn freezes(p: &Platform, actor: &Actor, plan_id: &str) -> ServiceResult<Vec<FreezeView>> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let mut out = Vec::new();
    for f in p.store().freezes(plan_id).await? {
        let inputs = stored_inputs(&f.inputs)?;
        out.push(freeze_view(&f, &inputs));
    }
    Ok(out)
}

/// Draws for a plan with `seed` (administrators only). A real draw uses the
/// plan's newest freeze, which must be of the plan version current now, and is
/// recorded with it; a plan is drawn once. A dry run computes on the newest
/// freeze (or the live registry before any) and records nothing but an audit
/// entry (`draw.dry_run`: who, when, plan, the seed's SHA-256), so trying seeds
/// until one pleases leaves a trace.
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
    if seed.trim().is_empty() {
        return Err(draw_error(draw::DrawError::EmptySeed));
    }
    let store = p.store();
    let frozen = store
        .freezes(&plan.id)
        .await?
        .into_iter()
        .last()
        .filter(|f| f.plan_version == version.version);
    let inputs = match (&frozen, dry_run) {
        (Some(f), _) => stored_inputs(&f.inputs)?,
        (None, true) => live_inputs(p, plan).await?,
        (None, false) => {
            return Err(bad(
                ErrorCode::NotFrozen,
                format!(
                    "计划“{}”（第 {} 版）的抽取输入尚未冻结：请先冻结（draw freeze --plan {}），公示输入哈希，再当众产生并输入种子",
                    plan.id, version.version, plan.id
                ),
            ));
        }
    };
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
        freeze_id: frozen.as_ref().map(|f| f.id),
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
    if dry_run {
        let seed_sha256 = hex::encode(sha2::Sha256::digest(seed.as_bytes()));
        let event = crate::audit::events::dry_run(
            &plan.id,
            version.version,
            &seed_sha256,
            &record.inputs_hash,
            &record.tasks_hash,
            &record.created_by,
        );
        store.audit_only(&actor.stamp(now), event).await?;
    } else {
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
    let mut v = view(store, &record, tasks, true).await?;
    // A team lead reads their own district's tasks (the scope of /institutions).
    if let Some(district) = district_of(actor) {
        v.tasks.retain(|t| t.institution.district == district);
    }
    Ok(v)
}

/// The district a team lead is limited to; None: every district (administrator,
/// the command line, the system).
fn district_of(actor: &Actor) -> Option<&str> {
    actor
        .user
        .as_ref()
        .filter(|u| u.role != Role::Admin)
        .map(|u| u.district.as_str())
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
    let inputs = stored_inputs(&record.inputs)?;
    let inputs_hash_matches =
        inputs.hash_for(&record.algorithm).map_err(draw_error)? == record.inputs_hash;
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

/// The published inputs of a recorded `jiandu-draw/2` draw (administrators: they
/// hold every district's units and staff): what anyone needs, with the seed, to
/// recompute it.
pub async fn published_inputs(
    p: &Platform,
    actor: &Actor,
    draw_id: Uuid,
) -> ServiceResult<draw::PublicInputs> {
    actor.require(&[Role::Admin])?;
    let record = p
        .store()
        .draw(draw_id)
        .await?
        .ok_or_else(|| ServiceError::not_found(format!("抽取记录 {draw_id} 不存在")))?;
    if record.algorithm == draw::ALGORITHM_V1 {
        return Err(bad(
            ErrorCode::UnknownAlgorithm,
            "该抽取使用算法 jiandu-draw/1（按内部编号排序），没有可公示的输入：请用 draw verify 编号 核对",
        ));
    }
    stored_inputs(&record.inputs)?.public().map_err(draw_error)
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
    let mut reassignments = p.store.reassignments(draw_id).await?;
    if district_of(actor).is_some() {
        // A team lead reads the re-assignments of their district's tasks.
        let mine: HashSet<Uuid> = show(p, actor, draw_id)
            .await?
            .tasks
            .iter()
            .map(|t| t.id)
            .collect();
        reassignments.retain(|r| mine.contains(&r.task_id));
    }
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
    // Each unit in the first row of a table that takes it (by category and/or
    // service), exactly as the draw places it.
    let inputs = live_inputs(p, plan).await?;
    let mut out = Vec::new();
    for c in &plan.checklists {
        let mut per_row = vec![0usize; c.rows.len()];
        for u in &inputs.units {
            if let Some(i) = c
                .rows
                .iter()
                .position(|r| r.matches(&u.category, &u.services))
            {
                per_row[i] += 1;
            }
        }
        for (r, &population) in c.rows.iter().zip(&per_row) {
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
