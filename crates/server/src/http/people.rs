//! People and devices over HTTP: enrolment, `/me`, devices, users.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, Authed};
use super::{Errors, Public};
use crate::error::ErrorCode;
use crate::model::{Device, RevokeKind};
use crate::service::{Platform, people};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use chrono::Utc;
use jiandu_core::protocol::{EnrollRequest, EnrollResponse, ErrorBody, UserView};
use serde::Deserialize;
use std::net::SocketAddr;
use uuid::Uuid;

/// 登记设备：用户名和密码换取本设备的访问令牌（仅显示一次）。
#[utoipa::path(
    post, path = "/devices/enroll", tag = "people", operation_id = "enrollDevice",
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "已登记", body = EnrollResponse),
        (status = 400, description = "用户名、设备名称或密码不符合要求", body = ErrorBody),
        (status = 401, description = "用户名或密码错误", body = ErrorBody),
        (status = 403, description = "账号已停用", body = ErrorBody),
        (status = 429, description = "登录失败次数过多，或服务器正忙于其他登录（稍后再试）", body = ErrorBody),
        Public,
    ),
    security(())
)]
pub async fn enroll(
    State(p): State<Platform>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollResponse>), ApiError> {
    let client = super::session::client_ip(&p, addr, &headers);
    let resp = people::enroll(&p, req, client, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(resp)))
}

/// 当前令牌的用户和设备。
#[utoipa::path(
    get, path = "/me", tag = "people", operation_id = "me",
    responses((status = 200, description = "当前用户", body = people::Me), Errors)
)]
pub async fn me(Authed(a): Authed) -> Result<Json<people::Me>, ApiError> {
    Ok(Json(people::me(&a)?))
}

/// 设备列表（管理员：全部；其他人：自己的）。
#[utoipa::path(
    get, path = "/devices", tag = "people", operation_id = "listDevices",
    responses((status = 200, description = "设备", body = Vec<Device>), Errors)
)]
pub async fn list_devices(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<Device>>, ApiError> {
    Ok(Json(people::list_devices(&p, &a).await?))
}

/// How a device is revoked: 丢失 or 停用.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevokeChoice {
    /// 丢失：设备下次联系平台时清除本机密钥，本机数据无法再读取。
    Lost,
    /// 停用：设备停止同步；本机数据保持加密，可凭 PIN 码导出。
    Retired,
}

/// `POST /devices/{id}/revoke`'s body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// 可省略：停用。
    #[serde(default)]
    pub kind: Option<RevokeChoice>,
}

/// 吊销设备令牌：登记为丢失（设备下次联系平台时清除本机密钥）或停用（本机数据
/// 可凭 PIN 码导出）；不带请求内容时按停用处理。本人也可吊销自己的设备。
#[utoipa::path(
    post, path = "/devices/{id}/revoke", tag = "people", operation_id = "revokeDevice",
    params(("id" = Uuid, Path, description = "设备编号")),
    request_body(content = Option<RevokeRequest>, description = "吊销方式（可省略：停用）"),
    responses(
        (status = 200, description = "已吊销", body = Device),
        (status = 400, description = "编号格式或吊销方式不正确", body = ErrorBody),
        (status = 404, description = "设备不存在（或不是自己的）", body = ErrorBody),
        Errors,
    )
)]
pub async fn revoke_device(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
    body: Bytes,
) -> Result<Json<Device>, ApiError> {
    let kind = if body.iter().all(u8::is_ascii_whitespace) {
        RevokeChoice::Retired
    } else {
        // `null` is the schema's "no body" as much as an empty one.
        serde_json::from_slice::<Option<RevokeRequest>>(&body)
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidKind,
                    format!("吊销方式应为 {{\"kind\": \"lost\"}}（丢失）或 {{\"kind\": \"retired\"}}（停用）：{e}"),
                )
            })?
            .and_then(|r| r.kind)
            .unwrap_or(RevokeChoice::Retired)
    };
    let kind = match kind {
        RevokeChoice::Lost => RevokeKind::Lost,
        RevokeChoice::Retired => RevokeKind::Retired,
    };
    Ok(Json(
        people::revoke_device(&p, &a, Utc::now(), id, kind).await?,
    ))
}

/// 退出登录（设备）：吊销本设备自己的访问令牌，此后用它的请求一律 401。
#[utoipa::path(
    delete, path = "/me/token", tag = "people", operation_id = "signOutDevice",
    responses(
        (status = 204, description = "已退出登录，令牌已吊销"),
        Errors,
    )
)]
pub async fn sign_out_device(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<StatusCode, ApiError> {
    people::sign_out_device(&p, &a, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 人员列表（管理员）。
#[utoipa::path(
    get, path = "/users", tag = "people", operation_id = "listUsers",
    responses((status = 200, description = "人员", body = Vec<UserView>), Errors)
)]
pub async fn list_users(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(people::list_users(&p, &a).await?))
}
