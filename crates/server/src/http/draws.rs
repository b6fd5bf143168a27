//! Draws and tasks over HTTP: the double-random draw, its verification, tasks and
//! re-assignment.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use super::{Errors, JsonErrors};
use crate::model::{Reassignment, StoredTask};
use crate::service::{Platform, draws, review};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use jiandu_core::protocol::ErrorBody;
use serde::Deserialize;
use uuid::Uuid;

/// 抽取记录（管理员、组长）。
#[utoipa::path(
    get, path = "/draws", tag = "draws", operation_id = "listDraws",
    responses((status = 200, description = "抽取记录", body = Vec<draws::DrawListItem>), Errors)
)]
pub async fn list_draws(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<draws::DrawListItem>>, ApiError> {
    Ok(Json(draws::list(&p, &a).await?))
}

/// 冻结一个计划的抽取输入并公示其哈希（管理员）：正式抽取只使用最新的冻结。
#[utoipa::path(
    post, path = "/draws/freeze", tag = "draws", operation_id = "freezeDrawInputs",
    request_body = draws::FreezeRequest,
    responses(
        (status = 201, description = "已冻结", body = draws::FreezeView),
        (status = 404, description = "计划不存在", body = ErrorBody),
        (status = 409, description = "该计划已经抽取过", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn freeze_inputs(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiJson(req): ApiJson<draws::FreezeRequest>,
) -> Result<(StatusCode, Json<draws::FreezeView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(draws::freeze(&p, &a, Utc::now(), req).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FreezesQuery {
    /// 计划编号
    pub plan: String,
}

/// 一个计划的抽取输入冻结记录，按时间先后（管理员、组长）。
#[utoipa::path(
    get, path = "/draws/freezes", tag = "draws", operation_id = "listFreezes",
    params(FreezesQuery),
    responses(
        (status = 200, description = "冻结记录", body = Vec<draws::FreezeView>),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        Errors,
    )
)]
pub async fn list_freezes(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<FreezesQuery>,
) -> Result<Json<Vec<draws::FreezeView>>, ApiError> {
    Ok(Json(draws::freezes(&p, &a, &q.plan).await?))
}

/// 一次抽取的公示输入（规范 JSON，jiandu-draw/2）：与种子一起，任何人可重算（管理员、组长）。
#[utoipa::path(
    get, path = "/draws/{id}/inputs", tag = "draws", operation_id = "drawInputs",
    params(("id" = Uuid, Path, description = "抽取记录编号")),
    responses(
        (status = 200, description = "公示输入", body = jiandu_core::draw::PublicInputs),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取记录不存在", body = ErrorBody),
        (status = 422, description = "该抽取使用的算法没有可公示的输入", body = ErrorBody),
        Errors,
    )
)]
pub async fn draw_inputs(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<jiandu_core::draw::PublicInputs>, ApiError> {
    Ok(Json(draws::published_inputs(&p, &a, id).await?))
}

/// 双随机抽取（dry_run：只试算不保存，但记入审计日志）；正式抽取须先冻结输入；每个计划只能抽取一次（管理员）。
#[utoipa::path(
    post, path = "/draws", tag = "draws", operation_id = "createDraw",
    request_body = draws::DrawRequest,
    responses(
        (status = 201, description = "已抽取并保存", body = draws::DrawView),
        (status = 200, description = "试算结果（未保存）", body = draws::DrawView),
        (status = 404, description = "计划不存在", body = ErrorBody),
        (status = 409, description = "该计划已经抽取过，或抽取输入尚未冻结", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn create_draw(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiJson(req): ApiJson<draws::DrawRequest>,
) -> Result<(StatusCode, Json<draws::DrawView>), ApiError> {
    let dry_run = req.dry_run;
    let view = draws::run(&p, &a, Utc::now(), req).await?;
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view)))
}

/// 一次抽取的记录和任务（管理员、组长）。
#[utoipa::path(
    get, path = "/draws/{id}", tag = "draws", operation_id = "showDraw",
    params(("id" = Uuid, Path, description = "抽取记录编号")),
    responses(
        (status = 200, description = "抽取结果", body = draws::DrawView),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取记录不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn show_draw(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<draws::DrawView>, ApiError> {
    Ok(Json(draws::show(&p, &a, id).await?))
}

/// 按记录的种子、输入和算法重新计算并比对（管理员、组长）。
#[utoipa::path(
    get, path = "/draws/{id}/verify", tag = "draws", operation_id = "verifyDraw",
    params(("id" = Uuid, Path, description = "抽取记录编号")),
    responses(
        (status = 200, description = "比对结果", body = draws::VerifyReport),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取记录不存在", body = ErrorBody),
        (status = 422, description = "记录无法读取或算法未知", body = ErrorBody),
        Errors,
    )
)]
pub async fn verify_draw(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<draws::VerifyReport>, ApiError> {
    Ok(Json(draws::verify(&p, &a, id).await?))
}

/// Query of `GET /tasks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// 只看此计划。
    plan: Option<String>,
}

/// 任务（检查人员：自己的；组长：本组；管理员：全部）。
#[utoipa::path(
    get, path = "/tasks", tag = "tasks", operation_id = "listTasks",
    params(TaskQuery),
    responses(
        (status = 200, description = "任务", body = Vec<StoredTask>),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        Errors,
    )
)]
pub async fn list_tasks(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Json<Vec<StoredTask>>, ApiError> {
    Ok(Json(review::list_tasks(&p, &a, q.plan.as_deref()).await?))
}

/// 一项任务（看不到的任务与不存在的一样答 404）。
#[utoipa::path(
    get, path = "/tasks/{id}", tag = "tasks", operation_id = "showTask",
    params(("id" = Uuid, Path, description = "任务编号")),
    responses(
        (status = 200, description = "任务", body = StoredTask),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "任务不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn show_task(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StoredTask>, ApiError> {
    Ok(Json(review::visible_task(&p, &a, id).await?))
}

/// 调整检查人员（须写原因；超过计划规定比例时拒绝；管理员）。
#[utoipa::path(
    post, path = "/tasks/{id}/reassign", tag = "tasks", operation_id = "reassignTask",
    params(("id" = Uuid, Path, description = "任务编号")),
    request_body = draws::ReassignRequest,
    responses(
        (status = 200, description = "已调整", body = Reassignment),
        (status = 404, description = "任务或检查人员不存在", body = ErrorBody),
        (status = 409, description = "已达调整上限，或人员不在 / 已在该任务中", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn reassign_task(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<draws::ReassignRequest>,
) -> Result<Json<Reassignment>, ApiError> {
    Ok(Json(draws::reassign(&p, &a, Utc::now(), id, req).await?))
}

/// 抽取的人员调整记录和调整上限（已用 / 允许，管理员、组长）。
#[utoipa::path(
    get, path = "/draws/{id}/reassignments", tag = "draws", operation_id = "drawReassignments",
    params(("id" = Uuid, Path, description = "抽取记录编号")),
    responses(
        (status = 200, description = "调整记录", body = draws::ReassignmentStatus),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取记录不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn draw_reassignments(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<draws::ReassignmentStatus>, ApiError> {
    Ok(Json(draws::reassignment_status(&p, &a, id).await?))
}

/// 任务一览：单位、类别、检查人员和检查状态（检查人员：自己的；组长：本组；管理员：全部）。
#[utoipa::path(
    get, path = "/tasks/overview", tag = "tasks", operation_id = "tasksOverview",
    responses((status = 200, description = "任务", body = Vec<review::TaskOverview>), Errors)
)]
pub async fn tasks_overview(
    State(p): State<Platform>,
    Authed(a): Authed,
) -> Result<Json<Vec<review::TaskOverview>>, ApiError> {
    Ok(Json(review::overview(&p, &a).await?))
}

/// 计划各行的名录库单位数和按比例应抽取的户数（管理员、组长）。
#[utoipa::path(
    get, path = "/plans/{id}/population", tag = "draws", operation_id = "planPopulation",
    params(("id" = String, Path, description = "计划编号")),
    responses(
        (status = 200, description = "各行单位数和应抽户数", body = Vec<draws::PopulationRow>),
        (status = 404, description = "计划不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn plan_population(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<draws::PopulationRow>>, ApiError> {
    Ok(Json(draws::population(&p, &a, &id).await?))
}

/// 抽取任务清单（XLSX，管理员、组长）。
#[utoipa::path(
    get, path = "/draws/{id}/tasks.xlsx", tag = "draws", operation_id = "drawTasksXlsx",
    params(("id" = Uuid, Path, description = "抽取记录编号")),
    responses(
        (status = 200, description = "任务清单", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "抽取记录不存在", body = ErrorBody),
        Errors,
    )
)]
pub async fn draw_tasks_xlsx(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let bytes = draws::tasks_xlsx(&p, &a, id).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tasks-{id}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
