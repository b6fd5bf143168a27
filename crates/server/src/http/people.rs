//! People and devices over HTTP: enrolment, `/me`, devices, users.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, Authed};
use super::{Errors, Public};
use crate::model::Device;
use crate::service::{Platform, people};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use chrono::Utc;
use jiandu_core::protocol::{EnrollRequest, EnrollResponse, ErrorBody, UserView};
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

/// 吊销设备令牌（丢失的平板）；本人也可吊销自己的设备。
#[utoipa::path(
    post, path = "/devices/{id}/revoke", tag = "people", operation_id = "revokeDevice",
    params(("id" = Uuid, Path, description = "设备编号")),
    responses(
        (status = 200, description = "已吊销", body = Device),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "设备不存在（或不是自己的）", body = ErrorBody),
        Errors,
    )
)]
pub async fn revoke_device(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Device>, ApiError> {
    Ok(Json(people::revoke_device(&p, &a, Utc::now(), id).await?))
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
