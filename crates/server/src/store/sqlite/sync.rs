//! [`SyncStore`] on SQLite (migration 0002): push results, blobs, signatures and
//! document-number leases.

use super::*;

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

pub(super) fn get_blob(c: &Connection, id: Uuid) -> StoreResult<Option<BlobRow>> {
    Ok(
        c.prepare_cached(&format!("SELECT {BLOB_COLS} FROM blobs WHERE id = ?1"))?
            .query_row(params![id.to_string()], blob_row)
            .optional()?,
    )
}

/// Photos and signatures of one inspection, as a bundle with the inspection.
pub(super) fn bundle(c: &Connection, stored: StoredInspection) -> StoreResult<ServerInspection> {
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

#[async_trait]
impl SyncStore for SqliteStore {
    async fn push(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        mut items: Vec<PreparedItem>,
    ) -> StoreResult<Vec<PushResult>> {
        let event = crate::store::push::push_event(device_id, &mut items);
        let at = stamp.at;
        // A batch whose every item is already answered (a replay) changes nothing.
        self.write_if_changed(stamp, event, move |tx, seq| {
            push::run(tx, seq, at, device_id, items)
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
