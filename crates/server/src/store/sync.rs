//! Storage of sync (SYNC.md): push results, blobs, signatures and 文号 leases.
//!
//! [`SyncStore`] is a supertrait of [`super::ServerStore`], implemented for SQLite
//! (`sqlite/sync_impl.rs`) and PostgreSQL (`postgres/sync_impl.rs`) with migration
//! 0002 of each. The rules of a change are not here: a push item arrives with its
//! decision function ([`Decide`]), made by `crate::sync_api` from jiandu-core's
//! `Inspection` methods, and the store runs it INSIDE the transaction on the state
//! it read there. So the read, the rule check, the write, the stored answer under
//! (device, mutation) and the change-sequence bump commit together or not at all.

use super::{StoreResult, StoredInspection};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jiandu_core::inspection::{Inspection, Signature};
use jiandu_core::protocol::{
    BlobKind, DocNumberLease, LeaseRequest, PhotoRecord, PushItem, PushResult, RejectReason,
    ServerInspection,
};
use uuid::Uuid;

/// A stored blob (photo or signature image) as the server knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobRow {
    pub id: Uuid,
    pub kind: BlobKind,
    pub inspection_id: Uuid,
    pub sha256: String,
    /// `None` until known (a signature's size comes with its registration).
    pub size: Option<u64>,
    pub mime: String,
    /// Bytes received and their hash verified.
    pub complete: bool,
    pub voided: bool,
    /// The photo's metadata (None for a signature image).
    pub meta: Option<PhotoRecord>,
    pub seq: i64,
}

/// What a push item's decision reads: the state inside the transaction.
#[derive(Debug, Clone)]
pub struct ItemState {
    /// The inspection as stored now (None: not on the server yet).
    pub inspection: Option<Inspection>,
    /// The inspection the item's task already has, when it is another one (a second
    /// device started the same task).
    pub task_inspection: Option<Uuid>,
    /// The blob the item names (photo and signature items).
    pub blob: Option<BlobRow>,
    /// An earlier item of this device for this inspection was rejected.
    pub earlier_rejected: bool,
}

/// A blob row to insert or update with an applied item.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobWrite {
    pub id: Uuid,
    pub kind: BlobKind,
    pub sha256: String,
    pub size: Option<u64>,
    pub mime: String,
    pub voided: bool,
    pub meta: Option<PhotoRecord>,
}

/// What to do with one push item.
#[derive(Debug, Clone)]
pub enum ItemDecision {
    /// Store the inspection (and the blob / signature the item adds).
    Apply {
        inspection: Box<Inspection>,
        blob: Option<Box<BlobWrite>>,
        signature: Option<Box<Signature>>,
    },
    /// Refuse; nothing but the answer is stored.
    Reject {
        reason: RejectReason,
        message: String,
    },
}

/// The decision of one item, run inside the push transaction.
pub type Decide = Box<dyn FnOnce(&ItemState) -> ItemDecision + Send>;

/// A push item with its decision.
pub struct PreparedItem {
    pub item: PushItem,
    /// The task the item's payload names (for a start or 无法联系 of an inspection
    /// the server does not have yet).
    pub task_id: Option<Uuid>,
    pub decide: Decide,
}

impl std::fmt::Debug for PreparedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedItem")
            .field("item", &self.item)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

/// A re-assignment as pull needs it (tombstones for the inspector it left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassignmentSeq {
    pub seq: i64,
    pub task_id: Uuid,
    pub from_user: Uuid,
}

/// Sync storage. Every method is one transaction.
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// Applies a batch of push items in ONE transaction (one change-sequence value):
    /// each item already answered for this device gets its stored answer; every
    /// other item's decision runs on the state read in the transaction, and its
    /// answer is stored under (device, mutation) with the change.
    async fn push(&self, device_id: Uuid, items: Vec<PreparedItem>)
    -> StoreResult<Vec<PushResult>>;

    /// The inspections with their photos' metadata and signatures.
    async fn inspection_bundles(
        &self,
        inspections: Vec<StoredInspection>,
    ) -> StoreResult<Vec<ServerInspection>>;

    async fn blob(&self, id: Uuid) -> StoreResult<Option<BlobRow>>;

    /// Records a blob's size at registration (when the push did not know it).
    async fn set_blob_size(&self, id: Uuid, size: u64) -> StoreResult<()>;

    /// Marks a blob's bytes received and verified (bumps the change sequence).
    async fn complete_blob(&self, id: Uuid) -> StoreResult<()>;

    /// Blobs of an inspection (not voided) whose bytes are not verified yet.
    async fn incomplete_blobs(&self, inspection_id: Uuid) -> StoreResult<u64>;

    /// Every blob, for audits and tests.
    async fn all_blobs(&self) -> StoreResult<Vec<BlobRow>>;

    /// Leases a block of 文号: the same block again for a known
    /// (device, request_id); otherwise the next `count` numbers above both the
    /// counter and the request's floor.
    async fn lease_doc_numbers(
        &self,
        device_id: Uuid,
        request: LeaseRequest,
        at: DateTime<Utc>,
    ) -> StoreResult<DocNumberLease>;

    /// Every lease, with its device, in issue order.
    async fn doc_number_leases(&self) -> StoreResult<Vec<(Uuid, DocNumberLease)>>;

    /// Re-assignments written after `since`.
    async fn reassignments_since(&self, since: i64) -> StoreResult<Vec<ReassignmentSeq>>;
}
