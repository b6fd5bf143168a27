//! Extractors whose every refusal is an [`ApiError`] (`{code, message}`): malformed
//! JSON, wrong types, oversized bodies, bad ids and bad queries included, so a
//! client never sees a plain-text rejection. [`Authed`] turns the bearer token into
//! the service layer's [`Actor`].

use super::error::ApiError;
use crate::error::ErrorCode;
use crate::service::{Actor, Platform, people};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
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

/// The signed-in device's actor (`Authorization: Bearer …`). The actor is recorded
/// on the request's trace span.
#[derive(Debug, Clone)]
pub struct Authed(pub Actor);

impl FromRequestParts<Platform> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, p: &Platform) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(ErrorCode::Unauthenticated, "缺少访问令牌：请先登记设备")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(ErrorCode::Unauthenticated, "访问令牌格式应为 Bearer <令牌>")
            })?;
        let actor = people::authenticate(p, token).await?;
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
