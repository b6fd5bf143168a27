//! The one error of the service layer: a closed [`ErrorCode`] for machines and a
//! Chinese message for people. No HTTP status here: the HTTP adapter maps codes to
//! statuses in one place (`crate::http::error`), the command line prints the
//! message.
//!
//! This module is the vocabulary every layer shares (the store passes a service
//! refusal through unchanged, see [`crate::store::StoreError::Refused`]); it
//! depends on no other module of the crate.

use serde::{Deserialize, Serialize};

/// Declares [`ErrorCode`] with its wire names, once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident => $wire:literal,)*) => {
        /// Every error code the platform answers with. Stable: clients match on
        /// these, never on messages.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
        )]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $wire)] $name,)*
        }

        impl ErrorCode {
            /// The wire name (snake_case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $wire,)*
                }
            }

            /// A code by its wire name (the core rules and the draw name theirs).
            pub fn parse(s: &str) -> Option<ErrorCode> {
                match s {
                    $($wire => Some(ErrorCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    MalformedJson => "malformed_json",
    InvalidBody => "invalid_body",
    InvalidId => "invalid_id",
    InvalidQuery => "invalid_query",
    UnsupportedMediaType => "unsupported_media_type",
    BodyTooLarge => "body_too_large",
    MethodNotAllowed => "method_not_allowed",
    Unauthenticated => "unauthenticated",
    InvalidToken => "invalid_token",
    DeviceRevoked => "device_revoked",
    /// The device was revoked as lost (丢失): it must erase its keys now.
    DeviceLost => "device_lost",
    /// The token was revoked by a password reset or a disabled account.
    TokenRevoked => "token_revoked",
    /// The token went unused for longer than the expiry.
    TokenExpired => "token_expired",
    UserDisabled => "user_disabled",
    InvalidCredentials => "invalid_credentials",
    TooManyAttempts => "too_many_attempts",
    TooManyRequests => "too_many_requests",
    UploadLimit => "upload_limit",
    ChunkTooSmall => "chunk_too_small",
    Forbidden => "forbidden",
    NotFound => "not_found",
    InvalidUsername => "invalid_username",
    InvalidDeviceName => "invalid_device_name",
    InvalidPassword => "invalid_password",
    InvalidName => "invalid_name",
    UsernameTaken => "username_taken",
    BadgeTaken => "badge_taken",
    BadgeRequired => "badge_required",
    InvalidFile => "invalid_file",
    InvalidPlan => "invalid_plan",
    PlanUnchanged => "plan_unchanged",
    InvalidSeed => "invalid_seed",
    AlreadyDrawn => "already_drawn",
    EmptySeed => "empty_seed",
    TeamTooSmall => "team_too_small",
    UnknownAlgorithm => "unknown_algorithm",
    NotEnoughInspectors => "not_enough_inspectors",
    InvalidDrawInputs => "invalid_draw_inputs",
    NotFrozen => "not_frozen",
    CorruptRecord => "corrupt_record",
    ReasonRequired => "reason_required",
    WrongPlan => "wrong_plan",
    NotAnInspector => "not_an_inspector",
    ConflictOfInterest => "conflict_of_interest",
    InspectedLastCampaign => "inspected_last_campaign",
    ReassignmentCap => "reassignment_cap",
    NotAssigned => "not_assigned",
    AlreadyAssigned => "already_assigned",
    Locked => "locked",
    WrongState => "wrong_state",
    Unanswered => "unanswered",
    ObservationMissing => "observation_missing",
    UnknownPoint => "unknown_point",
    OutcomeMissing => "outcome_missing",
    OutcomeInconsistent => "outcome_inconsistent",
    Stale => "stale",
    Empty => "empty",
    TooLong => "too_long",
    NumberIssued => "number_issued",
    PhotosIncomplete => "photos_incomplete",
    InvalidKind => "invalid_kind",
    NotReady => "not_ready",
    RenderFailed => "render_failed",
    InvalidFormat => "invalid_format",
    TooManyItems => "too_many_items",
    UnknownBlob => "unknown_blob",
    BlobMismatch => "blob_mismatch",
    BlobIncomplete => "blob_incomplete",
    InvalidSize => "invalid_size",
    NotRegistered => "not_registered",
    MissingOffset => "missing_offset",
    OffsetMismatch => "offset_mismatch",
    ChunkTooLarge => "chunk_too_large",
    HashMismatch => "hash_mismatch",
    InvalidCount => "invalid_count",
    InvalidAuthority => "invalid_authority",
    InvalidYear => "invalid_year",
    NumbersExhausted => "numbers_exhausted",
    /// No such console session (never signed in, signed out, or ended).
    InvalidSession => "invalid_session",
    /// The console session passed its idle or absolute expiry.
    SessionExpired => "session_expired",
    /// A state-changing console request without the session's CSRF token, or sent
    /// from another site.
    CsrfFailed => "csrf_failed",
    /// The photo store (folder or object store) cannot be used now (`/health`).
    StorageUnavailable => "storage_unavailable",
    /// A bug or an outage: logged with the request id, never described.
    Internal => "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a service function refuses with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub code: ErrorCode,
    /// In Chinese, for the person who asked.
    pub message: String,
    /// Each problem on its own, when there are several (a refused file).
    pub details: Vec<String>,
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds each problem on its own (the message still lists them for people).
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// A bug or an outage: `cause` is logged (never shown), the person reads a
    /// generic sentence. The HTTP adapter adds the request id to it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            "服务器内部错误，请稍后重试；如持续出现请联系管理员",
        )
    }

    /// A core rule violation under its own code.
    pub fn rule(v: jiandu_core::RuleViolation) -> Self {
        Self::new(
            ErrorCode::parse(v.code()).unwrap_or(ErrorCode::Internal),
            v.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_by_wire_name() {
        assert_eq!(ErrorCode::UsernameTaken.as_str(), "username_taken");
        assert_eq!(ErrorCode::parse("not_found"), Some(ErrorCode::NotFound));
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[test]
    fn every_core_rule_code_is_known() {
        use jiandu_core::RuleViolation as V;
        let all = [
            V::Locked,
            V::Forbidden("x"),
            V::Unanswered(vec![]),
            V::ObservationMissing(vec![]),
            V::UnknownPoint(String::new()),
            V::OutcomeMissing,
            V::OutcomeInconsistent("x"),
            V::StaleVersion {
                reviewed: 1,
                current: 2,
            },
            V::Empty("x"),
            V::TooLong(String::new()),
            V::NumberIssued(String::new()),
        ];
        for v in all {
            assert!(ErrorCode::parse(v.code()).is_some(), "{}", v.code());
        }
        for code in [
            "empty_seed",
            "team_too_small",
            "unknown_algorithm",
            "not_enough_inspectors",
            "invalid_draw_inputs",
            "wrong_state",
        ] {
            assert!(ErrorCode::parse(code).is_some(), "{code}");
        }
    }
}
