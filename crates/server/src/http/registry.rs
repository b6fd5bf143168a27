//! The registry over HTTP: institutions (a team lead sees their district), and
//! importing a registry file with a preview first.

use super::error::ApiError;
use super::extract::ApiPath;
use super::extract::Authed;
use super::{Errors, JsonErrors};
use crate::model::Institution;
use crate::service::{Platform, registry};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use chrono::Utc;
use jiandu_core::protocol::ErrorBody;
use uuid::Uuid;

/// 检查对象名录（管理员：全部；组长：本区县）。
#[utoipa::path(
    get, path = "/institutions", tag = "registry", operation_id = "listInstitutions",
    responses((status = 200, description = "单位", body = Vec<Institution>), Errors)
)]
pub async fn list_institutions(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<Institution>>, ApiError> {
    Ok(Json(registry::list_institutions(&p, &a).await?))
}

/// 预览名录文件（管理员）：.xlsx / .xls / .ods 或 UTF-8、GB18030 编码的 CSV；列出各行和全部问题（行号与表格一致），不写入任何数据。
#[utoipa::path(
    post, path = "/registry/preview", tag = "registry", operation_id = "previewRegistry",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "名录文件（.xlsx、.xls、.ods 或 CSV）"),
    responses(
        (status = 200, description = "预览和问题", body = registry::Preview),
        JsonErrors,
        Errors,
    )
)]
pub async fn preview_registry(
    State(p): State<Platform>,
    Authed(a): Authed,
    body: Bytes,
) -> Result<Json<registry::Preview>, ApiError> {
    Ok(Json(registry::preview(&p, &a, &body).await?))
}

/// 导入名录文件（管理员）：整体校验，有任何问题则全部不写入，并列出每个问题及其行号。
#[utoipa::path(
    post, path = "/registry/import", tag = "registry", operation_id = "importRegistry",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "名录文件（.xlsx、.xls、.ods 或 CSV）"),
    responses(
        (status = 200, description = "已导入", body = registry::Imported),
        JsonErrors,
        Errors,
    )
)]
pub async fn import_registry(
    State(p): State<Platform>,
    Authed(a): Authed,
    body: Bytes,
) -> Result<Json<registry::Imported>, ApiError> {
    Ok(Json(registry::import(&p, &a, Utc::now(), &body).await?))
}

/// 单位详情和历次抽查（管理员；组长：本区县）。
#[utoipa::path(
    get, path = "/institutions/{id}", tag = "registry", operation_id = "institutionHistory",
    params(("id" = Uuid, Path, description = "单位编号")),
    responses(
        (status = 200, description = "单位和历次抽查", body = registry::InstitutionHistory),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "单位不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn institution_history(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<registry::InstitutionHistory>, ApiError> {
    Ok(Json(registry::history(&p, &a, id).await?))
}
