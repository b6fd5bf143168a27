//! The error every handler returns: a status and `{code, message}` JSON
//! ([`jiandu_core::protocol::ErrorBody`]). Service errors become API errors in one
//! place, [`status_of`]: the service layer knows no HTTP status.
//!
//! An internal error is logged where it happens (with the request's span, so with
//! its request id); the client reads only a generic sentence and the request id
//! (added by [`internal_error_with_request_id`]).

use crate::error::{ErrorCode, ServiceError};
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiandu_core::protocol::ErrorBody;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<String>,
    /// Extra headers (e.g. the upload offset of a refused chunk).
    pub headers: HeaderMap,
}

/// The status of each code: the one table of the HTTP adapter.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        MalformedJson | InvalidId | InvalidQuery | MissingOffset | ChunkTooSmall | TooManyItems
        | InvalidUsername | InvalidDeviceName | InvalidPassword | InvalidCount
        | InvalidAuthority | InvalidYear | InvalidKind | InvalidFormat => StatusCode::BAD_REQUEST,
        Unauthenticated | InvalidToken | DeviceRevoked | DeviceLost | TokenRevoked
        | TokenExpired | InvalidCredentials | InvalidSession | SessionExpired => {
            StatusCode::UNAUTHORIZED
        }
        Forbidden | UserDisabled | CsrfFailed => StatusCode::FORBIDDEN,
        NotFound | UnknownBlob => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        UsernameTaken | BadgeTaken | AlreadyDrawn | PlanUnchanged | ReassignmentCap
        | NotAssigned | AlreadyAssigned | Locked | WrongState | Stale | PhotosIncomplete
        | NotReady | BlobMismatch | NotRegistered | OffsetMismatch | BlobIncomplete
        | NumbersExhausted | NotFrozen => StatusCode::CONFLICT,
        BodyTooLarge | ChunkTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        InvalidBody
        | InvalidName
        | BadgeRequired
        | InvalidFile
        | InvalidPlan
        | InvalidSeed
        | EmptySeed
        | TeamTooSmall
        | UnknownAlgorithm
        | NotEnoughInspectors
        | InvalidDrawInputs
        | CorruptRecord
        | ReasonRequired
        | WrongPlan
        | NotAnInspector
        | ConflictOfInterest
        | InspectedLastCampaign
        | Unanswered
        | ObservationMissing
        | UnknownPoint
        | OutcomeMissing
        | OutcomeInconsistent
        | Empty
        | TooLong
        | NumberIssued
        | RenderFailed
        | InvalidSize
        | HashMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        TooManyAttempts | TooManyRequests | UploadLimit => StatusCode::TOO_MANY_REQUESTS,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
        StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code,
            message: message.into(),
            details: Vec::new(),
            headers: HeaderMap::new(),
        }
    }

    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers.extend(headers);
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let mut a = ApiError::new(e.code, e.message);
        a.details = e.details;
        a
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Marks a response as an internal error, for [`internal_error_with_request_id`].
#[derive(Debug, Clone, Copy)]
struct InternalError;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.message,
            details: self.details,
        };
        let mut resp = (self.status, self.headers, Json(body)).into_response();
        if self.code == ErrorCode::Internal {
            resp.extensions_mut().insert(InternalError);
        }
        resp
    }
}

/// Middleware: an internal error's answer names the request id (`x-request-id`),
/// which the server's log line of the cause carries too, and nothing else.
pub async fn internal_error_with_request_id(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let id = req
        .headers()
        .get(super::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let resp = next.run(req).await;
    if resp.extensions().get::<InternalError>().is_none() {
        return resp;
    }
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let body = ErrorBody {
        code: ErrorCode::Internal.as_str().to_owned(),
        message: format!(
            "服务器内部错误，请稍后重试；如持续出现请联系管理员（请求编号 {}）",
            id.as_deref().unwrap_or("未知")
        ),
        details: Vec::new(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(json))
}
