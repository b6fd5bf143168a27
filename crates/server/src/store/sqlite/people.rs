//! People and devices on SQLite.

use super::*;

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn create_user(&self, stamp: &Stamp, u: NewUser) -> StoreResult<User> {
        let event = crate::audit::events::create_user(&u);
        self.write(stamp, event, move |tx, seq| {
            let r = tx.execute(
                "INSERT INTO users (id, username, display_name, role, badge_no, team, district,
                                    password_hash, disabled, created_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10)",
                params![
                    u.id.to_string(),
                    u.username,
                    u.display_name,
                    u.role.as_str(),
                    u.badge_no,
                    u.team,
                    u.district,
                    u.password_hash,
                    ts(u.created_at),
                    seq
                ],
            );
            match r {
                Err(e) if is_unique_violation(&e, "username") => Err(StoreError::Duplicate {
                    what: Unique::Username,
                    value: u.username.clone(),
                }),
                Err(e) if is_unique_violation(&e, "badge_no") => Err(StoreError::Duplicate {
                    what: Unique::BadgeNo,
                    value: u.badge_no.clone().unwrap_or_default(),
                }),
                Err(e) => Err(e.into()),
                Ok(_) => {
                    get_user(tx, u.id)?.ok_or_else(|| StoreError::Internal("user vanished".into()))
                }
            }
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.with(|c| {
            let mut st = c.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY username"))?;
            let rows = st.query_map([], user_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.with(move |c| get_user(c, id)).await
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        // In-process: one prepared statement per id costs no round trip.
        let ids = ids.to_vec();
        self.with(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(get_user(c, id)?);
            }
            Ok(out)
        })
        .await
    }

    async fn user_credentials(
        &self,
        username: &str,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let username = username.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = ?1"),
                params![username],
                |r| Ok((user_row(r)?, r.get("password_hash")?)),
            )
            .optional()?)
        })
        .await
    }

    async fn set_user_disabled(
        &self,
        stamp: &Stamp,
        username: &str,
        disabled: bool,
    ) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        let event = crate::audit::events::set_disabled(&username, disabled);
        let at = stamp.at;
        self.write_if_changed(stamp, event, move |tx, seq| {
            let n = tx.execute(
                "UPDATE users SET disabled = ?1, seq = ?2 WHERE username = ?3",
                params![disabled as i64, seq, username],
            )?;
            let user = get_user_by_name(tx, &username)?;
            if disabled && let Some(u) = &user {
                revoke_all(tx, u.id, at, seq, RevokeKind::UserDisabled)?;
            }
            Ok((user, n > 0))
        })
        .await
    }

    async fn set_password(
        &self,
        stamp: &Stamp,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<bool> {
        let username = username.to_owned();
        let hash = password_hash.to_owned();
        let event = crate::audit::events::set_password(&username);
        let at = stamp.at;
        self.write_if_changed(stamp, event, move |tx, seq| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?1, seq = ?2 WHERE username = ?3",
                params![hash, seq, username],
            )?;
            if let Some(u) = get_user_by_name(tx, &username)? {
                revoke_all(tx, u.id, at, seq, RevokeKind::PasswordReset)?;
            }
            Ok((n > 0, n > 0))
        })
        .await
    }

    async fn create_device(
        &self,
        stamp: &Stamp,
        d: Device,
        token_hash: &str,
    ) -> StoreResult<Device> {
        let token_hash = token_hash.to_owned();
        let event = crate::audit::events::create_device(&d);
        self.write(stamp, event, move |tx, seq| {
            tx.execute(
                "INSERT INTO devices (id, user_id, name, token_hash, created_at, revoked_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
                params![
                    d.id.to_string(),
                    d.user_id.to_string(),
                    d.name,
                    token_hash,
                    ts(d.created_at),
                    seq
                ],
            )?;
            Ok(Device {
                seq,
                revoked_at: None,
                ..d
            })
        })
        .await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            let device = c
                .query_row(
                    &format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = ?1"),
                    params![token_hash],
                    device_row,
                )
                .optional()?;
            let Some(device) = device else {
                return Ok(None);
            };
            let user = get_user(c, device.user_id)?
                .ok_or_else(|| StoreError::Internal("device without user".into()))?;
            Ok(Some((device, user)))
        })
        .await
    }

    async fn device(&self, id: Uuid) -> StoreResult<Option<Device>> {
        self.with(move |c| {
            Ok(c.query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                params![id.to_string()],
                device_row,
            )
            .optional()?)
        })
        .await
    }

    async fn list_devices(&self, user_id: Option<Uuid>) -> StoreResult<Vec<Device>> {
        self.with(move |c| {
            let mut st = c.prepare(&format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE ?1 IS NULL OR user_id = ?1 ORDER BY created_at, id"
            ))?;
            let rows = st.query_map(params![user_id.map(|u| u.to_string())], device_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke_device(
        &self,
        stamp: &Stamp,
        id: Uuid,
        kind: RevokeKind,
    ) -> StoreResult<Option<Device>> {
        let at = stamp.at;
        let event = crate::audit::events::revoke_device(id, at, kind);
        self.write_if_changed(stamp, event, move |tx, seq| {
            // A device revoked otherwise may still be declared lost.
            tx.execute(
                "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1), revoked_kind = ?2,
                                    seq = ?3
                 WHERE id = ?4
                   AND (revoked_at IS NULL
                        OR (?2 = 'lost' AND COALESCE(revoked_kind, '') <> 'lost'))",
                params![ts(at), kind.as_str(), seq, id.to_string()],
            )?;
            let device = tx
                .query_row(
                    &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"),
                    params![id.to_string()],
                    device_row,
                )
                .optional()?;
            let found = device.is_some();
            Ok((device, found))
        })
        .await
    }
}

/// Revokes every device of a user not yet revoked (a password reset, a disabled
/// user), inside the caller's write.
fn revoke_all(
    tx: &Connection,
    user_id: Uuid,
    at: DateTime<Utc>,
    seq: i64,
    kind: RevokeKind,
) -> StoreResult<usize> {
    Ok(tx.execute(
        "UPDATE devices SET revoked_at = ?1, revoked_kind = ?2, seq = ?3
         WHERE user_id = ?4 AND revoked_at IS NULL",
        params![ts(at), kind.as_str(), seq, user_id.to_string()],
    )?)
}
