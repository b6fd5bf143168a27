//! A push batch on SQLite, inside the writer's transaction: each item decided on
//! the state as the batch's earlier items left it, the changed inspections written
//! once at the end.

use super::sync::{bundle, get_blob};
use super::*;
use jiandu_core::protocol::ItemOutcome;
use std::collections::HashMap;

/// Inspections a push changed, kept in memory and written once when the push ends
/// (or before a blob or signature row that refers to it): an inspection with 60
/// findings is otherwise parsed, serialised and rewritten whole for every item.
#[derive(Default)]
struct Changed {
    inspections: HashMap<Uuid, Inspection>,
    /// Not written yet.
    dirty: Vec<Uuid>,
    /// Whether this device has a refused item for the inspection: read once per
    /// inspection and push, then kept as the batch refuses items.
    rejected: HashMap<Uuid, bool>,
}

impl Changed {
    fn keep(&mut self, inspection: Inspection) {
        if !self.dirty.contains(&inspection.id) {
            self.dirty.push(inspection.id);
        }
        self.inspections.insert(inspection.id, inspection);
    }

    /// Writes the changed inspections (all, or only `only`).
    fn flush(
        &mut self,
        tx: &Connection,
        seq: i64,
        at: DateTime<Utc>,
        only: Option<Uuid>,
    ) -> StoreResult<()> {
        let mut rest = Vec::new();
        for id in std::mem::take(&mut self.dirty) {
            if only.is_some_and(|o| o != id) {
                rest.push(id);
            } else if let Some(i) = self.inspections.get(&id) {
                write_inspection(tx, seq, at, i)?;
            }
        }
        self.dirty = rest;
        Ok(())
    }
}

/// The stored answers (outcome JSON) of this device's items among `items`.
fn answered(
    tx: &Connection,
    device_id: Uuid,
    items: &[PreparedItem],
) -> StoreResult<HashMap<Uuid, String>> {
    let ids = serde_json::to_string(&items.iter().map(|p| p.item.mutation_id).collect::<Vec<_>>())?;
    let mut st = tx.prepare_cached(
        "SELECT mutation_id, outcome FROM sync_results
         WHERE device_id = ?1 AND mutation_id IN (SELECT value FROM json_each(?2))",
    )?;
    let rows = st.query_map(params![device_id.to_string(), ids], |r| {
        Ok((uuid_col(r, "mutation_id")?, r.get::<_, String>(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What `p`'s decision reads; `current`: its inspection as stored or as changed by
/// the batch's earlier items (borrowed, not copied).
fn item_state<'a>(
    tx: &Connection,
    device_id: Uuid,
    p: &PreparedItem,
    changed: &Changed,
    current: Option<&'a Inspection>,
) -> StoreResult<ItemState<'a>> {
    let task_inspection = match (current, p.task_id) {
        (None, Some(task)) => match changed.inspections.values().find(|i| i.task_id == task) {
            Some(i) => Some(i.id),
            None => tx
                .prepare_cached("SELECT id FROM inspections WHERE task_id = ?1")?
                .query_row(params![task.to_string()], |r| r.get::<_, String>(0))
                .optional()?
                .map(|s| Uuid::parse_str(&s).map_err(StoreError::internal))
                .transpose()?,
        },
        _ => None,
    };
    let blob = match p.item.entity.as_str() {
        "photo" | "signature" => get_blob(tx, p.item.entity_id)?,
        _ => None,
    };
    let earlier_rejected = match changed.rejected.get(&p.item.inspection_id) {
        Some(r) => *r,
        None => tx
            .prepare_cached(
                "SELECT 1 FROM sync_results
                 WHERE device_id = ?1 AND inspection_id = ?2 AND status = 'rejected' LIMIT 1",
            )?
            .query_row(
                params![device_id.to_string(), p.item.inspection_id.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some(),
    };
    let photos = if p.item.entity == "photo" {
        tx.prepare_cached(
            "SELECT count(*), coalesce(sum(size), 0) FROM blobs
             WHERE inspection_id = ?1 AND kind = 'photo' AND voided = 0",
        )?
        .query_row(params![p.item.inspection_id.to_string()], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })?
    } else {
        (0, 0)
    };
    Ok(ItemState {
        inspection: current,
        task_inspection,
        blob,
        earlier_rejected,
        photos,
    })
}

fn write_inspection(
    tx: &Connection,
    seq: i64,
    at: DateTime<Utc>,
    inspection: &Inspection,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
             body = excluded.body, updated_at = excluded.updated_at, seq = excluded.seq",
    )?
    .execute(params![
        inspection.id.to_string(),
        inspection.task_id.to_string(),
        inspection.status.as_str(),
        inspection.version as i64,
        serde_json::to_string(inspection)?,
        ts(at),
        seq
    ])?;
    Ok(())
}

/// Writes an applied item's blob and signature rows (its inspection is written).
fn write_attached(
    tx: &Connection,
    seq: i64,
    inspection: Uuid,
    blob: Option<&BlobWrite>,
    signature: Option<&Signature>,
) -> StoreResult<()> {
    if let Some(b) = blob {
        tx.prepare_cached(
            "INSERT INTO blobs (id, kind, inspection_id, sha256, size, mime, voided, meta, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (id) DO UPDATE SET voided = excluded.voided,
                 meta = coalesce(excluded.meta, blobs.meta),
                 size = coalesce(blobs.size, excluded.size), seq = excluded.seq",
        )?
        .execute(params![
            b.id.to_string(),
            b.kind.as_str(),
            inspection.to_string(),
            b.sha256,
            b.size.map(|s| s as i64),
            b.mime,
            i64::from(b.voided),
            b.meta.as_ref().map(serde_json::to_string).transpose()?,
            seq
        ])?;
    }
    if let Some(s) = signature {
        tx.prepare_cached(
            "INSERT INTO inspection_signatures (id, inspection_id, body, seq)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            s.id.to_string(),
            inspection.to_string(),
            serde_json::to_string(s)?,
            seq
        ])?;
    }
    Ok(())
}

/// Decides and writes `items` in the open transaction (change-sequence value
/// `seq`); answers each item's result and whether anything was written (a replay
/// writes nothing).
pub(super) fn run(
    tx: &Connection,
    seq: i64,
    at: DateTime<Utc>,
    device_id: Uuid,
    items: Vec<PreparedItem>,
) -> StoreResult<(Vec<PushResult>, bool)> {
    let mut out = Vec::with_capacity(items.len());
    let mut changed = Changed::default();
    let mut wrote = false;
    // The answers already stored for the batch's items (a replay), in one
    // statement; the batch adds its own as it goes (an item sent twice).
    let mut answered = answered(tx, device_id, &items)?;
    for p in items {
        let mutation_id = p.item.mutation_id;
        if let Some(outcome) = answered.get(&mutation_id) {
            out.push(PushResult {
                mutation_id,
                outcome: serde_json::from_str(outcome)?,
            });
            continue;
        }
        wrote = true;
        let inspection_id = p.item.inspection_id;
        // Read from the database only when the batch has not changed it.
        let loaded = match changed.inspections.contains_key(&inspection_id) {
            true => None,
            false => get_inspection(tx, inspection_id)?,
        };
        let current = changed
            .inspections
            .get(&inspection_id)
            .or(loaded.as_ref().map(|s| &s.inspection));
        let state = item_state(tx, device_id, &p, &changed, current)?;
        let earlier_rejected = state.earlier_rejected;
        let decision = (p.decide)(&p.item, &state);
        drop(state);
        changed.rejected.insert(inspection_id, earlier_rejected);
        let outcome = match decision {
            ItemDecision::Apply {
                inspection,
                blob,
                signature,
            } => {
                let version = inspection.version;
                let id = inspection.id;
                changed.keep(*inspection);
                if blob.is_some() || signature.is_some() {
                    // The rows refer to the inspection: write it first.
                    changed.flush(tx, seq, at, Some(id))?;
                    write_attached(tx, seq, id, blob.as_deref(), signature.as_deref())?;
                }
                ItemOutcome::Applied {
                    version,
                    server_seq: seq,
                }
            }
            ItemDecision::Reject {
                reason,
                message,
                show_current,
            } => ItemOutcome::Rejected {
                reason,
                message,
                current: match changed.inspections.get(&inspection_id) {
                    _ if !show_current => None,
                    Some(i) => Some(StoredInspection {
                        inspection: i.clone(),
                        seq,
                    }),
                    None => loaded,
                }
                .map(|s| bundle(tx, s).map(Box::new))
                .transpose()?,
            },
        };
        if let ItemOutcome::Rejected { .. } = outcome {
            changed.rejected.insert(inspection_id, true);
        }
        let status = outcome.status();
        let outcome_json = serde_json::to_string(&outcome)?;
        tx.prepare_cached(
            "INSERT INTO sync_results (device_id, mutation_id, inspection_id, device_seq,
                                       status, outcome, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            device_id.to_string(),
            mutation_id.to_string(),
            inspection_id.to_string(),
            p.item.device_seq,
            status,
            outcome_json,
            seq
        ])?;
        answered.insert(mutation_id, outcome_json);
        out.push(PushResult {
            mutation_id,
            outcome,
        });
    }
    changed.flush(tx, seq, at, None)?;
    Ok((out, wrote))
}
