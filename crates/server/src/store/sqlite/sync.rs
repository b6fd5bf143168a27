//! [`SyncStore`] on SQLite (migration 0002): push results, blobs, signatures and
//! document-number leases.

use super::*;
use jiandu_core::protocol::ItemOutcome;
use std::collections::HashMap;

const BLOB_COLS: &str = "id, kind, inspection_id, sha256, size, mime, complete, voided, meta, seq";

fn blob_row(r: &Row) -> rusqlite::Result<BlobRow> {
    let kind: String = r.get("kind")?;
    let meta: Option<String> = r.get("meta")?;
    Ok(BlobRow {
        id: uuid_col(r, "id")?,
        kind: BlobKind::parse(&kind).ok_or_else(|| conversion(format!("blob kind {kind}")))?,
        inspection_id: uuid_col(r, "inspection_id")?,
        sha256: r.get("sha256")?,
        size: r.get::<_, Option<i64>>("size")?.map(|s| s as u64),
        mime: r.get("mime")?,
        complete: r.get::<_, i64>("complete")? != 0,
        voided: r.get::<_, i64>("voided")? != 0,
        meta: meta
            .map(|m| serde_json::from_str(&m))
            .transpose()
            .map_err(|e| conversion(e.to_string()))?,
        seq: r.get("seq")?,
    })
}

fn get_blob(c: &Connection, id: Uuid) -> StoreResult<Option<BlobRow>> {
    Ok(
        c.prepare_cached(&format!("SELECT {BLOB_COLS} FROM blobs WHERE id = ?1"))?
            .query_row(params![id.to_string()], blob_row)
            .optional()?,
    )
}

/// Photos and signatures of one inspection, as a bundle with the inspection.
fn bundle(c: &Connection, stored: StoredInspection) -> StoreResult<ServerInspection> {
    let id = stored.inspection.id.to_string();
    let mut st = c.prepare_cached(
        "SELECT meta FROM blobs WHERE inspection_id = ?1 AND kind = 'photo' AND meta IS NOT NULL
         ORDER BY id",
    )?;
    let photos = st
        .query_map(params![id], |r| r.get::<_, String>(0))?
        .map(|m| Ok(serde_json::from_str(&m?)?))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut st = c.prepare_cached(
        "SELECT body FROM inspection_signatures WHERE inspection_id = ?1 ORDER BY seq, id",
    )?;
    let signatures = st
        .query_map(params![id], |r| r.get::<_, String>(0))?
        .map(|m| Ok(serde_json::from_str(&m?)?))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ServerInspection {
        inspection: stored.inspection,
        photos,
        signatures,
        seq: stored.seq,
    })
}

/// Blobs of an inspection (not voided) whose bytes are not verified yet.
pub(super) fn incomplete(c: &Connection, inspection_id: Uuid) -> StoreResult<u64> {
    Ok(c.query_row(
        "SELECT count(*) FROM blobs WHERE inspection_id = ?1 AND voided = 0 AND complete = 0",
        params![inspection_id.to_string()],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Inspections a push changed, kept in memory and written once when the push ends
/// (or before a blob or signature row that refers to it): an inspection with 60
/// findings is otherwise parsed, serialised and rewritten whole for every item.
#[derive(Default)]
struct Changed {
    inspections: HashMap<Uuid, Inspection>,
    /// Not written yet.
    dirty: Vec<Uuid>,
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
    let earlier_rejected = tx
        .prepare_cached(
            "SELECT 1 FROM sync_results
             WHERE device_id = ?1 AND inspection_id = ?2 AND status = 'rejected' LIMIT 1",
        )?
        .query_row(
            params![device_id.to_string(), p.item.inspection_id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
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

#[async_trait]
impl SyncStore for SqliteStore {
    async fn push(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        items: Vec<PreparedItem>,
    ) -> StoreResult<Vec<PushResult>> {
        let event = crate::audit::events::push(device_id, &items);
        let at = stamp.at;
        // A batch whose every item is already answered (a replay) changes nothing.
        self.write_if_changed(stamp, event, move |tx, seq| {
            let mut out = Vec::with_capacity(items.len());
            let mut changed = Changed::default();
            let mut wrote = false;
            for p in items {
                let mutation_id = p.item.mutation_id;
                let stored: Option<String> = tx
                    .prepare_cached(
                        "SELECT outcome FROM sync_results WHERE device_id = ?1 AND mutation_id = ?2",
                    )?
                    .query_row(
                        params![device_id.to_string(), mutation_id.to_string()],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(outcome) = stored {
                    out.push(PushResult {
                        mutation_id,
                        outcome: serde_json::from_str(&outcome)?,
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
                let decision = (p.decide)(&state);
                drop(state);
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
                let status = match outcome {
                    ItemOutcome::Applied { .. } => "applied",
                    ItemOutcome::Rejected { .. } => "rejected",
                };
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
                    serde_json::to_string(&outcome)?,
                    seq
                ])?;
                out.push(PushResult {
                    mutation_id,
                    outcome,
                });
            }
            changed.flush(tx, seq, at, None)?;
            Ok((out, wrote))
        })
        .await
    }

    async fn inspection_bundles(
        &self,
        inspections: Vec<StoredInspection>,
    ) -> StoreResult<Vec<ServerInspection>> {
        self.with(move |c| inspections.into_iter().map(|s| bundle(c, s)).collect())
            .await
    }

    async fn blob(&self, id: Uuid) -> StoreResult<Option<BlobRow>> {
        self.with(move |c| get_blob(c, id)).await
    }

    async fn set_blob_size(&self, stamp: &Stamp, id: Uuid, size: u64) -> StoreResult<()> {
        let event = crate::audit::events::set_blob_size(id, size);
        self.write_if_changed(stamp, event, move |tx, seq| {
            let n = tx.execute(
                "UPDATE blobs SET size = ?2, seq = ?3 WHERE id = ?1 AND size IS NULL",
                params![id.to_string(), size as i64, seq],
            )?;
            Ok(((), n > 0))
        })
        .await
    }

    async fn complete_blob(&self, stamp: &Stamp, id: Uuid) -> StoreResult<()> {
        let event = crate::audit::events::complete_blob(id);
        self.write_if_changed(stamp, event, move |tx, seq| {
            let n = tx.execute(
                "UPDATE blobs SET complete = 1, seq = ?2 WHERE id = ?1 AND complete = 0",
                params![id.to_string(), seq],
            )?;
            Ok(((), n > 0))
        })
        .await
    }

    async fn incomplete_blobs(&self, inspection_id: Uuid) -> StoreResult<u64> {
        self.with(move |c| incomplete(c, inspection_id)).await
    }

    async fn all_blobs(&self) -> StoreResult<Vec<BlobRow>> {
        self.with(move |c| {
            let mut st = c.prepare(&format!("SELECT {BLOB_COLS} FROM blobs ORDER BY seq, id"))?;
            let rows = st.query_map([], blob_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn lease_doc_numbers(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        req: LeaseRequest,
        decide: DecideLease,
    ) -> StoreResult<DocNumberLease> {
        let event = crate::audit::events::lease(device_id, &req);
        let at = stamp.at;
        self.write_if_changed(stamp, event, move |tx, seq| {
            let known = tx
                .query_row(
                    "SELECT authority, year, first, last FROM doc_number_leases
                     WHERE device_id = ?1 AND request_id = ?2",
                    params![device_id.to_string(), req.request_id.to_string()],
                    |r| {
                        Ok(DocNumberLease {
                            authority: r.get(0)?,
                            year: r.get(1)?,
                            first: r.get::<_, i64>(2)? as u32,
                            last: r.get::<_, i64>(3)? as u32,
                        })
                    },
                )
                .optional()?;
            if let Some(lease) = known {
                // A replayed request: the same block, nothing written.
                return Ok((lease, false));
            }
            let last_issued: i64 = tx
                .query_row(
                    "SELECT last_issued FROM doc_number_counters WHERE authority = ?1 AND year = ?2",
                    params![req.authority, req.year],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let last_issued = u32::try_from(last_issued).map_err(StoreError::internal)?;
            let (first, last) = decide(&last_issued).map_err(StoreError::Refused)?;
            tx.execute(
                "INSERT INTO doc_number_counters (authority, year, last_issued) VALUES (?1, ?2, ?3)
                 ON CONFLICT (authority, year) DO UPDATE SET last_issued = excluded.last_issued",
                params![req.authority, req.year, i64::from(last)],
            )?;
            tx.execute(
                "INSERT INTO doc_number_leases (device_id, request_id, authority, year, first, last,
                                                issued_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    device_id.to_string(),
                    req.request_id.to_string(),
                    req.authority,
                    req.year,
                    first,
                    last,
                    ts(at),
                    seq
                ],
            )?;
            Ok((
                DocNumberLease {
                    authority: req.authority,
                    year: req.year,
                    first,
                    last,
                },
                true,
            ))
        })
        .await
    }

    async fn doc_number_leases(&self) -> StoreResult<Vec<(Uuid, DocNumberLease)>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT device_id, authority, year, first, last FROM doc_number_leases
                 ORDER BY seq, authority, year, first",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    uuid_col(r, "device_id")?,
                    DocNumberLease {
                        authority: r.get(1)?,
                        year: r.get(2)?,
                        first: r.get::<_, i64>(3)? as u32,
                        last: r.get::<_, i64>(4)? as u32,
                    },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
