//! Sync (../shared/design/SYNC.md), the platform's side:
//!
//! - push: outbox items, each parsed into a typed [`Mutation`] and decided by
//!   jiandu-core's own [`Inspection`] methods inside the store's transaction
//!   (`SyncStore::push`); answered per item;
//! - pull: tasks (own; a team lead's team), tombstones and inspections in
//!   change-sequence order, with the epoch;
//! - photos: resumable upload (tus header names); what the blob store staged is the
//!   durable offset (a partial file's length, or the chain of chunk objects in an
//!   object store); the last byte triggers the SHA-256 check; verified bytes move
//!   to content-addressed storage (`crate::blobs`);
//! - 文号 (document numbers): blocks per device, authority and year.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult};
use crate::blobs::is_sha256;
use crate::model::{BlobRow, StoredTask, User};
use crate::store::{BlobWrite, DecideLease, ItemDecision, ItemState, PreparedItem};
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{Stream, StreamExt};
use jiandu_core::inspection::{AssignedInspector, Task, check_editable, check_outcome};
use jiandu_core::protocol::{
    BlobKind, BlobRegistration, BlobStatus, Change, ChangeBody, DocNumberLease, LeaseRequest,
    MAX_BLOB_BYTES, MAX_CHUNK_BYTES, MAX_LEASE_BLOCK, MAX_PULL_LIMIT, MAX_PUSH_ITEMS,
    MIN_CHUNK_BYTES, Mutation, PullPage, PushItem, PushRequest, PushResponse, RejectReason,
};
use jiandu_core::{Inspection, Plan, PublicCategory, Role, RuleViolation};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

// ---------------------------------------------------------------------------------
// Limits

/// How much a device may store (settings file; docs/SERVER.md). Counted over photos
/// that are not voided (per inspection, from the database) and over what each
/// device sent today (UTC; in memory per server process: a restart forgets today's
/// count, and N processes let a device send up to N× the daily limit; an abuse
/// limit, not worth a database write per chunk; docs/SERVER.md "Several servers").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    pub photos_per_inspection: u64,
    pub bytes_per_inspection: u64,
    pub photos_per_device_per_day: u64,
    pub bytes_per_device_per_day: u64,
    /// A partial upload untouched this long is removed (`sweep_partial_uploads`).
    pub partial_upload_expiry: std::time::Duration,
}

impl Default for UploadLimits {
    fn default() -> Self {
        Self {
            photos_per_inspection: 300,
            bytes_per_inspection: 2 * 1024 * 1024 * 1024,
            photos_per_device_per_day: 2000,
            bytes_per_device_per_day: 8 * 1024 * 1024 * 1024,
            partial_upload_expiry: std::time::Duration::from_secs(3 * 24 * 3600),
        }
    }
}

/// Photos completed and bytes received per device today.
#[derive(Debug, Default)]
pub struct DeviceQuota {
    used: std::sync::Mutex<HashMap<(Uuid, NaiveDate), (u64, u64)>>,
}

impl DeviceQuota {
    fn with<T>(&self, device: Uuid, now: DateTime<Utc>, f: impl FnOnce(&mut (u64, u64)) -> T) -> T {
        let mut map = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let today = now.date_naive();
        map.retain(|(_, d), _| *d >= today);
        f(map.entry((device, today)).or_default())
    }
}

fn quota_error(message: String) -> ServiceError {
    ServiceError::new(ErrorCode::UploadLimit, message)
}

/// Refuses a photo upload when the device reached today's limits.
fn check_device_quota(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    more_bytes: u64,
) -> ServiceResult<()> {
    let Some(device) = actor.device else {
        return Ok(());
    };
    let l = p.uploads;
    let (photos, bytes) = p.quota.with(device, now, |u| *u);
    if photos >= l.photos_per_device_per_day {
        return Err(quota_error(format!(
            "本设备今天已上传 {photos} 张照片，达到每日上限 {}：请明天再同步，或联系管理员",
            l.photos_per_device_per_day
        )));
    }
    if bytes + more_bytes > l.bytes_per_device_per_day {
        return Err(quota_error(format!(
            "本设备今天上传的照片已达每日上限 {} MB：请明天再同步，或联系管理员",
            l.bytes_per_device_per_day / (1024 * 1024)
        )));
    }
    Ok(())
}

/// Removes partial uploads untouched for the settings' expiry (a device that never
/// finished); answers how many. Run at start and hourly by `serve`.
pub async fn sweep_partial_uploads(
    p: &Platform,
    now: std::time::SystemTime,
) -> ServiceResult<usize> {
    p.blobs
        .drop_partials_older_than(now, p.uploads.partial_upload_expiry)
        .await
        .map_err(io_error)
}

// ---------------------------------------------------------------------------------
// Push

/// What every decision of one push request needs.
struct PushContext {
    /// The plan version of each of the user's tasks, by (plan id, version).
    plans: HashMap<(String, u32), Arc<Plan>>,
    /// Tasks assigned to the pushing user.
    tasks: HashMap<Uuid, StoredTask>,
    /// Tasks whose inspections the pusher may read (assigned, or a team lead's
    /// team); None: all (administrator).
    readable: Option<HashSet<Uuid>>,
    actor: jiandu_core::Actor,
    limits: UploadLimits,
}

impl PushContext {
    /// A refusal carries the server's record only for someone who may read it;
    /// anyone else learns nothing about the named inspection (SYNC.md, Trust).
    fn answer(&self, st: &ItemState<'_>, decision: ItemDecision) -> ItemDecision {
        let ItemDecision::Reject {
            reason, message, ..
        } = decision
        else {
            return decision;
        };
        let may_read = match (&st.inspection, &self.readable) {
            (None, _) | (Some(_), None) => true,
            (Some(i), Some(tasks)) => tasks.contains(&i.task_id),
        };
        if may_read {
            ItemDecision::Reject {
                reason,
                message,
                show_current: true,
            }
        } else {
            ItemDecision::Reject {
                reason: RejectReason::Forbidden,
                message: "只有本任务分派的检查人员可以录入检查内容".into(),
                show_current: false,
            }
        }
    }
}

/// Applies a device's outbox items: each decided on the state inside one
/// transaction, each answered on its own; a replayed batch gets the stored answers.
pub async fn push(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    req: PushRequest,
) -> ServiceResult<PushResponse> {
    if req.items.len() > MAX_PUSH_ITEMS {
        return Err(ServiceError::new(
            ErrorCode::TooManyItems,
            format!("一次最多同步 {MAX_PUSH_ITEMS} 条修改"),
        ));
    }
    // Versions are 64-bit signed integers on the wire (the schema says int64).
    if req
        .items
        .iter()
        .any(|i| i.base_version.is_some_and(|v| i64::try_from(v).is_err()))
    {
        return Err(ServiceError::new(
            ErrorCode::InvalidBody,
            "同步内容格式不正确：版本号超出范围",
        ));
    }
    let (Some(user), Some(device)) = (&actor.user, actor.device) else {
        return Err(ServiceError::forbidden("只有登记过的设备可以同步"));
    };
    let tasks: HashMap<Uuid, StoredTask> = p
        .store
        .tasks_for(None, Some(&[user.id]))
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let plans = plans_of(p, tasks.values()).await?;
    let readable = match actor.scope(p).await? {
        None => None,
        Some(ids) if ids == [user.id] => Some(tasks.keys().copied().collect()),
        Some(ids) => Some(
            p.store
                .tasks_for(None, Some(&ids))
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect(),
        ),
    };
    let ctx = Arc::new(PushContext {
        plans,
        tasks,
        readable,
        limits: p.uploads,
        actor: actor
            .core()
            .ok_or_else(|| ServiceError::internal("push without a user"))?,
    });
    let items = req
        .items
        .into_iter()
        .map(|item| {
            let parsed = Mutation::parse(&item);
            let task_id = match &parsed {
                Ok(Mutation::Start(h)) | Ok(Mutation::MarkUnreachable(h)) => Some(h.task_id),
                _ => None,
            };
            let ctx = ctx.clone();
            PreparedItem {
                item,
                task_id,
                decide: Box::new(move |it: &PushItem, st: &ItemState<'_>| {
                    let decision = match &parsed {
                        Ok(m) => decide(&ctx, it, m.clone(), st, now),
                        Err(message) => reject(RejectReason::Invalid, message.clone()),
                    };
                    ctx.answer(st, decision)
                }),
            }
        })
        .collect();
    let results = p.store.push(&actor.stamp(now), device, items).await?;
    let applied = results
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                jiandu_core::protocol::ItemOutcome::Applied { .. }
            )
        })
        .count() as u64;
    p.metrics
        .push_items(applied, results.len() as u64 - applied);
    Ok(PushResponse { results })
}

fn reject(reason: RejectReason, message: impl Into<String>) -> ItemDecision {
    ItemDecision::Reject {
        reason,
        message: message.into(),
        show_current: true,
    }
}

/// How far ahead of the server's clock a device's time may be (its clock drifts; a
/// time further in the future is refused as implausible).
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// Types a photo may have (as the device store accepts them).
const PHOTO_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/heic",
    "image/heif",
    "image/webp",
];

/// A time a device recorded is plausible: not before 2000, not in the future beyond
/// [`CLOCK_SKEW`].
fn plausible(t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    t <= now + CLOCK_SKEW && t.timestamp() >= 946_684_800
}

fn implausible(what: &str) -> ItemDecision {
    reject(
        RejectReason::Invalid,
        format!(
            "{what}不合理（晚于服务器当前时间 10 分钟以上，或早于 2000 年）：请检查平板的日期和时间"
        ),
    )
}

/// An end time: plausible and not before the inspection started.
fn check_end(insp: &Inspection, end: DateTime<Utc>, now: DateTime<Utc>) -> Option<ItemDecision> {
    if !plausible(end, now) {
        return Some(implausible("结束时间"));
    }
    if insp.started_at.is_some_and(|s| end < s) {
        return Some(reject(RejectReason::Invalid, "结束时间早于开始时间"));
    }
    None
}

fn rule_reject(v: RuleViolation) -> ItemDecision {
    let reason = match v {
        RuleViolation::Locked => RejectReason::Locked,
        RuleViolation::Forbidden(_) => RejectReason::Forbidden,
        RuleViolation::WrongState { .. } | RuleViolation::StaleVersion { .. } => {
            RejectReason::Stale
        }
        _ => RejectReason::Invalid,
    };
    reject(reason, v.to_string())
}

/// Decides one item on the state read in the transaction: the same
/// `jiandu_core::Inspection` methods the device ran, so the rules exist once.
fn decide(
    ctx: &PushContext,
    item: &PushItem,
    m: Mutation,
    st: &ItemState<'_>,
    now: DateTime<Utc>,
) -> ItemDecision {
    if ctx.actor.role != Role::Inspector {
        return reject(RejectReason::Forbidden, "只有检查人员可以录入检查内容");
    }
    let task_id = match (&st.inspection, &m) {
        (Some(i), _) => i.task_id,
        (None, Mutation::Start(h) | Mutation::MarkUnreachable(h)) => h.task_id,
        (None, _) if st.earlier_rejected => {
            return reject(
                RejectReason::DependencyRejected,
                "此前对该检查的修改已被服务器拒绝，本项修改无法应用",
            );
        }
        (None, _) => {
            return reject(
                RejectReason::Invalid,
                "服务器上没有这项检查（“开始检查”尚未同步）",
            );
        }
    };
    let Some(task) = ctx.tasks.get(&task_id) else {
        return reject(
            RejectReason::Forbidden,
            "只有本任务分派的检查人员可以录入检查内容",
        );
    };
    if st.inspection.is_none()
        && let Some(other) = st.task_inspection
        && other != item.inspection_id
    {
        return reject(
            RejectReason::Stale,
            "该任务已由另一台设备开始检查，请同步后在该检查上继续",
        );
    }
    let checklist = ctx
        .plans
        .get(&(task.plan_id.clone(), task.plan_version))
        .and_then(|p| p.checklist(&task.checklist));
    let category = &task.category;
    let mut insp = st
        .inspection
        .cloned()
        .unwrap_or_else(|| Inspection::new(item.inspection_id, task_id));
    let actor = &ctx.actor;
    let no_checklist = || {
        reject(
            RejectReason::Invalid,
            format!("服务器不认识检查表“{}/{}”", task.plan_id, task.checklist),
        )
    };
    let mut blob = None;
    let mut signature = None;
    let result = match m {
        Mutation::Start(h) => {
            let at = h.started_at.unwrap_or(now);
            if !plausible(at, now) {
                return implausible("开始时间");
            }
            insp.start(actor, &h.place, at)
        }
        Mutation::SetOutcome(h) => {
            let Some(outcome) = h.outcome else {
                return reject(RejectReason::Invalid, "缺少处理结果");
            };
            if outcome.category == PublicCategory::Unreachable {
                return reject(
                    RejectReason::Invalid,
                    "单位无法联系时请使用“无法联系”操作，而不是选择处理结果",
                );
            }
            let as_if = matches!(
                outcome.category,
                PublicCategory::Corrected | PublicCategory::Penalised
            );
            check_editable(insp.status)
                .and_then(|_| check_outcome(&outcome, as_if))
                .and_then(|_| insp.set_outcome(outcome))
        }
        Mutation::SetOpinionNumber(h) => match h.opinion_number.as_deref() {
            None => return reject(RejectReason::Invalid, "缺少意见书文号"),
            Some(n) => insp.record_opinion_number(n),
        },
        Mutation::SetOpinion(h) => match h.opinion {
            None => return reject(RejectReason::Invalid, "缺少监督意见"),
            Some(o) => insp.set_opinion(o),
        },
        Mutation::SetRecordDetails(h) => match h.record_details {
            None => return reject(RejectReason::Invalid, "缺少现场笔录的记录人、回避和在场人"),
            Some(d) => insp.set_record_details(d, &task.inspectors),
        },
        Mutation::Submit(h) => match checklist {
            None => return no_checklist(),
            Some(c) => {
                let at = h.ended_at.unwrap_or(now);
                if let Some(refused) = check_end(&insp, at, now) {
                    return refused;
                }
                insp.submit(actor, c, category, at)
            }
        },
        Mutation::MarkUnreachable(h) => {
            let reason = h
                .outcome
                .and_then(|o| o.unreachable_reason)
                .unwrap_or_default();
            let at = h.ended_at.unwrap_or(now);
            if let Some(refused) = check_end(&insp, at, now) {
                return refused;
            }
            insp.mark_unreachable(actor, &reason, at)
        }
        Mutation::UpsertFinding(f) => match checklist {
            None => return no_checklist(),
            Some(c) => {
                let mut f = *f;
                // Photos are attached by their own items: keep the server's list.
                f.photo_ids = insp
                    .findings
                    .iter()
                    .find(|x| x.point == f.point)
                    .map(|x| x.photo_ids.clone())
                    .unwrap_or_default();
                f.recorded_by = actor.user_id;
                if !plausible(f.recorded_at, now) {
                    return implausible("记录时间");
                }
                insp.record_finding(c, category, f)
            }
        },
        Mutation::CreatePhoto(p) => {
            if let Err(v) = check_editable(insp.status) {
                return rule_reject(v);
            }
            if !is_sha256(&p.sha256) || p.size_bytes == 0 || p.size_bytes > MAX_BLOB_BYTES {
                return reject(RejectReason::Invalid, "照片的校验值或大小无效");
            }
            if !PHOTO_TYPES.contains(&p.mime.as_str()) {
                return reject(
                    RejectReason::Invalid,
                    "照片格式无效（应为 JPEG、PNG、HEIC 或 WebP）",
                );
            }
            if p.location.is_some_and(|g| {
                !(-90.0..=90.0).contains(&g.lat) || !(-180.0..=180.0).contains(&g.lon)
            }) {
                return reject(RejectReason::Invalid, "照片的拍摄位置无效");
            }
            if !plausible(p.taken_at, now) || !plausible(p.captured_at, now) {
                return implausible("拍摄时间");
            }
            // Who took it is the token's user; a new photo is not voided.
            let mut p = p;
            p.captured_by = actor.user_id;
            p.voided_by = None;
            p.voided_at = None;
            p.void_reason = None;
            if st.blob.is_some() {
                return reject(RejectReason::Invalid, "该照片编号已存在");
            }
            let (photos, bytes) = st.photos;
            if photos >= ctx.limits.photos_per_inspection {
                return reject(
                    RejectReason::Invalid,
                    format!(
                        "每项检查最多 {} 张照片：请先作废不需要的照片",
                        ctx.limits.photos_per_inspection
                    ),
                );
            }
            if bytes + p.size_bytes > ctx.limits.bytes_per_inspection {
                return reject(
                    RejectReason::Invalid,
                    format!(
                        "每项检查的照片合计不超过 {} MB：请先作废不需要的照片",
                        ctx.limits.bytes_per_inspection / (1024 * 1024)
                    ),
                );
            }
            if let Some(fid) = p.finding_id {
                match insp.findings.iter_mut().find(|f| f.id == fid) {
                    // Kept in id (UUIDv7 = capture) order, as every device lists them.
                    Some(f) => {
                        f.photo_ids.push(p.id);
                        f.photo_ids.sort();
                    }
                    None => return reject(RejectReason::Invalid, "照片所属的检查结果不存在"),
                }
            }
            insp.version += 1;
            blob = Some(Box::new(BlobWrite {
                id: p.id,
                kind: BlobKind::Photo,
                sha256: p.sha256.clone(),
                size: Some(p.size_bytes),
                mime: p.mime.clone(),
                voided: false,
                meta: Some(*p),
            }));
            Ok(())
        }
        Mutation::VoidPhoto(p) => {
            if let Err(v) = check_editable(insp.status) {
                return rule_reject(v);
            }
            let Some(existing) = &st.blob else {
                return reject(RejectReason::Invalid, "要作废的照片不存在");
            };
            if existing.inspection_id != insp.id || existing.kind != BlobKind::Photo {
                return reject(RejectReason::Invalid, "要作废的照片不属于该检查");
            }
            let (Some(voided_at), Some(reason)) = (
                p.voided_at,
                p.void_reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty()),
            ) else {
                return reject(RejectReason::Invalid, "作废照片需要注明原因");
            };
            if !plausible(voided_at, now) {
                return implausible("作废时间");
            }
            if super::chars(reason) > 500 {
                return reject(RejectReason::Invalid, "作废原因不超过 500 个字符");
            }
            // Voiding changes the void fields only: the rest is the server's record.
            let Some(mut meta) = existing.meta.clone() else {
                return reject(RejectReason::Invalid, "要作废的照片不存在");
            };
            meta.voided_by = Some(actor.user_id);
            meta.voided_at = Some(voided_at);
            meta.void_reason = Some(reason.to_owned());
            for f in &mut insp.findings {
                f.photo_ids.retain(|x| *x != p.id);
            }
            insp.version += 1;
            blob = Some(Box::new(BlobWrite {
                id: p.id,
                kind: BlobKind::Photo,
                sha256: existing.sha256.clone(),
                size: existing.size,
                mime: existing.mime.clone(),
                voided: true,
                meta: Some(meta),
            }));
            Ok(())
        }
        Mutation::CreateSignature(sig) => {
            if let Err(v) = check_editable(insp.status) {
                return rule_reject(v);
            }
            if st.blob.is_some() {
                return reject(RejectReason::Invalid, "该签名编号已存在");
            }
            if !plausible(sig.signed_at, now) {
                return implausible("签名时间");
            }
            if let Some(sha) = &sig.image_sha256 {
                if !is_sha256(sha) {
                    return reject(RejectReason::Invalid, "签名图片的校验值无效");
                }
                blob = Some(Box::new(BlobWrite {
                    id: sig.id,
                    kind: BlobKind::Signature,
                    sha256: sha.clone(),
                    size: None,
                    mime: "image/png".into(),
                    voided: false,
                    meta: None,
                }));
            }
            insp.version += 1;
            signature = Some(sig);
            Ok(())
        }
    };
    match result {
        Ok(()) => ItemDecision::Apply {
            inspection: Box::new(insp),
            blob,
            signature,
        },
        Err(v) => rule_reject(v),
    }
}

// ---------------------------------------------------------------------------------
// Pull

/// Changes a device receives per pull page when it does not say (`limit`).
pub const DEFAULT_PULL_LIMIT: usize = 500;

/// The plan versions of some tasks, read once each.
async fn plans_of<'a>(
    p: &Platform,
    tasks: impl Iterator<Item = &'a StoredTask>,
) -> ServiceResult<HashMap<(String, u32), Arc<Plan>>> {
    let mut out = HashMap::new();
    for t in tasks {
        if let std::collections::hash_map::Entry::Vacant(e) =
            out.entry((t.plan_id.clone(), t.plan_version))
        {
            e.insert(super::plans::plan_of(p, &t.plan_id, t.plan_version).await?);
        }
    }
    Ok(out)
}

/// A page of the changes visible to the actor after `since`: their tasks (a team
/// lead's team), tombstones of tasks taken away, and inspections, in server
/// change-sequence order; at most `limit` changes, never splitting one sequence
/// value. A device that reads plans (`plan_format`: the newest plan format it
/// knows) also gets the plan version of every task the page sends, just before the
/// task, so it can work the task with no signal; an older device gets no plans.
pub async fn pull(
    p: &Platform,
    actor: &Actor,
    since: i64,
    limit: Option<usize>,
    plan_format: Option<u32>,
) -> ServiceResult<PullPage> {
    if plan_format.is_some_and(|f| !(1..=1000).contains(&f)) {
        return Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            "计划格式 plan_format 应在 1–1000 之间",
        ));
    }
    let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT);
    if !(1..=MAX_PULL_LIMIT).contains(&limit) {
        return Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            format!("每页条数 limit 应在 1–{MAX_PULL_LIMIT} 之间"),
        ));
    }
    // Everything at or below `high` committed before we read anything (writers bump
    // the sequence under one lock and commit in order), so reading it in several
    // queries cannot skip a change; later changes wait for the next page.
    let state = p.store.state().await?;
    let high = state.change_seq;
    let scope = actor.scope(p).await?;
    let tasks = p.store.tasks_for(None, scope.as_deref()).await?;
    let visible: HashSet<Uuid> = tasks.iter().map(|t| t.id).collect();
    let mut changes: Vec<Change> = Vec::new();
    // The inspectors of the visible tasks (all users only for an admin's pull: a
    // device's pull must not read the whole staff directory every time).
    let mut users: HashMap<Uuid, User> = HashMap::new();
    let fresh: Vec<&StoredTask> = tasks
        .iter()
        .filter(|t| t.seq > since && t.seq <= high)
        .collect();
    if scope.is_none() {
        users.extend(p.store.list_users().await?.into_iter().map(|u| (u.id, u)));
    } else {
        let mut ids: Vec<Uuid> = fresh.iter().flat_map(|t| t.inspectors.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        users.extend(
            p.store
                .users_by_ids(&ids)
                .await?
                .into_iter()
                .map(|u| (u.id, u)),
        );
    }
    // Their institutions, in one query too.
    let mut inst_ids: Vec<Uuid> = fresh.iter().map(|t| t.institution_id).collect();
    inst_ids.sort_unstable();
    inst_ids.dedup();
    let institutions: HashMap<Uuid, crate::model::Institution> = p
        .store
        .institutions_by_ids(&inst_ids)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let task_seq: HashMap<Uuid, i64> = tasks.iter().map(|t| (t.id, t.seq)).collect();
    let plans = plans_of(p, fresh.iter().copied()).await?;
    // Where each plan version goes: beside the first (lowest-sequence) task of it.
    let mut plan_at: HashMap<(String, u32), i64> = HashMap::new();
    for t in fresh {
        let Some(inst) = institutions.get(&t.institution_id).cloned() else {
            continue;
        };
        let key = (t.plan_id.clone(), t.plan_version);
        let plan = &plans[&key];
        let at = plan_at.entry(key).or_insert(t.seq);
        *at = (*at).min(t.seq);
        changes.push(Change {
            seq: t.seq,
            body: ChangeBody::Task {
                task: Box::new(core_task(t, inst, &users, plan)),
            },
        });
    }
    if plan_format.is_some() {
        for ((id, version), seq) in plan_at {
            let change = super::plans::version(p, &id, version).await?.change()?;
            changes.push(Change {
                seq,
                body: ChangeBody::Plan {
                    plan: Box::new(change),
                },
            });
        }
    }
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let wanted: Vec<_> = p
        .store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .filter_map(|i| {
            // A task newly assigned to this user brings its inspection along.
            let seq = i
                .seq
                .max(*task_seq.get(&i.inspection.task_id).unwrap_or(&0));
            (seq > since && i.seq <= high).then_some((seq, i))
        })
        .collect();
    let seqs: HashMap<Uuid, i64> = wanted.iter().map(|(s, i)| (i.inspection.id, *s)).collect();
    for bundle in p
        .store
        .inspection_bundles(wanted.into_iter().map(|(_, i)| i).collect())
        .await?
    {
        let seq = seqs[&bundle.inspection.id].max(bundle.seq);
        changes.push(Change {
            seq,
            body: ChangeBody::Inspection {
                inspection: Box::new(bundle),
            },
        });
    }
    if let Some(scope) = &scope {
        let mut removed = HashSet::new();
        for r in p.store.reassignments_since(since).await? {
            if r.seq <= high
                && scope.contains(&r.from_user)
                && !visible.contains(&r.task_id)
                && removed.insert(r.task_id)
            {
                changes.push(Change {
                    seq: r.seq,
                    body: ChangeBody::TaskRemoved { task_id: r.task_id },
                });
            }
        }
    }
    changes.retain(|c| c.seq <= high);
    // Tasks before their inspections within one sequence value.
    changes.sort_by_key(|c| {
        (
            c.seq,
            match c.body {
                ChangeBody::Plan { .. } => 0,
                ChangeBody::Task { .. } => 1,
                ChangeBody::TaskRemoved { .. } => 2,
                ChangeBody::Inspection { .. } | ChangeBody::Unknown => 3,
            },
        )
    });
    // Cut after `limit`, but never inside one sequence value.
    let mut cut = changes.len();
    if changes.len() > limit {
        let boundary = changes[limit - 1].seq;
        cut = changes
            .iter()
            .position(|c| c.seq > boundary)
            .unwrap_or(changes.len());
    }
    let has_more = cut < changes.len();
    changes.truncate(cut);
    let next = if has_more {
        changes.last().map(|c| c.seq).unwrap_or(since)
    } else {
        high.max(since)
    };
    Ok(PullPage {
        epoch: state.epoch,
        changes,
        next,
        has_more,
    })
}

/// The date a task of a plan must be done by: the plan's last 报送时限 (every
/// inspection is finished and reported by then, e.g. Shanxi 2025: 11月20日 完成本辖区
/// 国家监督抽检信息报送). `None` when the plan sets no deadline.
pub(crate) fn task_deadline(plan: &Plan) -> Option<NaiveDate> {
    plan.deadlines.iter().map(|d| d.date).max()
}

/// The core `Task` a device receives for a stored task (pull; archive copies).
pub(crate) fn core_task(
    t: &StoredTask,
    i: crate::model::Institution,
    users: &HashMap<Uuid, User>,
    plan: &Plan,
) -> Task {
    Task {
        id: t.id,
        plan_id: t.plan_id.clone(),
        plan_version: t.plan_version,
        checklist: t.checklist.clone(),
        draw_kind: t.kind,
        followup: t.followup.clone(),
        institution: i,
        inspectors: t
            .inspectors
            .iter()
            .filter_map(|id| users.get(id))
            .map(|u| AssignedInspector {
                user_id: u.id,
                name: u.display_name.clone(),
                badge_no: u.badge_no.clone().unwrap_or_default(),
            })
            .collect(),
        deadline: task_deadline(plan),
    }
}

// ---------------------------------------------------------------------------------
// Photos

/// The blob, if this actor may see it (assigned to its inspection's task, or a
/// team lead / administrator whose scope covers it). Otherwise: not found, like a
/// missing one.
async fn visible_blob(p: &Platform, actor: &Actor, id: Uuid) -> ServiceResult<BlobRow> {
    let missing = || {
        ServiceError::new(
            ErrorCode::UnknownBlob,
            "服务器还没有这张照片的记录：请先同步检查内容",
        )
    };
    let blob = p.store.blob(id).await?.ok_or_else(missing)?;
    let insp = p
        .store
        .inspection(blob.inspection_id)
        .await?
        .ok_or_else(missing)?;
    let task = p
        .store
        .task(insp.inspection.task_id)
        .await?
        .ok_or_else(missing)?;
    match actor.scope(p).await? {
        None => Ok(blob),
        Some(ids) if task.inspectors.iter().any(|u| ids.contains(u)) => Ok(blob),
        Some(_) => Err(missing()),
    }
}

fn io_error(e: std::io::Error) -> ServiceError {
    ServiceError::internal(format!("blob file: {e}"))
}

async fn status_of(p: &Platform, b: &BlobRow) -> ServiceResult<BlobStatus> {
    let size = b.size.unwrap_or(0);
    Ok(BlobStatus {
        id: b.id,
        offset: if b.complete {
            size
        } else {
            p.blobs.partial_len(b.id).await.map_err(io_error)?
        },
        size,
        complete: b.complete,
    })
}

/// Registers the bytes of a photo or signature image the device is about to
/// upload: the push already named it; this fixes its size and answers the durable
/// offset to resume from.
pub async fn register_blob(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    reg: BlobRegistration,
) -> ServiceResult<BlobStatus> {
    let blob = visible_blob(p, actor, reg.id).await?;
    if blob.sha256 != reg.sha256 || blob.kind != reg.kind || blob.inspection_id != reg.inspection_id
    {
        return Err(ServiceError::new(
            ErrorCode::BlobMismatch,
            "同一编号的照片已登记为不同的内容",
        ));
    }
    if reg.size == 0 || reg.size > MAX_BLOB_BYTES {
        return Err(ServiceError::new(
            ErrorCode::InvalidSize,
            "照片大小无效（最大 20 MB）",
        ));
    }
    let stamp = actor.stamp(now);
    match blob.size {
        Some(size) if size != reg.size => {
            return Err(ServiceError::new(
                ErrorCode::BlobMismatch,
                "同一编号的照片已登记为不同的大小",
            ));
        }
        Some(_) => {}
        None => p.store.set_blob_size(&stamp, reg.id, reg.size).await?,
    }
    let blob = p
        .store
        .blob(reg.id)
        .await?
        .ok_or_else(|| ServiceError::internal("blob vanished"))?;
    if !blob.complete {
        check_device_quota(p, actor, now, 0)?;
    }
    // Every uploader sends the bytes, even when the server holds a file with this
    // hash: knowing a hash must not attach (and then download) someone else's
    // photo, and the answer must not tell whether the server holds it. Storage is
    // de-duplicated underneath (`BlobStore::finish`).
    status_of(p, &blob).await
}

/// Where an upload stands (`HEAD`): the durable offset to resume from.
pub async fn blob_status(p: &Platform, actor: &Actor, id: Uuid) -> ServiceResult<BlobStatus> {
    let blob = visible_blob(p, actor, id).await?;
    status_of(p, &blob).await
}

/// What a chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Appended (or the blob was already complete): where it stands now.
    Written(BlobStatus),
    /// The chunk was sent at another offset than the server holds: nothing was
    /// written; resume at the status's offset.
    OffsetMismatch(BlobStatus),
}

/// Appends one chunk at `offset`, as its bytes arrive: after a cut connection every
/// byte that reached the server counts, and the device resumes from there. On the
/// last byte the file is re-hashed; a match makes it visible, a mismatch drops it.
pub async fn write_chunk<S, E>(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    offset: u64,
    mut body: S,
) -> ServiceResult<ChunkOutcome>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let blob = visible_blob(p, actor, id).await?;
    let Some(size) = blob.size else {
        return Err(ServiceError::new(
            ErrorCode::NotRegistered,
            "请先登记照片（POST /api/v1/photos）",
        ));
    };
    // One writer per upload: a retry waits until the request it replaces is gone.
    let lock = p.blobs.upload_lock(id);
    let _guard = lock.lock().await;
    let blob = p.store.blob(id).await?.unwrap_or(blob);
    if blob.complete {
        return Ok(ChunkOutcome::Written(status_of(p, &blob).await?));
    }
    let current = p.blobs.partial_len(id).await.map_err(io_error)?;
    if offset != current {
        return Ok(ChunkOutcome::OffsetMismatch(BlobStatus {
            id,
            offset: current,
            size,
            complete: false,
        }));
    }
    check_device_quota(p, actor, now, (size - current).min(MAX_CHUNK_BYTES))?;
    let _receiving = p.metrics.upload_started();
    let mut sink = p.blobs.begin_chunk(id, current).await.map_err(io_error)?;
    let mut received: u64 = 0;
    let mut too_much = false;
    // A cut connection keeps what arrived (the device resumes from there); a chunk
    // sent whole must be at least MIN_CHUNK_BYTES unless it is the last.
    let mut cut = false;
    while let Some(frame) = body.next().await {
        let Ok(data) = frame else {
            cut = true;
            break;
        };
        received += data.len() as u64;
        if received > MAX_CHUNK_BYTES || current + received > size {
            too_much = true;
            break;
        }
        sink.write(&data).map_err(io_error)?;
    }
    if !too_much && !cut && received < MIN_CHUNK_BYTES && current + received < size {
        sink.abandon().await.map_err(io_error)?;
        return Err(ServiceError::new(
            ErrorCode::ChunkTooSmall,
            format!(
                "每段至少 {} MB（最后一段除外），本段未保存：请按 1–4 MB 分段上传",
                MIN_CHUNK_BYTES / (1024 * 1024)
            ),
        ));
    }
    p.quota
        .with(actor.device.unwrap_or_default(), now, |u| u.1 += received);
    if too_much {
        sink.abandon().await.map_err(io_error)?;
        p.blobs.drop_partial(id).await.map_err(io_error)?;
        return Err(ServiceError::new(
            ErrorCode::ChunkTooLarge,
            "上传内容超过登记的大小或单次上限（4 MB），已丢弃，请从头上传",
        ));
    }
    sink.commit(&p.blobs).await.map_err(io_error)?;
    p.metrics.bytes_uploaded(received);
    let now_len = current + received;
    if now_len == size {
        if !p.blobs.finish(id, &blob.sha256).await.map_err(io_error)? {
            return Err(ServiceError::new(
                ErrorCode::HashMismatch,
                "照片校验失败（内容在传输中被改变），已丢弃，请重新上传",
            ));
        }
        p.store.complete_blob(&actor.stamp(now), id).await?;
        p.metrics.photo_completed();
        p.quota
            .with(actor.device.unwrap_or_default(), now, |u| u.0 += 1);
    }
    Ok(ChunkOutcome::Written(BlobStatus {
        id,
        offset: now_len,
        size,
        complete: now_len == size,
    }))
}

/// The verified bytes of a blob and their type (a re-enrolled device restores its
/// photos; a team lead reads them).
pub async fn blob_content(
    p: &Platform,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<(String, Vec<u8>)> {
    let blob = visible_blob(p, actor, id).await?;
    if !blob.complete {
        return Err(ServiceError::new(
            ErrorCode::BlobIncomplete,
            "照片尚未上传完成",
        ));
    }
    let bytes = p
        .blobs
        .read(&blob.sha256)
        .await
        .map_err(io_error)?
        .ok_or_else(|| ServiceError::internal(format!("blob {id}: verified bytes missing")))?;
    Ok((blob.mime, bytes))
}

// ---------------------------------------------------------------------------------
// Document numbers

/// Leases the device a block of 文号 (document numbers) for an authority the platform
/// knows and a year, above every number issued so far; the same request again gets
/// the same block. The server alone decides the numbers: the request's `floor` is
/// not trusted (a device may only hold numbers it was leased, and the counter is
/// above all of them), so one request cannot exhaust a series for every device.
pub async fn lease(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    req: LeaseRequest,
) -> ServiceResult<DocNumberLease> {
    let Some(device) = actor.device else {
        return Err(ServiceError::forbidden("只有登记过的设备可以申请文号"));
    };
    if req.count == 0 || req.count > MAX_LEASE_BLOCK {
        return Err(ServiceError::new(
            ErrorCode::InvalidCount,
            format!("每次可申请 1–{MAX_LEASE_BLOCK} 个文号"),
        ));
    }
    let authority = req.authority.trim();
    if authority.is_empty() || super::chars(&req.authority) > 50 {
        return Err(ServiceError::new(
            ErrorCode::InvalidAuthority,
            "文号前缀不能为空且不超过 50 个字符",
        ));
    }
    if !(2000..=2100).contains(&req.year) {
        return Err(ServiceError::new(ErrorCode::InvalidYear, "年份无效"));
    }
    if !super::plans::authorities(p)
        .await?
        .iter()
        .any(|a| a == authority)
    {
        return Err(ServiceError::new(
            ErrorCode::InvalidAuthority,
            format!("平台不认识发文机关“{authority}”：只能为本机关或已发布计划的发文机关申请文号"),
        ));
    }
    let req = LeaseRequest {
        authority: authority.to_owned(),
        floor: 0,
        ..req
    };
    let count = req.count;
    let decide: DecideLease = Box::new(move |last_issued: &u32| {
        let first = u64::from(*last_issued) + 1;
        let last = first + u64::from(count) - 1;
        match (u32::try_from(first), u32::try_from(last)) {
            (Ok(first), Ok(last)) => Ok((first, last)),
            _ => Err(ServiceError::new(
                ErrorCode::NumbersExhausted,
                "本年度文号已用尽",
            )),
        }
    });
    Ok(p.store
        .lease_doc_numbers(&actor.stamp(now), device, req, decide)
        .await?)
}

/// Records that the actor's device reached the platform (push or pull): the console
/// shows each device's last sync.
pub async fn record_contact(p: &Platform, actor: &Actor, now: DateTime<Utc>) -> ServiceResult<()> {
    if let Some(device) = actor.device {
        p.store.device_synced(device, now).await?;
    }
    Ok(())
}
