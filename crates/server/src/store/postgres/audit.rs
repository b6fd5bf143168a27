//! Reading the audit log on PostgreSQL (entries are appended by the writes
//! themselves, see `bump`).

use super::*;

#[async_trait]
impl AuditStore for PgStore {
    async fn audit_start(&self) -> StoreResult<i64> {
        let c = self.pool.get().await?;
        Ok(
            c.q_one("SELECT after_seq FROM audit_start WHERE id = 1", &[])
                .await?
                .try_get(0)?,
        )
    }

    async fn audit_entries(&self, after: i64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let c = self.pool.get().await?;
        let rows = c
            .q(
                "SELECT change_seq, at, actor, action, subject, detail, prev_hash, hash
                 FROM audit_log WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    change_seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    action: r.try_get(3)?,
                    subject: r.try_get(4)?,
                    detail: r.try_get(5)?,
                    prev_hash: r.try_get(6)?,
                    hash: r.try_get(7)?,
                })
            })
            .collect()
    }
}
