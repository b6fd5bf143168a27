//! 远程处置 (remote action) as the device carries it out.
//!
//! - **丢失 (lost)**: at its next contact the platform answers `device_lost`. The
//!   sync engine forgets the token; the app, before the event reaches anyone,
//!   erases the wrapped data key (`keys.json`, overwritten and removed), so the
//!   user's folder can never be read again (a folder without a PIN yet is removed
//!   whole: its data is plain). The person is signed out, and the sign-in screen
//!   says why ([`LOST_NOTICE_FILE`]); signing in again with the account password
//!   starts a clean folder.
//! - **停用 (retired)**: the platform answers `device_revoked`; sync stops for good,
//!   the data stays encrypted on the device and 导出本机数据 hands it over with the
//!   PIN (the sync engine and `export`).
//! - **退出登录**: the device's own token is revoked on the platform when it can be
//!   reached (`DELETE /me/token`, a short wait); offline it is forgotten locally
//!   all the same, and the platform's expiry ends it.

use crate::{App, Session, lock};
use chrono::{DateTime, Utc};
use jiandu_store::KeyVault;
use jiandu_sync::{FileTokenStore, SyncError, TokenStore};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;
use std::time::Duration;

/// In the app-data folder: why this device's keys were erased by the platform.
pub const LOST_NOTICE_FILE: &str = "device-lost.json";

/// In a user folder: the private CA (PEM) trusted for that user's platform, given
/// at 首次设置. A CA certificate is public: kept plain.
pub const CA_FILE: &str = "server-ca.pem";

/// Keeps (or, signed in without one, forgets) the CA trusted for the platform.
pub(crate) fn keep_ca(user_dir: &Path, ca_pem: Option<&str>) -> crate::AppResult<()> {
    let path = user_dir.join(CA_FILE);
    match ca_pem {
        Some(pem) => jiandu_store::crypto::write_file(&path, pem.as_bytes(), None)?,
        None => match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(crate::AppError::storage(e));
            }
            _ => {}
        },
    }
    Ok(())
}

/// The CA trusted for the platform of `user_dir`, if one was given.
pub(crate) fn trusted_ca(user_dir: &Path) -> Option<String> {
    fs::read_to_string(user_dir.join(CA_FILE)).ok()
}

/// How long sign-out waits for the platform to revoke the token.
const SIGN_OUT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LostNotice {
    message: String,
    at: DateTime<Utc>,
}

/// The platform declared this device lost: erases the keys of `user_dir` now.
/// Never fails: each step is tried, and logged if it could not be done.
pub(crate) fn erase_lost(user_dir: &Path, message: &str, at: DateTime<Utc>) {
    tracing::warn!(dir = %user_dir.display(), "the platform declared this device lost: erasing its keys");
    let vault = KeyVault::in_dir(user_dir);
    let had_keys = vault.exists();
    if let Err(e) = vault.erase() {
        tracing::error!(error = %e, "could not erase the wrapped data key");
    }
    if let Err(e) = FileTokenStore::in_data_dir(user_dir).clear() {
        tracing::error!(error = %e, "could not remove the token");
    }
    if !had_keys && user_dir.exists() {
        // No PIN yet: the data is plain, and only removing it makes it unreadable.
        if let Err(e) = fs::remove_dir_all(user_dir) {
            tracing::error!(error = %e, "could not remove the unencrypted user folder");
        }
    }
    let Some(data_dir) = user_dir.parent().and_then(Path::parent) else {
        return;
    };
    let notice = LostNotice {
        message: message.to_owned(),
        at,
    };
    if let Ok(bytes) = serde_json::to_vec_pretty(&notice)
        && let Err(e) =
            jiandu_store::crypto::write_file(&data_dir.join(LOST_NOTICE_FILE), &bytes, None)
    {
        tracing::error!(error = %e, "could not write the notice of the erasure");
    }
    match fs::remove_file(data_dir.join(crate::PROFILE_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::error!(error = %e, "could not sign out after the erasure");
        }
        _ => {}
    }
}

impl App {
    /// Why the platform erased this device's keys, until someone signs in again.
    pub fn lost_notice(&self) -> Option<String> {
        let bytes = fs::read(self.data_dir.join(LOST_NOTICE_FILE)).ok()?;
        serde_json::from_slice::<LostNotice>(&bytes)
            .ok()
            .map(|n| n.message)
    }

    /// A sign-in succeeded: the notice of an earlier erasure has been read.
    pub(crate) fn clear_lost_notice(&self) {
        let _ = fs::remove_file(self.data_dir.join(LOST_NOTICE_FILE));
    }

    /// Closes the session whose keys the sync runtime erased (a `device_lost`
    /// answer): called before any use case reads the session.
    pub(crate) fn close_if_lost(&self) {
        let Some(dir) = lock(&self.sync.lost).take() else {
            return;
        };
        let open = self
            .session
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_some_and(|s| s.dir == dir);
        if open {
            self.close_session();
        }
        let locked_here = lock(&self.locked)
            .as_ref()
            .is_some_and(|p| self.user_dir(&p.user_id) == dir);
        if locked_here {
            *lock(&self.locked) = None;
        }
        *lock(&self.pending) = None;
        tracing::warn!("session closed: the platform declared this device lost");
    }

    /// A request a person made was answered `device_lost`: the keys go now, as
    /// after a sync.
    pub(crate) fn note_platform_error(&self, s: &Session, e: &SyncError) {
        if let SyncError::Lost(message) = e {
            let _ = s.link.as_ref().map(|l| l.tokens.clear());
            erase_lost(&s.dir, message, self.clock.now());
            *lock(&self.sync.lost) = Some(s.dir.clone());
        }
    }

    /// 退出登录, online part: revokes this device's token on the platform, waiting
    /// briefly. Offline (or refused) the token is only forgotten locally.
    pub(crate) fn revoke_token_online(&self) {
        let Some(s) = self.current() else {
            return;
        };
        if s.profile.demo {
            return;
        }
        let Ok((client, token)) = crate::sync::server_client(&s, SIGN_OUT_TIMEOUT) else {
            return;
        };
        match self
            .sync
            .block(async move { client.sign_out(&token).await })
        {
            Ok(Ok(())) => tracing::info!("sign-out: the platform revoked this device's token"),
            Ok(Err(e)) => tracing::info!(
                code = e.code(),
                detail = %e.detail(),
                "sign-out: the token could not be revoked online; forgotten on this device"
            ),
            Err(_) => {}
        }
    }
}
