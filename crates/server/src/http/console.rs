//! What the web console adds over HTTP: adding and disabling users, setting
//! passwords, the dashboard (首页), the audit log (审计日志) with its check.
//! Devices and sessions reach the same handlers; the service decides who may.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use super::{Errors, JsonErrors};
use crate::audit::AuditEntry;
use crate::service::{Platform, audit, people, reports};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use jiandu_core::Role;
use jiandu_core::protocol::{ErrorBody, UserView};
use serde::Deserialize;

/// A user to add (`POST /users`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub username: String,
    /// 姓名（打印在文书上）。
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    pub role: Role,
    /// 执法证号（检查人员必填）。
    #[schema(max_length = 100)]
    pub badge_no: Option<String>,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub team: String,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub district: String,
    /// 初始密码（至少 8 个字符）。
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// 添加人员（管理员）。
#[utoipa::path(
    post, path = "/users", tag = "people", operation_id = "createUser",
    request_body = NewUserRequest,
    responses(
        (status = 201, description = "已添加", body = UserView),
        (status = 409, description = "用户名或执法证号已存在", body = ErrorBody),
        (status = 429, description = "服务器正忙于处理其他密码（稍后再试）", body = ErrorBody),
        Errors, JsonErrors,
    )
)]
pub async fn create_user(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiJson(r): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let u = people::create_user(
        &p,
        &a,
        Utc::now(),
        people::NewAccount {
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            badge_no: r.badge_no,
            team: r.team,
            district: r.district,
            password: r.password,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(u.view())))
}

/// `PUT /users/{username}/disabled`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisabledRequest {
    pub disabled: bool,
}

/// 停用或启用人员（管理员）；停用立即结束其控制台会话并拒绝其设备令牌。
#[utoipa::path(
    put, path = "/users/{username}/disabled", tag = "people", operation_id = "setUserDisabled",
    params(("username" = String, Path, description = "用户名")),
    request_body = DisabledRequest,
    responses(
        (status = 200, description = "已更新", body = UserView),
        (status = 404, description = "用户不存在", body = ErrorBody),
        Errors, JsonErrors,
    )
)]
pub async fn set_disabled(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(username): ApiPath<String>,
    ApiJson(r): ApiJson<DisabledRequest>,
) -> Result<Json<UserView>, ApiError> {
    let u = people::set_disabled(&p, &a, Utc::now(), &username, r.disabled).await?;
    Ok(Json(u.view()))
}

/// `PUT /users/{username}/password`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// 设置人员密码（管理员）。
#[utoipa::path(
    put, path = "/users/{username}/password", tag = "people", operation_id = "setUserPassword",
    params(("username" = String, Path, description = "用户名")),
    request_body = PasswordRequest,
    responses(
        (status = 204, description = "已设置"),
        (status = 404, description = "用户不存在", body = ErrorBody),
        (status = 429, description = "服务器正忙于处理其他密码（稍后再试）", body = ErrorBody),
        Errors, JsonErrors,
    )
)]
pub async fn set_password(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(username): ApiPath<String>,
    ApiJson(r): ApiJson<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    people::set_password(&p, &a, Utc::now(), &username, r.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 首页：各计划各区县的任务状态、报送时限、逾期和进度（管理员、组长）。
#[utoipa::path(
    get, path = "/reports/dashboard", tag = "reports", operation_id = "dashboard",
    responses((status = 200, description = "首页数据", body = reports::Dashboard), Errors)
)]
pub async fn dashboard(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<reports::Dashboard>, ApiError> {
    Ok(Json(
        reports::dashboard(&p, &a, Utc::now().date_naive()).await?,
    ))
}

/// Query of `GET /audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// 从此变更序号之后开始（默认 0）。
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    /// 条数（1–1000，默认 200）。
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// 操作人包含此文字。
    #[param(max_length = 100)]
    actor: Option<String>,
    /// 操作包含此文字。
    #[param(max_length = 100)]
    action: Option<String>,
}

/// 审计日志（管理员），按变更序号排列，可按操作人、操作筛选。
#[utoipa::path(
    get, path = "/audit", tag = "system", operation_id = "listAudit",
    params(AuditQuery),
    responses(
        (status = 200, description = "审计记录", body = Vec<AuditEntry>),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        Errors,
    )
)]
pub async fn list_audit(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    if q.after < 0
        || [&q.actor, &q.action]
            .iter()
            .any(|f| f.as_ref().is_some_and(|t| t.chars().count() > 100))
    {
        return Err(ApiError::new(
            crate::error::ErrorCode::InvalidQuery,
            "查询参数不正确：after 不能为负数，操作人、操作不超过 100 个字符",
        ));
    }
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    Ok(Json(
        audit::search(
            &p,
            &a,
            audit::Filter {
                after: q.after,
                limit: q.limit.unwrap_or(200),
                actor: nonempty(q.actor),
                action: nonempty(q.action),
            },
        )
        .await?,
    ))
}

/// 校验审计日志的哈希链（管理员）。
#[utoipa::path(
    get, path = "/audit/verify", tag = "system", operation_id = "verifyAudit",
    responses((status = 200, description = "校验结果", body = audit::AuditReport), Errors)
)]
pub async fn verify_audit(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<audit::AuditReport>, ApiError> {
    Ok(Json(audit::verify_as(&p, &a).await?))
}
