//! People and devices on PostgreSQL.

use super::*;

#[async_trait]
impl PeopleStore for PgStore {
    async fn create_user(&self, stamp: &Stamp, u: NewUser) -> StoreResult<User> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::create_user(&u)).await?;
        let r = tx
            .exec(
                "INSERT INTO users (id, username, display_name, role, badge_no, team, district,
                                    password_hash, disabled, created_at, seq)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE, $9, $10)",
                &[
                    &u.id,
                    &u.username,
                    &u.display_name,
                    &u.role.as_str(),
                    &u.badge_no,
                    &u.team,
                    &u.district,
                    &u.password_hash,
                    &u.created_at,
                    &seq,
                ],
            )
            .await;
        match r {
            Err(e) if unique_violation(&e, "username") => {
                return Err(StoreError::Duplicate {
                    what: Unique::Username,
                    value: u.username.clone(),
                });
            }
            Err(e) if unique_violation(&e, "badge_no") => {
                return Err(StoreError::Duplicate {
                    what: Unique::BadgeNo,
                    value: u.badge_no.clone().unwrap_or_default(),
                });
            }
            r => {
                r?;
            }
        }
        let user = get_user(&tx, u.id)
            .await?
            .ok_or_else(|| StoreError::Internal("user vanished".into()))?;
        tx.commit().await?;
        Ok(user)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!("SELECT {USER_COLS} FROM users ORDER BY username"),
                &[],
            )
            .await?,
            user_row,
        )
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        let c = self.pool.get().await?;
        get_user(&c, id).await
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<User>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ANY($1)"),
                &[&ids],
            )
            .await?,
            user_row,
        )
    }

    async fn user_credentials(
        &self,
        username: &str,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let c = self.pool.get().await?;
        let r = c
            .q_opt(
                &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"),
                &[&username],
            )
            .await?;
        match r {
            None => Ok(None),
            Some(r) => Ok(Some((user_row(&r)?, r.try_get("password_hash")?))),
        }
    }

    async fn set_user_disabled(
        &self,
        stamp: &Stamp,
        username: &str,
        disabled: bool,
    ) -> StoreResult<Option<User>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(
            &tx,
            stamp,
            &crate::audit::events::set_disabled(username, disabled),
        )
        .await?;
        let r = tx
            .q_opt(
                &format!(
                    "UPDATE users SET disabled = $1, seq = $2 WHERE username = $3 RETURNING {USER_COLS}"
                ),
                &[&disabled, &seq, &username],
            )
            .await?;
        let Some(r) = r else {
            // Nothing changed: dropping the transaction rolls the bump back.
            return Ok(None);
        };
        let user = user_row(&r)?;
        if disabled {
            revoke_all(&tx, user.id, stamp.at, seq, RevokeKind::UserDisabled).await?;
        }
        tx.commit().await?;
        Ok(Some(user))
    }

    async fn set_password(
        &self,
        stamp: &Stamp,
        username: &str,
        password_hash: &str,
    ) -> StoreResult<bool> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::set_password(username)).await?;
        let r = tx
            .q_opt(
                "UPDATE users SET password_hash = $1, seq = $2 WHERE username = $3 RETURNING id",
                &[&password_hash, &seq, &username],
            )
            .await?;
        let Some(r) = r else {
            return Ok(false);
        };
        let id: Uuid = r.try_get("id")?;
        revoke_all(&tx, id, stamp.at, seq, RevokeKind::PasswordReset).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn create_device(
        &self,
        stamp: &Stamp,
        d: Device,
        token_hash: &str,
    ) -> StoreResult<Device> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(&tx, stamp, &crate::audit::events::create_device(&d)).await?;
        tx.exec(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at, revoked_at, seq)
             VALUES ($1, $2, $3, $4, $5, NULL, $6)",
            &[&d.id, &d.user_id, &d.name, &token_hash, &d.created_at, &seq],
        )
        .await?;
        tx.commit().await?;
        Ok(Device {
            seq,
            revoked_at: None,
            ..d
        })
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<(Device, User)>> {
        let c = self.pool.get().await?;
        let Some(r) = c
            .q_opt(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE token_hash = $1"),
                &[&token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let device = device_row(&r)?;
        let user = get_user(&c, device.user_id)
            .await?
            .ok_or_else(|| StoreError::Internal("device without user".into()))?;
        Ok(Some((device, user)))
    }

    async fn device(&self, id: Uuid) -> StoreResult<Option<Device>> {
        let c = self.pool.get().await?;
        c.q_opt(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(device_row)
        .transpose()
    }

    async fn list_devices(&self, user_id: Option<Uuid>) -> StoreResult<Vec<Device>> {
        let c = self.pool.get().await?;
        rows(
            c.q(
                &format!(
                    "SELECT {DEVICE_COLS} FROM devices WHERE $1::UUID IS NULL OR user_id = $1
                     ORDER BY created_at, id"
                ),
                &[&user_id],
            )
            .await?,
            device_row,
        )
    }

    async fn revoke_device(
        &self,
        stamp: &Stamp,
        id: Uuid,
        kind: RevokeKind,
    ) -> StoreResult<Option<Device>> {
        let at = stamp.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = bump(
            &tx,
            stamp,
            &crate::audit::events::revoke_device(id, at, kind),
        )
        .await?;
        // A device revoked otherwise may still be declared lost.
        tx.exec(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, $1), revoked_kind = $2,
                                seq = $3
             WHERE id = $4
               AND (revoked_at IS NULL
                    OR ($2 = 'lost' AND COALESCE(revoked_kind, '') <> 'lost'))",
            &[&at, &kind.as_str(), &seq, &id],
        )
        .await?;
        let Some(d) = tx
            .q_opt(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1"),
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        let d = device_row(&d)?;
        tx.commit().await?;
        Ok(Some(d))
    }
}

/// Revokes every device of a user not yet revoked (a password reset, a disabled
/// user), inside the caller's transaction.
async fn revoke_all(
    tx: &impl GenericClient,
    user_id: Uuid,
    at: DateTime<Utc>,
    seq: i64,
    kind: RevokeKind,
) -> StoreResult<u64> {
    Ok(tx
        .exec(
            "UPDATE devices SET revoked_at = $1, revoked_kind = $2, seq = $3
         WHERE user_id = $4 AND revoked_at IS NULL",
            &[&at, &kind.as_str(), &seq, &user_id],
        )
        .await?)
}
