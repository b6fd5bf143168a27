//! The rows a group of pushes writes column by column: every changed inspection,
//! every answer and every audit entry of the group in one statement each
//! (`UNNEST` of arrays), however many pushes and items the group holds.

use super::pipeline::{Param, Stmt, p};
use super::*;

/// Every inspection a group changed, in one statement (the body as JSON text,
/// made into JSONB by the server: no JSON tree built on this side).
const UPSERT_INSPECTIONS: &str =
    "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
     SELECT id, task_id, status, version, body::jsonb, updated_at, seq
     FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[],
                 $6::timestamptz[], $7::bigint[])
          AS u(id, task_id, status, version, body, updated_at, seq)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status,
         version = excluded.version, body = excluded.body,
         updated_at = excluded.updated_at, seq = excluded.seq";
/// Every answer of a group, in one statement.
const INSERT_RESULTS: &str =
    "INSERT INTO sync_results (device_id, mutation_id, inspection_id, device_seq,
                               status, outcome, seq)
     SELECT device_id, mutation_id, inspection_id, device_seq, status, outcome::jsonb, seq
     FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::text[],
                 $7::bigint[])
          AS u(device_id, mutation_id, inspection_id, device_seq, status, outcome, seq)";
/// Every audit entry of a group (one a push), in one statement.
const INSERT_AUDITS: &str =
    "INSERT INTO audit_log (change_seq, at, actor, action, subject, detail, prev_hash, hash)
     SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                          $6::text[], $7::text[], $8::text[])";

/// The inspections a group changed, column by column (each once, as last decided).
#[derive(Default)]
pub(super) struct Upserts {
    ids: Vec<Uuid>,
    tasks: Vec<Uuid>,
    statuses: Vec<&'static str>,
    versions: Vec<i64>,
    /// The inspection as JSON text.
    bodies: Vec<String>,
    times: Vec<DateTime<Utc>>,
    seqs: Vec<i64>,
}

impl Upserts {
    pub(super) fn push(&mut self, s: &StoredInspection, at: DateTime<Utc>) -> StoreResult<()> {
        let i = &s.inspection;
        self.ids.push(i.id);
        self.tasks.push(i.task_id);
        self.statuses.push(i.status.as_str());
        self.versions.push(i.version as i64);
        self.bodies.push(serde_json::to_string(i)?);
        self.times.push(at);
        self.seqs.push(s.seq);
        Ok(())
    }

    pub(super) fn into_stmt(self) -> Stmt {
        let params: Vec<Param> = vec![
            p(self.ids),
            p(self.tasks),
            p(self.statuses),
            p(self.versions),
            p(self.bodies),
            p(self.times),
            p(self.seqs),
        ];
        Stmt::new(UPSERT_INSPECTIONS, params)
    }
}

/// The answers of a group, column by column (one statement writes them all).
#[derive(Default)]
pub(super) struct Answers {
    pub(super) devices: Vec<Uuid>,
    pub(super) mutations: Vec<Uuid>,
    pub(super) inspections: Vec<Uuid>,
    pub(super) device_seqs: Vec<i64>,
    pub(super) statuses: Vec<&'static str>,
    /// ItemOutcome as JSON text.
    pub(super) outcomes: Vec<String>,
    pub(super) seqs: Vec<i64>,
}

impl Answers {
    pub(super) fn into_stmt(self) -> Stmt {
        let params: Vec<Param> = vec![
            p(self.devices),
            p(self.mutations),
            p(self.inspections),
            p(self.device_seqs),
            p(self.statuses),
            p(self.outcomes),
            p(self.seqs),
        ];
        Stmt::new(INSERT_RESULTS, params)
    }
}

/// The audit entries of a group, column by column.
#[derive(Default)]
pub(super) struct Audits {
    pub(super) seqs: Vec<i64>,
    pub(super) at: Vec<String>,
    pub(super) actors: Vec<String>,
    pub(super) actions: Vec<String>,
    pub(super) subjects: Vec<String>,
    pub(super) details: Vec<String>,
    pub(super) prev_hashes: Vec<String>,
    pub(super) hashes: Vec<String>,
}

impl Audits {
    pub(super) fn push(&mut self, e: AuditEntry) {
        self.seqs.push(e.change_seq);
        self.at.push(e.at);
        self.actors.push(e.actor);
        self.actions.push(e.action);
        self.subjects.push(e.subject);
        self.details.push(e.detail);
        self.prev_hashes.push(e.prev_hash);
        self.hashes.push(e.hash);
    }

    pub(super) fn into_stmt(self) -> Stmt {
        let params: Vec<Param> = vec![
            p(self.seqs),
            p(self.at),
            p(self.actors),
            p(self.actions),
            p(self.subjects),
            p(self.details),
            p(self.prev_hashes),
            p(self.hashes),
        ];
        Stmt::new(INSERT_AUDITS, params)
    }
}
