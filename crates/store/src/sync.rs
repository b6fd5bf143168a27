//! What sync (jiandu-sync) reads and writes on the device, each in one transaction:
//!
//! - enrolment and the pull cursor ([`SyncState`]); the token is NOT here;
//! - push answers: `applied` marks the outbox entry; `rejected` marks it and files a
//!   conflict (冲突) with the server's version beside the local edit;
//! - pull pages: tasks, tombstones and server versions of inspections, applied
//!   together with the page's cursor. An inspection with unsent local edits is not
//!   overwritten: its server version waits in `pull_deferred` and is applied once
//!   the outbox has nothing pending for it, unless an edit of ours the server
//!   applied later supersedes it (compared by server change sequence). A local
//!   inspection that lost to another device's inspection of the same task is moved
//!   into `superseded_inspections` once none of its edits is unsent, and the
//!   platform's takes its place;
//! - uploads: progress, and files the server refuses;
//! - document numbers (文号): leased blocks, used offline, next block asked for
//!   when half is used.

use crate::codec::{json, parse_opt_ts, parse_uuid, ts};
use crate::error::{Result, StoreError};
use crate::files::{self, FileSource};
use crate::inspections::{read_inspection, write_header};
use crate::log::Change;
use crate::tasks::upsert_task_in;
use crate::{MAX_PHOTO_BYTES, MAX_SIGNATURE_BYTES, Store};
use chrono::{DateTime, Utc};
use jiandu_core::protocol::{
    BlobKind, ChangeBody, DocNumberLease, ItemOutcome, PullPage, ServerInspection,
};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;

/// Enrolment and progress of sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncState {
    pub server_url: Option<String>,
    pub device_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub epoch: Option<Uuid>,
    /// Pull cursor (server change sequence).
    pub cursor: i64,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Set when the server revoked this device.
    pub revoked_message: Option<String>,
    /// 执法机关 the platform prints on its documents, told at enrolment (None from an
    /// older platform, or before enrolment).
    pub authority: Option<String>,
}

/// A rejected local edit, as the conflicts list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub id: i64,
    pub device_seq: i64,
    pub entity: String,
    pub entity_id: Uuid,
    pub inspection_id: Uuid,
    pub op: String,
    /// locked, stale, forbidden, invalid or dependency_rejected.
    pub reason: String,
    pub message: String,
    /// The local change.
    pub local: serde_json::Value,
    /// The server's inspection when it refused (None: it had none).
    pub server: Option<ServerInspection>,
    pub at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What applying push answers did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PushTally {
    pub applied: u64,
    pub rejected: u64,
}

/// What applying a pull page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PullTally {
    /// Plan versions received (new to this device).
    pub plans: u64,
    pub tasks: u64,
    pub tasks_removed: u64,
    pub inspections: u64,
    /// Server versions kept aside because local edits are unsent.
    pub deferred: u64,
    /// Photos or signatures the server listed whose file this device lacks (not
    /// yet uploaded by the device that took them).
    pub files_missing: u64,
}

/// A file to upload with what its registration needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadJob {
    pub blob_id: Uuid,
    pub kind: BlobKind,
    pub inspection_id: Uuid,
    pub sha256: String,
    pub size: u64,
    pub mime: String,
    pub uploaded_bytes: u64,
    pub path: std::path::PathBuf,
}

/// Document numbers held for one authority and year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DocNumberStock {
    /// Numbers still available on this device.
    pub remaining: u64,
    /// Size of the newest block (0: none leased yet).
    pub last_block: u64,
    /// Highest number ever held (0: none).
    pub highest: u32,
}

impl DocNumberStock {
    /// Ask for the next block when half of the newest is used (or none is held).
    pub fn wants_more(&self) -> bool {
        self.remaining * 2 <= self.last_block
    }
}

fn ser_err(e: serde_json::Error) -> StoreError {
    StoreError::Data(format!("JSON 无法解析：{e}"))
}

impl Store {
    /// Enrolment and pull progress.
    pub fn sync_state(&self) -> Result<SyncState> {
        let row = self.conn.query_row(
            "SELECT server_url, device_id, user_id, epoch, cursor, last_sync_at, revoked_message,
                    authority
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )?;
        Ok(SyncState {
            server_url: row.0,
            device_id: row.1.as_deref().map(parse_uuid).transpose()?,
            user_id: row.2.as_deref().map(parse_uuid).transpose()?,
            epoch: row.3.as_deref().map(parse_uuid).transpose()?,
            cursor: row.4,
            last_sync_at: parse_opt_ts(row.5)?,
            revoked_message: row.6,
            authority: row.7,
        })
    }

    /// Records an enrolment. A new device id starts pulling from 0 (a re-enrolled
    /// device gets back everything the server has for it); unsent work stays.
    /// `authority`: the 执法机关 the platform prints (the device prints it too).
    pub fn set_enrolment(
        &mut self,
        server_url: &str,
        device_id: Uuid,
        user_id: Uuid,
        epoch: Uuid,
        authority: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.write(None, at, |c| {
            c.tx.execute(
                "UPDATE sync_state SET
                    cursor = CASE WHEN device_id IS ?2 THEN cursor ELSE 0 END,
                    server_url = ?1, device_id = ?2, user_id = ?3, epoch = ?4,
                    authority = ?5, revoked_at = NULL, revoked_message = NULL
                 WHERE id = 1",
                params![
                    server_url,
                    device_id.to_string(),
                    user_id.to_string(),
                    epoch.to_string(),
                    authority.map(str::trim).filter(|a| !a.is_empty())
                ],
            )?;
            c.audit(
                "device",
                device_id,
                "enrol",
                None,
                Some(json(&serde_json::json!({ "server_url": server_url }))?),
            )
        })
    }

    /// The server revoked this device: sync stops; nothing local is removed.
    pub fn mark_revoked(&mut self, message: &str, at: DateTime<Utc>) -> Result<()> {
        tracing::warn!(message, "device marked revoked: sync stops for good");
        self.write(None, at, |c| {
            c.tx.execute(
                "UPDATE sync_state SET revoked_at = ?1, revoked_message = ?2 WHERE id = 1",
                params![c.at(), message],
            )?;
            Ok(())
        })
    }

    /// A sync finished without error.
    pub fn record_sync_success(&mut self, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_state SET last_sync_at = ?1 WHERE id = 1",
            [ts(at)],
        )?;
        Ok(())
    }

    /// The server database has a new epoch (restored): pull everything again from
    /// 0. Unsent outbox entries are kept and pushed as usual.
    pub fn reset_for_resync(&mut self, epoch: Uuid, at: DateTime<Utc>) -> Result<()> {
        tracing::warn!(%epoch, "pull cursor reset for a full resync");
        self.write(None, at, |c| {
            c.tx.execute(
                "UPDATE sync_state SET cursor = 0, epoch = ?1 WHERE id = 1",
                [epoch.to_string()],
            )?;
            Ok(())
        })
    }

    /// Applies the server's answers to pushed entries (by device_seq), in one
    /// transaction. Already answered entries are left as they are (a replay).
    pub fn record_push_results(
        &mut self,
        results: &[(i64, ItemOutcome)],
        at: DateTime<Utc>,
    ) -> Result<PushTally> {
        self.write(None, at, |c| {
            let mut tally = PushTally::default();
            for (seq, outcome) in results {
                // Statements prepared once per connection: a push of 500 items is
                // otherwise 1,000 statements parsed on a tablet's CPU.
                if let ItemOutcome::Applied { server_seq, .. } = outcome {
                    // The common answer, one statement: the row is read below only
                    // when it was not pending (answered before) or is missing.
                    let n =
                        c.tx.prepare_cached(
                            "UPDATE outbox SET state = 'applied', server_seq = ?2
                             WHERE device_seq = ?1 AND state = 'pending'",
                        )?
                        .execute(params![seq, server_seq])?;
                    if n == 1 {
                        tally.applied += 1;
                        continue;
                    }
                }
                let row: Option<(String, String, String, String, String, String)> =
                    c.tx.prepare_cached(
                        "SELECT state, entity, entity_id, inspection_id, op, payload
                         FROM outbox WHERE device_seq = ?1",
                    )?
                    .query_row([seq], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })
                    .optional()?;
                let Some((state, entity, entity_id, inspection_id, op, payload)) = row else {
                    return Err(StoreError::not_found("同步记录", seq));
                };
                if state != "pending" {
                    continue;
                }
                match outcome {
                    // Pending, yet not updated above: cannot be.
                    ItemOutcome::Applied { .. } => {
                        return Err(StoreError::Data(format!("同步记录 {seq} 的状态无法更新")));
                    }
                    ItemOutcome::Rejected {
                        reason,
                        message,
                        current,
                    } => {
                        c.tx.execute(
                            "UPDATE outbox SET state = 'rejected', reject_code = ?2,
                                reject_message = ?3
                             WHERE device_seq = ?1",
                            params![seq, reason.as_str(), message],
                        )?;
                        let server_json = current.as_ref().map(|s| json(&**s)).transpose()?;
                        c.tx.execute(
                            "INSERT INTO conflicts (device_seq, entity, entity_id, inspection_id,
                                op, reason, message, local_json, server_json, at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                            params![
                                seq,
                                entity,
                                entity_id,
                                inspection_id,
                                op,
                                reason.as_str(),
                                message,
                                payload,
                                server_json,
                                c.at(),
                            ],
                        )?;
                        // A photo whose edit was refused is not uploaded either.
                        if entity == "photo" || entity == "signature" {
                            c.tx.execute(
                                "UPDATE upload_queue SET blocked = ?2 WHERE blob_id = ?1",
                                params![entity_id, message],
                            )?;
                        }
                        if let Some(s) = current {
                            defer(c, s)?;
                        }
                        tally.rejected += 1;
                    }
                }
            }
            Ok(tally)
        })
    }

    /// Rejected local edits, oldest first (open ones only unless `all`).
    pub fn conflicts(&self, all: bool) -> Result<Vec<Conflict>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, device_seq, entity, entity_id, inspection_id, op, reason, message,
                    local_json, server_json, at, resolved_at
             FROM conflicts WHERE ?1 OR resolved_at IS NULL ORDER BY id",
        )?;
        let mut rows = stmt.query([all])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let local: String = r.get(8)?;
            let server: Option<String> = r.get(9)?;
            out.push(Conflict {
                id: r.get(0)?,
                device_seq: r.get(1)?,
                entity: r.get(2)?,
                entity_id: parse_uuid(&r.get::<_, String>(3)?)?,
                inspection_id: parse_uuid(&r.get::<_, String>(4)?)?,
                op: r.get(5)?,
                reason: r.get(6)?,
                message: r.get(7)?,
                local: serde_json::from_str(&local).map_err(ser_err)?,
                server: server
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(ser_err)?,
                at: crate::codec::parse_ts(&r.get::<_, String>(10)?)?,
                resolved_at: parse_opt_ts(r.get(11)?)?,
            });
        }
        Ok(out)
    }

    /// The inspector has seen a conflict.
    pub fn resolve_conflict(&mut self, id: i64, at: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE conflicts SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
            params![id, ts(at)],
        )?;
        Ok(())
    }

    /// Photos and signature images a page lists that this device has no file for
    /// (kind, id, sha256): sync downloads them before applying the page.
    pub fn missing_files(&self, page: &PullPage) -> Vec<(BlobKind, Uuid, String)> {
        let mut out = Vec::new();
        for ch in &page.changes {
            if let ChangeBody::Inspection { inspection } = &ch.body {
                for p in &inspection.photos {
                    if !self.photo_path(p.id).exists() {
                        out.push((BlobKind::Photo, p.id, p.sha256.clone()));
                    }
                }
                for s in &inspection.signatures {
                    if let Some(sha) = &s.image_sha256
                        && !self.signature_path(s.id).exists()
                    {
                        out.push((BlobKind::Signature, s.id, sha.clone()));
                    }
                }
            }
        }
        out
    }

    /// Writes a photo or signature file downloaded from the server, once and
    /// durably, after checking its SHA-256.
    pub fn import_file(&self, kind: BlobKind, id: Uuid, sha256: &str, bytes: &[u8]) -> Result<()> {
        let (dir, max) = match kind {
            BlobKind::Photo => (self.data.photos(), MAX_PHOTO_BYTES),
            BlobKind::Signature => (self.data.signatures(), MAX_SIGNATURE_BYTES),
        };
        let actual = {
            use sha2::{Digest, Sha256};
            hex::encode(Sha256::digest(bytes))
        };
        if actual != sha256 {
            return Err(StoreError::Invalid(format!(
                "下载的文件校验失败（{id}）：应为 {sha256}，实为 {actual}"
            )));
        }
        if dir.join(id.to_string()).exists() {
            return Ok(());
        }
        files::write_once(
            &dir,
            id,
            FileSource::Bytes(bytes),
            max,
            |_| Ok(()),
            self.key.as_ref(),
        )?;
        Ok(())
    }

    /// Applies a pull page and its cursor in ONE transaction.
    pub fn apply_pull_page(&mut self, page: &PullPage, at: DateTime<Utc>) -> Result<PullTally> {
        let photos_dir = self.data.photos();
        let signatures_dir = self.data.signatures();
        self.write(None, at, |c| {
            let mut tally = PullTally::default();
            for ch in &page.changes {
                match &ch.body {
                    ChangeBody::Plan { plan } => {
                        if crate::plans::store_plan_in(c, plan)? {
                            tally.plans += 1;
                        }
                    }
                    ChangeBody::Task { task } => {
                        upsert_task_in(c, task)?;
                        tally.tasks += 1;
                    }
                    ChangeBody::TaskRemoved { task_id } => {
                        // Only a task with no local inspection goes: local work is
                        // evidence and stays (its edits will be refused and shown).
                        let has_inspection: bool = c.tx.query_row(
                            "SELECT EXISTS (SELECT 1 FROM inspections WHERE task_id = ?1)",
                            [task_id.to_string()],
                            |r| r.get(0),
                        )?;
                        if !has_inspection {
                            c.tx.execute(
                                "DELETE FROM task_inspectors WHERE task_id = ?1",
                                [task_id.to_string()],
                            )?;
                            c.tx.execute("DELETE FROM tasks WHERE id = ?1", [task_id.to_string()])?;
                            c.audit("task", *task_id, "remove_task", None, None)?;
                            tally.tasks_removed += 1;
                        }
                    }
                    // A kind of change a later platform sends: nothing to keep.
                    ChangeBody::Unknown => {}
                    ChangeBody::Inspection { inspection } => {
                        if has_pending(c, inspection.inspection.id)? {
                            defer(c, inspection)?;
                            tally.deferred += 1;
                        } else {
                            tally.files_missing +=
                                replace_inspection(c, inspection, &photos_dir, &signatures_dir)?;
                            tally.inspections += 1;
                        }
                    }
                }
            }
            c.tx.execute(
                "UPDATE sync_state SET cursor = ?1, epoch = ?2 WHERE id = 1",
                params![page.next, page.epoch.to_string()],
            )?;
            Ok(tally)
        })
        .inspect(|tally| {
            if tally.plans > 0 {
                self.plans_changed
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
        })
    }

    /// The task of a local inspection that lost to another device's and was moved
    /// aside (see `superseded_inspections`); `None` for any other id.
    pub fn superseded_task(&self, inspection_id: Uuid) -> Result<Option<Uuid>> {
        self.conn
            .query_row(
                "SELECT task_id FROM superseded_inspections WHERE id = ?1",
                [inspection_id.to_string()],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .as_deref()
            .map(parse_uuid)
            .transpose()
    }

    /// Applies server versions kept aside, for inspections with nothing pending any
    /// more. A version older than an edit of ours the server applied later is
    /// dropped: the next pull brings the newer one.
    pub fn apply_deferred(&mut self, at: DateTime<Utc>) -> Result<u64> {
        let photos_dir = self.data.photos();
        let signatures_dir = self.data.signatures();
        self.write(None, at, |c| {
            let rows: Vec<(String, i64, String)> = {
                let mut st =
                    c.tx.prepare("SELECT inspection_id, server_seq, snapshot FROM pull_deferred")?;
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            let mut applied = 0;
            for (id, seq, snapshot) in rows {
                let insp_id = parse_uuid(&id)?;
                if has_pending(c, insp_id)? {
                    continue;
                }
                let newest_ours: Option<i64> = c.tx.query_row(
                    "SELECT max(server_seq) FROM outbox
                     WHERE inspection_id = ?1 AND state = 'applied'",
                    [&id],
                    |r| r.get(0),
                )?;
                // Deleted first: applying it may set it aside again (the task's
                // other local inspection still has edits to send).
                c.tx.execute("DELETE FROM pull_deferred WHERE inspection_id = ?1", [&id])?;
                if newest_ours.is_none_or(|ours| seq > ours) {
                    let s: ServerInspection = serde_json::from_str(&snapshot).map_err(ser_err)?;
                    replace_inspection(c, &s, &photos_dir, &signatures_dir)?;
                    applied += 1;
                }
            }
            Ok(applied)
        })
    }

    /// Files to upload now: not verified yet, not refused, and the server already
    /// has the edit that created them (their outbox entry was applied).
    pub fn upload_jobs(&self) -> Result<Vec<UploadJob>> {
        let mut stmt = self.conn.prepare(
            "SELECT q.blob_id, q.kind, q.uploaded_bytes,
                    coalesce(p.inspection_id, s.inspection_id),
                    coalesce(p.sha256, s.image_sha256),
                    coalesce(p.size_bytes, s.image_size),
                    coalesce(p.mime, 'image/png')
             FROM upload_queue q
             LEFT JOIN photos p ON q.kind = 'photo' AND p.id = q.blob_id
             LEFT JOIN signatures s ON q.kind = 'signature' AND s.id = q.blob_id
             WHERE q.state <> 'done' AND q.blocked IS NULL
               AND EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = q.blob_id
                           AND o.op = 'create' AND o.state = 'applied')
             ORDER BY q.queued_at, q.blob_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id = parse_uuid(&r.get::<_, String>(0)?)?;
            let kind: String = r.get(1)?;
            let kind = BlobKind::parse(&kind)
                .ok_or_else(|| StoreError::Data(format!("未知的文件类型“{kind}”")))?;
            out.push(UploadJob {
                blob_id: id,
                kind,
                inspection_id: parse_uuid(&r.get::<_, String>(3)?)?,
                sha256: r.get(4)?,
                size: r.get::<_, i64>(5)? as u64,
                mime: r.get(6)?,
                uploaded_bytes: r.get::<_, i64>(2)? as u64,
                path: match kind {
                    BlobKind::Photo => self.photo_path(id),
                    BlobKind::Signature => self.signature_path(id),
                },
            });
        }
        Ok(out)
    }

    /// Files not yet verified by the server (for the progress bar), and their bytes.
    pub fn uploads_left(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(coalesce(p.size_bytes, s.image_size, 0)
                                            - q.uploaded_bytes), 0)
             FROM upload_queue q
             LEFT JOIN photos p ON q.kind = 'photo' AND p.id = q.blob_id
             LEFT JOIN signatures s ON q.kind = 'signature' AND s.id = q.blob_id
             WHERE q.state <> 'done' AND q.blocked IS NULL",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)?.max(0) as u64,
                ))
            },
        )?)
    }

    /// Records how far an upload is (`done`: the server verified the hash).
    pub fn set_upload_progress(
        &mut self,
        blob_id: Uuid,
        uploaded_bytes: u64,
        done: bool,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE upload_queue SET uploaded_bytes = ?2, updated_at = ?3,
                state = CASE WHEN ?4 THEN 'done' WHEN ?2 > 0 THEN 'uploading' ELSE 'registered' END
             WHERE blob_id = ?1",
            params![blob_id.to_string(), uploaded_bytes as i64, ts(at), done],
        )?;
        Ok(())
    }

    /// The server refuses a file for good (e.g. the local file is damaged): it is
    /// not retried; the reason is shown.
    pub fn block_upload(&mut self, blob_id: Uuid, reason: &str) -> Result<()> {
        tracing::error!(blob = %blob_id, reason, "upload blocked");
        self.conn.execute(
            "UPDATE upload_queue SET blocked = ?2 WHERE blob_id = ?1",
            params![blob_id.to_string(), reason],
        )?;
        Ok(())
    }

    /// Files the server refuses, with the reason.
    pub fn blocked_uploads(&self) -> Result<Vec<(Uuid, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT blob_id, blocked FROM upload_queue WHERE blocked IS NOT NULL")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            let (id, why) = r?;
            out.push((parse_uuid(&id)?, why));
        }
        Ok(out)
    }

    /// Numbers held for `authority` and `year`.
    pub fn doc_number_stock(&self, authority: &str, year: i32) -> Result<DocNumberStock> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(last + 1 - next), 0),
                    coalesce((SELECT last - first + 1 FROM doc_number_blocks
                              WHERE authority = ?1 AND year = ?2 ORDER BY first DESC LIMIT 1), 0),
                    coalesce(max(last), 0)
             FROM doc_number_blocks WHERE authority = ?1 AND year = ?2",
            params![authority, year],
            |r| {
                Ok(DocNumberStock {
                    remaining: r.get::<_, i64>(0)? as u64,
                    last_block: r.get::<_, i64>(1)? as u64,
                    highest: r.get::<_, i64>(2)? as u32,
                })
            },
        )?)
    }

    /// Takes the next unused number (offline). `None`: no block held: the caller
    /// must sync first.
    pub fn take_doc_number(
        &mut self,
        authority: &str,
        year: i32,
        at: DateTime<Utc>,
    ) -> Result<Option<u32>> {
        self.write(None, at, |c| {
            let n: Option<i64> =
                c.tx.query_row(
                    "UPDATE doc_number_blocks SET next = next + 1
                 WHERE rowid = (SELECT rowid FROM doc_number_blocks
                                WHERE authority = ?1 AND year = ?2 AND next <= last
                                ORDER BY first LIMIT 1)
                 RETURNING next - 1",
                    params![authority, year],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(n) = n {
                c.audit(
                    "doc_number",
                    Uuid::nil(),
                    "take",
                    None,
                    Some(json(&serde_json::json!({
                        "authority": authority, "year": year, "number": n
                    }))?),
                )?;
            }
            Ok(n.map(|n| n as u32))
        })
    }

    /// The request id to lease the next block with: the same one until a block
    /// arrives, so a retried request is answered with the same block.
    pub fn lease_request_id(
        &mut self,
        authority: &str,
        year: i32,
        new_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Uuid> {
        self.conn.execute(
            "INSERT OR IGNORE INTO doc_number_requests (authority, year, request_id, requested_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![authority, year, new_id.to_string(), ts(at)],
        )?;
        let id: String = self.conn.query_row(
            "SELECT request_id FROM doc_number_requests WHERE authority = ?1 AND year = ?2",
            params![authority, year],
            |r| r.get(0),
        )?;
        parse_uuid(&id)
    }

    /// Stores a leased block and closes its request, in one transaction. A block
    /// already held (a replayed answer) is not added twice.
    pub fn add_doc_number_lease(
        &mut self,
        lease: &DocNumberLease,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.write(None, at, |c| {
            c.tx.execute(
                "INSERT OR IGNORE INTO doc_number_blocks (authority, year, first, last, next,
                                                          leased_at)
                 VALUES (?1, ?2, ?3, ?4, ?3, ?5)",
                params![lease.authority, lease.year, lease.first, lease.last, c.at()],
            )?;
            c.tx.execute(
                "DELETE FROM doc_number_requests WHERE authority = ?1 AND year = ?2",
                params![lease.authority, lease.year],
            )?;
            Ok(())
        })
    }
}

fn has_pending(c: &Change<'_>, inspection_id: Uuid) -> Result<bool> {
    Ok(c.tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE inspection_id = ?1 AND state = 'pending')",
        [inspection_id.to_string()],
        |r| r.get(0),
    )?)
}

/// Moves a local inspection that lost to the platform's inspection `by` of the same
/// task into `superseded_inspections` (a snapshot of it with its findings and the
/// rows of its photos and signatures; the files stay where they are), then removes
/// its rows so the platform's can be stored. Its refused edits stay in the outbox
/// and in the conflicts list.
fn supersede(c: &mut Change<'_>, local: Uuid, by: Uuid) -> Result<()> {
    let Some(insp) = read_inspection(c.tx, local)? else {
        return Ok(());
    };
    let id = local.to_string();
    let photos = rows_json(c.tx, "photos", &id)?;
    let signatures = rows_json(c.tx, "signatures", &id)?;
    let snapshot = serde_json::json!({
        "inspection": insp,
        "photos": photos,
        "signatures": signatures,
    });
    c.tx.execute(
        "INSERT INTO superseded_inspections (id, task_id, superseded_by, superseded_at, snapshot)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            insp.task_id.to_string(),
            by.to_string(),
            c.at(),
            snapshot.to_string()
        ],
    )?;
    c.tx.execute(
        "DELETE FROM upload_queue WHERE blob_id IN
            (SELECT id FROM photos WHERE inspection_id = ?1
             UNION ALL SELECT id FROM signatures WHERE inspection_id = ?1)",
        [&id],
    )?;
    for table in ["photos", "signatures", "findings"] {
        c.tx.execute(
            &format!("DELETE FROM {table} WHERE inspection_id = ?1"),
            [&id],
        )?;
    }
    c.tx.execute("DELETE FROM pull_deferred WHERE inspection_id = ?1", [&id])?;
    c.tx.execute("DELETE FROM inspections WHERE id = ?1", [&id])?;
    c.audit(
        "inspection",
        local,
        "superseded",
        Some(snapshot.to_string()),
        Some(json(&serde_json::json!({ "superseded_by": by }))?),
    )?;
    Ok(())
}

/// The rows of `table` that belong to inspection `id`, as JSON objects (every
/// column, by name).
fn rows_json(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    id: &str,
) -> Result<Vec<serde_json::Value>> {
    use rusqlite::types::ValueRef;
    let mut st = tx.prepare(&format!("SELECT * FROM {table} WHERE inspection_id = ?1"))?;
    let names: Vec<String> = st.column_names().iter().map(|n| (*n).to_owned()).collect();
    let mut rows = st.query([id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut obj = serde_json::Map::new();
        for (k, name) in names.iter().enumerate() {
            let v = match r.get_ref(k)? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(i) => i.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(b) => hex::encode(b).into(),
            };
            obj.insert(name.clone(), v);
        }
        out.push(serde_json::Value::Object(obj));
    }
    Ok(out)
}

/// Keeps a server version aside (the newest one wins).
fn defer(c: &Change<'_>, s: &ServerInspection) -> Result<()> {
    c.tx.execute(
        "INSERT INTO pull_deferred (inspection_id, server_seq, snapshot) VALUES (?1, ?2, ?3)
         ON CONFLICT (inspection_id) DO UPDATE SET server_seq = excluded.server_seq,
             snapshot = excluded.snapshot
         WHERE excluded.server_seq >= pull_deferred.server_seq",
        params![s.inspection.id.to_string(), s.seq, json(s)?],
    )?;
    Ok(())
}

/// Replaces the local copy of an inspection by the server's (the server has the
/// last word; nothing of it is pending here). Returns how many evidence files the
/// device lacks (their rows are not written: a row never points to a missing file).
fn replace_inspection(
    c: &mut Change<'_>,
    s: &ServerInspection,
    photos_dir: &std::path::Path,
    signatures_dir: &std::path::Path,
) -> Result<u64> {
    let insp = &s.inspection;
    let id = insp.id.to_string();
    // Another local inspection of the same task: two tablets started it offline and
    // the platform kept the other's start. While edits of ours are still unsent the
    // server's version waits; once they are all answered (refused, and listed as
    // conflicts), ours is moved aside whole and the platform's takes its place.
    let other: Option<String> =
        c.tx.query_row(
            "SELECT id FROM inspections WHERE task_id = ?1 AND id <> ?2",
            params![insp.task_id.to_string(), id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = other {
        let other = parse_uuid(&other)?;
        if has_pending(c, other)? {
            defer(c, s)?;
            return Ok(0);
        }
        supersede(c, other, insp.id)?;
    }
    let before = read_inspection(c.tx, insp.id)?;
    if before.as_ref() == Some(insp) {
        return Ok(0);
    }
    write_header(c, insp)?;
    let keep: Vec<String> = insp.findings.iter().map(|f| f.id.to_string()).collect();
    c.tx.execute(
        "DELETE FROM findings WHERE inspection_id = ?1
           AND id NOT IN (SELECT value FROM json_each(?2))
           AND id NOT IN (SELECT finding_id FROM photos WHERE finding_id IS NOT NULL)",
        params![id, json(&keep)?],
    )?;
    for f in &insp.findings {
        c.tx.execute(
            "INSERT INTO findings (id, inspection_id, point, verdict, observation, recorded_by,
                                   recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET point = excluded.point, verdict = excluded.verdict,
                observation = excluded.observation, recorded_by = excluded.recorded_by,
                recorded_at = excluded.recorded_at",
            params![
                f.id.to_string(),
                id,
                f.point,
                f.verdict.as_str(),
                f.observation,
                f.recorded_by.to_string(),
                ts(f.recorded_at)
            ],
        )?;
    }
    let mut missing = 0;
    for p in &s.photos {
        let exists: bool = c.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM photos WHERE id = ?1)",
            [p.id.to_string()],
            |r| r.get(0),
        )?;
        if exists {
            c.tx.execute(
                "UPDATE photos SET voided_by = ?2, voided_at = ?3, void_reason = ?4
                 WHERE id = ?1 AND voided_at IS NULL AND ?3 IS NOT NULL",
                params![
                    p.id.to_string(),
                    p.voided_by.map(|u| u.to_string()),
                    p.voided_at.map(ts),
                    p.void_reason
                ],
            )?;
        } else if photos_dir.join(p.id.to_string()).exists() {
            c.tx.execute(
                "INSERT INTO photos (id, inspection_id, finding_id, sha256, size_bytes, mime,
                    taken_at, latitude, longitude, captured_by, captured_at, voided_by, voided_at,
                    void_reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    p.id.to_string(),
                    id,
                    p.finding_id.map(|f| f.to_string()),
                    p.sha256,
                    p.size_bytes as i64,
                    p.mime,
                    ts(p.taken_at),
                    p.location.map(|g| g.lat),
                    p.location.map(|g| g.lon),
                    p.captured_by.to_string(),
                    ts(p.captured_at),
                    p.voided_by.map(|u| u.to_string()),
                    p.voided_at.map(ts),
                    p.void_reason
                ],
            )?;
        } else {
            missing += 1;
        }
    }
    for sig in &s.signatures {
        let exists: bool = c.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM signatures WHERE id = ?1)",
            [sig.id.to_string()],
            |r| r.get(0),
        )?;
        if exists {
            continue;
        }
        let size = match &sig.image_sha256 {
            None => None,
            Some(_) => match std::fs::metadata(signatures_dir.join(sig.id.to_string())) {
                Ok(m) => Some(m.len() as i64),
                Err(_) => {
                    missing += 1;
                    continue;
                }
            },
        };
        c.tx.execute(
            "INSERT INTO signatures (id, inspection_id, role, signer_name, image_sha256,
                image_size, refusal_reason, signed_at, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '')",
            params![
                sig.id.to_string(),
                id,
                sig.role.as_str(),
                sig.signer_name,
                sig.image_sha256,
                size,
                sig.refusal_reason,
                ts(sig.signed_at)
            ],
        )?;
    }
    let before = before.map(|b| json(&b)).transpose()?;
    c.audit(
        "inspection",
        insp.id,
        "apply_server_version",
        before,
        Some(json(insp)?),
    )?;
    c.tx.execute("DELETE FROM pull_deferred WHERE inspection_id = ?1", [&id])?;
    Ok(missing)
}
