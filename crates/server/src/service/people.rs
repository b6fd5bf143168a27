//! People and devices (人员与设备): accounts, enrolment of a device with a password,
//! authentication of its bearer token, revocation of a lost tablet.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult, chars};
use crate::auth;
use crate::model::{Device, NewUser, RevokeKind, User};
use chrono::{DateTime, Utc};
use jiandu_core::Role;
use jiandu_core::protocol::{
    EnrollRequest, EnrollResponse, MAX_NAME_CHARS, MAX_PASSWORD_CHARS, UserView,
};
use serde::Serialize;
use std::net::IpAddr;
use uuid::Uuid;

/// The user and device a token belongs to (`GET /me`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: UserView,
    pub device_id: Option<Uuid>,
}

fn disabled() -> ServiceError {
    ServiceError::new(ErrorCode::UserDisabled, "该账号已停用，请联系管理员")
}

/// A name a person typed: at most `max` characters, not only spaces. Checked on the
/// text as sent (as the API schema documents it), used trimmed.
fn name(text: &str, max: usize, code: ErrorCode, what: &str) -> ServiceResult<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || chars(text) > max {
        return Err(ServiceError::new(
            code,
            format!("{what}不能为空且不超过 {max} 个字符"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Runs a password hash or verification on the platform's bounded pool; a full
/// pool answers 429 at once.
pub(crate) async fn on_password_pool<T: Send + 'static>(
    p: &Platform,
    f: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    p.passwords.run(f).await.map_err(|_| {
        ServiceError::new(
            ErrorCode::TooManyRequests,
            "服务器正忙于处理其他登录请求，请稍后再试",
        )
    })
}

/// Hashes a password on the password pool (argon2id costs ~19 MiB and tens of ms).
async fn hash_password(p: &Platform, password: String) -> ServiceResult<String> {
    if chars(&password) < auth::MIN_PASSWORD_CHARS {
        return Err(ServiceError::new(
            ErrorCode::InvalidPassword,
            format!("密码至少需要 {} 个字符", auth::MIN_PASSWORD_CHARS),
        ));
    }
    if chars(&password) > MAX_PASSWORD_CHARS {
        return Err(ServiceError::new(ErrorCode::InvalidPassword, "密码过长"));
    }
    on_password_pool(p, move || auth::hash_password(&password))
        .await?
        .map_err(ServiceError::internal)
}

/// Enrols a device: the user's password buys the device its own bearer token,
/// shown once. Failed attempts are limited per (username, client address).
pub async fn enroll(
    p: &Platform,
    req: EnrollRequest,
    client: IpAddr,
    now: DateTime<Utc>,
) -> ServiceResult<EnrollResponse> {
    let username = name(
        &req.username,
        MAX_NAME_CHARS,
        ErrorCode::InvalidUsername,
        "用户名",
    )?;
    let device_name = name(
        &req.device_name,
        MAX_NAME_CHARS,
        ErrorCode::InvalidDeviceName,
        "设备名称",
    )?;
    let user = check_password(p, &username, req.password, client).await?;
    let actor = Actor::signing_in(user.clone());
    let token = auth::new_token();
    let device = p
        .store
        .create_device(
            &actor.stamp(now),
            Device {
                id: Uuid::now_v7(),
                user_id: user.id,
                name: device_name,
                created_at: now,
                revoked_at: None,
                seq: 0,
                last_sync_at: None,
                revoked_kind: None,
                last_used_at: None,
            },
            &auth::token_hash(&token),
        )
        .await?;
    let epoch = p.store.state().await?.epoch;
    tracing::info!(user = %user.username, device = %device.id, "device enrolled");
    Ok(EnrollResponse {
        device_id: device.id,
        token,
        user: user.view(),
        epoch,
        authority: Some(p.authority.to_string()),
    })
}

/// The user whose password this is, for enrolment and the console's sign-in alike:
/// failed attempts are limited per (username, client address); a disabled user is
/// refused after the password is checked.
pub(crate) async fn check_password(
    p: &Platform,
    username: &str,
    password: String,
    client: IpAddr,
) -> ServiceResult<User> {
    if chars(&password) > MAX_PASSWORD_CHARS {
        return Err(ServiceError::new(ErrorCode::InvalidPassword, "密码过长"));
    }
    let (pair, client_key) = auth::LoginLimiter::keys(username, client);
    let now = Utc::now();
    let window = auth::LoginLimiter::window_start(now);
    let keys = [pair.clone(), client_key];
    let counts = p.store.sign_in_failures(&keys, window).await?;
    if let Err(wait) = auth::LoginLimiter::check(&counts, username, client, now) {
        return Err(ServiceError::new(
            ErrorCode::TooManyAttempts,
            format!("登录失败次数过多，请 {} 分钟后再试", wait.div_ceil(60)),
        ));
    }
    let creds = p.store.user_credentials(username).await?;
    let (user, ok) = match creds {
        Some((user, Some(hash))) => {
            let ok = on_password_pool(p, move || auth::verify_password(&hash, &password)).await?;
            (Some(user), ok)
        }
        other => {
            // As long as a real verification: timing does not tell who exists.
            on_password_pool(p, move || auth::verify_dummy(&password)).await?;
            (other.map(|o| o.0), false)
        }
    };
    let user = match (user, ok) {
        (Some(user), true) => user,
        _ => {
            p.store
                .record_sign_in_failure(&keys, Utc::now(), window)
                .await?;
            return Err(ServiceError::new(
                ErrorCode::InvalidCredentials,
                "用户名或密码错误",
            ));
        }
    };
    if counts.iter().any(|(k, ..)| *k == pair) {
        p.store.clear_sign_in_failures(&pair).await?;
    }
    if user.disabled {
        return Err(disabled());
    }
    Ok(user)
}

/// How long a device token lives without use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSettings {
    /// A token unused this long is refused (settings `device_token_idle_days`,
    /// default 30 days); every use renews it.
    pub idle: chrono::Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            idle: chrono::Duration::days(30),
        }
    }
}

impl TokenSettings {
    /// How often a token's last use is written: at most hourly (not a write per
    /// request), and often enough that the expiry is off by a tenth at most.
    pub fn touch_every(&self) -> chrono::Duration {
        (self.idle / 10).min(chrono::Duration::hours(1))
    }
}

/// What a revoked device is told at its next contact, by why it was revoked.
fn revoked(kind: RevokeKind) -> ServiceError {
    match kind {
        RevokeKind::Lost => ServiceError::new(
            ErrorCode::DeviceLost,
            "该设备已被管理员登记为丢失：本机密钥已清除，本机数据无法再读取。如设备已找回，请联系管理员后用账号密码重新登录",
        ),
        RevokeKind::Retired => ServiceError::new(
            ErrorCode::DeviceRevoked,
            "该设备已被吊销，无法继续同步；本机数据仍可导出，请联系管理员",
        ),
        RevokeKind::SignedOut => ServiceError::new(
            ErrorCode::InvalidToken,
            "访问令牌已失效（本机已退出登录），请重新登录",
        ),
        RevokeKind::PasswordReset => ServiceError::new(
            ErrorCode::TokenRevoked,
            "账号密码已重置，本机的登录已失效：请退出登录后用新密码重新登录",
        ),
        RevokeKind::UserDisabled => ServiceError::new(
            ErrorCode::TokenRevoked,
            "账号曾被停用，本机的登录已失效：请退出登录后重新登录",
        ),
    }
}

/// The actor behind a bearer token: its device must not be revoked nor its user
/// disabled, and the token must have been used within the expiry (each use renews
/// it; the last use is written at most every [`TokenSettings::touch_every`]).
pub async fn authenticate(p: &Platform, token: &str, now: DateTime<Utc>) -> ServiceResult<Actor> {
    let (device, user) = p
        .store
        .device_by_token_hash(&auth::token_hash(token))
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::InvalidToken, "访问令牌无效"))?;
    if device.revoked_at.is_some() {
        return Err(revoked(device.revoked_kind.unwrap_or(RevokeKind::Retired)));
    }
    if user.disabled {
        return Err(disabled());
    }
    let last_used = device.last_used_at.unwrap_or(device.created_at);
    if now - last_used > p.tokens.idle {
        tracing::info!(device = %device.id, %last_used, "device token expired");
        return Err(ServiceError::new(
            ErrorCode::TokenExpired,
            format!(
                "本机的登录已过期（超过 {} 天未与平台联系）：请退出登录后重新登录",
                p.tokens.idle.num_days().max(1)
            ),
        ));
    }
    if now - last_used >= p.tokens.touch_every() {
        p.store.device_used(device.id, now).await?;
    }
    Ok(Actor::device(user, device.id))
}

pub fn me(actor: &Actor) -> ServiceResult<Me> {
    let user = actor
        .user
        .as_ref()
        .ok_or_else(|| ServiceError::not_found("命令行没有登录用户"))?;
    Ok(Me {
        user: user.view(),
        device_id: actor.device,
    })
}

/// Devices: all of them for an administrator, one's own for anyone else.
pub async fn list_devices(p: &Platform, actor: &Actor) -> ServiceResult<Vec<Device>> {
    let scope = match actor.role() {
        Role::Admin => None,
        _ => actor.user_id(),
    };
    Ok(p.store.list_devices(scope).await?)
}

/// Revokes a device as 丢失 (`lost`: told to erase its keys at its next contact)
/// or 停用 (`retired`: its data stays locked, exportable with the PIN): an
/// administrator any, anyone else their own. Another user's device answers as a
/// missing one, so it reveals nothing.
pub async fn revoke_device(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    id: Uuid,
    kind: RevokeKind,
) -> ServiceResult<Device> {
    if !matches!(kind, RevokeKind::Lost | RevokeKind::Retired) {
        return Err(ServiceError::new(
            ErrorCode::InvalidKind,
            "吊销方式应为“丢失”（lost）或“停用”（retired）",
        ));
    }
    let missing = || ServiceError::not_found(format!("设备 {id} 不存在"));
    let device = p.store.device(id).await?.ok_or_else(missing)?;
    if actor.role() != Role::Admin && actor.user_id() != Some(device.user_id) {
        return Err(missing());
    }
    let d = p
        .store
        .revoke_device(&actor.stamp(now), id, kind)
        .await?
        .ok_or_else(missing)?;
    tracing::info!(device = %id, kind = kind.as_str(), by = %actor.audit_name(), "device revoked");
    Ok(d)
}

/// 退出登录 on a device: its own token is revoked (audited), so a copy of it is
/// worth nothing. Only a device token can sign itself out.
pub async fn sign_out_device(p: &Platform, actor: &Actor, now: DateTime<Utc>) -> ServiceResult<()> {
    let id = actor.device.ok_or_else(|| {
        ServiceError::new(
            ErrorCode::Unauthenticated,
            "只有设备的访问令牌可以退出登录（控制台请使用 DELETE /session）",
        )
    })?;
    p.store
        .revoke_device(&actor.stamp(now), id, RevokeKind::SignedOut)
        .await?;
    tracing::info!(device = %id, by = %actor.audit_name(), "device signed out");
    Ok(())
}

/// Every user (administrators only).
pub async fn list_users(p: &Platform, actor: &Actor) -> ServiceResult<Vec<UserView>> {
    actor.require(&[Role::Admin])?;
    Ok(p.store.list_users().await?.iter().map(User::view).collect())
}

/// A user to add (`user add`, the console).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    /// Name as printed on documents.
    pub display_name: String,
    pub role: Role,
    /// 执法证号, required for inspectors.
    pub badge_no: Option<String>,
    pub team: String,
    pub district: String,
    pub password: String,
}

/// Adds a user (administrators only).
pub async fn create_user(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    a: NewAccount,
) -> ServiceResult<User> {
    actor.require(&[Role::Admin])?;
    let username = name(
        &a.username,
        MAX_NAME_CHARS,
        ErrorCode::InvalidUsername,
        "用户名",
    )?;
    let display_name = name(
        &a.display_name,
        MAX_NAME_CHARS,
        ErrorCode::InvalidName,
        "姓名",
    )?;
    for (text, what) in [
        (a.badge_no.as_deref().unwrap_or(""), "执法证号"),
        (a.team.as_str(), "科室"),
        (a.district.as_str(), "区县"),
    ] {
        if chars(text) > MAX_NAME_CHARS {
            return Err(ServiceError::new(
                ErrorCode::InvalidName,
                format!("{what}不超过 {MAX_NAME_CHARS} 个字符"),
            ));
        }
    }
    let badge_no = a
        .badge_no
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty());
    if a.role == Role::Inspector && badge_no.is_none() {
        return Err(ServiceError::new(
            ErrorCode::BadgeRequired,
            "检查人员必须填写执法证号",
        ));
    }
    let hash = hash_password(p, a.password).await?;
    Ok(p.store
        .create_user(
            &actor.stamp(now),
            NewUser {
                id: Uuid::now_v7(),
                username,
                display_name,
                role: a.role,
                badge_no,
                team: a.team.trim().to_owned(),
                district: a.district.trim().to_owned(),
                password_hash: Some(hash),
                created_at: now,
            },
        )
        .await?)
}

fn no_user(username: &str) -> ServiceError {
    ServiceError::not_found(format!("用户“{username}”不存在"))
}

/// Disables (no sign-in, every device revoked and console session ended, not
/// drawn) or re-enables a user (administrators only). Re-enabling revives no
/// device: each signs in again.
pub async fn set_disabled(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    username: &str,
    disabled: bool,
) -> ServiceResult<User> {
    actor.require(&[Role::Admin])?;
    let user = p
        .store
        .set_user_disabled(&actor.stamp(now), username, disabled)
        .await?
        .ok_or_else(|| no_user(username))?;
    if disabled {
        // Ended for good: enabling the user again does not revive them.
        p.store.end_user_sessions(user.id, now).await?;
    }
    Ok(user)
}

/// Sets a user's password (administrators only), e.g. for imported staff. Every
/// device of the user is revoked in the same write (audited): each signs in again
/// with the new password.
pub async fn set_password(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    username: &str,
    password: String,
) -> ServiceResult<()> {
    actor.require(&[Role::Admin])?;
    let hash = hash_password(p, password).await?;
    if p.store
        .set_password(&actor.stamp(now), username, &hash)
        .await?
    {
        Ok(())
    } else {
        Err(no_user(username))
    }
}

/// A user by username, 执法证号 or id (the command line names people so).
pub async fn find_user(p: &Platform, who: &str) -> ServiceResult<User> {
    p.store
        .list_users()
        .await?
        .into_iter()
        .find(|u| {
            u.username == who || u.badge_no.as_deref() == Some(who) || u.id.to_string() == who
        })
        .ok_or_else(|| {
            ServiceError::not_found(format!("找不到用户“{who}”（可用用户名、执法证号或编号）"))
        })
}
