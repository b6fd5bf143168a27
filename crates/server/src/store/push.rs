//! What a push item's decision reads and answers: the protocol between the sync
//! service's rules and the store's push transaction (see `SyncStore::push`).

use crate::model::BlobRow;
use jiandu_core::inspection::{Inspection, Signature};
use jiandu_core::protocol::{BlobKind, PhotoRecord, PushItem, RejectReason};
use uuid::Uuid;

/// What a push item's decision reads: the state inside the transaction, borrowed
/// from the store's working copy (an inspection of 60 findings is not copied per
/// item to be read).
#[derive(Debug, Clone)]
pub struct ItemState<'a> {
    /// The inspection as stored now, with the batch's earlier items applied (None:
    /// not on the server yet).
    pub inspection: Option<&'a Inspection>,
    /// The inspection the item's task already has, when it is another one (a second
    /// device started the same task).
    pub task_inspection: Option<Uuid>,
    /// The blob the item names (photo and signature items).
    pub blob: Option<BlobRow>,
    /// An earlier item of this device for this inspection was rejected.
    pub earlier_rejected: bool,
    /// Photos of the inspection that are not voided, and their bytes: read for
    /// photo items only (the per-inspection limits are their one rule), (0, 0) for
    /// every other item, so a push of findings costs no query for it.
    pub photos: (u64, u64),
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
    /// Refuse; nothing but the answer is stored. `show_current`: the answer carries
    /// the server's record (only when the pusher may read it).
    Reject {
        reason: RejectReason,
        message: String,
        show_current: bool,
    },
}

/// The `sync.push` audit event of a batch. The payloads are dropped here, on the
/// request's own thread: each item is parsed into its decision already, and
/// freeing 500 JSON trees inside the serial part of a push (SQLite's writer
/// thread, PostgreSQL's change-sequence lock) would hold up every push behind it.
pub fn push_event(device_id: Uuid, items: &mut [PreparedItem]) -> crate::audit::AuditEvent {
    let event = crate::audit::events::push(device_id, items);
    for p in items {
        drop(std::mem::take(&mut p.item.payload));
    }
    event
}

/// The decision of one item (given the item itself), run inside the push
/// transaction. `Fn`, not `FnOnce`: a store that commits several pushes in one
/// transaction decides a push again, alone, when that shared transaction fails.
pub type DecideItem = Box<dyn Fn(&PushItem, &ItemState<'_>) -> ItemDecision + Send + Sync>;

/// A push item with its decision.
pub struct PreparedItem {
    pub item: PushItem,
    /// The task the item's payload names (for a start or unreachable mark of an
    /// inspection the server does not have yet).
    pub task_id: Option<Uuid>,
    pub decide: DecideItem,
}

impl std::fmt::Debug for PreparedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedItem")
            .field("item", &self.item)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}
