//! The public pages' data (一公开), without sign-in: published plans, a plan's
//! result list (结果公示, cached per database change, JSON or gzip, ETag / 304) and
//! a draw's public record (抽取公示).

use super::Public;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use crate::service::{Platform, public};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jiandu_core::protocol::ErrorBody;
use serde::Deserialize;
use uuid::Uuid;

/// 已发布的抽查计划（公开，无需登录）。
#[utoipa::path(
    get, path = "/public/plans", tag = "public", operation_id = "publicPlans",
    responses((status = 200, description = "计划", body = Vec<public::PublicPlan>), Public),
    security(())
)]
pub async fn plans(State(p): State<Platform>) -> Result<Json<Vec<public::PublicPlan>>, ApiError> {
    Ok(Json(public::plans(&p).await?))
}

/// Query of `GET /public/results`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// 计划编号，例如 shanxi-2026。
    #[param(min_length = 1, max_length = 100)]
    plan: String,
}

/// 结果公示：计划的已审核检查结果（公开，无需登录；按数据库变更缓存，支持 gzip 和 ETag）。
#[utoipa::path(
    get, path = "/public/results", tag = "public", operation_id = "publicResults",
    params(ResultsQuery),
    responses(
        (status = 200, description = "结果公示", body = public::PublicResults),
        (status = 304, description = "未变化（If-None-Match）"),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划不存在", body = ErrorBody),
        Public,
    ),
    security(())
)]
pub async fn results(
    State(p): State<Platform>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ResultsQuery>,
) -> Result<Response, ApiError> {
    let ready = public::results(&p, &q.plan, Utc::now()).await?;
    let etag = HeaderValue::from_str(&ready.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let cache = HeaderValue::from_static("public, max-age=60");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == ready.etag.as_bytes())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let json = HeaderValue::from_static("application/json");
    let vary = HeaderValue::from_static("accept-encoding");
    Ok(if gzip {
        (
            [
                (header::CONTENT_TYPE, json),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
                (header::VARY, vary),
            ],
            ready.gzip.clone(),
        )
            .into_response()
    } else {
        (
            [
                (header::CONTENT_TYPE, json),
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
                (header::VARY, vary),
            ],
            ready.json.clone(),
        )
            .into_response()
    })
}

/// Query of `GET /public/results/page`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 计划编号，例如 shanxi-2026。
    #[param(min_length = 1, max_length = 100)]
    plan: String,
    /// 公示结果：no_problem（抽查未发现问题）、corrected（发现问题已责令改正）、penalised（行政处罚）、unreachable（无法联系）；不填为全部。
    #[param(pattern = "^(no_problem|corrected|penalised|unreachable)$")]
    result: Option<String>,
    /// 按单位名称或统一社会信用代码搜索。
    #[param(max_length = 100)]
    q: Option<String>,
    /// 页码，从 1 开始（默认 1）。
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<usize>,
    /// 每页条数，1–200（默认 50）。
    #[param(minimum = 1, maximum = 200)]
    size: Option<usize>,
}

/// 结果公示的一页：按公示结果和搜索词筛选（公开，无需登录；浏览器页面按页读取）。
#[utoipa::path(
    get, path = "/public/results/page", tag = "public", operation_id = "publicResultsPage",
    params(PageQuery),
    responses(
        (status = 200, description = "结果公示的一页", body = public::PublicPage),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        (status = 404, description = "计划不存在", body = ErrorBody),
        Public,
    ),
    security(())
)]
pub async fn results_page(
    State(p): State<Platform>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<public::PublicPage>, ApiError> {
    let query = public::PageQuery {
        result: q.result,
        q: q.q,
        page: q.page.unwrap_or(1),
        size: q.size.unwrap_or(50),
    };
    Ok(Json(public::page(&p, &q.plan, &query, Utc::now()).await?))
}

/// 抽取输入公示：正式抽取所用的规范输入（jiandu-draw/2），下载后可用 draw verify 离线重算（公开，无需登录）。
#[utoipa::path(
    get, path = "/public/draws/{id}/inputs", tag = "public", operation_id = "publicDrawInputs",
    params(("id" = Uuid, Path, description = "抽取编号")),
    responses(
        (status = 200, description = "公示输入", body = jiandu_core::draw::PublicInputs),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取不存在", body = ErrorBody),
        (status = 422, description = "该抽取使用的算法没有可公示的输入", body = ErrorBody),
        Public,
    ),
    security(())
)]
pub async fn draw_inputs(
    State(p): State<Platform>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let inputs = public::draw_inputs(&p, id).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"draw-{id}-inputs.json\""))
                .unwrap_or(HeaderValue::from_static("attachment")),
        )],
        Json(inputs),
    )
        .into_response())
}

/// 抽取公示：抽取的计划、种子、算法版本、输入哈希和抽取名单（公开，无需登录）。
#[utoipa::path(
    get, path = "/public/draws/{id}", tag = "public", operation_id = "publicDraw",
    params(("id" = Uuid, Path, description = "抽取编号")),
    responses(
        (status = 200, description = "抽取公示", body = public::PublicDraw),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取不存在", body = ErrorBody),
        Public,
    ),
    security(())
)]
pub async fn draw(
    State(p): State<Platform>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<public::PublicDraw>, ApiError> {
    Ok(Json(public::draw(&p, id).await?))
}
