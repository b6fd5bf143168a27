//! The web console's session over HTTP: sign in (`POST /session`), the current
//! session (`GET /session`), sign out (`DELETE /session`). The session is the
//! `jiandu_session` cookie: HttpOnly, SameSite=Strict, Path=/, Max-Age of the
//! absolute expiry, Secure behind TLS (`X-Forwarded-Proto: https`) or when the
//! settings say so.

use super::error::ApiError;
use super::extract::{ApiJson, ConsoleAuthed, SESSION_COOKIE, same_site};
use super::{Errors, Public};
use crate::service::{Platform, sessions};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jiandu_core::protocol::ErrorBody;
use std::net::SocketAddr;

/// Whether the browser reached us over TLS: the settings say so, or this
/// connection is TLS, or a trusted proxy says `X-Forwarded-Proto: https`.
fn secure(p: &Platform, peer: SocketAddr, headers: &HeaderMap, tls: bool) -> bool {
    p.console.secure_cookies
        || tls
        || (p.proxies.contains(peer.ip())
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https")))
}

/// The client's address: the peer, or what a trusted proxy forwarded.
pub(super) fn client_ip(p: &Platform, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    p.proxies.client(
        peer.ip(),
        headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
    )
}

/// The `Set-Cookie` of a session (`token`), or of its removal (`None`).
fn set_cookie(
    p: &Platform,
    peer: SocketAddr,
    headers: &HeaderMap,
    tls: bool,
    token: Option<&str>,
) -> HeaderValue {
    let (value, max_age) = match token {
        Some(t) => (t, p.console.absolute.num_seconds()),
        None => ("", 0),
    };
    let mut c =
        format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    if secure(p, peer, headers, tls) {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// 登录控制台：用户名和密码换取会话 Cookie（jiandu_session）和防伪令牌。
#[utoipa::path(
    post, path = "/session", tag = "people", operation_id = "signIn",
    request_body = sessions::SignIn,
    responses(
        (status = 201, description = "已登录；Set-Cookie 设置会话", body = sessions::SessionView),
        (status = 400, description = "用户名或密码不符合要求", body = ErrorBody),
        (status = 401, description = "用户名或密码错误", body = ErrorBody),
        (status = 403, description = "账号已停用，或请求来自其他网站", body = ErrorBody),
        (status = 429, description = "登录失败次数过多，或服务器正忙于其他登录（稍后再试）", body = ErrorBody),
        Public,
    ),
    security(())
)]
pub async fn sign_in(
    State(p): State<Platform>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    tls: Option<axum::Extension<super::Tls>>,
    headers: HeaderMap,
    ApiJson(sign_in): ApiJson<sessions::SignIn>,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    let client = client_ip(&p, addr, &headers);
    let opened = sessions::sign_in(&p, sign_in, client, Utc::now()).await?;
    let mut resp = (StatusCode::CREATED, Json(opened.view)).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&p, addr, &headers, tls.is_some(), Some(&opened.token)),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// 当前控制台会话：用户、防伪令牌和到期时间。
#[utoipa::path(
    get, path = "/session", tag = "people", operation_id = "currentSession",
    responses((status = 200, description = "当前会话", body = sessions::SessionView), Errors),
    security(("session" = []))
)]
pub async fn current(ConsoleAuthed(c): ConsoleAuthed) -> Response {
    let mut resp = Json(c.view).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// 退出控制台：会话立即失效（需携带 X-CSRF-Token）。
#[utoipa::path(
    delete, path = "/session", tag = "people", operation_id = "signOut",
    responses((status = 204, description = "已退出；Set-Cookie 清除会话"), Errors),
    security(("session" = []))
)]
pub async fn sign_out(
    State(p): State<Platform>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    tls: Option<axum::Extension<super::Tls>>,
    headers: HeaderMap,
    ConsoleAuthed(c): ConsoleAuthed,
) -> Result<Response, ApiError> {
    sessions::sign_out(&p, &c.session, Utc::now()).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&p, addr, &headers, tls.is_some(), None),
    );
    Ok(resp)
}
