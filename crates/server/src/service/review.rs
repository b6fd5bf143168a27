//! Tasks, inspections and the team lead's review (组长审核): who may see which task
//! and inspection, the review queue, approval (锁定) and return with comments.
//!
//! A decision is checked and written in one transaction: the core rule
//! (`Inspection::approve` / `return_with_comments`: only a team lead, the exact
//! version read, a state that awaits review) and, for approval, that every photo
//! and signature image has arrived, all on the state read there.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult, chars};
use crate::model::{ReviewDecision, ReviewRecord, StoredInspection, StoredTask};
use crate::store::ReviewState;
use chrono::{DateTime, Utc};
use jiandu_core::protocol::PhotoRecord;
use jiandu_core::{Inspection, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest return comment accepted (characters).
pub const MAX_COMMENT_CHARS: usize = 10_000;

/// `POST /inspections/{id}/approve`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The exact version reviewed.
    #[schema(minimum = 0, maximum = 9_007_199_254_740_991_u64)]
    pub version: u64,
}

/// `POST /inspections/{id}/return`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    #[schema(minimum = 0, maximum = 9_007_199_254_740_991_u64)]
    pub version: u64,
    /// 退回意见: up to 10,000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 10_000, pattern = r"\S")]
    pub comment: String,
}

/// An inspection with its task, as the review screen shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewItem {
    pub task: StoredTask,
    pub inspection: Inspection,
    /// The inspection's photos (not voided) with their time, place and SHA-256,
    /// which a reviewer checks against the picture.
    pub photos: Vec<PhotoRecord>,
}

/// Tasks the actor may see, optionally of one plan.
pub async fn list_tasks(
    p: &Platform,
    actor: &Actor,
    plan: Option<&str>,
) -> ServiceResult<Vec<StoredTask>> {
    let scope = actor.scope(p).await?;
    Ok(p.store.tasks_for(plan, scope.as_deref()).await?)
}

/// A task, if the actor may see it; otherwise as missing.
pub async fn visible_task(p: &Platform, actor: &Actor, id: Uuid) -> ServiceResult<StoredTask> {
    let missing = || ServiceError::not_found("任务不存在");
    let task = p.store.task(id).await?.ok_or_else(missing)?;
    match actor.scope(p).await? {
        None => Ok(task),
        Some(ids) if task.inspectors.iter().any(|u| ids.contains(u)) => Ok(task),
        // Not yours: indistinguishable from a missing task.
        Some(_) => Err(missing()),
    }
}

/// An inspection and its task, if the actor may see them; otherwise as missing.
pub async fn visible_inspection(
    p: &Platform,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<(StoredInspection, StoredTask)> {
    let missing = || ServiceError::not_found("检查记录不存在");
    let i = p.store.inspection(id).await?.ok_or_else(missing)?;
    let task = visible_task(p, actor, i.inspection.task_id)
        .await
        .map_err(|_| missing())?;
    Ok((i, task))
}

/// The inspections of the team lead's team that await review.
pub async fn queue(p: &Platform, actor: &Actor) -> ServiceResult<Vec<ReviewItem>> {
    actor.require(&[Role::TeamLead])?;
    let scope = actor.scope(p).await?;
    let tasks = p.store.tasks_for(None, scope.as_deref()).await?;
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let waiting: Vec<_> = p
        .store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .filter(|i| i.inspection.status.awaits_review())
        .collect();
    let mut out = Vec::new();
    for b in p.store.inspection_bundles(waiting).await? {
        if let Some(task) = tasks.iter().find(|t| t.id == b.inspection.task_id) {
            out.push(ReviewItem {
                task: task.clone(),
                inspection: b.inspection,
                photos: b
                    .photos
                    .into_iter()
                    .filter(|ph| ph.voided_at.is_none())
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Approves an inspection (locks it), naming the version reviewed.
pub async fn approve(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    version: u64,
) -> ServiceResult<StoredInspection> {
    decide(p, actor, now, id, version, None).await
}

/// Returns an inspection to its inspectors with comments.
pub async fn return_with_comments(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    version: u64,
    comment: &str,
) -> ServiceResult<StoredInspection> {
    if chars(comment) > MAX_COMMENT_CHARS {
        return Err(ServiceError::new(
            ErrorCode::TooLong,
            format!("退回意见最多 {MAX_COMMENT_CHARS} 个字符"),
        ));
    }
    decide(p, actor, now, id, version, Some(comment.to_owned())).await
}

async fn decide(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    version: u64,
    comment: Option<String>,
) -> ServiceResult<StoredInspection> {
    let core_actor = match (actor.role(), actor.core()) {
        (Role::TeamLead, Some(a)) => a,
        // Checked again by the core rule; answered early so nothing else leaks.
        _ => {
            return Err(ServiceError::forbidden(
                "只有组长可以审核，检查人员不能审核（包括自己的检查）",
            ));
        }
    };
    visible_inspection(p, actor, id).await?;
    let review = ReviewRecord {
        id: Uuid::now_v7(),
        inspection_id: id,
        decision: if comment.is_some() {
            ReviewDecision::Return
        } else {
            ReviewDecision::Approve
        },
        reviewed_version: version,
        comment: comment.as_ref().map(|c| c.trim().to_owned()),
        reviewer: core_actor.user_id,
        at: now,
    };
    let rule = Box::new(move |st: &ReviewState| -> ServiceResult<Inspection> {
        let stored = st
            .inspection
            .as_ref()
            .ok_or_else(|| ServiceError::not_found("检查记录不存在"))?;
        let mut inspection = stored.inspection.clone();
        match &comment {
            None => inspection.approve(&core_actor, version),
            Some(c) => inspection.return_with_comments(&core_actor, version, c),
        }
        .map_err(ServiceError::rule)?;
        if comment.is_none() && st.incomplete_blobs > 0 {
            return Err(ServiceError::new(
                ErrorCode::PhotosIncomplete,
                format!(
                    "还有 {} 张照片或签名尚未上传完成，暂不能审核通过",
                    st.incomplete_blobs
                ),
            ));
        }
        Ok(inspection)
    });
    Ok(p.store
        .record_review(&actor.stamp(now), review, rule)
        .await?)
}

/// The version check of a stored write (e.g. seeding an inspection): the stored
/// version must be the one the caller read (None: must not exist yet).
pub fn expect_version(expected: Option<u64>) -> crate::store::Decide<Option<StoredInspection>, ()> {
    Box::new(move |current: &Option<StoredInspection>| {
        let current = current.as_ref().map(|s| s.inspection.version);
        if current == expected {
            return Ok(());
        }
        Err(ServiceError::new(
            ErrorCode::Stale,
            match (current, expected) {
                (Some(c), Some(e)) => {
                    format!("检查记录已被更新（当前版本 {c}，提交基于版本 {e}），请刷新")
                }
                (Some(_), None) => "检查记录已存在".into(),
                _ => "检查记录不存在".into(),
            },
        ))
    })
}

/// One task as the console's task list shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TaskOverview {
    pub task_id: Uuid,
    pub plan_id: String,
    pub position: i64,
    pub checklist: String,
    pub category: String,
    pub institution: String,
    pub credit_code: String,
    pub district: String,
    pub address: String,
    /// Inspectors' names.
    pub inspectors: Vec<String>,
    /// None: not started on a tablet yet (待检查).
    pub status: Option<jiandu_core::inspection::InspectionStatus>,
    pub inspection_id: Option<Uuid>,
}

/// The tasks the actor may see (an inspector their own, a team lead their team's,
/// an administrator all), with names and states.
pub async fn overview(p: &Platform, actor: &Actor) -> ServiceResult<Vec<TaskOverview>> {
    let tasks = list_tasks(p, actor, None).await?;
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let inspections: std::collections::HashMap<Uuid, jiandu_core::Inspection> = p
        .store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .map(|i| (i.inspection.task_id, i.inspection))
        .collect();
    let inst_ids: Vec<Uuid> = tasks.iter().map(|t| t.institution_id).collect();
    let institutions: std::collections::HashMap<Uuid, crate::model::Institution> = p
        .store
        .institutions_by_ids(&inst_ids)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let user_ids: Vec<Uuid> = tasks.iter().flat_map(|t| t.inspectors.clone()).collect();
    let users: std::collections::HashMap<Uuid, String> = p
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    Ok(tasks
        .into_iter()
        .map(|t| {
            let inst = institutions.get(&t.institution_id);
            let i = inspections.get(&t.id);
            TaskOverview {
                task_id: t.id,
                plan_id: t.plan_id.clone(),
                position: t.position,
                checklist: t.checklist.clone(),
                category: t.category.to_string(),
                institution: inst.map(|i| i.name.clone()).unwrap_or_default(),
                credit_code: inst
                    .map(|i| jiandu_core::draw::credit_code_label(&i.credit_code))
                    .unwrap_or_default(),
                district: inst.map(|i| i.district.clone()).unwrap_or_default(),
                address: inst.map(|i| i.address.clone()).unwrap_or_default(),
                inspectors: t
                    .inspectors
                    .iter()
                    .filter_map(|id| users.get(id).cloned())
                    .collect(),
                status: i.map(|i| i.status),
                inspection_id: i.map(|i| i.id),
            }
        })
        .collect())
}
