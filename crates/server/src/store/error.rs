//! What can go wrong in a store, for the service layer to turn into messages.

use crate::error::ServiceError;

/// What can go wrong in a store. Nothing here is for people to read: the service
/// layer turns each into its own message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write.
    #[error("duplicate {what:?}: {value}")]
    Duplicate { what: Unique, value: String },
    /// A decision function of the service refused the change (see [`Decide`](super::Decide)).
    #[error("{0}")]
    Refused(ServiceError),
    /// The database is newer than this binary.
    #[error("database schema version {found}, this binary supports up to {supported}")]
    TooNew { found: i64, supported: i64 },
    /// Anything else: a bug or an outage.
    #[error("internal storage error: {0}")]
    Internal(String),
}

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    Username,
    BadgeNo,
    /// One draw per plan.
    DrawOfPlan,
}

impl StoreError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        StoreError::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(format!("sqlite: {e}"))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Internal(format!("postgres: {e}"))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Internal(format!("postgres pool: {e}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Internal(format!("json: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
