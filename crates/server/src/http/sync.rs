//! Sync over HTTP (../shared/design/SYNC.md): push, pull, resumable photo upload
//! with tus header names, 文号 leases.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use super::{Errors, JsonErrors};
use crate::error::ErrorCode;
use crate::service::Platform;
use crate::service::sync::{self, ChunkOutcome};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use jiandu_core::protocol::{
    BlobRegistration, BlobStatus, DocNumberLease, ErrorBody, LeaseRequest, MAX_PULL_LIMIT,
    MAX_PUSH_BYTES, PullPage, PushRequest, PushResponse, UPLOAD_LENGTH, UPLOAD_OFFSET,
};
use serde::Deserialize;
use uuid::Uuid;

/// 上传设备的修改（每项单独给出结果；重放得到同一结果）。
#[utoipa::path(
    post, path = "/sync/push", tag = "sync", operation_id = "syncPush",
    request_body = PushRequest,
    responses(
        (status = 200, description = "逐项结果", body = PushResponse),
        JsonErrors,
        Errors,
    )
)]
pub async fn push(
    State(p): State<Platform>,
    Authed(a): Authed,
    body: Body,
) -> Result<Json<PushResponse>, ApiError> {
    // Its own limit: a batch of long observations is larger than other bodies.
    let bytes = axum::body::to_bytes(body, MAX_PUSH_BYTES)
        .await
        .map_err(|_| ApiError::new(ErrorCode::BodyTooLarge, "一次同步的内容过多，请分批发送"))?;
    let req: PushRequest = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(ErrorCode::MalformedJson, format!("同步内容格式不正确：{e}")))?;
    let now = Utc::now();
    // The contact is written beside the push, not after it: on SQLite it joins the
    // push's group commit (queued first), instead of waiting for a group of its own
    // behind every push queued meanwhile.
    let ((), answer) = tokio::try_join!(
        sync::record_contact(&p, &a, now),
        sync::push(&p, &a, now, req)
    )?;
    Ok(Json(answer))
}

/// Query of `GET /sync/pull`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// 上次的 next（默认 0）。
    #[serde(default)]
    since: i64,
    /// 每页条数（1–1000，默认 500）。
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// 设备能读取的最新计划格式：给出时，本页任务所用的计划版本随任务一起下发。
    #[param(minimum = 1, maximum = 1000)]
    plan_format: Option<u32>,
}

/// 拉取自 since 以来对本用户可见的变更（分页）。请求带 Accept-Encoding: gzip 时以 gzip 压缩返回。
#[utoipa::path(
    get, path = "/sync/pull", tag = "sync", operation_id = "syncPull",
    params(PullQuery),
    responses(
        (status = 200, description = "一页变更", body = PullPage),
        (status = 400, description = "查询参数不正确", body = ErrorBody),
        Errors,
    )
)]
pub async fn pull(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<PullQuery>,
) -> Result<(axum::Extension<super::ops::Compress>, Json<PullPage>), ApiError> {
    debug_assert_eq!(MAX_PULL_LIMIT, 1000);
    let ((), page) = tokio::try_join!(
        sync::record_contact(&p, &a, Utc::now()),
        sync::pull(&p, &a, q.since, q.limit, q.plan_format)
    )?;
    // Gzip-compressed when the device sends Accept-Encoding: gzip (pages of
    // inspections compress about tenfold).
    Ok((axum::Extension(super::ops::Compress), Json(page)))
}

fn offset_headers(status: &BlobStatus) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(UPLOAD_OFFSET, HeaderValue::from(status.offset));
    h.insert(UPLOAD_LENGTH, HeaderValue::from(status.size));
    h.insert("Tus-Resumable", HeaderValue::from_static("1.0.0"));
    h
}

/// 登记照片或签名图片（推送中已列出），返回服务器已持久保存的字节数。
#[utoipa::path(
    post, path = "/photos", tag = "sync", operation_id = "registerPhoto",
    request_body = BlobRegistration,
    responses(
        (status = 200, description = "上传位置", body = BlobStatus),
        (status = 404, description = "服务器还没有这张照片的记录", body = ErrorBody),
        (status = 409, description = "同一编号已登记为不同的内容或大小", body = ErrorBody),
        (status = 429, description = "本设备今天的照片上传已达上限", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn register_blob(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiJson(reg): ApiJson<BlobRegistration>,
) -> Result<(HeaderMap, Json<BlobStatus>), ApiError> {
    let st = sync::register_blob(&p, &a, Utc::now(), reg).await?;
    Ok((offset_headers(&st), Json(st)))
}

/// 查询上传位置（Upload-Offset）。
#[utoipa::path(
    head, path = "/photos/{id}/content", tag = "sync", operation_id = "photoOffset",
    params(("id" = Uuid, Path, description = "照片编号")),
    responses(
        (status = 200, description = "Upload-Offset / Upload-Length 响应头"),
        (status = 400, description = "编号格式不正确"),
        (status = 404, description = "服务器还没有这张照片的记录"),
        (status = 401, description = "未登记或令牌无效"),
        (status = 403, description = "账号已停用"),
        (status = 500, description = "服务器内部错误"),
    )
)]
pub async fn head_blob(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<(StatusCode, HeaderMap), ApiError> {
    let st = sync::blob_status(&p, &a, id).await?;
    Ok((StatusCode::OK, offset_headers(&st)))
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// 在 Upload-Offset 处追加一段（1–4 MB）；最后一个字节到达后校验 SHA-256。
#[utoipa::path(
    patch, path = "/photos/{id}/content", tag = "sync", operation_id = "uploadPhotoChunk",
    params(
        ("id" = Uuid, Path, description = "照片编号"),
        ("Upload-Offset" = u64, Header, description = "本段在文件中的起始位置"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "已写入；Upload-Offset 为新的位置"),
        (status = 400, description = "缺少 Upload-Offset 请求头，或非最后一段小于 1 MB", body = ErrorBody),
        (status = 404, description = "服务器还没有这张照片的记录", body = ErrorBody),
        (status = 409, description = "上传位置不一致（响应头给出服务器的位置）或尚未登记", body = ErrorBody),
        (status = 413, description = "超过登记的大小或单次上限", body = ErrorBody),
        (status = 422, description = "校验失败，已丢弃", body = ErrorBody),
        (status = 429, description = "本设备今天的照片上传已达上限", body = ErrorBody),
        Errors,
    )
)]
pub async fn patch_blob(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let offset = header_u64(&headers, UPLOAD_OFFSET)
        .ok_or_else(|| ApiError::new(ErrorCode::MissingOffset, "缺少 Upload-Offset 请求头"))?;
    let stream = body.into_data_stream();
    match sync::write_chunk(&p, &a, Utc::now(), id, offset, stream).await? {
        ChunkOutcome::Written(st) => {
            Ok((StatusCode::NO_CONTENT, offset_headers(&st)).into_response())
        }
        ChunkOutcome::OffsetMismatch(st) => Err(ApiError::new(
            ErrorCode::OffsetMismatch,
            format!("上传位置不一致：服务器已有 {} 字节", st.offset),
        )
        .with_headers(offset_headers(&st))),
    }
}

/// 下载已校验的照片（重新登记的设备恢复照片；组长查看）。
#[utoipa::path(
    get, path = "/photos/{id}/content", tag = "sync", operation_id = "downloadPhoto",
    params(("id" = Uuid, Path, description = "照片编号")),
    responses(
        (status = 200, description = "照片或签名图片", content(
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
        )),
        (status = 400, description = "编号格式不正确", body = ErrorBody),
        (status = 404, description = "服务器还没有这张照片的记录", body = ErrorBody),
        (status = 409, description = "照片尚未上传完成", body = ErrorBody),
        Errors,
    )
)]
pub async fn download_blob(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    let (mime, bytes) = sync::blob_content(&p, &a, id).await?;
    Ok((
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, mime)],
        bytes,
    )
        .into_response())
}

/// 申请一批文号（每台设备、执法机关、年度）。
#[utoipa::path(
    post, path = "/doc-numbers/lease", tag = "sync", operation_id = "leaseDocNumbers",
    request_body = LeaseRequest,
    responses(
        (status = 200, description = "文号段", body = DocNumberLease),
        (status = 409, description = "本年度文号已用尽", body = ErrorBody),
        JsonErrors,
        Errors,
    )
)]
pub async fn lease(
    State(p): State<Platform>,
    Authed(a): Authed,
    ApiJson(req): ApiJson<LeaseRequest>,
) -> Result<Json<DocNumberLease>, ApiError> {
    Ok(Json(sync::lease(&p, &a, Utc::now(), req).await?))
}
