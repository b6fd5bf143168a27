//! The outbox (what sync pushes) and the local audit log (who changed what).
//!
//! Both are written by [`Change`], the handle every write gets inside its
//! transaction, so a change without its outbox entry or audit entry cannot commit.

use crate::Store;
use crate::codec::{json, parse_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::ids::IdSource;
use chrono::{DateTime, Utc};
use jiandu_core::Actor;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;
use uuid::Uuid;

/// One write in progress: the open transaction, the id source, who and when.
pub(crate) struct Change<'a> {
    pub tx: &'a Transaction<'a>,
    pub ids: &'a mut dyn IdSource,
    /// `None` when the change comes from the server by sync.
    pub actor: Option<&'a Actor>,
    pub at: DateTime<Utc>,
}

impl Change<'_> {
    pub fn new_id(&mut self) -> Uuid {
        self.ids.next_id()
    }

    pub fn at(&self) -> String {
        ts(self.at)
    }

    /// Appends an outbox entry; returns its device_seq.
    #[allow(clippy::too_many_arguments)]
    pub fn outbox(
        &mut self,
        entity: &str,
        entity_id: Uuid,
        inspection_id: Uuid,
        op: &str,
        base_version: Option<u64>,
        payload: &impl Serialize,
    ) -> Result<i64> {
        // The counter row is bumped inside this transaction: a rollback takes the
        // number back, so the sequence has no gaps, and IMMEDIATE transactions
        // serialise writers, so it never repeats.
        let seq: i64 = self.tx.query_row(
            "UPDATE device_counter SET last_device_seq = last_device_seq + 1
             WHERE id = 1 RETURNING last_device_seq",
            [],
            |r| r.get(0),
        )?;
        let mutation_id = self.new_id();
        self.tx.execute(
            "INSERT INTO outbox (device_seq, mutation_id, entity, entity_id, inspection_id,
                                 op, base_version, payload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                seq,
                mutation_id.to_string(),
                entity,
                entity_id.to_string(),
                inspection_id.to_string(),
                op,
                base_version.map(|v| v as i64),
                json(payload)?,
                self.at(),
            ],
        )?;
        Ok(seq)
    }

    /// Appends an audit entry. `before`/`after` are JSON texts (None: absent).
    pub fn audit(
        &mut self,
        entity: &str,
        entity_id: Uuid,
        action: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> Result<()> {
        self.tx.execute(
            "INSERT INTO audit_log (at, user_id, entity, entity_id, action, before_json,
                                    after_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                self.at(),
                self.actor.map(|a| a.user_id.to_string()),
                entity,
                entity_id.to_string(),
                action,
                before,
                after,
            ],
        )?;
        Ok(())
    }
}

/// One outbox entry as sync reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub device_seq: i64,
    pub mutation_id: Uuid,
    /// inspection, finding, photo or signature.
    pub entity: String,
    pub entity_id: Uuid,
    pub inspection_id: Uuid,
    pub op: String,
    pub base_version: Option<u64>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// pending, applied or rejected.
    pub state: String,
}

impl OutboxEntry {
    /// The entry as a push sends it.
    pub fn into_push_item(self) -> jiandu_core::protocol::PushItem {
        jiandu_core::protocol::PushItem {
            mutation_id: self.mutation_id,
            device_seq: self.device_seq,
            entity: self.entity,
            entity_id: self.entity_id,
            inspection_id: self.inspection_id,
            op: self.op,
            base_version: self.base_version,
            payload: self.payload,
        }
    }
}

/// Counts over the whole outbox, for checks and the sync status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutboxStats {
    pub entries: i64,
    pub pending: i64,
    /// Smallest and largest device_seq present (0 when empty).
    pub min_seq: i64,
    pub max_seq: i64,
    /// The counter's value: the last device_seq handed out.
    pub last_device_seq: i64,
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `None`: applied from the server by sync.
    pub user_id: Option<Uuid>,
    pub entity: String,
    pub entity_id: Uuid,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

fn parse_json(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Data(format!("JSON 无法解析：{e}")))
}

const OUTBOX_COLUMNS: &str = "device_seq, mutation_id, entity, entity_id, inspection_id, op,
     base_version, payload, created_at, state";

fn outbox_entry(r: &Row<'_>) -> rusqlite::Result<Result<OutboxEntry>> {
    let raw: (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
        String,
        String,
        String,
    ) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    );
    Ok((|| {
        Ok(OutboxEntry {
            device_seq: raw.0,
            mutation_id: parse_uuid(&raw.1)?,
            entity: raw.2,
            entity_id: parse_uuid(&raw.3)?,
            inspection_id: parse_uuid(&raw.4)?,
            op: raw.5,
            base_version: raw.6.map(|v| v as u64),
            payload: parse_json(&raw.7)?,
            created_at: parse_ts(&raw.8)?,
            state: raw.9,
        })
    })())
}

impl Store {
    /// Pending outbox entries in device_seq order (what the next push sends).
    pub fn pending_outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending'
             ORDER BY device_seq LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], outbox_entry)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// The outbox entry at `device_seq`, if present.
    pub fn outbox_entry(&self, device_seq: i64) -> Result<Option<OutboxEntry>> {
        self.conn
            .query_row(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE device_seq = ?1"),
                [device_seq],
                outbox_entry,
            )
            .optional()?
            .transpose()
    }

    /// Counts over the outbox, and the device counter.
    pub fn outbox_stats(&self) -> Result<OutboxStats> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(state = 'pending'), 0),
                    coalesce(min(device_seq), 0), coalesce(max(device_seq), 0),
                    (SELECT last_device_seq FROM device_counter WHERE id = 1)
             FROM outbox",
            [],
            |r| {
                Ok(OutboxStats {
                    entries: r.get(0)?,
                    pending: r.get(1)?,
                    min_seq: r.get(2)?,
                    max_seq: r.get(3)?,
                    last_device_seq: r.get(4)?,
                })
            },
        )?)
    }

    /// The audit trail of one record, oldest first.
    pub fn audit_trail(&self, entity_id: Uuid) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, user_id, entity, entity_id, action, before_json, after_json
             FROM audit_log WHERE entity_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([entity_id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (at, user, entity, id, action, before, after) = row?;
            out.push(AuditEntry {
                at: parse_ts(&at)?,
                user_id: user.as_deref().map(parse_uuid).transpose()?,
                entity,
                entity_id: parse_uuid(&id)?,
                action,
                before: before.as_deref().map(parse_json).transpose()?,
                after: after.as_deref().map(parse_json).transpose()?,
            });
        }
        Ok(out)
    }

    /// Number of audit-log entries (all records).
    pub fn audit_len(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?)
    }
}
