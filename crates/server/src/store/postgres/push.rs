//! A group of pushes on PostgreSQL ([`SyncStore::push`], through the push writer
//! of `writer.rs`): one transaction for every push queued while the previous group
//! was being written.
//!
//! Every writer takes the change-sequence row lock first (values commit in order,
//! SYNC.md), so a push holds it from its first statement to its commit, and the
//! round trips in between set the pace of every device at day's end. A group
//! therefore takes the lock and reads in one pipelined round trip (the sequence,
//! the audit chain's head and every row the decisions of all its pushes read),
//! decides every item of every push in memory, in the order the pushes arrived,
//! and writes in a second (each push's audit entry and answers under its own
//! change-sequence value, the inspections, blobs and signatures, the sequence
//! itself), then commits: four round trips with BEGIN and COMMIT, however many
//! pushes and items the group holds.

use super::pipeline::{self, Stmt, p};
use super::rows::{Answers, Audits, Upserts};
use super::writer::{Keys, Request};
use super::*;
use crate::audit::AuditEvent;
use jiandu_core::protocol::ItemOutcome;
use std::collections::{HashMap, HashSet};

/// Takes the lock without bumping: the group knows how many values it uses (a
/// push whose every item was answered before uses none) only once decided.
const LOCK: &str = "SELECT change_seq FROM server_state WHERE id = 1 FOR UPDATE";
const SET_SEQ: &str = "UPDATE server_state SET change_seq = $1 WHERE id = 1";
const HEAD: &str = "SELECT hash FROM audit_log ORDER BY change_seq DESC LIMIT 1";
const KNOWN: &str = "SELECT device_id, mutation_id, r.outcome
                     FROM UNNEST($1::uuid[], $2::uuid[]) AS k(device_id, mutation_id)
                     JOIN sync_results r USING (device_id, mutation_id)";
const INSPECTIONS: &str = "SELECT body, seq FROM inspections WHERE id = ANY($1)";
const TASK_INSPECTIONS: &str = "SELECT task_id, id FROM inspections WHERE task_id = ANY($1)";
const REJECTED: &str = "SELECT DISTINCT device_id, inspection_id
                        FROM UNNEST($1::uuid[], $2::uuid[]) AS k(device_id, inspection_id)
                        JOIN sync_results r USING (device_id, inspection_id)
                        WHERE r.status = 'rejected'";
const BLOBS: &str =
    "SELECT id, kind, inspection_id, sha256, size, mime, complete, voided, meta, seq
                     FROM blobs
                     WHERE id = ANY($1) OR (kind = 'photo' AND inspection_id = ANY($2))";
const UPSERT_BLOB: &str =
    "INSERT INTO blobs (id, kind, inspection_id, sha256, size, mime, voided, meta, seq)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET voided = excluded.voided,
         meta = coalesce(excluded.meta, blobs.meta),
         size = coalesce(blobs.size, excluded.size), seq = excluded.seq";
const INSERT_SIGNATURE: &str = "INSERT INTO inspection_signatures (id, inspection_id, body, seq)
                                VALUES ($1, $2, $3, $4)";
/// Decides and writes the pushes of a group inside `tx`, in order, each as if it
/// ran alone after the ones before it: a push sees the rows the earlier ones
/// changed, and gets its own change-sequence value and audit entry. Answers each
/// push's results, and whether anything was written (nothing: every item of every
/// push was answered before; the caller rolls back, the sequence untouched).
pub(super) async fn write_group(
    tx: &deadpool_postgres::Transaction<'_>,
    requests: &[Request],
) -> StoreResult<(Vec<Vec<PushResult>>, bool)> {
    let mut work = Work::read(tx, Keys::of(requests)).await?;
    let mut answers = Vec::with_capacity(requests.len());
    for r in requests {
        answers.push(work.push(tx, r).await?);
    }
    let wrote = work.finish(tx).await?;
    Ok((answers, wrote))
}

/// What a group has read and decided: the rows its decisions read, as read under
/// the lock and then as changed by the group's own earlier items; the writes still
/// to send, in order.
struct Work {
    /// The change sequence as read under the lock.
    read_seq: i64,
    /// The last value a push of the group took.
    seq: i64,
    /// The audit chain's head: read under the lock, then the group's last entry.
    prev_hash: String,
    /// Answers stored before or given in this group, by (device, mutation): a
    /// replay gets them again.
    known: HashMap<(Uuid, Uuid), ItemOutcome>,
    /// Inspections as read or as decided in this group (None: not on the server).
    inspections: HashMap<Uuid, Option<StoredInspection>>,
    /// The inspection each task named by the group has.
    task_inspections: HashMap<Uuid, Uuid>,
    /// (device, inspection) with a rejected item of that device, stored or here.
    rejected: HashSet<(Uuid, Uuid)>,
    /// The blobs the group names and the photos of its inspections with photo items.
    blobs: HashMap<Uuid, BlobRow>,
    /// Changed inspections not written yet, with the time of their last change.
    dirty: HashMap<Uuid, DateTime<Utc>>,
    /// Rows not written yet (blobs, signatures, audit entries, answers), in the
    /// order decided.
    rows: Vec<Stmt>,
    /// The group's answers and audit entries, written last.
    answers: Answers,
    audits: Audits,
}

impl Work {
    /// Takes the change-sequence lock and reads, in the same round trip, everything
    /// the decisions of the group `keys` describes read.
    async fn read(tx: &deadpool_postgres::Transaction<'_>, keys: Keys) -> StoreResult<Work> {
        let Keys {
            known,
            inspection_ids,
            rejected,
            tasks,
            blob_ids,
            photo_inspections,
        } = keys;
        let reads_blobs = !blob_ids.is_empty();
        let mut stmts = vec![
            Stmt::new(LOCK, vec![]),
            Stmt::new(HEAD, vec![]),
            Stmt::new(KNOWN, vec![p(known.0), p(known.1)]),
            Stmt::new(INSPECTIONS, vec![p(inspection_ids.clone())]),
            Stmt::new(TASK_INSPECTIONS, vec![p(tasks)]),
            Stmt::new(REJECTED, vec![p(rejected.0), p(rejected.1)]),
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
            let outcome: serde_json::Value = r.try_get(2)?;
            known.insert(
                (r.try_get(0)?, r.try_get(1)?),
                serde_json::from_value(outcome)?,
            );
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
            rejected.insert((r.try_get(0)?, r.try_get(1)?));
        }
        let mut blobs = HashMap::new();
        if reads_blobs {
            for r in next() {
                let b = super::sync::blob_row(&r)?;
                blobs.insert(b.id, b);
            }
        }
        Ok(Work {
            read_seq: seq,
            seq,
            prev_hash,
            known,
            inspections,
            task_inspections,
            rejected,
            blobs,
            dirty: HashMap::new(),
            rows: Vec::new(),
            answers: Answers::default(),
            audits: Audits::default(),
        })
    }

    /// Decides one push's items on the group's state and queues its writes; the
    /// push takes the next change-sequence value if it stores anything.
    async fn push(
        &mut self,
        tx: &deadpool_postgres::Transaction<'_>,
        r: &Request,
    ) -> StoreResult<Vec<PushResult>> {
        let seq = self.seq + 1;
        let device_id = r.device_id;
        let mut out = Vec::with_capacity(r.items.len());
        let mut decided = false;
        for p in &r.items {
            let mutation_id = p.item.mutation_id;
            if let Some(outcome) = self.known.get(&(device_id, mutation_id)) {
                out.push(PushResult {
                    mutation_id,
                    outcome: outcome.clone(),
                });
                continue;
            }
            let inspection_id = p.item.inspection_id;
            let stored = self.stored(inspection_id);
            let state = ItemState {
                inspection: stored.map(|s| &s.inspection),
                task_inspection: match (stored, p.task_id) {
                    (None, Some(task)) => self.task_inspections.get(&task).copied(),
                    _ => None,
                },
                blob: match p.item.entity.as_str() {
                    "photo" | "signature" => self.blobs.get(&p.item.entity_id).cloned(),
                    _ => None,
                },
                earlier_rejected: self.rejected.contains(&(device_id, inspection_id)),
                photos: if p.item.entity == "photo" {
                    self.photos(inspection_id)
                } else {
                    (0, 0)
                },
            };
            let outcome = match (p.decide)(&p.item, &state) {
                ItemDecision::Apply {
                    inspection,
                    blob,
                    signature,
                } => {
                    let version = inspection.version;
                    self.keep(*inspection, seq, r.stamp.at);
                    if let Some(b) = &blob {
                        self.write_blob(inspection_id, b, seq)?;
                    }
                    if let Some(s) = &signature {
                        self.write_signature(inspection_id, s, seq)?;
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
                } => {
                    self.rejected.insert((device_id, inspection_id));
                    let current = match self.stored(inspection_id).filter(|_| show_current) {
                        Some(s) => {
                            let s = s.clone();
                            // The record shown is the one stored: with the group's
                            // earlier photos and signatures.
                            self.flush(tx).await?;
                            Some(Box::new(super::sync::bundle(tx, s).await?))
                        }
                        None => None,
                    };
                    ItemOutcome::Rejected {
                        reason,
                        message,
                        current,
                    }
                }
            };
            decided = true;
            let a = &mut self.answers;
            a.devices.push(device_id);
            a.mutations.push(mutation_id);
            a.inspections.push(inspection_id);
            a.device_seqs.push(p.item.device_seq);
            a.statuses.push(outcome.status());
            a.outcomes.push(serde_json::to_string(&outcome)?);
            a.seqs.push(seq);
            // The same mutation twice (in one batch, or a batch pushed again while
            // the first was queued) gets the first answer.
            self.known.insert((device_id, mutation_id), outcome.clone());
            out.push(PushResult {
                mutation_id,
                outcome,
            });
        }
        // A push whose every item is already answered (a replay) changes nothing
        // and takes no value: the sequence stays gap-free.
        if decided {
            self.seq = seq;
            self.audit(seq, &r.stamp, &r.event);
        }
        Ok(out)
    }

    /// The inspection as stored or as decided by an earlier item.
    fn stored(&self, id: Uuid) -> Option<&StoredInspection> {
        self.inspections.get(&id).and_then(Option::as_ref)
    }

    /// Photos of an inspection that are not voided, and their bytes.
    fn photos(&self, inspection_id: Uuid) -> (u64, u64) {
        self.blobs
            .values()
            .filter(|b| b.inspection_id == inspection_id && b.kind == BlobKind::Photo && !b.voided)
            .fold((0, 0), |(n, bytes), b| (n + 1, bytes + b.size.unwrap_or(0)))
    }

    /// An inspection as decided, to write with the change-sequence value `seq`.
    fn keep(&mut self, inspection: Inspection, seq: i64, at: DateTime<Utc>) {
        self.dirty.insert(inspection.id, at);
        self.task_inspections
            .entry(inspection.task_id)
            .or_insert(inspection.id);
        self.inspections
            .insert(inspection.id, Some(StoredInspection { inspection, seq }));
    }

    /// A blob row to insert or update, as the statement will: the row read, then
    /// changed, is what later items of the group see.
    fn write_blob(&mut self, inspection_id: Uuid, b: &BlobWrite, seq: i64) -> StoreResult<()> {
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

    fn write_signature(&mut self, inspection_id: Uuid, s: &Signature, seq: i64) -> StoreResult<()> {
        self.rows.push(Stmt::new(
            INSERT_SIGNATURE,
            vec![
                p(s.id),
                p(inspection_id),
                p(serde_json::to_value(s)?),
                p(seq),
            ],
        ));
        Ok(())
    }

    /// Sends the writes decided so far in one round trip: the changed inspections
    /// first (the blob and signature rows refer to them), then the other rows in
    /// order.
    async fn flush(&mut self, tx: &deadpool_postgres::Transaction<'_>) -> StoreResult<()> {
        let mut stmts = Vec::with_capacity(1 + self.rows.len());
        if !self.dirty.is_empty() {
            let mut upserts = Upserts::default();
            for (id, at) in std::mem::take(&mut self.dirty) {
                if let Some(Some(s)) = self.inspections.get(&id) {
                    upserts.push(s, at)?;
                }
            }
            stmts.push(upserts.into_stmt());
        }
        stmts.append(&mut self.rows);
        if !stmts.is_empty() {
            pipeline::run(tx, &stmts).await?;
        }
        Ok(())
    }

    /// Sends what is left (with every audit entry and answer of the group) and
    /// the change sequence's new value in one round trip. False: the group stored
    /// nothing (nothing was sent at all).
    async fn finish(&mut self, tx: &deadpool_postgres::Transaction<'_>) -> StoreResult<bool> {
        if self.seq == self.read_seq {
            return Ok(false);
        }
        let audits = std::mem::take(&mut self.audits).into_stmt();
        let answers = std::mem::take(&mut self.answers).into_stmt();
        self.rows.extend([audits, answers]);
        self.rows.push(Stmt::new(SET_SEQ, vec![p(self.seq)]));
        self.flush(tx).await?;
        Ok(true)
    }

    /// The audit entry of the push that took `seq`, chained to the one before.
    fn audit(&mut self, seq: i64, stamp: &Stamp, event: &AuditEvent) {
        let e = AuditEntry::seal(
            seq,
            crate::audit::time_text(stamp.at),
            stamp.actor.clone(),
            event,
            std::mem::take(&mut self.prev_hash),
        );
        self.prev_hash = e.hash.clone();
        self.audits.push(e);
    }
}
