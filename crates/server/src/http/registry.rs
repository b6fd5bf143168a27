//! The registry over HTTP: institutions (a team lead sees their district).

use super::Errors;
use super::error::ApiError;
use super::extract::Authed;
use crate::model::Institution;
use crate::service::{Platform, registry};
use axum::Json;
use axum::extract::State;

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
