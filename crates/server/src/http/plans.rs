//! Plans over HTTP: list, read, import (TOML), source, publish.

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Authed};
use super::{Errors, JsonErrors};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{Platform, plans};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jiandu_core::Plan;
use jiandu_core::protocol::ErrorBody;
use serde::Deserialize;

/// 抽查计划列表：每个计划的各个版本（管理员可见待发布的版本）。
#[utoipa::path(
    get, path = "/plans", tag = "plans", operation_id = "listPlans",
    responses((status = 200, description = "计划版本", body = Vec<plans::PlanSummary>), Errors)
)]
pub async fn list_plans(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<plans::PlanSummary>>, ApiError> {
    Ok(Json(plans::list(&p, &a).await?))
}

/// 检查对象类别与服务项目目录（内置目录加已发布计划声明的类别），用于显示名称。
#[utoipa::path(
    get, path = "/categories", tag = "plans", operation_id = "listCategories",
    responses((status = 200, description = "类别与服务项目目录", body = jiandu_core::plan::Catalogue), Errors)
)]
pub async fn list_categories(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<jiandu_core::plan::Catalogue>, ApiError> {
    Ok(Json(plans::categories(&p, &a).await?))
}

/// Which version of a plan (default: the newest published one).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// 版本号（默认：最新发布的版本）。
    #[param(minimum = 1, maximum = 1_000_000)]
    version: Option<u32>,
}

impl VersionQuery {
    fn get(&self) -> Result<Option<u32>, ServiceError> {
        match self.version {
            Some(v) if !(1..=1_000_000).contains(&v) => Err(ServiceError::new(
                ErrorCode::InvalidQuery,
                "版本号应在 1–1000000 之间",
            )),
            v => Ok(v),
        }
    }
}

/// 计划全文：检查表、检查要点、汇总表、时限（默认最新发布的版本）。
#[utoipa::path(
    get, path = "/plans/{id}", tag = "plans", operation_id = "showPlan",
    params(("id" = String, Path, description = "计划编号，例如 shanxi-2025"), VersionQuery),
    responses(
        (status = 200, description = "计划（响应头 X-Plan-Version 为版本号）", body = Plan),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划或版本不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn show_plan(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> Result<Response, ApiError> {
    let v = plans::get(&p, &a, &id, q.get()?).await?;
    Ok((
        [("x-plan-version", v.version.to_string())],
        Json((*v.plan).clone()),
    )
        .into_response())
}

/// 计划的 TOML 原文（导入时的文件，逐字节相同）。
#[utoipa::path(
    get, path = "/plans/{id}/source", tag = "plans", operation_id = "planSource",
    params(("id" = String, Path, description = "计划编号"), VersionQuery),
    responses(
        (status = 200, description = "TOML 原文", content_type = "application/toml", body = String),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划或版本不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn plan_source(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> Result<Response, ApiError> {
    let (v, text) = plans::source(&p, &a, &id, q.get()?).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}-v{}.toml\"", v.version),
            ),
        ],
        text,
    )
        .into_response())
}

/// 导入计划（管理员）：TOML 文件整体校验，有问题时列出全部问题、不写入；通过后存为新的待发布版本。
#[utoipa::path(
    post, path = "/plans", tag = "plans", operation_id = "importPlan",
    request_body(content = String, content_type = "application/toml", description = "计划 TOML 文件（UTF-8）"),
    responses(
        (status = 201, description = "已导入为待发布版本", body = plans::PlanSummary),
        (status = 409, description = "与最新版本完全相同", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn import_plan(
    State(p): State<Platform>,
    Authed(a): Authed,
    body: Bytes,
) -> Result<(StatusCode, Json<plans::PlanSummary>), ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidPlan,
            "计划文件不是 UTF-8 编码：请另存为 UTF-8 后再导入",
        )
    })?;
    let summary = plans::import(&p, &a, Utc::now(), "上传的计划文件", text).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// 发布计划版本（管理员）：发布后用于抽取并下发到平板；已发布的版本不变。
#[utoipa::path(
    post, path = "/plans/{id}/versions/{version}/publish", tag = "plans",
    operation_id = "publishPlan",
    params(
        ("id" = String, Path, description = "计划编号"),
        ("version" = u32, Path, description = "版本号", minimum = 1, maximum = 1_000_000),
    ),
    responses(
        (status = 200, description = "已发布", body = plans::PlanSummary),
        (status = 400, description = "版本号格式不正确", body = ErrorBody),
        (status = 404, description = "计划或版本不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn publish_plan(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath((id, version)): ApiPath<(String, u32)>,
) -> Result<Json<plans::PlanSummary>, ApiError> {
    if !(1..=1_000_000).contains(&version) {
        return Err(ApiError::new(
            ErrorCode::InvalidId,
            "版本号应在 1–1000000 之间",
        ));
    }
    Ok(Json(
        plans::publish(&p, &a, Utc::now(), &id, version).await?,
    ))
}
