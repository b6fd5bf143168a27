//! jiandu-sync: the device side of sync (SYNC.md) against jiandu-server.
//!
//! - [`engine::enroll`]: once per device; the token goes to a [`TokenStore`]
//!   (platform secure storage, or [`FileTokenStore`]: a 0600 file), never into the
//!   database.
//! - [`SyncEngine::sync_once`]: push the outbox in device order and in batches
//!   (replay-safe), upload photos in resumable chunks, lease 文号 blocks, pull pages
//!   with the cursor, and report [`jiandu_core::protocol::SyncEvent`]s. Interruptible
//!   at any point ([`CancelToken`], or simply dropped); the next sync continues.
//! - [`Scheduler`]: runs syncs on connectivity change, timer and demand, with
//!   exponential backoff and jitter; stops for good when the device is revoked.
//!
//! The wire shapes are `jiandu_core::protocol`'s; the local bookkeeping is
//! jiandu-store's (outbox, conflicts, pull cursor, upload queue, 文号 blocks).

pub mod client;
pub mod engine;
pub mod scheduler;
pub mod token;

pub use client::{ApiClient, NetError, NetKind, SyncError};
pub use engine::{CancelToken, Clock, SharedStore, SyncConfig, SyncEngine, SyncReport, enroll};
pub use scheduler::{SchedulePolicy, Scheduler, backoff};
pub use token::{FileTokenStore, MemoryTokenStore, TokenStore};
