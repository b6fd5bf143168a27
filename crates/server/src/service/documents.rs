//! Archive copies (issue 3 item 6): the platform renders the documents of any
//! synced inspection from its own data, with `jiandu-docs` and the same builder
//! the tablet uses (`jiandu_docs::archive`), so the copy has the same content as
//! the device's: `GET /api/v1/inspections/{id}/documents/{opinion|record|evidence}.pdf`
//! and `jiandu-server doc render`.
//!
//! Inputs are what the device received on pull: the task as a core `Task` (built by
//! the same function as the pull), the inspection, its photos' metadata and
//! signatures, and the files by SHA-256 from the blob folder. The 执法机关 printed is
//! the setting `JIANDU_AUTHORITY` (default [`DEFAULT_AUTHORITY`]).

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult};
use jiandu_docs::archive::{self, ArchiveInput};
use std::collections::HashMap;
use uuid::Uuid;

/// 执法机关 printed when `JIANDU_AUTHORITY` is not set.
pub const DEFAULT_AUTHORITY: &str = "卫生健康综合监督执法机构";

/// The authority documents are issued by (`JIANDU_AUTHORITY`).
pub fn authority() -> String {
    std::env::var("JIANDU_AUTHORITY")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned())
}

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// 卫生监督意见书.
    Opinion,
    /// 现场笔录.
    Record,
    /// 证据照片.
    Evidence,
}

impl DocKind {
    pub fn parse(s: &str) -> Option<DocKind> {
        match s.trim_end_matches(".pdf") {
            "opinion" => Some(DocKind::Opinion),
            "record" => Some(DocKind::Record),
            "evidence" => Some(DocKind::Evidence),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Opinion => "opinion",
            DocKind::Record => "record",
            DocKind::Evidence => "evidence",
        }
    }
}

/// Renders one document of inspection `id`, if the actor may see it.
pub async fn render_for(
    p: &Platform,
    actor: &Actor,
    id: Uuid,
    kind: DocKind,
) -> ServiceResult<Vec<u8>> {
    super::review::visible_inspection(p, actor, id).await?;
    render(p, &p.authority, id, kind).await
}

/// Renders one document of inspection `id` with `authority` as the 执法机关 (the
/// command line may name another).
pub async fn render(
    p: &Platform,
    authority: &str,
    id: Uuid,
    kind: DocKind,
) -> ServiceResult<Vec<u8>> {
    let store = p.store();
    let stored = store
        .inspection(id)
        .await?
        .ok_or_else(|| ServiceError::not_found("检查记录不存在"))?;
    if stored.inspection.started_at.is_none() {
        return Err(ServiceError::new(
            ErrorCode::NotReady,
            "该检查尚未开始，还没有文书",
        ));
    }
    let task = store
        .task(stored.inspection.task_id)
        .await?
        .ok_or_else(|| ServiceError::internal("inspection without task"))?;
    let institution = store
        .institution(task.institution_id)
        .await?
        .ok_or_else(|| ServiceError::internal("task without institution"))?;
    let users: HashMap<Uuid, crate::model::User> = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let plan = super::plans::plan_of(p, &task.plan_id, task.plan_version).await?;
    let core_task = super::sync::core_task(&task, institution, &users, &plan);
    let bundle = store
        .inspection_bundles(vec![stored])
        .await?
        .pop()
        .ok_or_else(|| ServiceError::internal("inspection bundle vanished"))?;
    let checklist = plan
        .checklist(&task.checklist)
        .ok_or_else(|| ServiceError::internal("task of an unknown checklist"))?
        .clone();
    // The photos and signature images, read first (the blob store is async).
    let mut blobs: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let wanted = bundle.photos.iter().map(|p| p.sha256.clone()).chain(
        bundle
            .signatures
            .iter()
            .filter_map(|s| s.image_sha256.clone()),
    );
    for sha in wanted {
        if blobs.contains_key(&sha) {
            continue;
        }
        let read = p.blobs.read(&sha).await;
        match read {
            Ok(Some(bytes)) => {
                blobs.insert(sha, bytes);
            }
            Ok(None) => {}
            Err(e) => return Err(ServiceError::internal(format!("blob {sha}: {e}"))),
        }
    }
    let authority = authority.to_owned();
    tokio::task::spawn_blocking(move || {
        let files = |sha: &str| -> Option<Vec<u8>> { blobs.get(sha).cloned() };
        let input = ArchiveInput {
            checklist: &checklist,
            task: &core_task,
            inspection: &bundle.inspection,
            photos: &bundle.photos,
            signatures: &bundle.signatures,
            authority: &authority,
            // The number the tablet printed on site (synced with the inspection);
            // blank when the 意见书 was never made there.
            opinion_number: bundle.inspection.opinion_number.as_deref().unwrap_or(""),
            correction_days: plan.correction_days(),
        };
        let out = match kind {
            DocKind::Opinion => jiandu_docs::render_opinion(&archive::opinion(&input, &files)),
            DocKind::Record => jiandu_docs::render_record(&archive::record(&input, &files)),
            DocKind::Evidence => jiandu_docs::render_evidence(&archive::evidence(&input, &files)),
        };
        out.map_err(|e| ServiceError::new(ErrorCode::RenderFailed, format!("无法生成文书：{e}")))
    })
    .await
    .map_err(ServiceError::internal)?
}
