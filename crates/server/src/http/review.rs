//! Inspections and the team lead's review over HTTP, and the archive copies of the
//! documents.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, Authed};
use super::{Errors, JsonErrors};
use crate::error::ErrorCode;
use crate::model::StoredInspection;
use crate::service::documents::{self, DocKind};
use crate::service::{Platform, review};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jiandu_core::protocol::ErrorBody;
use uuid::Uuid;

/// 本组待审核的检查（组长）。
#[utoipa::path(
    get, path = "/review/queue", tag = "review", operation_id = "reviewQueue",
    responses((status = 200, description = "待审核", body = Vec<review::ReviewItem>), Errors)
)]
pub async fn review_queue(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<review::ReviewItem>>, ApiError> {
    Ok(Json(review::queue(&p, &a).await?))
}

/// 一次检查的内容。
#[utoipa::path(
    get, path = "/inspections/{id}", tag = "review", operation_id = "showInspection",
    params(("id" = Uuid, Path, description = "检查编号")),
    responses(
        (status = 200, description = "检查", body = StoredInspection),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "检查记录不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn show_inspection(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StoredInspection>, ApiError> {
    Ok(Json(review::visible_inspection(&p, &a, id).await?.0))
}

/// 审核通过（锁定）：须写明所审核的版本；照片未传完时拒绝（组长）。
#[utoipa::path(
    post, path = "/inspections/{id}/approve", tag = "review", operation_id = "approveInspection",
    params(("id" = Uuid, Path, description = "检查编号")),
    request_body = review::ApproveRequest,
    responses(
        (status = 200, description = "已通过", body = StoredInspection),
        (status = 404, description = "检查记录不存在", body = ErrorBody),
        (status = 409, description = "版本已变、状态不允许或照片未传完", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn approve(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<review::ApproveRequest>,
) -> Result<Json<StoredInspection>, ApiError> {
    Ok(Json(
        review::approve(&p, &a, Utc::now(), id, req.version).await?,
    ))
}

/// 退回并附意见（意见同步到检查人员的设备；组长）。
#[utoipa::path(
    post, path = "/inspections/{id}/return", tag = "review", operation_id = "returnInspection",
    params(("id" = Uuid, Path, description = "检查编号")),
    request_body = review::ReturnRequest,
    responses(
        (status = 200, description = "已退回", body = StoredInspection),
        (status = 404, description = "检查记录不存在", body = ErrorBody),
        (status = 409, description = "版本已变或状态不允许", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn return_with_comments(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<review::ReturnRequest>,
) -> Result<Json<StoredInspection>, ApiError> {
    Ok(Json(
        review::return_with_comments(&p, &a, Utc::now(), id, req.version, &req.comment).await?,
    ))
}

/// 存档文书（PDF）：opinion.pdf 卫生监督意见书、record.pdf 现场笔录、evidence.pdf
/// 证据照片；由服务器按其数据生成，与设备上的一致。
#[utoipa::path(
    get, path = "/inspections/{id}/documents/{kind}", tag = "review",
    operation_id = "inspectionDocument",
    params(
        ("id" = Uuid, Path, description = "检查编号"),
        ("kind" = String, Path, description = "opinion.pdf、record.pdf 或 evidence.pdf",
         pattern = r"^(opinion|record|evidence)(\.pdf)?$"),
    ),
    responses(
        (status = 200, description = "PDF 文件", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "编号或文书种类不正确", body = ErrorBody),
        (status = 404, description = "检查记录不存在", body = ErrorBody),
        (status = 409, description = "检查尚未开始", body = ErrorBody),
        (status = 422, description = "无法生成文书", body = ErrorBody),
        Errors,
    )
)]
pub async fn inspection_document(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath((id, kind)): ApiPath<(Uuid, String)>,
) -> Result<Response, ApiError> {
    let kind = DocKind::parse(&kind).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidKind,
            "文书应为 opinion.pdf、record.pdf 或 evidence.pdf",
        )
    })?;
    let pdf = documents::render_for(&p, &a, id, kind).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{id}-{}.pdf\"", kind.as_str()),
            ),
        ],
        pdf,
    )
        .into_response())
}
