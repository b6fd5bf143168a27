//! Inspections, review decisions and what the summary tables read, on PostgreSQL.

use super::*;

#[async_trait]
impl InspectionStore for PgStore {
    async fn put_inspection(
        &self,
        stamp: &Stamp,
        inspection: Inspection,
        expected_version: Option<u64>,
        decide: Decide<Option<StoredInspection>, ()>,
    ) -> StoreResult<StoredInspection> {
        let updated_at = stamp.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(
            &tx,
            stamp,
            &crate::audit::events::put_inspection(&inspection, expected_version),
        )
        .await?;
        let current = tx
            .q_opt(
                "SELECT body, seq FROM inspections WHERE id = $1 FOR UPDATE",
                &[&inspection.id],
            )
            .await?
            .as_ref()
            .map(inspection_row)
            .transpose()?;
        decide(&current).map_err(StoreError::Refused)?;
        tx.exec(
            "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
                 body = excluded.body, updated_at = excluded.updated_at, seq = excluded.seq",
            &[
                &inspection.id,
                &inspection.task_id,
                &inspection.status.as_str(),
                &(inspection.version as i64),
                &serde_json::to_value(&inspection)?,
                &updated_at,
                &seq,
            ],
        )
        .await
        .map_err(pg_err)?;
        tx.commit().await?;
        Ok(StoredInspection { inspection, seq })
    }

    async fn inspection(&self, id: Uuid) -> StoreResult<Option<StoredInspection>> {
        let c = self.pool.get().await?;
        c.q_opt("SELECT body, seq FROM inspections WHERE id = $1", &[&id])
            .await?
            .as_ref()
            .map(inspection_row)
            .transpose()
    }

    async fn inspections_of_tasks(&self, task_ids: &[Uuid]) -> StoreResult<Vec<StoredInspection>> {
        let c = self.pool.get().await?;
        let ids = task_ids.to_vec();
        rows(
            c.q(
                "SELECT body, seq FROM inspections WHERE task_id = ANY($1) ORDER BY id",
                &[&ids],
            )
            .await?,
            inspection_row,
        )
    }

    async fn record_review(
        &self,
        stamp: &Stamp,
        review: ReviewRecord,
        decide: Decide<ReviewState, Inspection>,
    ) -> StoreResult<StoredInspection> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // The audit event describes the inspection as decided, known only after the
        // decision: the entry is appended below, still after the sequence lock.
        let seq = next_seq(&tx).await?;
        let current = tx
            .q_opt(
                "SELECT body, seq FROM inspections WHERE id = $1 FOR UPDATE",
                &[&review.inspection_id],
            )
            .await?
            .as_ref()
            .map(inspection_row)
            .transpose()?;
        let state = ReviewState {
            inspection: current,
            incomplete_blobs: sync::incomplete(&tx, review.inspection_id).await?,
        };
        let inspection = decide(&state).map_err(StoreError::Refused)?;
        tx.exec(
            "UPDATE inspections SET status = $1, version = $2, body = $3, updated_at = $4, seq = $5
             WHERE id = $6",
            &[
                &inspection.status.as_str(),
                &(inspection.version as i64),
                &serde_json::to_value(&inspection)?,
                &review.at,
                &seq,
                &inspection.id,
            ],
        )
        .await?;
        tx.exec(
            "INSERT INTO reviews (id, inspection_id, decision, reviewed_version, comment, reviewer, at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &review.id,
                &review.inspection_id,
                &review.decision.as_str(),
                &(review.reviewed_version as i64),
                &review.comment,
                &review.reviewer,
                &review.at,
                &seq,
            ],
        )
        .await?;
        append_audit(
            &tx,
            seq,
            stamp,
            &crate::audit::events::review(&review, &inspection),
        )
        .await?;
        tx.commit().await?;
        Ok(StoredInspection { inspection, seq })
    }

    async fn approved_results(
        &self,
        plan_id: &str,
    ) -> StoreResult<Vec<jiandu_core::summary::UnitResult>> {
        let c = self.pool.get().await?;
        let rows = c
            .q(
                "SELECT t.institution_id, t.category, t.followup, t.checklist,
                        r.non_compliant, r.outcome
                 FROM inspection_results r JOIN tasks t ON t.id = r.task_id
                 WHERE t.plan_id = $1 AND r.status = 'approved' AND r.outcome IS NOT NULL",
                &[&plan_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let points: serde_json::Value = r.try_get(4)?;
                let outcome: serde_json::Value = r.try_get(5)?;
                Ok(jiandu_core::summary::UnitResult {
                    services: Vec::new(),
                    institution_id: r.try_get(0)?,
                    category: CategoryCode(r.try_get(1)?),
                    followup: r.try_get(2)?,
                    checklist: r.try_get(3)?,
                    non_compliant_points: serde_json::from_value(points)?,
                    outcome: serde_json::from_value(outcome)?,
                })
            })
            .collect()
    }

    async fn reviews(&self, inspection_id: Uuid) -> StoreResult<Vec<ReviewRecord>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                "SELECT id, inspection_id, decision, reviewed_version, comment, reviewer, at
                 FROM reviews WHERE inspection_id = $1 ORDER BY seq, id",
                &[&inspection_id],
            )
            .await?,
            review_row,
        )
    }
}
