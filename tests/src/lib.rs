//! Shared helpers for the end-to-end tests in tests/tests/.

pub mod day;
pub mod process;
pub mod proxy;
pub mod s3_fixtures;
pub mod store_fixtures;
pub mod sync_fixtures;
