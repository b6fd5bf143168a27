//! The sync endpoints (SYNC.md), merged into [`crate::http::router`]:
//!
//! - `POST /api/v1/sync/push`: outbox items, each parsed into a typed
//!   [`Mutation`] and decided by jiandu-core's own [`Inspection`] methods inside the
//!   store's transaction ([`SyncStore::push`]); answered per item.
//! - `GET /api/v1/sync/pull?since=&limit=`: tasks (own; a team lead's team),
//!   tombstones and inspections in change-sequence order, with the epoch.
//! - `POST /api/v1/photos`, `HEAD`/`PATCH`/`GET /api/v1/photos/{id}/content`:
//!   resumable upload with tus header names; the partial file's length is the
//!   durable offset; the last byte triggers the SHA-256 check; verified bytes move to
//!   content-addressed storage `<blobs>/<sha[0..2]>/<sha>`.
//! - `POST /api/v1/doc-numbers/lease`: blocks of 文号 per device, authority, year.
//!
//! Approval is refused while an inspection has photos not yet verified
//! ([`check_photos_complete`], called by the review path).

use crate::error::{ApiError, StoreError};
use crate::http::{ApiJson, ApiPath, ApiQuery, AppState, Authed};
use crate::store::sync::{BlobRow, BlobWrite, ItemDecision, ItemState, PreparedItem};
use crate::store::{ServerStore, StoredTask};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{NaiveDate, Utc};
use http_body_util::BodyExt;
use jiandu_core::inspection::{AssignedInspector, Task, check_editable, check_outcome};
use jiandu_core::protocol::{
    BlobKind, BlobRegistration, BlobStatus, Change, ChangeBody, DocNumberLease, LeaseRequest,
    MAX_BLOB_BYTES, MAX_CHUNK_BYTES, MAX_LEASE_BLOCK, MAX_PULL_LIMIT, MAX_PUSH_BYTES,
    MAX_PUSH_ITEMS, Mutation, PullPage, PushItem, PushRequest, PushResponse, RejectReason,
    UPLOAD_LENGTH, UPLOAD_OFFSET,
};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{Actor, Inspection, PublicCategory, Role, RuleViolation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// What the sync endpoints share: the blob folder and one lock per upload, so a
/// retried PATCH waits for the cut request it replaces instead of interleaving.
#[derive(Debug)]
pub struct SyncContext {
    pub blobs: PathBuf,
    uploads: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
}

impl SyncContext {
    pub fn new(blobs: PathBuf) -> Self {
        Self {
            blobs,
            uploads: Mutex::new(HashMap::new()),
        }
    }

    fn upload_lock(&self, id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry(id).or_default().clone()
    }

    fn partial(&self, id: Uuid) -> PathBuf {
        self.blobs.join("partial").join(id.to_string())
    }

    /// Where verified bytes with this hash live.
    pub fn content_path(&self, sha256: &str) -> PathBuf {
        self.blobs.join(&sha256[..2]).join(sha256)
    }
}

/// The sync routes (relative to `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync/push", post(push))
        .route("/sync/pull", get(pull))
        .route("/photos", post(register_blob))
        .route(
            "/photos/{id}/content",
            get(download_blob).head(head_blob).patch(patch_blob),
        )
        .route("/doc-numbers/lease", post(lease))
}

/// Refuses an approval while a photo or signature image of the inspection has not
/// arrived and been verified.
pub async fn check_photos_complete(store: &dyn ServerStore, id: Uuid) -> Result<(), ApiError> {
    let n = store.incomplete_blobs(id).await?;
    if n > 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "photos_incomplete",
            format!("还有 {n} 张照片或签名尚未上传完成，暂不能审核通过"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Push

/// What every decision of one push request needs.
struct PushContext {
    templates: Arc<TemplateSet>,
    /// Tasks assigned to the pushing user.
    tasks: HashMap<Uuid, StoredTask>,
    actor: Actor,
}

async fn push(
    State(s): State<AppState>,
    a: Authed,
    body: Body,
) -> Result<Json<PushResponse>, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_PUSH_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "一次同步的内容过多，请分批发送",
            )
        })?;
    let req: PushRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("同步内容格式不正确：{e}")))?;
    if req.items.len() > MAX_PUSH_ITEMS {
        return Err(ApiError::bad_request(
            "too_many_items",
            format!("一次最多同步 {MAX_PUSH_ITEMS} 条修改"),
        ));
    }
    let tasks = s
        .store
        .tasks_for(None, Some(&[a.user.id]))
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let ctx = Arc::new(PushContext {
        templates: s.templates.clone(),
        tasks,
        actor: a.actor(),
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
            let it = item.clone();
            PreparedItem {
                item,
                task_id,
                decide: Box::new(move |st: &ItemState| match parsed {
                    Ok(m) => decide(&ctx, &it, m, st),
                    Err(message) => ItemDecision::Reject {
                        reason: RejectReason::Invalid,
                        message,
                    },
                }),
            }
        })
        .collect();
    let results = s.store.push(a.device.id, items).await?;
    Ok(Json(PushResponse { results }))
}

fn reject(reason: RejectReason, message: impl Into<String>) -> ItemDecision {
    ItemDecision::Reject {
        reason,
        message: message.into(),
    }
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

fn valid_sha(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Decides one item on the state read in the transaction: the same
/// `jiandu_core::Inspection` methods the device ran, so the rules exist once.
fn decide(ctx: &PushContext, item: &PushItem, m: Mutation, st: &ItemState) -> ItemDecision {
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
        .templates
        .plan(&task.plan_id)
        .and_then(|p| p.checklist(&task.checklist));
    let category = &task.category;
    let mut insp = st
        .inspection
        .clone()
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
        Mutation::Start(h) => insp.start(actor, &h.place, h.started_at.unwrap_or_else(Utc::now)),
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
        Mutation::Submit(h) => match checklist {
            None => return no_checklist(),
            Some(c) => insp.submit(actor, c, category, h.ended_at.unwrap_or_else(Utc::now)),
        },
        Mutation::MarkUnreachable(h) => {
            let reason = h
                .outcome
                .and_then(|o| o.unreachable_reason)
                .unwrap_or_default();
            insp.mark_unreachable(actor, &reason, h.ended_at.unwrap_or_else(Utc::now))
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
                insp.record_finding(c, category, f)
            }
        },
        Mutation::CreatePhoto(p) => {
            if let Err(v) = check_editable(insp.status) {
                return rule_reject(v);
            }
            if !valid_sha(&p.sha256) || p.size_bytes == 0 || p.size_bytes > MAX_BLOB_BYTES {
                return reject(RejectReason::Invalid, "照片的校验值或大小无效");
            }
            if st.blob.is_some() {
                return reject(RejectReason::Invalid, "该照片编号已存在");
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
            if p.voided_at.is_none() || p.void_reason.as_deref().unwrap_or("").trim().is_empty() {
                return reject(RejectReason::Invalid, "作废照片需要注明原因");
            }
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
                meta: Some(*p),
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
            if let Some(sha) = &sig.image_sha256 {
                if !valid_sha(sha) {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PullQuery {
    #[serde(default)]
    since: i64,
    limit: Option<usize>,
}

/// Users whose tasks `a` sees: themselves; a team lead their team in their
/// district; an admin everyone (`None`).
async fn scope(s: &AppState, a: &Authed) -> Result<Option<Vec<Uuid>>, ApiError> {
    Ok(match a.user.role {
        Role::Admin => None,
        Role::Inspector => Some(vec![a.user.id]),
        Role::TeamLead => Some(
            s.store
                .list_users()
                .await?
                .into_iter()
                .filter(|u| u.team == a.user.team && u.district == a.user.district)
                .map(|u| u.id)
                .collect(),
        ),
    })
}

async fn pull(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<Json<PullPage>, ApiError> {
    let limit = q.limit.unwrap_or(500).clamp(1, MAX_PULL_LIMIT);
    // Everything at or below `high` committed before we read anything (writers bump
    // the sequence under one lock and commit in order), so reading it in several
    // queries cannot skip a change; later changes wait for the next page.
    let state = s.store.state().await?;
    let high = state.change_seq;
    let scope = scope(&s, &a).await?;
    let tasks = s.store.tasks_for(None, scope.as_deref()).await?;
    let visible: HashSet<Uuid> = tasks.iter().map(|t| t.id).collect();
    let mut changes: Vec<Change> = Vec::new();
    // The inspectors of the visible tasks (all users only for an admin's pull: a
    // device's pull must not read the whole staff directory every time).
    let mut users: HashMap<Uuid, crate::store::User> = HashMap::new();
    let fresh: Vec<&StoredTask> = tasks
        .iter()
        .filter(|t| t.seq > q.since && t.seq <= high)
        .collect();
    if scope.is_none() {
        users.extend(s.store.list_users().await?.into_iter().map(|u| (u.id, u)));
    } else {
        let mut ids: Vec<Uuid> = fresh.iter().flat_map(|t| t.inspectors.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        users.extend(
            s.store
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
    let institutions: HashMap<Uuid, crate::store::Institution> = s
        .store
        .institutions_by_ids(&inst_ids)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    let task_seq: HashMap<Uuid, i64> = tasks.iter().map(|t| (t.id, t.seq)).collect();
    for t in fresh {
        let Some(inst) = institutions.get(&t.institution_id).cloned() else {
            continue;
        };
        changes.push(Change {
            seq: t.seq,
            body: ChangeBody::Task {
                task: Box::new(core_task(t, inst, &users, &s.templates)),
            },
        });
    }
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let wanted: Vec<_> = s
        .store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .filter_map(|i| {
            // A task newly assigned to this user brings its inspection along.
            let seq = i
                .seq
                .max(*task_seq.get(&i.inspection.task_id).unwrap_or(&0));
            (seq > q.since && i.seq <= high).then_some((seq, i))
        })
        .collect();
    let seqs: HashMap<Uuid, i64> = wanted.iter().map(|(s, i)| (i.inspection.id, *s)).collect();
    for bundle in s
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
        for r in s.store.reassignments_since(q.since).await? {
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
                ChangeBody::Task { .. } => 0,
                ChangeBody::TaskRemoved { .. } => 1,
                ChangeBody::Inspection { .. } => 2,
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
        changes.last().map(|c| c.seq).unwrap_or(q.since)
    } else {
        high.max(q.since)
    };
    Ok(Json(PullPage {
        epoch: state.epoch,
        changes,
        next,
        has_more,
    }))
}

/// The date a task of `plan_id` must be done by: the plan's last 报送时限 (every
/// inspection is finished and reported by then, e.g. Shanxi 2025: 11月20日 完成本辖区
/// 国家监督抽检信息报送). `None` when the plan sets no deadline.
pub(crate) fn task_deadline(templates: &TemplateSet, plan_id: &str) -> Option<NaiveDate> {
    templates
        .plan(plan_id)
        .and_then(|p| p.deadlines.iter().map(|d| d.date).max())
}

/// The core `Task` a device receives for a stored task (pull; archive copies).
pub(crate) fn core_task(
    t: &StoredTask,
    i: crate::store::Institution,
    users: &HashMap<Uuid, crate::store::User>,
    templates: &TemplateSet,
) -> Task {
    Task {
        id: t.id,
        plan_id: t.plan_id.clone(),
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
        deadline: task_deadline(templates, &t.plan_id),
    }
}

// ---------------------------------------------------------------------------------
// Photos

/// The blob, if this user may see it (assigned to its inspection's task, or a team
/// lead / admin whose scope covers it). Otherwise: not found, like a missing one.
async fn visible_blob(s: &AppState, a: &Authed, id: Uuid) -> Result<BlobRow, ApiError> {
    let missing = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_blob",
            "服务器还没有这张照片的记录：请先同步检查内容",
        )
    };
    let blob = s.store.blob(id).await?.ok_or_else(missing)?;
    let insp = s
        .store
        .inspection(blob.inspection_id)
        .await?
        .ok_or_else(missing)?;
    let task = s
        .store
        .task(insp.inspection.task_id)
        .await?
        .ok_or_else(missing)?;
    match scope(s, a).await? {
        None => Ok(blob),
        Some(ids) if task.inspectors.iter().any(|u| ids.contains(u)) => Ok(blob),
        Some(_) => Err(missing()),
    }
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError::internal(format!("blob file: {e}"))
}

fn partial_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn status_of(ctx: &SyncContext, b: &BlobRow) -> BlobStatus {
    let size = b.size.unwrap_or(0);
    BlobStatus {
        id: b.id,
        offset: if b.complete {
            size
        } else {
            partial_len(&ctx.partial(b.id))
        },
        size,
        complete: b.complete,
    }
}

fn offset_headers(status: &BlobStatus) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(UPLOAD_OFFSET, HeaderValue::from(status.offset));
    h.insert(UPLOAD_LENGTH, HeaderValue::from(status.size));
    h.insert("Tus-Resumable", HeaderValue::from_static("1.0.0"));
    h
}

async fn register_blob(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(reg): ApiJson<BlobRegistration>,
) -> Result<(HeaderMap, Json<BlobStatus>), ApiError> {
    let blob = visible_blob(&s, &a, reg.id).await?;
    if blob.sha256 != reg.sha256 || blob.kind != reg.kind || blob.inspection_id != reg.inspection_id
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "blob_mismatch",
            "同一编号的照片已登记为不同的内容",
        ));
    }
    if reg.size == 0 || reg.size > MAX_BLOB_BYTES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_size",
            "照片大小无效（最大 20 MB）",
        ));
    }
    match blob.size {
        Some(size) if size != reg.size => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "blob_mismatch",
                "同一编号的照片已登记为不同的大小",
            ));
        }
        Some(_) => {}
        None => s.store.set_blob_size(reg.id, reg.size).await?,
    }
    let mut blob = s
        .store
        .blob(reg.id)
        .await?
        .ok_or_else(|| ApiError::internal("blob vanished"))?;
    if !blob.complete && s.sync.content_path(&blob.sha256).exists() {
        // Already have these bytes (same photo attached twice): nothing to send.
        s.store.complete_blob(blob.id).await?;
        let _ = std::fs::remove_file(s.sync.partial(blob.id));
        blob.complete = true;
    }
    let st = status_of(&s.sync, &blob);
    Ok((offset_headers(&st), Json(st)))
}

async fn head_blob(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, HeaderMap), ApiError> {
    let blob = visible_blob(&s, &a, id).await?;
    Ok((StatusCode::OK, offset_headers(&status_of(&s.sync, &blob))))
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

async fn patch_blob(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let offset = header_u64(&headers, UPLOAD_OFFSET)
        .ok_or_else(|| ApiError::bad_request("missing_offset", "缺少 Upload-Offset 请求头"))?;
    let blob = visible_blob(&s, &a, id).await?;
    let Some(size) = blob.size else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_registered",
            "请先登记照片（POST /api/v1/photos）",
        ));
    };
    // One writer per upload: a retry waits until the request it replaces is gone.
    let lock = s.sync.upload_lock(id);
    let _guard = lock.lock().await;
    let blob = s.store.blob(id).await?.unwrap_or(blob);
    if blob.complete {
        let st = status_of(&s.sync, &blob);
        return Ok((StatusCode::NO_CONTENT, offset_headers(&st)).into_response());
    }
    let path = s.sync.partial(id);
    let current = partial_len(&path);
    if offset != current {
        let st = BlobStatus {
            id,
            offset: current,
            size,
            complete: false,
        };
        let mut resp = ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("上传位置不一致：服务器已有 {current} 字节"),
        )
        .into_response();
        resp.headers_mut().extend(offset_headers(&st));
        return Ok(resp);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_error)?;
    let mut body = body;
    let mut received: u64 = 0;
    let mut too_much = false;
    // Bytes are appended as they arrive: after a cut, every byte that reached us
    // counts, and the device resumes from there.
    loop {
        match body.frame().await {
            None => break,
            Some(Err(_)) => break,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                received += data.len() as u64;
                if received > MAX_CHUNK_BYTES || current + received > size {
                    too_much = true;
                    break;
                }
                file.write_all(&data).map_err(io_error)?;
            }
        }
    }
    file.sync_all().map_err(io_error)?;
    drop(file);
    if too_much {
        let _ = std::fs::remove_file(&path);
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "chunk_too_large",
            "上传内容超过登记的大小或单次上限（4 MB），已丢弃，请从头上传",
        ));
    }
    let now = partial_len(&path);
    if now == size {
        let sha = hash_file(&path).map_err(io_error)?;
        if sha != blob.sha256 {
            let _ = std::fs::remove_file(&path);
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "hash_mismatch",
                "照片校验失败（内容在传输中被改变），已丢弃，请重新上传",
            ));
        }
        let target = s.sync.content_path(&sha);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io_error)?;
        }
        if target.exists() {
            let _ = std::fs::remove_file(&path);
        } else {
            std::fs::rename(&path, &target).map_err(io_error)?;
            if let Some(dir) = target.parent() {
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io_error)?;
            }
        }
        s.store.complete_blob(id).await?;
    }
    let st = BlobStatus {
        id,
        offset: now,
        size,
        complete: now == size,
    };
    Ok((StatusCode::NO_CONTENT, offset_headers(&st)).into_response())
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The verified bytes of a blob (a re-enrolled device restores its photos).
async fn download_blob(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let blob = visible_blob(&s, &a, id).await?;
    if !blob.complete {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "blob_incomplete",
            "照片尚未上传完成",
        ));
    }
    let path = s.sync.content_path(&blob.sha256);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(ApiError::internal)?
        .map_err(io_error)?;
    Ok((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, blob.mime)],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------
// Document numbers

async fn lease(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(req): ApiJson<LeaseRequest>,
) -> Result<Json<DocNumberLease>, ApiError> {
    if req.count == 0 || req.count > MAX_LEASE_BLOCK {
        return Err(ApiError::bad_request(
            "invalid_count",
            format!("每次可申请 1–{MAX_LEASE_BLOCK} 个文号"),
        ));
    }
    let authority = req.authority.trim();
    if authority.is_empty() || authority.chars().count() > 50 {
        return Err(ApiError::bad_request(
            "invalid_authority",
            "文号前缀不能为空且不超过 50 个字符",
        ));
    }
    if !(2000..=2100).contains(&req.year) {
        return Err(ApiError::bad_request("invalid_year", "年份无效"));
    }
    let req = LeaseRequest {
        authority: authority.to_owned(),
        ..req
    };
    let lease = s
        .store
        .lease_doc_numbers(a.device.id, req, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => ApiError::from(e),
            other => ApiError::internal(other),
        })?;
    Ok(Json(lease))
}
