//! Plans over HTTP.

use super::Errors;
use super::error::ApiError;
use super::extract::{ApiPath, Authed};
use crate::service::{Platform, plans};
use axum::Json;
use axum::extract::State;
use jiandu_core::Plan;
use jiandu_core::protocol::ErrorBody;

/// 抽查计划列表。
#[utoipa::path(
    get, path = "/plans", tag = "plans", operation_id = "listPlans",
    responses((status = 200, description = "计划", body = Vec<plans::PlanSummary>), Errors)
)]
pub async fn list_plans(
    State(p): State<Platform>,
    Authed(_a): Authed,
) -> Json<Vec<plans::PlanSummary>> {
    Json(plans::list(&p))
}

/// 计划全文：检查表、检查要点、汇总表、时限。
#[utoipa::path(
    get, path = "/plans/{id}", tag = "plans", operation_id = "showPlan",
    params(("id" = String, Path, description = "计划编号，例如 shanxi-2025")),
    responses(
        (status = 200, description = "计划", body = Plan),
        (status = 404, description = "计划不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn show_plan(
    State(p): State<Platform>,
    Authed(_a): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Plan>, ApiError> {
    Ok(Json(plans::get(&p, &id)?.clone()))
}
