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

/// Why a request got no answer from the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    /// Nothing listens at the address (service down, wrong port).
    Refused,
    /// The host name does not resolve (no network, or a mistyped address).
    NameNotResolved,
    /// No answer in time (weak signal, overloaded platform).
    Timeout,
    /// The server's TLS certificate is not trusted by this device.
    UntrustedCertificate,
    /// Any other TLS failure (e.g. https:// to a plain-HTTP server).
    Tls,
    /// The connection was cut mid-request or mid-answer.
    Cut,
    /// No route, no network, or anything else.
    Unreachable,
}

impl NetKind {
    /// What happened, as the inspector reads it.
    pub fn reason(self) -> &'static str {
        match self {
            NetKind::Refused => "服务器拒绝连接：平台服务可能未启动，或服务器地址、端口有误",
            NetKind::NameNotResolved => "找不到服务器：服务器地址中的域名无法解析",
            NetKind::Timeout => "服务器长时间没有答复（超时）：网络信号弱或平台繁忙",
            NetKind::UntrustedCertificate => {
                "服务器证书不受信任：本机无法确认该服务器是本单位的平台"
            }
            NetKind::Tls => "无法与服务器建立加密连接（TLS）",
            NetKind::Cut => "与服务器的连接中断：网络不稳定",
            NetKind::Unreachable => "无法连接服务器：本机可能没有联网",
        }
    }

    /// What the person can do about it, where waiting is not the answer.
    pub fn advice(self) -> Option<&'static str> {
        match self {
            NetKind::Refused => Some("请核对服务器地址，或联系本单位信息化人员"),
            NetKind::NameNotResolved => Some("请确认本机已连接网络，并核对服务器地址"),
            NetKind::UntrustedCertificate => Some(
                "请核对服务器地址；如本单位平台使用自建 CA 签发的证书，请在首次设置时导入本单位的 CA 证书，或请信息化人员为平台配置受信任机构签发的证书",
            ),
            NetKind::Tls => Some("请核对服务器地址开头应为 http:// 还是 https://"),
            NetKind::Timeout | NetKind::Cut | NetKind::Unreachable => None,
        }
    }
}

/// A request that got no answer: the kind (what the person reads) and the
/// technical detail (for the log and the diagnostics file only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetError {
    pub kind: NetKind,
    pub detail: String,
}

/// The sentence of a failed sync: what happened, that the changes wait safely on
/// the device, and what to do (or that they go up by themselves).
impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reason = self.kind.reason();
        match (self.kind.advice(), self.kind) {
            (Some(advice), _) => write!(f, "{reason}。修改已保存在本机；{advice}"),
            (None, NetKind::Unreachable) => write!(
                f,
                "{reason}。修改已保存在本机，联网后自动上传；请检查网络连接（Wi-Fi 或移动数据）"
            ),
            (None, _) => write!(f, "{reason}。修改已保存在本机，稍后会自动重试"),
        }
    }
}

impl NetError {
    pub fn new(kind: NetKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// The sentence when a person asked and is waiting (sign-in, a decision, an
    /// archive copy): what happened and what to do, without the sync's promise.
    pub fn request_message(&self) -> String {
        let then = self.kind.advice().unwrap_or("请联网后重试");
        format!("{}。{then}", self.kind.reason())
    }
}

/// Why a sync step failed. `Display` is the Chinese sentence the person reads:
/// what happened and what to do; [`SyncError::detail`] adds the technical cause.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection, a cut connection, a timeout, an untrusted certificate.
    #[error("{0}")]
    Network(NetError),
    /// The server answered with an error.
    #[error("{}", server_message(*.status, .code, .message))]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// This device was revoked: sync stops; local data stays for export.
    #[error("{0}")]
    Revoked(String),
    /// This device was declared lost (丢失): it must erase its keys now.
    #[error("{0}")]
    Lost(String),
    /// The platform no longer accepts this device's token (a password reset, a
    /// disabled account, an expired or signed-out token): sign in again. The
    /// platform's own sentence.
    #[error("{message}")]
    SignedOff { code: String, message: String },
    /// Not enrolled, or the token is no longer valid: enrol again.
    #[error("平台不再认可本机的登记（登录已失效）：请退出登录后重新登录")]
    NotEnrolled,
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] jiandu_store::StoreError),
    /// Reading a local file or the token failed.
    #[error("读写本机文件出错：{0}。请确认存储空间充足，必要时重启应用")]
    Io(#[from] std::io::Error),
    /// The server answered something this version does not understand.
    #[error(
        "平台的答复无法识别：应用与平台的版本可能不一致，请更新应用；如仍出现，请在同步页导出诊断信息交给本单位信息化人员"
    )]
    Protocol(String),
    /// Stopped on request; everything done so far is kept.
    #[error("同步已中断")]
    Cancelled,
}

/// The sentence for a non-2xx answer. Our platform's own errors carry a Chinese
/// message written for the person (kept as it is); anything else (a gateway, a
/// proxy, a server that is not ours) gets one by its status.
fn server_message(status: u16, code: &str, message: &str) -> String {
    let ours = code != HTTP_ERROR && !message.is_empty();
    match status {
        503 => "平台暂时不可用（HTTP 503）：平台正在维护或繁忙，稍后会自动重试".to_owned(),
        502 | 504 => format!(
            "平台暂时无法访问（HTTP {status}）：平台或其前置网关可能正在重启，稍后会自动重试"
        ),
        500..=599 => format!(
            "平台内部出错（HTTP {status}）：稍后会自动重试；如持续出现，请在同步页导出诊断信息交给本单位信息化人员"
        ),
        429 => "平台繁忙（请求过多）：稍后会自动重试".to_owned(),
        413 => "发送的内容超过平台允许的大小（HTTP 413）：请联系本单位信息化人员调整平台设置"
            .to_owned(),
        _ if ours => message.to_owned(),
        _ => format!("服务器返回了无法识别的错误（HTTP {status}）：请核对服务器地址是否为监督平台"),
    }
}

/// The code of an answer whose body is not our platform's error JSON.
const HTTP_ERROR: &str = "http_error";

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
            SyncError::Lost(_) => "device_lost",
            SyncError::SignedOff { code, .. } => code,
            SyncError::NotEnrolled => "not_enrolled",
            SyncError::Store(_) => "store",
            SyncError::Io(_) => "io",
            SyncError::Protocol(_) => "protocol",
            SyncError::Cancelled => "cancelled",
        }
    }

    /// The technical cause (for the log and the diagnostics file): the network
    /// library's error chain, the HTTP status and the platform's code, the
    /// unrecognised answer. Never a token or a request body.
    pub fn detail(&self) -> String {
        match self {
            SyncError::Network(n) => format!("{:?}: {}", n.kind, n.detail),
            SyncError::Server {
                status,
                code,
                message,
            } => format!("HTTP {status} {code}: {message}"),
            SyncError::Protocol(d) => format!("protocol: {d}"),
            other => other.to_string(),
        }
    }
}

/// Classifies a reqwest error by what the person can do about it: the io error
/// kinds and the TLS errors in its source chain, then the words hyper uses for a
/// failed name lookup.
fn network(e: reqwest::Error) -> SyncError {
    let detail = error_chain(&e);
    SyncError::Network(NetError::new(net_kind(&e, &detail), detail))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}

fn net_kind(e: &reqwest::Error, chain: &str) -> NetKind {
    if e.is_timeout() {
        return NetKind::Timeout;
    }
    if let Some(kind) = cause_kind(e) {
        return kind;
    }
    let lower = chain.to_lowercase();
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        NetKind::NameNotResolved
    } else if lower.contains("certificate") {
        NetKind::UntrustedCertificate
    } else if lower.contains("tls") || lower.contains("handshake") {
        NetKind::Tls
    } else if e.is_body() || e.is_decode() || lower.contains("connection closed") {
        NetKind::Cut
    } else {
        NetKind::Unreachable
    }
}

/// The kind told by a typed cause in `e`'s chain: a TLS error, or an io error's
/// kind. Looks inside io errors and boxed errors too (rustls errors travel as the
/// payload of an io::Error, which `source()` skips).
fn cause_kind(e: &(dyn std::error::Error + 'static)) -> Option<NetKind> {
    use std::io::ErrorKind;
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(tls_kind(tls));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref()
                && let Some(kind) = cause_kind(inner)
            {
                return Some(kind);
            }
            match io.kind() {
                ErrorKind::ConnectionRefused => return Some(NetKind::Refused),
                ErrorKind::TimedOut => return Some(NetKind::Timeout),
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof => return Some(NetKind::Cut),
                _ => {}
            }
        }
        src = s.source();
    }
    None
}

fn tls_kind(e: &rustls::Error) -> NetKind {
    match e {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            NetKind::UntrustedCertificate
        }
        _ => NetKind::Tls,
    }
}

/// Turns a non-2xx answer into an error (401 device_revoked: [`SyncError::Revoked`];
/// device_lost: [`SyncError::Lost`]).
async fn error_of(resp: Response) -> SyncError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let body: ErrorBody = serde_json::from_str(&text).unwrap_or(ErrorBody {
        code: HTTP_ERROR.into(),
        message: format!("HTTP {status}"),
        details: Vec::new(),
    });
    match (status, body.code.as_str()) {
        (StatusCode::UNAUTHORIZED, "device_revoked") => SyncError::Revoked(body.message),
        (StatusCode::UNAUTHORIZED, "device_lost") => SyncError::Lost(body.message),
        (StatusCode::UNAUTHORIZED, "token_revoked" | "token_expired") => SyncError::SignedOff {
            code: body.code,
            message: body.message,
        },
        (StatusCode::UNAUTHORIZED, _) => SyncError::NotEnrolled,
        _ => SyncError::Server {
            status: status.as_u16(),
            code: body.code,
            message: body.message,
        },
    }
}

/// The CA certificates of a PEM text (one or more `BEGIN CERTIFICATE` blocks).
/// `Err`: why it is not one, in Chinese.
pub fn parse_ca_pem(pem: &str) -> Result<Vec<reqwest::Certificate>, String> {
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err("CA 证书应为 PEM 格式（以“-----BEGIN CERTIFICATE-----”开头的文本）".to_owned());
    }
    match reqwest::Certificate::from_pem_bundle(pem.as_bytes()) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err("CA 证书中没有可读取的证书".to_owned()),
        Err(e) => Err(format!("CA 证书无法读取：{e}")),
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
        Self::with_trust(base_url, timeout, reuse_connections, None)
    }

    /// [`ApiClient::with_options`] that also trusts the CA certificates in
    /// `root_ca_pem` (a bureau's private CA, 首次设置), beside the built-in roots.
    pub fn with_trust(
        base_url: &str,
        timeout: Duration,
        reuse_connections: bool,
        root_ca_pem: Option<&str>,
    ) -> Result<Self, SyncError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout);
        if !reuse_connections {
            builder = builder.pool_max_idle_per_host(0);
        }
        if let Some(pem) = root_ca_pem {
            for cert in parse_ca_pem(pem)
                .map_err(|e| SyncError::Network(NetError::new(NetKind::UntrustedCertificate, e)))?
            {
                builder = builder.add_root_certificate(cert);
            }
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

    /// A request to the platform, with an id of its own (`x-request-id`, which the
    /// platform keeps and echoes in its access log): a failed request in the
    /// device's log can be found in the platform's, even one whose answer never came.
    fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let b = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .header(REQUEST_ID, Uuid::now_v7().to_string());
        match token {
            Some(t) => b.bearer_auth(t),
            None => b,
        }
    }

    /// Sends a request; logs its method, path, status and time (never headers or
    /// bodies: the token and the enrolment password travel there).
    async fn send(b: RequestBuilder) -> Result<Response, SyncError> {
        let started = std::time::Instant::now();
        let (client, req) = b.build_split();
        let req = req.map_err(network)?;
        let (method, path) = (req.method().clone(), req.url().path().to_owned());
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let resp = match client.execute(req).await {
            Ok(r) => r,
            Err(e) => {
                let e = network(e);
                tracing::info!(%method, %path, request_id = %id, ms = ms(), error = %e.detail(), "request got no answer");
                return Err(e);
            }
        };
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            tracing::debug!(%method, %path, request_id = %id, status, ms = ms(), "request answered");
            Ok(resp)
        } else {
            let e = error_of(resp).await;
            tracing::info!(%method, %path, request_id = %id, status, ms = ms(), error = %e.detail(), "request refused");
            Err(e)
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
        // The plan versions of the tasks come along (plans as data): this build
        // reads plans up to its own format.
        let path = format!(
            "/sync/pull?since={since}&limit={limit}&plan_format={}",
            jiandu_core::plan::PLAN_FORMAT
        );
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

    /// 退出登录: revokes this device's own token on the platform (`DELETE /me/token`).
    pub async fn sign_out(&self, token: &str) -> Result<(), SyncError> {
        Self::send(self.req(Method::DELETE, "/me/token", Some(token))).await?;
        Ok(())
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

/// The header naming a request in the platform's logs.
const REQUEST_ID: &str = "x-request-id";

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}
