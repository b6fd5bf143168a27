//! Reading the audit log on SQLite (entries are appended by the writes themselves,
//! see `append_audit`).

use super::*;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_start(&self) -> StoreResult<i64> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT after_seq FROM audit_start WHERE id = 1", [], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
    }

    async fn audit_entries(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        self.with(move |c| {
            let mut st = c.prepare(
                "SELECT change_seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log WHERE change_seq > ?1 ORDER BY change_seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, limit as i64], |r| {
                Ok(AuditEntry {
                    change_seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    detail: r.get(5)?,
                    prev_hash: r.get(6)?,
                    hash: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
