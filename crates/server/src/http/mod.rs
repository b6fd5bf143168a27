//! The HTTP adapter: the API under `/api/v1` (axum), its OpenAPI document, request
//! tracing. A handler parses the request, calls one function of
//! [`crate::service`] and renders its answer; nothing else.
//!
//! - Every route is registered through utoipa-axum's [`OpenApiRouter`] from a
//!   handler annotated with `#[utoipa::path]`, so a route that is not documented
//!   cannot exist, and the document (`GET /api/openapi.json`) is generated from the
//!   handlers and the types they take and return.
//! - Every error is `{code, message}` JSON ([`error::ApiError`]): malformed JSON,
//!   wrong types, oversized bodies, bad ids, unknown routes and methods included.
//! - Authentication is a per-device bearer token (`Authorization: Bearer …`, never
//!   in URLs) or a console session cookie (`jiandu_session`, with `X-CSRF-Token` on
//!   state-changing requests), turned into the service's `Actor` by
//!   [`extract::Authed`].
//! - Every request gets an id (`x-request-id`, kept when the client sends one) and
//!   one access-log line at info level with method, route, status, latency, user
//!   and device.

mod assets;
mod console;
pub mod error;
pub mod extract;
mod people;
mod plans;
mod public;
mod registry;
mod reports;
mod review;
mod session;
mod sync;
pub mod tls;

// The draw and task handlers.
mod draws;
// /metrics and the per-route counters.
mod ops;

use crate::error::ErrorCode;
use crate::service::Platform;
use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, Request};
use axum::response::Response;
use error::ApiError;
use jiandu_core::protocol::ErrorBody;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Marks a request that arrived over the server's own TLS (`serve --tls-cert`).
#[derive(Debug, Clone, Copy)]
pub struct Tls;

/// The request id header, in and out.
pub const REQUEST_ID: &str = "x-request-id";

/// Errors any authenticated operation may answer.
#[derive(Debug, utoipa::IntoResponses)]
pub enum Errors {
    /// 缺少、无效或已吊销的访问令牌。
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// 账号已停用，或当前角色无权执行此操作。
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// 服务器内部错误（只给出请求编号）。
    #[response(status = 500)]
    Internal(ErrorBody),
}

/// Errors any operation with a JSON body may answer.
#[derive(Debug, utoipa::IntoResponses)]
pub enum JsonErrors {
    /// 请求内容不是有效的 JSON，或参数不正确。
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// 请求内容过大。
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// 请求内容应为 JSON。
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// 字段缺失、类型不正确或不符合规则。
    #[response(status = 422)]
    Unprocessable(ErrorBody),
}

/// Errors any operation without a token may answer.
#[derive(Debug, utoipa::IntoResponses)]
pub enum Public {
    /// 请求内容过大。
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// 请求内容应为 JSON。
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// 字段缺失或类型不正确。
    #[response(status = 422)]
    Unprocessable(ErrorBody),
    /// 服务器内部错误（只给出请求编号）。
    #[response(status = 500)]
    Internal(ErrorBody),
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "监督（Jiandu）中心平台 API",
        description = "双随机、一公开卫生监督：名录库、双随机抽取、同步、组长审核、汇总表。\
            每个错误都是 {code, message}：code 供程序判断，message 为中文。\
            认证：每台登记过的设备有自己的访问令牌（Authorization: Bearer …）；\
            控制台用会话 Cookie（jiandu_session，POST /session 登录），\
            改变数据的请求须带 X-CSRF-Token。",
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("session" = [])),
    components(schemas(ErrorCode, reports::SummaryFormat)),
    tags(
        (name = "system", description = "服务状态"),
        (name = "people", description = "人员与设备"),
        (name = "plans", description = "抽查计划"),
        (name = "registry", description = "名录库"),
        (name = "draws", description = "双随机抽取"),
        (name = "tasks", description = "任务"),
        (name = "review", description = "检查与组长审核"),
        (name = "reports", description = "汇总表、公示、进度"),
        (name = "sync", description = "设备同步"),
        (name = "public", description = "公开信息（无需登录）：结果公示、抽取公示"),
    )
)]
struct ApiDoc;

/// The bearer-token scheme every operation but the public ones requires.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("设备访问令牌（登记时获得，仅显示一次）"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "jiandu_session",
                "控制台会话（POST /session 登录获得）；改变数据的请求还须带 X-CSRF-Token",
            ))),
        );
    }
}

/// The `/api/v1` routes with their documentation.
fn api() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ops::metrics))
        .routes(routes!(people::enroll))
        .routes(routes!(people::me))
        .routes(routes!(people::list_devices))
        .routes(routes!(people::revoke_device))
        .routes(routes!(people::sign_out_device))
        .routes(routes!(people::list_users, console::create_user))
        .routes(routes!(
            session::sign_in,
            session::current,
            session::sign_out
        ))
        .routes(routes!(console::set_disabled))
        .routes(routes!(console::set_password))
        .routes(routes!(console::dashboard))
        .routes(routes!(console::list_audit))
        .routes(routes!(console::verify_audit))
        .routes(routes!(public::plans))
        .routes(routes!(public::results))
        .routes(routes!(public::results_page))
        .routes(routes!(public::draw))
        .routes(routes!(public::draw_inputs))
        .routes(routes!(plans::list_plans, plans::import_plan))
        .routes(routes!(plans::show_plan))
        .routes(routes!(plans::list_categories))
        .routes(routes!(plans::plan_source))
        .routes(routes!(plans::publish_plan))
        .routes(routes!(registry::list_institutions))
        .routes(routes!(registry::institution_history))
        .routes(routes!(registry::preview_registry))
        .routes(routes!(registry::import_registry))
        .routes(routes!(draws::list_draws, draws::create_draw))
        .routes(routes!(draws::freeze_inputs))
        .routes(routes!(draws::list_freezes))
        .routes(routes!(draws::show_draw))
        .routes(routes!(draws::draw_inputs))
        .routes(routes!(draws::verify_draw))
        .routes(routes!(draws::draw_reassignments))
        .routes(routes!(draws::draw_tasks_xlsx))
        .routes(routes!(draws::plan_population))
        .routes(routes!(draws::list_tasks))
        .routes(routes!(draws::tasks_overview))
        .routes(routes!(draws::show_task))
        .routes(routes!(draws::reassign_task))
        .routes(routes!(review::review_queue))
        .routes(routes!(review::show_inspection))
        .routes(routes!(review::approve))
        .routes(routes!(review::return_with_comments))
        .routes(routes!(review::inspection_document))
        .routes(routes!(reports::report_summary))
        .routes(routes!(reports::report_public))
        .routes(routes!(reports::report_progress))
        .routes(routes!(sync::push))
        .routes(routes!(sync::pull))
        .routes(routes!(sync::register_blob))
        .routes(routes!(
            sync::download_blob,
            sync::head_blob,
            sync::patch_blob
        ))
        .routes(routes!(sync::lease))
}

/// The router and the OpenAPI document it serves.
pub fn router_and_document(state: Platform, max_body_bytes: usize) -> (axum::Router, OpenApiDoc) {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api())
        .split_for_parts();
    let doc_json = std::sync::Arc::new(doc.clone());
    let router = api
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let doc = doc_json.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .fallback(assets::serve)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Pull pages (marked by their handler) are gzip-compressed for clients that
        // accept it; everything else goes as it is. At the fastest level: JSON of
        // repeated keys shrinks nearly as much, for a fraction of the CPU a day's end
        // of hundreds of pulls at once would otherwise spend compressing.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .quality(tower_http::CompressionLevel::Fastest)
                .compress_when(ops::compressible),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::count_request,
        ))
        .layer(axum::middleware::from_fn(
            error::internal_error_with_request_id,
        ))
        .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
            REQUEST_ID,
        )))
        .layer(
            // One span per request with its id and route; the token's extractor
            // fills in user and device; one line when it is answered.
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(|resp: &Response, latency: Duration, _: &tracing::Span| {
                    tracing::info!(
                        status = resp.status().as_u16(),
                        latency_us = latency.as_micros() as u64,
                        "answered"
                    );
                }),
        )
        .layer(SetRequestIdLayer::new(
            HeaderName::from_static(REQUEST_ID),
            MakeRequestUuid,
        ))
        .with_state(state);
    (router, doc)
}

/// Builds the router.
pub fn router(state: Platform, max_body_bytes: usize) -> axum::Router {
    router_and_document(state, max_body_bytes).0
}

/// The OpenAPI document of the API, as served at `/api/openapi.json`.
pub fn document() -> OpenApiDoc {
    OpenApiRouter::<Platform>::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", api())
        .split_for_parts()
        .1
}

/// The span of one request: its id (set or kept by the request-id layer), method
/// and route; user and device are recorded once the token is checked.
fn request_span(req: &Request<axum::body::Body>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route,
        user = tracing::field::Empty,
        device = tracing::field::Empty,
    )
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Platform,
    max_body_bytes: usize,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state, max_body_bytes).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "该接口不支持此请求方法")
}

/// Service state (`GET /health`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    status: &'static str,
    /// `sqlite` or `postgres`.
    backend: &'static str,
    /// Where photos are kept: `folder` or `s3`.
    blobs: &'static str,
    /// The database's identity: a restored database has a new one.
    epoch: Uuid,
}

/// 服务状态：数据库与照片存储（文件夹或对象存储）均可用时为 ok；另给出数据库后端、照片存储方式和数据库标识（epoch）。负载均衡器据此判断本服务器能否接收请求。
#[utoipa::path(
    get, path = "/health", tag = "system", operation_id = "health",
    responses(
        (status = 200, description = "正常", body = Health),
        (status = 500, description = "数据库不可用", body = ErrorBody),
        (status = 503, description = "照片存储不可用（storage_unavailable）", body = ErrorBody),
    ),
    security(())
)]
async fn health(State(p): State<Platform>) -> Result<Json<Health>, ApiError> {
    let st = p.store.state().await?;
    if let Err(e) = p.blobs.check().await {
        // The cause is for the operator's log, not for whoever asks.
        tracing::warn!(error = %e, blobs = p.blobs.kind(), "photo store unavailable");
        return Err(ApiError::new(
            ErrorCode::StorageUnavailable,
            "照片存储暂时不可用",
        ));
    }
    Ok(Json(Health {
        status: "ok",
        backend: p.store.backend(),
        blobs: p.blobs.kind(),
        epoch: st.epoch,
    }))
}
