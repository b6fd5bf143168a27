//! Operating the server: `GET /metrics` (Prometheus text, [`crate::metrics`]), the
//! middleware that counts every request by route, and which answers are gzipped.

use super::extract::Authed;
use crate::error::ErrorCode;
use crate::service::Platform;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiandu_core::Role;
use std::net::SocketAddr;

use super::error::ApiError;

/// Marks an answer worth compressing (a pull page): gzip when the client accepts it.
#[derive(Debug, Clone, Copy)]
pub struct Compress;

/// The compression layer's rule: only answers marked [`Compress`].
pub fn compressible(_: StatusCode, _: Version, _: &HeaderMap, ext: &Extensions) -> bool {
    ext.get::<Compress>().is_some()
}

/// Counts the request under its route template (unknown paths as one label).
pub async fn count_request(State(p): State<Platform>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "(other)".to_owned());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    p.metrics
        .request(&method, &route, resp.status().as_u16(), started.elapsed());
    resp
}

/// 本服务器进程的运行指标（Prometheus 文本格式）：各接口的请求数与耗时分布、推送条目的接受与拒绝数、上传字节数、正在上传的照片、数据库连接池使用情况。仅限管理员（令牌或控制台会话），或配置文件 metrics_allow 中的地址（供 Prometheus 抓取）。
#[utoipa::path(
    get, path = "/metrics", tag = "system", operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus 文本格式（text/plain; version=0.0.4）", body = String, content_type = "text/plain"),
        (status = 401, description = "缺少访问令牌且地址不在 metrics_allow 中", body = jiandu_core::protocol::ErrorBody),
        (status = 403, description = "不是管理员", body = jiandu_core::protocol::ErrorBody),
        (status = 500, description = "服务器内部错误", body = jiandu_core::protocol::ErrorBody),
    )
)]
pub async fn metrics(
    State(p): State<Platform>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    authed: Result<Authed, ApiError>,
) -> Result<Response, ApiError> {
    let client = super::session::client_ip(&p, peer, &headers);
    if !p.metrics_allow.contains(client) {
        let Authed(actor) = authed?;
        if actor.role() != Role::Admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "只有管理员可以查看运行指标",
            ));
        }
    }
    let pending = p.store.pending_uploads().await?;
    let text = p.metrics.render(
        p.store.backend(),
        p.blobs.kind(),
        p.store.pool_use(),
        Some(pending),
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
