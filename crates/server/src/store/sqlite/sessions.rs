//! Console sessions and device activity on SQLite.

use super::*;

const SESSION_COLS: &str = "id, user_id, csrf_token, created_at, last_seen_at, ended_at";

fn session_row(row: &Row) -> rusqlite::Result<ConsoleSession> {
    Ok(ConsoleSession {
        id: uuid_col(row, "id")?,
        user_id: uuid_col(row, "user_id")?,
        csrf_token: row.get("csrf_token")?,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
        last_seen_at: parse_ts(&row.get::<_, String>("last_seen_at")?)?,
        ended_at: row
            .get::<_, Option<String>>("ended_at")?
            .map(|s| parse_ts(&s))
            .transpose()?,
    })
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: ConsoleSession, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write_raw(move |c| {
            c.execute(
                "INSERT INTO console_sessions
                     (id, token_hash, csrf_token, user_id, created_at, last_seen_at, ended_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
                params![
                    s.id.to_string(),
                    token_hash,
                    s.csrf_token,
                    s.user_id.to_string(),
                    ts(s.created_at),
                    ts(s.last_seen_at)
                ],
            )?;
            Ok(((), true))
        })
        .await
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(ConsoleSession, User)>> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            let s = c
                .query_row(
                    &format!("SELECT {SESSION_COLS} FROM console_sessions WHERE token_hash = ?1"),
                    params![token_hash],
                    session_row,
                )
                .optional()?;
            let Some(s) = s else { return Ok(None) };
            let user = get_user(c, s.user_id)?
                .ok_or_else(|| StoreError::Internal("session without user".into()))?;
            Ok(Some((s, user)))
        })
        .await
    }

    async fn touch_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.write_raw(move |c| {
            c.execute(
                "UPDATE console_sessions SET last_seen_at = ?1 WHERE id = ?2",
                params![ts(at), id.to_string()],
            )?;
            Ok(((), true))
        })
        .await
    }

    async fn end_session(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.write_raw(move |c| {
            c.execute(
                "UPDATE console_sessions SET ended_at = ?1 WHERE id = ?2 AND ended_at IS NULL",
                params![ts(at), id.to_string()],
            )?;
            Ok(((), true))
        })
        .await
    }

    async fn end_user_sessions(&self, user_id: Uuid, at: DateTime<Utc>) -> StoreResult<u64> {
        self.write_raw(move |c| {
            let n = c.execute(
                "UPDATE console_sessions SET ended_at = ?1 WHERE user_id = ?2 AND ended_at IS NULL",
                params![ts(at), user_id.to_string()],
            )? as u64;
            Ok((n, true))
        })
        .await
    }

    async fn device_used(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.write_raw(move |c| {
            c.execute(
                "UPDATE devices SET last_used_at = ?1 WHERE id = ?2",
                params![ts(at), id.to_string()],
            )?;
            Ok(((), true))
        })
        .await
    }

    async fn device_synced(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
        self.write_raw(move |c| {
            c.execute(
                "UPDATE devices SET last_sync_at = ?1 WHERE id = ?2",
                params![ts(at), id.to_string()],
            )?;
            Ok(((), true))
        })
        .await
    }

    async fn sign_in_failures(
        &self,
        keys: &[String],
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u32, DateTime<Utc>)>> {
        let keys = keys.to_vec();
        self.with(move |c| {
            let mut st = c.prepare_cached(
                "SELECT failures, first_at FROM sign_in_failures WHERE key = ?1 AND first_at > ?2",
            )?;
            let mut out = Vec::new();
            for k in keys {
                if let Some((n, at)) = st
                    .query_row(params![k, ts(since)], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()?
                {
                    out.push((k, n as u32, parse_ts(&at)?));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn record_sign_in_failure(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<()> {
        let keys = keys.to_vec();
        self.write_raw(move |c| {
            c.execute(
                "DELETE FROM sign_in_failures WHERE first_at <= ?1",
                params![ts(since)],
            )?;
            for k in keys {
                c.execute(
                    "INSERT INTO sign_in_failures (key, failures, first_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET failures = failures + 1",
                    params![k, ts(now)],
                )?;
            }
            Ok(((), true))
        })
        .await
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write_raw(move |c| {
            c.execute("DELETE FROM sign_in_failures WHERE key = ?1", params![key])?;
            Ok(((), true))
        })
        .await
    }

    async fn pending_uploads(&self) -> StoreResult<u64> {
        self.with(|c| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM blobs WHERE complete = 0", [], |r| {
                r.get(0)
            })?;
            Ok(n as u64)
        })
        .await
    }
}
