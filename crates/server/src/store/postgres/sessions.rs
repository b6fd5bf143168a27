//! Console sessions and device activity on PostgreSQL.

use super::*;

const SESSION_COLS: &str = "id, user_id, csrf_token, created_at, last_seen_at, ended_at";

fn session_row(r: &Row) -> StoreResult<ConsoleSession> {
    Ok(ConsoleSession {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        csrf_token: r.try_get("csrf_token")?,
        created_at: r.try_get("created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: ConsoleSession, token_hash: &str) -> StoreResult<()> {
        let c = self.pool.get().await?;
        c.exec(
            "INSERT INTO console_sessions
                 (id, token_hash, csrf_token, user_id, created_at, last_seen_at, ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            &[
                &s.id,
                &token_hash,
                &s.csrf_token,
                &s.user_id,
                &s.created_at,
                &s.last_seen_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(ConsoleSession, User)>> {
        let c = self.pool.get().await?;
        let Some(r) = c
            .q_opt(
                &format!("SELECT {SESSION_COLS} FROM console_sessions WHERE token_hash = $1"),
                &[&token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let s = session_row(&r)?;
        let user = get_user(&c, s.user_id)
            .await?
            .ok_or_else(|| StoreError::Internal("session without user".into()))?;
        Ok(Some((s, user)))
    }

    async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let c = self.pool.get().await?;
        c.exec(
            "UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2",
            &[&at, &id],
        )
        .await?;
        Ok(())
    }

    async fn end_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let c = self.pool.get().await?;
        c.exec(
            "UPDATE console_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
            &[&at, &id],
        )
        .await?;
        Ok(())
    }

    async fn end_user_sessions(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<u64> {
        let c = self.pool.get().await?;
        Ok(c.exec(
            "UPDATE console_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
            &[&at, &user_id],
        )
        .await?)
    }

    async fn device_used(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let c = self.pool.get().await?;
        c.exec(
            "UPDATE devices SET last_used_at = $1 WHERE id = $2",
            &[&at, &id],
        )
        .await?;
        Ok(())
    }

    async fn device_synced(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        let c = self.pool.get().await?;
        c.exec(
            "UPDATE devices SET last_sync_at = $1 WHERE id = $2",
            &[&at, &id],
        )
        .await?;
        Ok(())
    }

    async fn sign_in_failures(
        &self,
        keys: &[String],
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u32, DateTime<Utc>)>> {
        let c = self.pool.get().await?;
        let rows = c
            .q(
                "SELECT key, failures, first_at FROM sign_in_failures
                 WHERE key = ANY($1) AND first_at > $2",
                &[&keys, &since],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<_, String>("key")?,
                    r.try_get::<_, i32>("failures")? as u32,
                    r.try_get("first_at")?,
                ))
            })
            .collect()
    }

    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.exec(
            "DELETE FROM sign_in_failures WHERE first_at <= $1",
            &[&since],
        )
        .await?;
        for k in keys {
            tx.exec(
                "INSERT INTO sign_in_failures (key, failures, first_at) VALUES ($1, 1, $2)
                 ON CONFLICT (key) DO UPDATE SET failures = sign_in_failures.failures + 1",
                &[k, &now],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let c = self.pool.get().await?;
        c.exec("DELETE FROM sign_in_failures WHERE key = $1", &[&key])
            .await?;
        Ok(())
    }

    async fn pending_uploads(&self) -> StoreResult<u64> {
        let c = self.pool.get().await?;
        let rows = c
            .q("SELECT COUNT(*) AS n FROM blobs WHERE NOT complete", &[])
            .await?;
        let n: i64 = rows
            .first()
            .map(|r| r.try_get("n"))
            .transpose()?
            .unwrap_or(0);
        Ok(n as u64)
    }
}
