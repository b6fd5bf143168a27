//! The working state of one push on PostgreSQL ([`SyncStore::push`]).

use super::*;
use std::collections::{HashMap, HashSet};

async fn get_stored(c: &impl GenericClient, id: Uuid) -> StoreResult<Option<StoredInspection>> {
    c.q_opt("SELECT body, seq FROM inspections WHERE id = $1", &[&id])
        .await?
        .as_ref()
        .map(inspection_row)
        .transpose()
}

/// What a push has read and decided so far, so each inspection is read once, and
/// written once (at the end, or before a blob or signature row that refers to it),
/// and the answers go in one statement: a push of 60 items is about ten round
/// trips, not several hundred.
#[derive(Default)]
pub(super) struct Work {
    /// Inspections as read or as decided in this push (None: not on the server).
    pub(super) inspections: HashMap<Uuid, Option<StoredInspection>>,
    /// Changed, not written yet.
    dirty: Vec<Uuid>,
    /// Inspections with a rejected item of this device, stored or in this push.
    pub(super) rejected: HashSet<Uuid>,
    /// Inspections whose stored rejections were looked up.
    rejections_read: HashSet<Uuid>,
    /// (mutation, inspection, device_seq, status, outcome) to store.
    pub(super) results: Vec<(Uuid, Uuid, i64, &'static str, serde_json::Value)>,
}

impl Work {
    pub(super) async fn stored(
        &mut self,
        tx: &impl GenericClient,
        id: Uuid,
    ) -> StoreResult<Option<StoredInspection>> {
        if let Some(i) = self.inspections.get(&id) {
            return Ok(i.clone());
        }
        let stored = get_stored(tx, id).await?;
        self.inspections.insert(id, stored.clone());
        Ok(stored)
    }

    pub(super) fn task_inspection(&self, task: Uuid) -> Option<Uuid> {
        self.inspections
            .values()
            .flatten()
            .find(|s| s.inspection.task_id == task)
            .map(|s| s.inspection.id)
    }

    pub(super) async fn earlier_rejected(
        &mut self,
        tx: &impl GenericClient,
        device_id: Uuid,
        inspection_id: Uuid,
    ) -> StoreResult<bool> {
        if self.rejections_read.insert(inspection_id)
            && tx
                .q_opt(
                    "SELECT 1 FROM sync_results
                     WHERE device_id = $1 AND inspection_id = $2 AND status = 'rejected' LIMIT 1",
                    &[&device_id, &inspection_id],
                )
                .await?
                .is_some()
        {
            self.rejected.insert(inspection_id);
        }
        Ok(self.rejected.contains(&inspection_id))
    }

    /// An inspection as decided, to be written with this push's `seq`.
    pub(super) fn keep(&mut self, inspection: Inspection, seq: i64) {
        if !self.dirty.contains(&inspection.id) {
            self.dirty.push(inspection.id);
        }
        self.inspections
            .insert(inspection.id, Some(StoredInspection { inspection, seq }));
    }

    pub(super) async fn flush(
        &mut self,
        tx: &impl GenericClient,
        seq: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        for id in std::mem::take(&mut self.dirty) {
            let Some(Some(StoredInspection { inspection, .. })) = self.inspections.get(&id) else {
                continue;
            };
            tx.exec(
                "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                     version = excluded.version, body = excluded.body,
                     updated_at = excluded.updated_at, seq = excluded.seq",
                &[
                    &inspection.id,
                    &inspection.task_id,
                    &inspection.status.as_str(),
                    &(inspection.version as i64),
                    &serde_json::to_value(inspection)?,
                    &at,
                    &seq,
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// Stores every answer of the push in one statement.
    pub(super) async fn write_results(
        &self,
        tx: &impl GenericClient,
        device_id: Uuid,
        seq: i64,
    ) -> StoreResult<()> {
        let mutations: Vec<Uuid> = self.results.iter().map(|r| r.0).collect();
        let inspections: Vec<Uuid> = self.results.iter().map(|r| r.1).collect();
        let device_seqs: Vec<i64> = self.results.iter().map(|r| r.2).collect();
        let statuses: Vec<&str> = self.results.iter().map(|r| r.3).collect();
        let outcomes: Vec<serde_json::Value> = self.results.iter().map(|r| r.4.clone()).collect();
        tx.exec(
            "INSERT INTO sync_results (device_id, mutation_id, inspection_id, device_seq,
                                       status, outcome, seq)
             SELECT $1, u.* , $7 FROM UNNEST($2::uuid[], $3::uuid[], $4::bigint[], $5::text[],
                                              $6::jsonb[]) AS u",
            &[
                &device_id,
                &mutations,
                &inspections,
                &device_seqs,
                &statuses,
                &outcomes,
                &seq,
            ],
        )
        .await?;
        Ok(())
    }
}
