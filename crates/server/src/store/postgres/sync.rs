//! [`SyncStore`] on PostgreSQL (migration 0002): push results, blobs, signatures
//! and document-number leases. The change-sequence bump's row lock serialises
//! writers.

use super::*;

const BLOB_COLS: &str = "id, kind, inspection_id, sha256, size, mime, complete, voided, meta, seq";

pub(super) fn blob_row(r: &Row) -> StoreResult<BlobRow> {
    let kind: String = r.try_get("kind")?;
    let meta: Option<serde_json::Value> = r.try_get("meta")?;
    Ok(BlobRow {
        id: r.try_get("id")?,
        kind: BlobKind::parse(&kind)
            .ok_or_else(|| StoreError::Internal(format!("blob kind {kind}")))?,
        inspection_id: r.try_get("inspection_id")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get::<_, Option<i64>>("size")?.map(|s| s as u64),
        mime: r.try_get("mime")?,
        complete: r.try_get("complete")?,
        voided: r.try_get("voided")?,
        meta: meta.map(serde_json::from_value).transpose()?,
        seq: r.try_get("seq")?,
    })
}

async fn get_blob(c: &impl GenericClient, id: Uuid) -> StoreResult<Option<BlobRow>> {
    c.q_opt(
        &format!("SELECT {BLOB_COLS} FROM blobs WHERE id = $1"),
        &[&id],
    )
    .await?
    .as_ref()
    .map(blob_row)
    .transpose()
}

/// Blobs of an inspection (not voided) whose bytes are not verified yet.
pub(super) async fn incomplete(c: &impl GenericClient, inspection_id: Uuid) -> StoreResult<u64> {
    let n: i64 = c
        .q_one(
            "SELECT count(*) FROM blobs WHERE inspection_id = $1 AND NOT voided AND NOT complete",
            &[&inspection_id],
        )
        .await?
        .try_get(0)?;
    Ok(n as u64)
}

pub(super) async fn bundle(
    c: &impl GenericClient,
    stored: StoredInspection,
) -> StoreResult<ServerInspection> {
    let id = stored.inspection.id;
    let photos = c
        .q(
            "SELECT meta FROM blobs WHERE inspection_id = $1 AND kind = 'photo'
             AND meta IS NOT NULL ORDER BY id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(serde_json::from_value(
                r.try_get::<_, serde_json::Value>(0)?,
            )?)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let signatures = c
        .q(
            "SELECT body FROM inspection_signatures WHERE inspection_id = $1 ORDER BY seq, id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(serde_json::from_value(
                r.try_get::<_, serde_json::Value>(0)?,
            )?)
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ServerInspection {
        inspection: stored.inspection,
        photos,
        signatures,
        seq: stored.seq,
    })
}

#[async_trait]
impl SyncStore for PgStore {
    async fn push(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        mut items: Vec<PreparedItem>,
    ) -> StoreResult<Vec<PushResult>> {
        let event = crate::store::push::push_event(device_id, &mut items);
        let request = super::writer::Request {
            stamp: stamp.clone(),
            device_id,
            event,
            items,
        };
        self.pushes
            .push(&self.pool, &self.sync_writes, request)
            .await
    }

    async fn inspection_bundles(
        &self,
        inspections: Vec<StoredInspection>,
    ) -> StoreResult<Vec<ServerInspection>> {
        let c = self.pool.get().await?;
        let mut out = Vec::with_capacity(inspections.len());
        for s in inspections {
            out.push(bundle(&c, s).await?);
        }
        Ok(out)
    }

    async fn blob(&self, id: Uuid) -> StoreResult<Option<BlobRow>> {
        let c = self.pool.get().await?;
        get_blob(&c, id).await
    }

    async fn set_blob_size(&self, stamp: &Stamp, id: Uuid, size: u64) -> StoreResult<()> {
        let _turn = self.sync_writes.lock().await;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::set_blob_size(id, size)).await?;
        let n = tx
            .exec(
                "UPDATE blobs SET size = $2, seq = $3 WHERE id = $1 AND size IS NULL",
                &[&id, &(size as i64), &seq],
            )
            .await?;
        // Nothing to record: roll back the bump, devices have nothing new to pull.
        if n > 0 {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(())
    }

    async fn complete_blob(&self, stamp: &Stamp, id: Uuid) -> StoreResult<()> {
        let _turn = self.sync_writes.lock().await;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::complete_blob(id)).await?;
        let n = tx
            .exec(
                "UPDATE blobs SET complete = TRUE, seq = $2 WHERE id = $1 AND NOT complete",
                &[&id, &seq],
            )
            .await?;
        if n > 0 {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(())
    }

    async fn incomplete_blobs(&self, inspection_id: Uuid) -> StoreResult<u64> {
        let c = self.pool.get().await?;
        incomplete(&c, inspection_id).await
    }

    async fn all_blobs(&self) -> StoreResult<Vec<BlobRow>> {
        let c = self.pool.get().await?;
        c.q(
            &format!("SELECT {BLOB_COLS} FROM blobs ORDER BY seq, id"),
            &[],
        )
        .await?
        .iter()
        .map(blob_row)
        .collect()
    }

    async fn lease_doc_numbers(
        &self,
        stamp: &Stamp,
        device_id: Uuid,
        req: LeaseRequest,
        decide: DecideLease,
    ) -> StoreResult<DocNumberLease> {
        let at = stamp.at;
        let _turn = self.sync_writes.lock().await;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::lease(device_id, &req)).await?;
        if let Some(r) = tx
            .q_opt(
                "SELECT authority, year, first, last FROM doc_number_leases
                 WHERE device_id = $1 AND request_id = $2",
                &[&device_id, &req.request_id],
            )
            .await?
        {
            // A replayed request: the same block; dropping `tx` rolls the bump back.
            return Ok(DocNumberLease {
                authority: r.try_get(0)?,
                year: r.try_get(1)?,
                first: r.try_get::<_, i64>(2)? as u32,
                last: r.try_get::<_, i64>(3)? as u32,
            });
        }
        let last_issued: i64 = tx
            .q_opt(
                "SELECT last_issued FROM doc_number_counters
                 WHERE authority = $1 AND year = $2 FOR UPDATE",
                &[&req.authority, &req.year],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(0);
        let last_issued = u32::try_from(last_issued).map_err(StoreError::internal)?;
        let (first, last) = decide(&last_issued).map_err(StoreError::Refused)?;
        let (first, last) = (i64::from(first), i64::from(last));
        tx.exec(
            "INSERT INTO doc_number_counters (authority, year, last_issued) VALUES ($1, $2, $3)
             ON CONFLICT (authority, year) DO UPDATE SET last_issued = excluded.last_issued",
            &[&req.authority, &req.year, &last],
        )
        .await?;
        tx.exec(
            "INSERT INTO doc_number_leases (device_id, request_id, authority, year, first, last,
                                            issued_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &device_id,
                &req.request_id,
                &req.authority,
                &req.year,
                &first,
                &last,
                &at,
                &seq,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(DocNumberLease {
            authority: req.authority,
            year: req.year,
            first: first as u32,
            last: last as u32,
        })
    }

    async fn doc_number_leases(&self) -> StoreResult<Vec<(Uuid, DocNumberLease)>> {
        let c = self.pool.get().await?;
        c.q(
            "SELECT device_id, authority, year, first, last FROM doc_number_leases
             ORDER BY seq, authority, year, first",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                DocNumberLease {
                    authority: r.try_get(1)?,
                    year: r.try_get(2)?,
                    first: r.try_get::<_, i64>(3)? as u32,
                    last: r.try_get::<_, i64>(4)? as u32,
                },
            ))
        })
        .collect()
    }
}
