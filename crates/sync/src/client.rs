//! The HTTP side: one reqwest client (rustls), typed requests and typed errors.
//!
//! Error classes decide what the engine does: [`SyncError::is_transient`] errors
//! (network, 5xx, 503, timeouts) are retried with backoff; `Revoked` stops sync for
//! good; the rest are reported.

use jiandu_core::protocol::{
    BlobRegistration, BlobStatus, CHUNK_CONTENT_TYPE, DocNumberLease, EnrollRequest,
    EnrollResponse, ErrorBody, LeaseRequest, PullPage, PushRequest, PushResponse, UPLOAD_LENGTH,
    UPLOAD_OFFSET,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::Duration;
use uuid::Uuid;

/// Why a sync step failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection, a cut connection, a timeout.
    #[error("网络不可用或连接中断：{0}")]
    Network(String),
    /// The server answered with an error.
    #[error("服务器返回错误（{status}，{code}）：{message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// This device was revoked: sync stops; local data stays for export.
    #[error("{0}")]
    Revoked(String),
    /// Not enrolled, or the token is no longer valid: enrol again.
    #[error("本设备尚未登记或访问令牌无效，请重新登记")]
    NotEnrolled,
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] jiandu_store::StoreError),
    /// Reading a local file or the token failed.
    #[error("读写本机文件出错：{0}")]
    Io(#[from] std::io::Error),
    /// The server answered something this version does not understand.
    #[error("服务器的应答无法识别：{0}")]
    Protocol(String),
    /// Stopped on request; everything done so far is kept.
    #[error("同步已中断")]
    Cancelled,
}

impl SyncError {
    /// Worth retrying later by itself.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Network(_) => true,
            SyncError::Server { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            SyncError::Protocol(_) => true,
            _ => false,
        }
    }

    /// Stable code for the UI.
    pub fn code(&self) -> &str {
        match self {
            SyncError::Network(_) => "network",
            SyncError::Server { code, .. } => code,
            SyncError::Revoked(_) => "device_revoked",
            SyncError::NotEnrolled => "not_enrolled",
            SyncError::Store(_) => "store",
            SyncError::Io(_) => "io",
            SyncError::Protocol(_) => "protocol",
            SyncError::Cancelled => "cancelled",
        }
    }
}

fn network(e: reqwest::Error) -> SyncError {
    SyncError::Network(e.to_string())
}

/// Turns a non-2xx answer into an error (401 device_revoked: [`SyncError::Revoked`]).
async fn error_of(resp: Response) -> SyncError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let body: ErrorBody = serde_json::from_str(&text).unwrap_or(ErrorBody {
        code: "http_error".into(),
        message: format!("HTTP {status}"),
    });
    match (status, body.code.as_str()) {
        (StatusCode::UNAUTHORIZED, "device_revoked") => SyncError::Revoked(body.message),
        (StatusCode::UNAUTHORIZED, _) => SyncError::NotEnrolled,
        _ => SyncError::Server {
            status: status.as_u16(),
            code: body.code,
            message: body.message,
        },
    }
}

/// The platform's API at one base URL (e.g. `http://host:8080`).
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
}

/// The answer to one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkAnswer {
    /// Accepted: the server now holds `offset` bytes (`complete`: verified).
    Accepted { offset: u64, complete: bool },
    /// Wrong offset: the server holds `offset` bytes.
    OffsetMismatch { offset: u64 },
    /// The last byte arrived but the hash differs: the partial file was dropped.
    HashMismatch,
}

impl ApiClient {
    /// `timeout`: for a whole request (a 4 MiB chunk at 2 Mbit/s takes 17 s).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, SyncError> {
        Self::with_options(base_url, timeout, true)
    }

    /// `reuse_connections: false` opens a connection per request (tests that
    /// inject faults per connection; proxies that mishandle keep-alive).
    pub fn with_options(
        base_url: &str,
        timeout: Duration,
        reuse_connections: bool,
    ) -> Result<Self, SyncError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout);
        if !reuse_connections {
            builder = builder.pool_max_idle_per_host(0);
        }
        let http = builder.build().map_err(network)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let b = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        match token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    async fn send(b: RequestBuilder) -> Result<Response, SyncError> {
        let resp = b.send().await.map_err(network)?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_of(resp).await)
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(resp: Response) -> Result<T, SyncError> {
        // Read fully first: a cut mid-body is a network error, not a protocol one.
        let bytes = resp.bytes().await.map_err(network)?;
        serde_json::from_slice(&bytes).map_err(|e| SyncError::Protocol(e.to_string()))
    }

    pub async fn enroll(&self, req: &EnrollRequest) -> Result<EnrollResponse, SyncError> {
        Self::json(Self::send(self.req(Method::POST, "/devices/enroll", None).json(req)).await?)
            .await
    }

    pub async fn push(&self, token: &str, req: &PushRequest) -> Result<PushResponse, SyncError> {
        Self::json(Self::send(self.req(Method::POST, "/sync/push", Some(token)).json(req)).await?)
            .await
    }

    pub async fn pull(&self, token: &str, since: i64, limit: usize) -> Result<PullPage, SyncError> {
        let path = format!("/sync/pull?since={since}&limit={limit}");
        Self::json(Self::send(self.req(Method::GET, &path, Some(token))).await?).await
    }

    pub async fn register_blob(
        &self,
        token: &str,
        reg: &BlobRegistration,
    ) -> Result<BlobStatus, SyncError> {
        Self::json(Self::send(self.req(Method::POST, "/photos", Some(token)).json(reg)).await?)
            .await
    }

    /// Bytes the server holds durably for a blob.
    pub async fn blob_offset(&self, token: &str, id: Uuid) -> Result<u64, SyncError> {
        let resp =
            Self::send(self.req(Method::HEAD, &format!("/photos/{id}/content"), Some(token)))
                .await?;
        header_u64(&resp, UPLOAD_OFFSET)
            .ok_or_else(|| SyncError::Protocol("HEAD 应答缺少 Upload-Offset".into()))
    }

    /// Sends `chunk` at `offset`.
    pub async fn patch_chunk(
        &self,
        token: &str,
        id: Uuid,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<ChunkAnswer, SyncError> {
        let resp = self
            .req(Method::PATCH, &format!("/photos/{id}/content"), Some(token))
            .header(UPLOAD_OFFSET, offset)
            .header("Tus-Resumable", "1.0.0")
            .header(reqwest::header::CONTENT_TYPE, CHUNK_CONTENT_TYPE)
            .body(chunk)
            .send()
            .await
            .map_err(network)?;
        let status = resp.status();
        let new_offset = header_u64(&resp, UPLOAD_OFFSET);
        let length = header_u64(&resp, UPLOAD_LENGTH);
        if status.is_success() {
            let offset = new_offset
                .ok_or_else(|| SyncError::Protocol("PATCH 应答缺少 Upload-Offset".into()))?;
            return Ok(ChunkAnswer::Accepted {
                offset,
                complete: length == Some(offset),
            });
        }
        match (status, new_offset) {
            (StatusCode::CONFLICT, Some(offset)) => Ok(ChunkAnswer::OffsetMismatch { offset }),
            (StatusCode::UNPROCESSABLE_ENTITY, _) => Ok(ChunkAnswer::HashMismatch),
            _ => Err(error_of(resp).await),
        }
    }

    /// The verified bytes of a blob (restoring a wiped device).
    pub async fn download_blob(&self, token: &str, id: Uuid) -> Result<Vec<u8>, SyncError> {
        let resp = Self::send(self.req(Method::GET, &format!("/photos/{id}/content"), Some(token)))
            .await?;
        Ok(resp.bytes().await.map_err(network)?.to_vec())
    }

    /// The platform's archive copy of a document of an inspection (PDF), made from
    /// the platform's own data: `kind` is `record`, `opinion` or `evidence`.
    pub async fn archive_document(
        &self,
        token: &str,
        inspection_id: Uuid,
        kind: &str,
    ) -> Result<Vec<u8>, SyncError> {
        let path = format!("/inspections/{inspection_id}/documents/{kind}.pdf");
        let resp = Self::send(self.req(Method::GET, &path, Some(token))).await?;
        Ok(resp.bytes().await.map_err(network)?.to_vec())
    }

    pub async fn lease(
        &self,
        token: &str,
        req: &LeaseRequest,
    ) -> Result<DocNumberLease, SyncError> {
        Self::json(
            Self::send(
                self.req(Method::POST, "/doc-numbers/lease", Some(token))
                    .json(req),
            )
            .await?,
        )
        .await
    }
}

/// The platform's record of an inspection after a review decision.
#[derive(Debug, serde::Deserialize)]
struct Reviewed {
    inspection: jiandu_core::Inspection,
}

impl ApiClient {
    /// A team lead's decision: `POST /inspections/{id}/approve` (no comment) or
    /// `/return` (with the comment), naming the exact version reviewed. Returns the
    /// platform's inspection after it.
    pub async fn review(
        &self,
        token: &str,
        inspection_id: Uuid,
        version: u64,
        comment: Option<&str>,
    ) -> Result<jiandu_core::Inspection, SyncError> {
        let (path, body) = match comment {
            None => (
                format!("/inspections/{inspection_id}/approve"),
                serde_json::json!({ "version": version }),
            ),
            Some(c) => (
                format!("/inspections/{inspection_id}/return"),
                serde_json::json!({ "version": version, "comment": c }),
            ),
        };
        let resp = Self::send(self.req(Method::POST, &path, Some(token)).json(&body)).await?;
        Ok(Self::json::<Reviewed>(resp).await?.inspection)
    }
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}
