//! The HTTP API under `/api/v1` (axum).
//!
//! Every error is `{code, message}` JSON ([`ApiError`]): malformed JSON, wrong
//! types, oversized bodies, bad ids and unknown routes included, so a client never
//! sees an HTML page or a bare status. Authentication is a per-device bearer token
//! (`Authorization: Bearer …`, never in URLs); authorisation is checked per endpoint
//! by role, team and district.

use crate::auth::{self, LoginLimiter};
use crate::draws;
use crate::error::ApiError;
use crate::store::{
    Device, ReviewRecord, ServerStore, StoredInspection, StoredTask, User, role_str,
};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use jiandu_core::templates::TemplateSet;
use jiandu_core::{Actor, Role};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// Shared state of the HTTP server.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn ServerStore>,
    pub templates: Arc<TemplateSet>,
    pub limiter: Arc<LoginLimiter>,
    /// Sync: blob folder and upload locks ([`crate::sync_api`]).
    pub sync: Arc<crate::sync_api::SyncContext>,
    /// 执法机关 printed on the documents (`JIANDU_AUTHORITY`); told to each device at
    /// enrolment, so its on-site copies and the platform's archive copies agree.
    pub authority: Arc<str>,
}

impl AppState {
    pub fn new(store: Arc<dyn ServerStore>, templates: TemplateSet) -> Self {
        Self {
            store,
            templates: Arc::new(templates),
            limiter: Arc::new(LoginLimiter::default()),
            sync: Arc::new(crate::sync_api::SyncContext::new(
                std::path::Path::new(crate::settings::DEFAULT_DATA_DIR).join("blobs"),
            )),
            authority: crate::documents::authority().into(),
        }
    }

    /// Prints `authority` as the 执法机关 (instead of `JIANDU_AUTHORITY`).
    pub fn with_authority(mut self, authority: &str) -> Self {
        self.authority = authority.trim().into();
        self
    }

    /// Keeps photos and signature images in `dir` (settings `blobs`).
    pub fn with_blobs(mut self, dir: std::path::PathBuf) -> Self {
        self.sync = Arc::new(crate::sync_api::SyncContext::new(dir));
        self
    }
}

/// JSON body extractor whose rejections are [`ApiError`]s.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "请求内容过大",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求内容应为 JSON（Content-Type: application/json）",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            format!("请求内容的字段缺失或类型不正确：{}", r.body_text()),
        ),
        _ => ApiError::bad_request("malformed_json", "请求内容不是有效的 JSON"),
    }
}

/// Path extractor whose rejections are [`ApiError`]s.
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
                ApiError::bad_request("invalid_id", "路径中的编号格式不正确")
            })
    }
}

/// Query extractor whose rejections are [`ApiError`]s.
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
                ApiError::bad_request(
                    "invalid_query",
                    format!("查询参数不正确：{}", e.body_text()),
                )
            })
    }
}

/// The signed-in device and its user.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    pub device: Device,
}

impl Authed {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.id,
            name: self.user.display_name.clone(),
            role: self.user.role,
        }
    }
    fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden("当前账号的角色无权执行此操作"))
        }
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized("unauthenticated", "缺少访问令牌：请先登记设备")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("unauthenticated", "访问令牌格式应为 Bearer <令牌>")
            })?;
        let (device, user) = state
            .store
            .device_by_token_hash(&auth::token_hash(token))
            .await?
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "访问令牌无效"))?;
        if device.revoked_at.is_some() {
            return Err(ApiError::unauthorized(
                "device_revoked",
                "该设备已被吊销，无法继续同步；本机数据仍可导出，请联系管理员",
            ));
        }
        if user.disabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "user_disabled",
                "该账号已停用，请联系管理员",
            ));
        }
        crate::audit::set_actor(format!("{} (设备 {})", user.username, device.id));
        Ok(Authed { user, device })
    }
}

/// Opens the audit actor scope of one request (filled in by authentication).
async fn audit_scope(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    crate::audit::scope("anonymous".to_owned(), next.run(req)).await
}

/// Builds the router.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/devices/enroll", post(enroll))
        .route("/me", get(me))
        .route("/devices", get(list_devices))
        .route("/devices/{id}/revoke", post(revoke_device))
        .route("/users", get(list_users))
        .route("/plans", get(list_plans))
        .route("/plans/{id}", get(show_plan))
        .route("/institutions", get(list_institutions))
        .route("/draws", get(list_draws).post(create_draw))
        .route("/draws/{id}", get(show_draw))
        .route("/draws/{id}/verify", get(verify_draw))
        .route("/tasks", get(list_tasks))
        .route("/tasks/{id}", get(show_task))
        .route("/tasks/{id}/reassign", post(reassign_task))
        .route("/review/queue", get(review_queue))
        .route("/inspections/{id}", get(show_inspection))
        .route("/inspections/{id}/approve", post(approve))
        .route("/inspections/{id}/return", post(return_with_comments))
        .route(
            "/inspections/{id}/documents/{kind}",
            get(inspection_document),
        )
        .route("/reports/summary", get(report_summary))
        .route("/reports/public", get(report_public))
        .route("/reports/progress", get(report_progress));
    let api = api.merge(crate::sync_api::routes());
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn(audit_scope))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
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

/// The OpenAPI document of `/api/v1` ([`crate::openapi`]); public.
async fn openapi_json() -> Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(crate::openapi::document).clone())
}

async fn not_found() -> ApiError {
    ApiError::not_found("接口不存在")
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    backend: &'static str,
    epoch: Uuid,
}

async fn health(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let st = s.store.state().await?;
    Ok(Json(Health {
        status: "ok",
        backend: s.store.backend(),
        epoch: st.epoch,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollRequest {
    username: String,
    password: String,
    device_name: String,
}

#[derive(Serialize)]
struct EnrollResponse {
    device_id: Uuid,
    /// The bearer token: shown once, stored by the server only as a hash.
    token: String,
    user: UserView,
    epoch: Uuid,
    /// 执法机关 the device prints on its documents.
    authority: String,
}

/// A user as the API shows them (no password hash, ever).
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub badge_no: Option<String>,
    pub team: String,
    pub district: String,
    pub disabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: role_str(u.role),
            badge_no: u.badge_no.clone(),
            team: u.team.clone(),
            district: u.district.clone(),
            disabled: u.disabled,
        }
    }
}

async fn enroll(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollResponse>), ApiError> {
    let username = req.username.trim().to_owned();
    let device_name = req.device_name.trim().to_owned();
    if username.is_empty() || username.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "invalid_username",
            "用户名不能为空且不超过 100 个字符",
        ));
    }
    if device_name.is_empty() || device_name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "invalid_device_name",
            "设备名称不能为空且不超过 100 个字符",
        ));
    }
    if req.password.len() > 1024 {
        return Err(ApiError::bad_request("invalid_password", "密码过长"));
    }
    let ip = addr.ip();
    if let Err(wait) = s.limiter.check(&username, ip, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("登录失败次数过多，请 {} 分钟后再试", wait.div_ceil(60)),
        ));
    }
    let creds = s.store.user_credentials(&username).await?;
    let password = req.password.clone();
    let (user, ok) = match creds {
        Some((user, Some(hash))) => {
            let ok = tokio::task::spawn_blocking(move || auth::verify_password(&hash, &password))
                .await
                .map_err(ApiError::internal)?;
            (Some(user), ok)
        }
        other => {
            tokio::task::spawn_blocking(move || auth::verify_dummy(&password))
                .await
                .map_err(ApiError::internal)?;
            (other.map(|o| o.0), false)
        }
    };
    let user = match (user, ok) {
        (Some(user), true) => user,
        _ => {
            s.limiter.record_failure(&username, ip, Instant::now());
            return Err(ApiError::unauthorized(
                "invalid_credentials",
                "用户名或密码错误",
            ));
        }
    };
    s.limiter.record_success(&username, ip);
    crate::audit::set_actor(user.username.clone());
    if user.disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "user_disabled",
            "该账号已停用，请联系管理员",
        ));
    }
    let token = auth::new_token();
    let device = s
        .store
        .create_device(
            Device {
                id: Uuid::now_v7(),
                user_id: user.id,
                name: device_name,
                created_at: Utc::now(),
                revoked_at: None,
                seq: 0,
            },
            &auth::token_hash(&token),
        )
        .await?;
    let epoch = s.store.state().await?.epoch;
    tracing::info!(user = %user.username, device = %device.id, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(EnrollResponse {
            device_id: device.id,
            token,
            user: UserView::from(&user),
            epoch,
            authority: s.authority.to_string(),
        }),
    ))
}

#[derive(Serialize)]
struct MeResponse {
    user: UserView,
    device_id: Uuid,
}

async fn me(a: Authed) -> Json<MeResponse> {
    Json(MeResponse {
        user: UserView::from(&a.user),
        device_id: a.device.id,
    })
}

async fn list_devices(State(s): State<AppState>, a: Authed) -> Result<Json<Vec<Device>>, ApiError> {
    let scope = if a.user.role == Role::Admin {
        None
    } else {
        Some(a.user.id)
    };
    Ok(Json(s.store.list_devices(scope).await?))
}

async fn revoke_device(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Device>, ApiError> {
    let device = s
        .store
        .device(id)
        .await?
        .ok_or_else(|| ApiError::not_found("设备不存在"))?;
    if a.user.role != Role::Admin && device.user_id != a.user.id {
        // Same answer as a missing device: do not reveal other users' devices.
        return Err(ApiError::not_found("设备不存在"));
    }
    let d = s.store.revoke_device(id, Utc::now()).await?;
    tracing::info!(device = %id, by = %a.user.username, "device revoked");
    Ok(Json(d))
}

async fn list_users(State(s): State<AppState>, a: Authed) -> Result<Json<Vec<UserView>>, ApiError> {
    a.require(&[Role::Admin])?;
    Ok(Json(
        s.store
            .list_users()
            .await?
            .iter()
            .map(UserView::from)
            .collect(),
    ))
}

async fn list_plans(State(s): State<AppState>, _a: Authed) -> Json<Vec<crate::plans::PlanSummary>> {
    Json(
        s.templates
            .plans
            .iter()
            .map(crate::plans::summary)
            .collect(),
    )
}

async fn show_plan(
    State(s): State<AppState>,
    _a: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<jiandu_core::Plan>, ApiError> {
    s.templates
        .plan(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("计划“{id}”不存在")))
}

async fn list_institutions(
    State(s): State<AppState>,
    a: Authed,
) -> Result<Json<Vec<crate::store::Institution>>, ApiError> {
    a.require(&[Role::Admin, Role::TeamLead])?;
    let all = s.store.list_institutions().await?;
    Ok(Json(match a.user.role {
        Role::Admin => all,
        _ => all
            .into_iter()
            .filter(|i| i.district == a.user.district)
            .collect(),
    }))
}

#[derive(Serialize)]
struct DrawListItem {
    id: Uuid,
    plan_id: String,
    seed: String,
    algorithm: String,
    created_by: String,
    created_at: chrono::DateTime<Utc>,
}

async fn list_draws(
    State(s): State<AppState>,
    a: Authed,
) -> Result<Json<Vec<DrawListItem>>, ApiError> {
    a.require(&[Role::Admin, Role::TeamLead])?;
    Ok(Json(
        s.store
            .draws()
            .await?
            .into_iter()
            .map(|d| DrawListItem {
                id: d.id,
                plan_id: d.plan_id,
                seed: d.seed,
                algorithm: d.algorithm,
                created_by: d.created_by,
                created_at: d.created_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrawRequest {
    plan_id: String,
    seed: String,
    #[serde(default)]
    dry_run: bool,
}

async fn create_draw(
    State(s): State<AppState>,
    a: Authed,
    ApiJson(req): ApiJson<DrawRequest>,
) -> Result<(StatusCode, Json<draws::DrawView>), ApiError> {
    a.require(&[Role::Admin])?;
    let plan = s
        .templates
        .plan(&req.plan_id)
        .ok_or_else(|| ApiError::not_found(format!("计划“{}”不存在", req.plan_id)))?;
    let view = draws::run(
        &*s.store,
        plan,
        &req.seed,
        &a.user.username,
        Utc::now(),
        req.dry_run,
    )
    .await?;
    Ok((
        if req.dry_run {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        Json(view),
    ))
}

async fn show_draw(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<draws::DrawView>, ApiError> {
    a.require(&[Role::Admin, Role::TeamLead])?;
    Ok(Json(draws::show(&*s.store, id).await?))
}

async fn verify_draw(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<draws::VerifyReport>, ApiError> {
    a.require(&[Role::Admin, Role::TeamLead])?;
    Ok(Json(draws::verify(&*s.store, id).await?))
}

/// Ids of the users whose tasks `a` may see: themselves (inspector), their team in
/// their district (team lead), everyone (admin: `None`).
async fn scope(s: &AppState, a: &Authed) -> Result<Option<Vec<Uuid>>, ApiError> {
    Ok(match a.user.role {
        Role::Admin => None,
        Role::Inspector => Some(vec![a.user.id]),
        Role::TeamLead => Some(
            s.store
                .list_users()
                .await?
                .into_iter()
                .filter(|u| u.team == a.user.team && u.district == a.user.district)
                .map(|u| u.id)
                .collect(),
        ),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskQuery {
    plan: Option<String>,
}

async fn list_tasks(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<StoredTask>>, ApiError> {
    let scope = scope(&s, &a).await?;
    Ok(Json(
        s.store
            .tasks_for(q.plan.as_deref(), scope.as_deref())
            .await?,
    ))
}

async fn visible_task(s: &AppState, a: &Authed, id: Uuid) -> Result<StoredTask, ApiError> {
    let task = s
        .store
        .task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("任务不存在"))?;
    match scope(s, a).await? {
        None => Ok(task),
        Some(ids) if task.inspectors.iter().any(|u| ids.contains(u)) => Ok(task),
        // Not yours: indistinguishable from a missing task.
        Some(_) => Err(ApiError::not_found("任务不存在")),
    }
}

async fn show_task(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StoredTask>, ApiError> {
    Ok(Json(visible_task(&s, &a, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReassignRequest {
    from: Uuid,
    to: Uuid,
    reason: String,
}

async fn reassign_task(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReassignRequest>,
) -> Result<Json<crate::store::Reassignment>, ApiError> {
    a.require(&[Role::Admin])?;
    let task = s
        .store
        .task(id)
        .await?
        .ok_or_else(|| ApiError::not_found("任务不存在"))?;
    let plan = s
        .templates
        .plan(&task.plan_id)
        .ok_or_else(|| ApiError::internal("task of an unknown plan"))?;
    let order = draws::ReassignOrder {
        task_id: id,
        from: req.from,
        to: req.to,
        reason: req.reason,
        by: a.user.username.clone(),
    };
    let r = draws::reassign(&*s.store, plan, order, Utc::now()).await?;
    Ok(Json(r))
}

/// An inspection with its task, as the review screen shows it.
#[derive(Serialize)]
struct ReviewItem {
    task: StoredTask,
    inspection: jiandu_core::Inspection,
}

async fn review_queue(
    State(s): State<AppState>,
    a: Authed,
) -> Result<Json<Vec<ReviewItem>>, ApiError> {
    a.require(&[Role::TeamLead])?;
    let scope = scope(&s, &a).await?;
    let tasks = s.store.tasks_for(None, scope.as_deref()).await?;
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let inspections = s.store.inspections_of_tasks(&ids).await?;
    let mut out = Vec::new();
    for i in inspections {
        if i.inspection.status.awaits_review()
            && let Some(task) = tasks.iter().find(|t| t.id == i.inspection.task_id)
        {
            out.push(ReviewItem {
                task: task.clone(),
                inspection: i.inspection,
            });
        }
    }
    Ok(Json(out))
}

async fn visible_inspection(
    s: &AppState,
    a: &Authed,
    id: Uuid,
) -> Result<(StoredInspection, StoredTask), ApiError> {
    let i = s
        .store
        .inspection(id)
        .await?
        .ok_or_else(|| ApiError::not_found("检查记录不存在"))?;
    let task = visible_task(s, a, i.inspection.task_id)
        .await
        .map_err(|_| ApiError::not_found("检查记录不存在"))?;
    Ok((i, task))
}

async fn show_inspection(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StoredInspection>, ApiError> {
    Ok(Json(visible_inspection(&s, &a, id).await?.0))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    /// The exact version reviewed.
    version: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnRequest {
    version: u64,
    comment: String,
}

fn rule_error(e: jiandu_core::RuleViolation) -> ApiError {
    let status = match &e {
        jiandu_core::RuleViolation::Forbidden(_) => StatusCode::FORBIDDEN,
        jiandu_core::RuleViolation::Locked
        | jiandu_core::RuleViolation::StaleVersion { .. }
        | jiandu_core::RuleViolation::WrongState { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string())
}

async fn decide(
    s: &AppState,
    a: &Authed,
    id: Uuid,
    version: u64,
    comment: Option<String>,
) -> Result<StoredInspection, ApiError> {
    if a.user.role != Role::TeamLead {
        // Checked again by the core rule; answered early so nothing else leaks.
        return Err(ApiError::forbidden(
            "只有组长可以审核，检查人员不能审核（包括自己的检查）",
        ));
    }
    let (stored, _task) = visible_inspection(s, a, id).await?;
    let mut inspection = stored.inspection;
    let actor = a.actor();
    match &comment {
        None => inspection.approve(&actor, version),
        Some(c) => {
            if c.chars().count() > 10_000 {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "too_long",
                    "退回意见最多 10000 个字符",
                ));
            }
            inspection.return_with_comments(&actor, version, c)
        }
    }
    .map_err(rule_error)?;
    if comment.is_none() {
        crate::sync_api::check_photos_complete(&*s.store, id).await?;
    }
    let review = ReviewRecord {
        id: Uuid::now_v7(),
        inspection_id: id,
        decision: if comment.is_some() {
            "return"
        } else {
            "approve"
        }
        .into(),
        reviewed_version: version,
        comment: comment.map(|c| c.trim().to_owned()),
        reviewer: a.user.id,
        at: Utc::now(),
    };
    Ok(s.store.record_review(review, inspection).await?)
}

async fn approve(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ApproveRequest>,
) -> Result<Json<StoredInspection>, ApiError> {
    Ok(Json(decide(&s, &a, id, req.version, None).await?))
}

async fn return_with_comments(
    State(s): State<AppState>,
    a: Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<ReturnRequest>,
) -> Result<Json<StoredInspection>, ApiError> {
    Ok(Json(
        decide(&s, &a, id, req.version, Some(req.comment)).await?,
    ))
}

/// An archive copy of a document (`opinion.pdf`, `record.pdf`, `evidence.pdf`).
async fn inspection_document(
    State(s): State<AppState>,
    a: Authed,
    ApiPath((id, kind)): ApiPath<(Uuid, String)>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let kind = crate::documents::DocKind::parse(&kind).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_kind",
            "文书应为 opinion.pdf、record.pdf 或 evidence.pdf",
        )
    })?;
    visible_inspection(&s, &a, id).await?;
    let pdf = crate::documents::render(
        &*s.store,
        &s.templates,
        &s.sync.blobs,
        &s.authority,
        id,
        kind,
    )
    .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{id}-{}.pdf\"", kind.as_str()),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryQuery {
    plan: String,
    table: String,
    /// json (default), csv or xlsx.
    format: Option<String>,
}

fn plan_of<'a>(s: &'a AppState, id: &str) -> Result<&'a jiandu_core::Plan, ApiError> {
    s.templates
        .plan(id)
        .ok_or_else(|| ApiError::not_found(format!("计划“{id}”不存在")))
}

async fn report_summary(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    a.require(&[Role::Admin, Role::TeamLead])?;
    let plan = plan_of(&s, &q.plan)?;
    let (table, report) = crate::reports::summary_table(&*s.store, plan, &q.table).await?;
    let file = |ext: &str| format!("attachment; filename=\"{}-{}.{ext}\"", plan.id, table.code);
    Ok(match q.format.as_deref().unwrap_or("json") {
        "json" => Json(report).into_response(),
        "csv" => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_owned(),
                ),
                (axum::http::header::CONTENT_DISPOSITION, file("csv")),
            ],
            crate::reports::to_csv(&table, &report),
        )
            .into_response(),
        "xlsx" => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (axum::http::header::CONTENT_DISPOSITION, file("xlsx")),
            ],
            crate::reports::to_xlsx(&table, &report)?,
        )
            .into_response(),
        other => {
            return Err(ApiError::bad_request(
                "invalid_format",
                format!("不支持的格式“{other}”（可选 json、csv、xlsx）"),
            ));
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    plan: String,
}

async fn report_public(
    State(s): State<AppState>,
    _a: Authed,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<Vec<crate::reports::PublicEntry>>, ApiError> {
    let plan = plan_of(&s, &q.plan)?;
    Ok(Json(
        crate::reports::public_list(&*s.store, plan, &s.templates.catalogue).await?,
    ))
}

async fn report_progress(
    State(s): State<AppState>,
    a: Authed,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Json<crate::reports::Progress>, ApiError> {
    a.require(&[Role::Admin, Role::TeamLead])?;
    let plan = plan_of(&s, &q.plan)?;
    Ok(Json(
        crate::reports::progress(
            &*s.store,
            plan,
            &s.templates.catalogue,
            Utc::now().date_naive(),
        )
        .await?,
    ))
}
