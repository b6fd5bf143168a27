//! The one error type the UI sees: `{code, message}`.
//!
//! `code` is stable and machine-readable (the UI branches on it, never on text);
//! `message` is the Chinese sentence a person reads in a toast or dialog. Rule
//! violations from `jiandu-core` keep their own codes (`unanswered`,
//! `observation_missing`, `locked`, …); this module adds the app's own.

use jiandu_core::RuleViolation;
use jiandu_core::money::MoneyError;
use serde::Serialize;
use ts_rs::TS;

/// An error as the UI receives it from any command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}（{code}）")]
pub struct AppError {
    pub code: String,
    pub message: String,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// Nobody is signed in on this device yet.
    pub fn not_signed_in() -> Self {
        Self::new("not_signed_in", "请先登录")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new("not_found", format!("找不到{what}，请同步后重试"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid", message)
    }

    /// Reading or writing the device's data failed. The detail is kept: on a tablet
    /// the person holding it is the only one who can report it.
    pub fn storage(detail: impl std::fmt::Display) -> Self {
        Self::new("storage", format!("本机数据读写失败：{detail}"))
    }
}

impl From<RuleViolation> for AppError {
    fn from(v: RuleViolation) -> Self {
        Self::new(v.code(), v.to_string())
    }
}

impl From<MoneyError> for AppError {
    fn from(e: MoneyError) -> Self {
        Self::new("invalid_amount", e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;
