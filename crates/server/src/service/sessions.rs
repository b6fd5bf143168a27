//! Console sessions (控制台会话): a browser signs in with a username and password
//! (the enrolment's check and its failed-attempt limiter) and gets a cookie token and
//! a CSRF token. A session ends at sign-out, when its user is disabled (for good: a
//! re-enabled user signs in again), after [`SessionSettings::idle`] without use, and
//! [`SessionSettings::absolute`] after sign-in whatever happens.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult, people};
use crate::auth;
use crate::model::{ConsoleSession, User};
use chrono::{DateTime, Duration, Utc};
use jiandu_core::protocol::{MAX_NAME_CHARS, UserView};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use uuid::Uuid;

/// Expiry and cookie settings of console sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSettings {
    /// A session unused this long has expired (default 30 minutes).
    pub idle: Duration,
    /// A session this old has expired, used or not (default 12 hours).
    pub absolute: Duration,
    /// Always mark the cookie `Secure` (behind TLS that does not say
    /// `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            secure_cookies: false,
        }
    }
}

/// A sign-in (`POST /session`).
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(min_length = 1, max_length = 100)]
    pub username: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The signed-in session as the console sees it (`GET /session`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user: UserView,
    /// Send it in `X-CSRF-Token` with every request that changes state.
    pub csrf_token: String,
    /// When the session ends whatever happens (absolute expiry).
    pub expires_at: DateTime<Utc>,
    /// Minutes without use after which the session ends.
    pub idle_minutes: i64,
}

/// A new session: the cookie's token (never shown again) and its view.
#[derive(Debug, Clone)]
pub struct Opened {
    pub token: String,
    pub view: SessionView,
}

fn view(p: &Platform, s: &ConsoleSession, user: &User) -> SessionView {
    SessionView {
        user: user.view(),
        csrf_token: s.csrf_token.clone(),
        expires_at: s.created_at + p.console.absolute,
        idle_minutes: p.console.idle.num_minutes(),
    }
}

/// Signs in to the console with a username and password.
pub async fn sign_in(
    p: &Platform,
    req: SignIn,
    client: IpAddr,
    now: DateTime<Utc>,
) -> ServiceResult<Opened> {
    let username = req.username.trim();
    if username.is_empty() || super::chars(&req.username) > MAX_NAME_CHARS {
        return Err(ServiceError::new(
            ErrorCode::InvalidUsername,
            format!("用户名不能为空且不超过 {MAX_NAME_CHARS} 个字符"),
        ));
    }
    let user = people::check_password(p, username, req.password, client).await?;
    let token = auth::new_token();
    let session = ConsoleSession {
        id: Uuid::now_v7(),
        user_id: user.id,
        csrf_token: auth::new_token(),
        created_at: now,
        last_seen_at: now,
        ended_at: None,
    };
    p.store
        .create_session(session.clone(), &auth::token_hash(&token))
        .await?;
    tracing::info!(user = %user.username, session = %session.id, "console sign-in");
    Ok(Opened {
        token,
        view: view(p, &session, &user),
    })
}

/// A checked session: who acts, and what the console needs to know.
#[derive(Debug, Clone)]
pub struct Checked {
    pub actor: Actor,
    pub session: ConsoleSession,
    pub view: SessionView,
}

/// The actor behind a session cookie: the session must not have ended nor expired,
/// its user not be disabled. A use is recorded (at most once a minute).
pub async fn authenticate(p: &Platform, token: &str, now: DateTime<Utc>) -> ServiceResult<Checked> {
    let (session, user) = p
        .store
        .session_by_token_hash(&auth::token_hash(token))
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::InvalidSession, "登录已失效，请重新登录"))?;
    if session.ended_at.is_some() {
        return Err(ServiceError::new(
            ErrorCode::InvalidSession,
            "已退出登录或账号已被停用，请重新登录",
        ));
    }
    if now - session.last_seen_at > p.console.idle {
        return Err(ServiceError::new(
            ErrorCode::SessionExpired,
            format!(
                "超过 {} 分钟未操作，登录已过期，请重新登录",
                p.console.idle.num_minutes()
            ),
        ));
    }
    if now - session.created_at > p.console.absolute {
        return Err(ServiceError::new(
            ErrorCode::SessionExpired,
            format!(
                "登录已超过 {} 小时，请重新登录",
                p.console.absolute.num_hours()
            ),
        ));
    }
    if user.disabled {
        return Err(ServiceError::new(
            ErrorCode::UserDisabled,
            "该账号已停用，请联系管理员",
        ));
    }
    if now - session.last_seen_at > Duration::minutes(1) {
        p.store.touch_session(session.id, now).await?;
    }
    let view = view(p, &session, &user);
    Ok(Checked {
        actor: Actor::console(user),
        session,
        view,
    })
}

/// Signs out: the session is never valid again.
pub async fn sign_out(
    p: &Platform,
    session: &ConsoleSession,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    p.store.end_session(session.id, now).await?;
    tracing::info!(session = %session.id, "console sign-out");
    Ok(())
}

/// The refusal of a state-changing request without the session's CSRF token.
pub fn csrf_failed() -> ServiceError {
    ServiceError::new(
        ErrorCode::CsrfFailed,
        "请求缺少有效的防伪令牌（X-CSRF-Token），请刷新页面后重试",
    )
}

/// The refusal of a request sent from another site.
pub fn cross_site() -> ServiceError {
    ServiceError::new(ErrorCode::CsrfFailed, "拒绝来自其他网站的请求")
}

/// Whether `sent` is the session's CSRF token, compared in constant time.
pub fn csrf_matches(session: &ConsoleSession, sent: &str) -> bool {
    let a = session.csrf_token.as_bytes();
    let b = sent.as_bytes();
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
