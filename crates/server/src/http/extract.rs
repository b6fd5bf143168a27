//! Extractors whose every refusal is an [`ApiError`] (`{code, message}`): malformed
//! JSON, wrong types, oversized bodies, bad ids and bad queries included, so a
//! client never sees a plain-text rejection. [`Authed`] turns the bearer token into
//! the service layer's [`Actor`].

use super::error::ApiError;
use crate::error::ErrorCode;
use crate::service::{Actor, Platform, people, sessions};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use serde::de::DeserializeOwned;

/// JSON body extractor.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(ErrorCode::BodyTooLarge, "请求内容过大"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请求内容应为 JSON（Content-Type: application/json）",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(
            ErrorCode::InvalidBody,
            format!("请求内容的字段缺失或类型不正确：{}", r.body_text()),
        ),
        _ => ApiError::new(ErrorCode::MalformedJson, "请求内容不是有效的 JSON"),
    }
}

/// Path extractor.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_: PathRejection| {
                ApiError::new(ErrorCode::InvalidId, "路径中的编号格式不正确")
            })
    }
}

/// Query extractor.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("查询参数不正确：{}", e.body_text()),
                )
            })
    }
}

/// The console session's cookie.
pub const SESSION_COOKIE: &str = "jiandu_session";
/// The header carrying the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in actor: a device (`Authorization: Bearer …`) or a console session
/// (the `jiandu_session` cookie), as the same [`Actor`]. A console request that
/// changes state must come from the console's own site and carry the session's
/// CSRF token in `X-CSRF-Token`. The actor is recorded on the request's trace span.
#[derive(Debug, Clone)]
pub struct Authed(pub Actor);

impl FromRequestParts<Platform> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, p: &Platform) -> Result<Self, ApiError> {
        let actor = if parts.headers.contains_key(header::AUTHORIZATION) {
            device_actor(parts, p).await?
        } else if cookie(parts, SESSION_COOKIE).is_some() {
            ConsoleAuthed::from_request_parts(parts, p).await?.0.actor
        } else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "缺少访问令牌：请先登记设备或登录控制台",
            ));
        };
        let span = tracing::Span::current();
        if let Some(u) = &actor.user {
            span.record("user", u.username.as_str());
        }
        if let Some(d) = actor.device {
            span.record("device", tracing::field::display(d));
        }
        Ok(Authed(actor))
    }
}

async fn device_actor(parts: &Parts, p: &Platform) -> Result<Actor, ApiError> {
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthenticated, "访问令牌格式应为 Bearer <令牌>")
        })?;
    Ok(people::authenticate(p, token, Utc::now()).await?)
}

/// A console session (the `jiandu_session` cookie), checked as [`Authed`] checks it.
#[derive(Debug, Clone)]
pub struct ConsoleAuthed(pub sessions::Checked);

impl FromRequestParts<Platform> for ConsoleAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, p: &Platform) -> Result<Self, ApiError> {
        if let Some(c) = parts.extensions.get::<sessions::Checked>() {
            return Ok(ConsoleAuthed(c.clone()));
        }
        let token = cookie(parts, SESSION_COOKIE)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "尚未登录控制台，请先登录"))?;
        let checked = sessions::authenticate(p, &token, Utc::now()).await?;
        if !parts.method.is_safe() {
            same_site(&parts.headers)?;
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !sessions::csrf_matches(&checked.session, sent) {
                return Err(sessions::csrf_failed().into());
            }
        }
        parts.extensions.insert(checked.clone());
        Ok(ConsoleAuthed(checked))
    }
}

/// A cookie's value.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Refuses a request a browser sent from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host is not the `Host` asked.
pub fn same_site(h: &axum::http::HeaderMap) -> Result<(), crate::error::ServiceError> {
    if h.get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return Err(sessions::cross_site());
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        if origin_host.is_none() || origin_host != host {
            return Err(sessions::cross_site());
        }
    }
    Ok(())
}
