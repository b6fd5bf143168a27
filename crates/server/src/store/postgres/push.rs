//! The working state of one push on PostgreSQL ([`SyncStore::push`]).
//!
//! Every writer takes the change-sequence row lock first (values commit in order,
//! SYNC.md), so a push holds it from its first statement to its commit and the
//! round trips in between set the pace of every device at day's end. A push
//! therefore reads in one pipelined round trip, sent right behind the bump (the
//! bump, the audit chain's head and every row the batch's decisions read), decides
//! every item in memory, and writes in a second (audit entry, inspections, blobs,
//! signatures, answers), then commits: three round trips under the lock however
//! long the batch, instead of about ten.

use super::pipeline::{self, Param, Stmt, p};
use super::*;
use crate::audit::AuditEvent;
use std::collections::{HashMap, HashSet};

const BUMP: &str =
    "UPDATE server_state SET change_seq = change_seq + 1 WHERE id = 1 RETURNING change_seq";
const HEAD: &str = "SELECT hash FROM audit_log ORDER BY change_seq DESC LIMIT 1";
const KNOWN: &str = "SELECT mutation_id, outcome FROM sync_results
                     WHERE device_id = $1 AND mutation_id = ANY($2)";
const INSPECTIONS: &str = "SELECT body, seq FROM inspections WHERE id = ANY($1)";
const TASK_INSPECTIONS: &str = "SELECT task_id, id FROM inspections WHERE task_id = ANY($1)";
const REJECTED: &str = "SELECT DISTINCT inspection_id FROM sync_results
                        WHERE device_id = $1 AND inspection_id = ANY($2) AND status = 'rejected'";
const BLOBS: &str =
    "SELECT id, kind, inspection_id, sha256, size, mime, complete, voided, meta, seq
                     FROM blobs
                     WHERE id = ANY($1) OR (kind = 'photo' AND inspection_id = ANY($2))";
const UPSERT_INSPECTION: &str =
    "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status,
         version = excluded.version, body = excluded.body,
         updated_at = excluded.updated_at, seq = excluded.seq";
const UPSERT_BLOB: &str =
    "INSERT INTO blobs (id, kind, inspection_id, sha256, size, mime, voided, meta, seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET voided = excluded.voided,
         meta = coalesce(excluded.meta, blobs.meta),
         size = coalesce(blobs.size, excluded.size), seq = excluded.seq";
const INSERT_SIGNATURE: &str = "INSERT INTO inspection_signatures (id, inspection_id, body, seq)
                                VALUES ($1, $2, $3, $4)";
const INSERT_RESULTS: &str =
    "INSERT INTO sync_results (device_id, mutation_id, inspection_id, device_seq,
                               status, outcome, seq)
     SELECT $1, u.*, $7 FROM UNNEST($2::uuid[], $3::uuid[], $4::bigint[], $5::text[],
                                    $6::jsonb[]) AS u";

/// The keys of what a batch's decisions read.
pub(super) struct Keys {
    mutations: Vec<Uuid>,
    inspection_ids: Vec<Uuid>,
    tasks: Vec<Uuid>,
    blob_ids: Vec<Uuid>,
    photo_inspections: Vec<Uuid>,
}

impl Keys {
    pub(super) fn of(items: &[PreparedItem]) -> Keys {
        let mut inspection_ids: Vec<Uuid> = items.iter().map(|i| i.item.inspection_id).collect();
        inspection_ids.sort_unstable();
        inspection_ids.dedup();
        Keys {
            mutations: items.iter().map(|i| i.item.mutation_id).collect(),
            inspection_ids,
            tasks: items.iter().filter_map(|i| i.task_id).collect(),
            blob_ids: items
                .iter()
                .filter(|i| matches!(i.item.entity.as_str(), "photo" | "signature"))
                .map(|i| i.item.entity_id)
                .collect(),
            photo_inspections: items
                .iter()
                .filter(|i| i.item.entity == "photo")
                .map(|i| i.item.inspection_id)
                .collect(),
        }
    }
}

/// What a push has read and decided: the rows its decisions read, as read under
/// the lock and then as changed by the batch's own earlier items; the writes still
/// to send, in order.
pub(super) struct Work {
    pub(super) seq: i64,
    /// The audit chain's head, read under the lock.
    prev_hash: String,
    /// Answers stored before, by mutation (a replay gets them again).
    pub(super) known: HashMap<Uuid, serde_json::Value>,
    /// Inspections as read or as decided in this push (None: not on the server).
    inspections: HashMap<Uuid, Option<StoredInspection>>,
    /// The inspection each task named by the batch has.
    task_inspections: HashMap<Uuid, Uuid>,
    /// Inspections with a rejected item of this device, stored or in this push.
    rejected: HashSet<Uuid>,
    /// The blobs the batch names and the photos of its inspections with photo items.
    blobs: HashMap<Uuid, BlobRow>,
    /// Changed inspections not written yet.
    dirty: Vec<Uuid>,
    /// Blob and signature rows not written yet, in the order decided.
    rows: Vec<Stmt>,
    /// (mutation, inspection, device_seq, status, outcome) to store.
    pub(super) results: Vec<(Uuid, Uuid, i64, &'static str, serde_json::Value)>,
}

impl Work {
    /// Takes the change-sequence lock and reads, in the same round trip, everything
    /// the decisions of the batch `keys` describes read.
    pub(super) async fn read(
        tx: &deadpool_postgres::Transaction<'_>,
        device_id: Uuid,
        keys: Keys,
    ) -> StoreResult<Work> {
        let Keys {
            mutations,
            inspection_ids,
            tasks,
            blob_ids,
            photo_inspections,
        } = keys;
        let reads_blobs = !blob_ids.is_empty();
        let mut stmts = vec![
            Stmt::new(BUMP, vec![]),
            Stmt::new(HEAD, vec![]),
            Stmt::new(KNOWN, vec![p(device_id), p(mutations)]),
            Stmt::new(INSPECTIONS, vec![p(inspection_ids.clone())]),
            Stmt::new(TASK_INSPECTIONS, vec![p(tasks)]),
            Stmt::new(REJECTED, vec![p(device_id), p(inspection_ids.clone())]),
        ];
        if reads_blobs {
            stmts.push(Stmt::new(BLOBS, vec![p(blob_ids), p(photo_inspections)]));
        }
        let mut rows = pipeline::run(tx, &stmts).await?.into_iter();
        let mut next = || rows.next().unwrap_or_default();
        let seq: i64 = next()
            .first()
            .ok_or_else(|| StoreError::Internal("server_state has no row".into()))?
            .try_get(0)?;
        let prev_hash = match next().first() {
            Some(r) => r.try_get(0)?,
            None => crate::audit::GENESIS.to_owned(),
        };
        let mut known = HashMap::new();
        for r in next() {
            known.insert(r.try_get(0)?, r.try_get(1)?);
        }
        let mut inspections: HashMap<Uuid, Option<StoredInspection>> =
            inspection_ids.iter().map(|id| (*id, None)).collect();
        for r in next() {
            let s = inspection_row(&r)?;
            inspections.insert(s.inspection.id, Some(s));
        }
        let mut task_inspections = HashMap::new();
        for r in next() {
            task_inspections.insert(r.try_get(0)?, r.try_get(1)?);
        }
        let mut rejected = HashSet::new();
        for r in next() {
            rejected.insert(r.try_get(0)?);
        }
        let mut blobs = HashMap::new();
        if reads_blobs {
            for r in next() {
                let b = super::sync::blob_row(&r)?;
                blobs.insert(b.id, b);
            }
        }
        Ok(Work {
            seq,
            prev_hash,
            known,
            inspections,
            task_inspections,
            rejected,
            blobs,
            dirty: Vec::new(),
            rows: Vec::new(),
            results: Vec::new(),
        })
    }

    /// The inspection as stored or as decided by an earlier item.
    pub(super) fn stored(&self, id: Uuid) -> Option<&StoredInspection> {
        self.inspections.get(&id).and_then(Option::as_ref)
    }

    /// The inspection `task` has, when the item's own is not on the server.
    pub(super) fn task_inspection(&self, task: Uuid) -> Option<Uuid> {
        self.task_inspections.get(&task).copied()
    }

    pub(super) fn earlier_rejected(&self, inspection_id: Uuid) -> bool {
        self.rejected.contains(&inspection_id)
    }

    pub(super) fn reject(&mut self, inspection_id: Uuid) {
        self.rejected.insert(inspection_id);
    }

    pub(super) fn blob(&self, id: Uuid) -> Option<BlobRow> {
        self.blobs.get(&id).cloned()
    }

    /// Photos of an inspection that are not voided, and their bytes.
    pub(super) fn photos(&self, inspection_id: Uuid) -> (u64, u64) {
        self.blobs
            .values()
            .filter(|b| b.inspection_id == inspection_id && b.kind == BlobKind::Photo && !b.voided)
            .fold((0, 0), |(n, bytes), b| (n + 1, bytes + b.size.unwrap_or(0)))
    }

    /// An inspection as decided, written with this push's `seq`.
    pub(super) fn keep(&mut self, inspection: Inspection) {
        if !self.dirty.contains(&inspection.id) {
            self.dirty.push(inspection.id);
        }
        self.task_inspections
            .entry(inspection.task_id)
            .or_insert(inspection.id);
        let seq = self.seq;
        self.inspections
            .insert(inspection.id, Some(StoredInspection { inspection, seq }));
    }

    /// A blob row to insert or update, as the statement will: the row read, then
    /// changed, is what later items of the batch see.
    pub(super) fn write_blob(&mut self, inspection_id: Uuid, b: &BlobWrite) -> StoreResult<()> {
        let seq = self.seq;
        self.blobs
            .entry(b.id)
            .and_modify(|row| {
                row.voided = b.voided;
                row.meta = b.meta.clone().or(row.meta.take());
                row.size = row.size.or(b.size);
                row.seq = seq;
            })
            .or_insert_with(|| BlobRow {
                id: b.id,
                kind: b.kind,
                inspection_id,
                sha256: b.sha256.clone(),
                size: b.size,
                mime: b.mime.clone(),
                complete: false,
                voided: b.voided,
                meta: b.meta.clone(),
                seq,
            });
        let meta = b.meta.as_ref().map(serde_json::to_value).transpose()?;
        self.rows.push(Stmt::new(
            UPSERT_BLOB,
            vec![
                p(b.id),
                p(b.kind.as_str()),
                p(inspection_id),
                p(b.sha256.clone()),
                p(b.size.map(|s| s as i64)),
                p(b.mime.clone()),
                p(b.voided),
                p(meta),
                p(seq),
            ],
        ));
        Ok(())
    }

    pub(super) fn write_signature(
        &mut self,
        inspection_id: Uuid,
        s: &Signature,
    ) -> StoreResult<()> {
        self.rows.push(Stmt::new(
            INSERT_SIGNATURE,
            vec![
                p(s.id),
                p(inspection_id),
                p(serde_json::to_value(s)?),
                p(self.seq),
            ],
        ));
        Ok(())
    }

    /// Sends the writes decided so far in one round trip: changed inspections first
    /// (the blob and signature rows refer to them), then those rows in order.
    pub(super) async fn flush(
        &mut self,
        tx: &deadpool_postgres::Transaction<'_>,
        at: DateTime<Utc>,
        head: Option<Stmt>,
    ) -> StoreResult<()> {
        let mut stmts: Vec<Stmt> = head.into_iter().collect();
        for id in std::mem::take(&mut self.dirty) {
            let Some(Some(StoredInspection { inspection: i, .. })) = self.inspections.get(&id)
            else {
                continue;
            };
            stmts.push(Stmt::new(
                UPSERT_INSPECTION,
                vec![
                    p(i.id),
                    p(i.task_id),
                    p(i.status.as_str()),
                    p(i.version as i64),
                    p(serde_json::to_value(i)?),
                    p(at),
                    p(self.seq),
                ],
            ));
        }
        stmts.append(&mut self.rows);
        if !stmts.is_empty() {
            pipeline::run(tx, &stmts).await?;
        }
        Ok(())
    }

    /// Sends what is left in one round trip: the push's audit entry, the changed
    /// inspections, the blob and signature rows and every answer.
    pub(super) async fn finish(
        &mut self,
        tx: &deadpool_postgres::Transaction<'_>,
        stamp: &Stamp,
        event: &AuditEvent,
        device_id: Uuid,
    ) -> StoreResult<()> {
        let audit = self.audit(stamp, event);
        let results = self.results(device_id);
        self.rows.push(results);
        self.flush(tx, stamp.at, Some(audit)).await
    }

    /// The audit entry of this push, chained to the head read under the lock.
    fn audit(&self, stamp: &Stamp, event: &AuditEvent) -> Stmt {
        let e = AuditEntry::seal(
            self.seq,
            crate::audit::time_text(stamp.at),
            stamp.actor.clone(),
            event,
            self.prev_hash.clone(),
        );
        Stmt::new(
            INSERT_AUDIT,
            vec![
                p(e.change_seq),
                p(e.at),
                p(e.actor),
                p(e.action),
                p(e.subject),
                p(e.detail),
                p(e.prev_hash),
                p(e.hash),
            ],
        )
    }

    /// Every answer of the push, in one statement.
    fn results(&mut self, device_id: Uuid) -> Stmt {
        let results = std::mem::take(&mut self.results);
        let mut mutations = Vec::with_capacity(results.len());
        let mut inspections = Vec::with_capacity(results.len());
        let mut device_seqs = Vec::with_capacity(results.len());
        let mut statuses = Vec::with_capacity(results.len());
        let mut outcomes = Vec::with_capacity(results.len());
        for (m, i, d, s, o) in results {
            mutations.push(m);
            inspections.push(i);
            device_seqs.push(d);
            statuses.push(s);
            outcomes.push(o);
        }
        let params: Vec<Param> = vec![
            p(device_id),
            p(mutations),
            p(inspections),
            p(device_seqs),
            p(statuses),
            p(outcomes),
            p(self.seq),
        ];
        Stmt::new(INSERT_RESULTS, params)
    }
}
