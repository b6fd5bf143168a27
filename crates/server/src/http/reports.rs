//! Reports over HTTP: 汇总表 (JSON, CSV, XLSX), the public list, progress.

use super::Errors;
use super::error::ApiError;
use super::extract::{ApiQuery, Authed};
use crate::formats;
use crate::service::{Platform, reports};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jiandu_core::protocol::ErrorBody;
use jiandu_core::summary::SummaryReport;
use serde::Deserialize;

/// The formats a 汇总表 downloads in.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SummaryFormat {
    #[default]
    Json,
    Csv,
    Xlsx,
}

/// Query of `GET /reports/summary`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// 计划编号，例如 shanxi-2025。
    plan: String,
    /// 汇总表代码，例如 medical-summary。
    table: String,
    /// json（默认）、csv、xlsx。
    format: Option<SummaryFormat>,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// 汇总表（已审核通过的检查）：JSON、CSV 或带合并表头的 XLSX（管理员、组长）。
#[utoipa::path(
    get, path = "/reports/summary", tag = "reports", operation_id = "reportSummary",
    params(SummaryQuery),
    responses(
        (status = 200, description = "汇总表（format=csv/xlsx 时为文件）", content(
            (SummaryReport = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划或汇总表不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn report_summary(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Response, ApiError> {
    let (plan, table, report) = reports::summary_table(&p, &a, &q.plan, &q.table).await?;
    let file = |ext: &str| format!("attachment; filename=\"{}-{}.{ext}\"", plan.id, table.code);
    Ok(match q.format.unwrap_or_default() {
        SummaryFormat::Json => Json(report).into_response(),
        SummaryFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, file("csv")),
            ],
            formats::to_csv(&table, &report),
        )
            .into_response(),
        SummaryFormat::Xlsx => (
            [
                (header::CONTENT_TYPE, XLSX.to_owned()),
                (header::CONTENT_DISPOSITION, file("xlsx")),
            ],
            formats::to_xlsx(&table, &report)?,
        )
            .into_response(),
    })
}

/// Query naming a plan.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// 计划编号，例如 shanxi-2025。
    plan: String,
}

/// 公示名单（一公开）：已检查单位及其结果类别。
#[utoipa::path(
    get, path = "/reports/public", tag = "reports", operation_id = "reportPublic",
    params(PlanQuery),
    responses(
        (status = 200, description = "公示名单", body = Vec<reports::PublicEntry>),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn report_public(
    State(p): State<Platform>,
    Authed(_a): Authed,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<Vec<reports::PublicEntry>>, ApiError> {
    Ok(Json(reports::public_list(&p, &q.plan).await?))
}

/// 进度：各类别抽取、已检查、已审核，对照报送时限（管理员、组长）。
#[utoipa::path(
    get, path = "/reports/progress", tag = "reports", operation_id = "reportProgress",
    params(PlanQuery),
    responses(
        (status = 200, description = "进度", body = reports::Progress),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn report_progress(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<reports::Progress>, ApiError> {
    Ok(Json(
        reports::progress(&p, &a, &q.plan, Utc::now().date_naive()).await?,
    ))
}
