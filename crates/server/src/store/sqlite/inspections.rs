//! Inspections, review decisions and what the summary tables read, on SQLite.

use super::*;

#[async_trait]
impl InspectionStore for SqliteStore {
    async fn put_inspection(
        &self,
        stamp: &Stamp,
        inspection: Inspection,
        expected_version: Option<u64>,
        decide: Decide<Option<StoredInspection>, ()>,
    ) -> StoreResult<StoredInspection> {
        let event = crate::audit::events::put_inspection(&inspection, expected_version);
        let updated_at = stamp.at;
        self.write(stamp, event, move |tx, seq| {
            let current = get_inspection(tx, inspection.id)?;
            decide(&current).map_err(StoreError::Refused)?;
            let body = serde_json::to_string(&inspection)?;
            tx.execute(
                "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
                     body = excluded.body, updated_at = excluded.updated_at, seq = excluded.seq",
                params![
                    inspection.id.to_string(),
                    inspection.task_id.to_string(),
                    inspection.status.as_str(),
                    inspection.version as i64,
                    body,
                    ts(updated_at),
                    seq
                ],
            )?;
            Ok(StoredInspection { inspection, seq })
        })
        .await
    }

    async fn inspection(&self, id: Uuid) -> StoreResult<Option<StoredInspection>> {
        self.with(move |c| get_inspection(c, id)).await
    }

    async fn inspections_of_tasks(&self, task_ids: &[Uuid]) -> StoreResult<Vec<StoredInspection>> {
        let ids =
            serde_json::to_string(&task_ids.iter().map(|x| x.to_string()).collect::<Vec<_>>())?;
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT body, seq FROM inspections
                 WHERE task_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
            )?;
            let rows = st.query_map(params![ids], inspection_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn record_review(
        &self,
        stamp: &Stamp,
        review: ReviewRecord,
        decide: Decide<ReviewState, Inspection>,
    ) -> StoreResult<StoredInspection> {
        let stamp2 = stamp.clone();
        // The audit event describes the inspection as decided: it is known only
        // inside the transaction, so this write appends its entry itself.
        self.write_raw(move |tx| {
            let seq = bump(tx)?;
            let state = ReviewState {
                inspection: get_inspection(tx, review.inspection_id)?,
                incomplete_blobs: sync::incomplete(tx, review.inspection_id)?,
            };
            let inspection = decide(&state).map_err(StoreError::Refused)?;
            tx.execute(
                "UPDATE inspections SET status = ?1, version = ?2, body = ?3, updated_at = ?4, seq = ?5
                 WHERE id = ?6",
                params![
                    inspection.status.as_str(),
                    inspection.version as i64,
                    serde_json::to_string(&inspection)?,
                    ts(review.at),
                    seq,
                    inspection.id.to_string()
                ],
            )?;
            tx.execute(
                "INSERT INTO reviews (id, inspection_id, decision, reviewed_version, comment, reviewer, at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    review.id.to_string(),
                    review.inspection_id.to_string(),
                    review.decision.as_str(),
                    review.reviewed_version as i64,
                    review.comment,
                    review.reviewer.to_string(),
                    ts(review.at),
                    seq
                ],
            )?;
            append_audit(
                tx,
                seq,
                &stamp2,
                &crate::audit::events::review(&review, &inspection),
            )?;
            Ok((StoredInspection { inspection, seq }, true))
        })
        .await
    }

    async fn approved_results(
        &self,
        plan_id: &str,
    ) -> StoreResult<Vec<jiandu_core::summary::UnitResult>> {
        let plan_id = plan_id.to_owned();
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT t.institution_id, t.category, t.followup, t.checklist,
                        r.non_compliant, r.outcome
                 FROM inspection_results r JOIN tasks t ON t.id = r.task_id
                 WHERE t.plan_id = ?1 AND r.status = 'approved' AND r.outcome IS NOT NULL",
            )?;
            let rows = st.query_map(params![plan_id], |r| {
                let points: String = r.get(4)?;
                let outcome: String = r.get(5)?;
                Ok(jiandu_core::summary::UnitResult {
                    services: Vec::new(),
                    institution_id: uuid_col(r, "institution_id")?,
                    category: CategoryCode(r.get(1)?),
                    followup: r.get(2)?,
                    checklist: r.get(3)?,
                    non_compliant_points: serde_json::from_str(&points)
                        .map_err(|e| conversion(e.to_string()))?,
                    outcome: serde_json::from_str(&outcome)
                        .map_err(|e| conversion(e.to_string()))?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn reviews(&self, inspection_id: Uuid) -> StoreResult<Vec<ReviewRecord>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT id, inspection_id, decision, reviewed_version, comment, reviewer, at
                 FROM reviews WHERE inspection_id = ?1 ORDER BY seq, id",
            )?;
            let rows = st.query_map(params![inspection_id.to_string()], review_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
