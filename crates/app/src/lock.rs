//! 应用锁 (app lock) and encryption at rest, as the app uses them.
//!
//! - A 6-digit PIN is set right after the first sign-in ([`App::set_pin`]): it
//!   makes the device's data key, wraps it with the PIN (argon2id, `keys.json`)
//!   and encrypts the user's folder in place: the database (SQLCipher), photos,
//!   signatures, documents, derived photo copies and the sync token. Nothing is
//!   lost on a crash mid-way: each step is finished on the next unlock.
//! - While the app is open it is unlocked; on start and after the idle time the
//!   person set (default 5 minutes, [`App::lock_now`] from the UI's idle timer)
//!   it is locked: the session is closed and the key forgotten until the PIN is
//!   entered again ([`App::unlock`]).
//! - Wrong PINs are counted durably and slowed down (jiandu_store::crypto); the
//!   tenth erases the wrapped key: the data can never be read again, the person
//!   signs in online with the account password (and the old, unreadable folder is
//!   cleared at that sign-in).

use crate::dto::Profile;
use crate::{App, AppError, AppResult, lock};
use jiandu_store::crypto::{KdfParams, MAX_PIN_FAILURES};
use jiandu_store::{DataKey, KeyVault, Store, UnlockError};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Default idle time before the app locks itself.
pub const DEFAULT_IDLE_MINUTES: u32 = 5;

const SETTINGS_FILE: &str = "lock-settings.json";
/// Written in the user folder once the app's own files are sealed.
const APP_FILES_MARKER: &str = "app-files.encrypted";

/// Where the app lock stands: what the first screen and the idle timer need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct LockView {
    /// `open` (nothing to enter), `set_pin` (signed in, a PIN must be set now),
    /// `locked` (enter the PIN), `signed_out`.
    pub state: String,
    /// Wrong PINs in a row so far.
    pub failures: u32,
    /// Tries left before the keys are erased.
    pub remaining: u32,
    /// Milliseconds before the next try is accepted.
    #[ts(type = "number")]
    pub wait_ms: i64,
    /// Idle minutes before the app locks itself.
    pub idle_minutes: u32,
    /// Signed out because the platform declared this device lost (its keys were
    /// erased): the explanation to show until someone signs in again.
    pub notice: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockSettings {
    idle_minutes: u32,
}

/// A sign-in that enrolled this device while the user's data waits for the PIN:
/// applied at [`App::unlock`].
#[derive(Debug, Clone)]
pub(crate) struct PendingEnrolment {
    pub token: String,
    pub url: String,
    pub device_id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub epoch: uuid::Uuid,
    pub authority: Option<String>,
}

impl App {
    /// Cheaper argon2id for tests (the stored `keys.json` records its parameters).
    pub fn set_pin_kdf(&self, kdf: KdfParams) {
        *lock(&self.kdf) = kdf;
    }

    pub(crate) fn vault(&self, user_dir: &Path) -> KeyVault {
        KeyVault::in_dir(user_dir).with_kdf(*lock(&self.kdf))
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Idle minutes before the app locks itself.
    pub fn idle_minutes(&self) -> u32 {
        fs::read(self.data_dir.join(SETTINGS_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<LockSettings>(&b).ok())
            .map(|s| s.idle_minutes)
            .unwrap_or(DEFAULT_IDLE_MINUTES)
    }

    /// Sets the idle time (1 to 60 minutes).
    pub fn set_idle_minutes(&self, minutes: u32) -> AppResult<LockView> {
        if !(1..=60).contains(&minutes) {
            return Err(AppError::invalid("自动锁定时间应为 1 到 60 分钟"));
        }
        let bytes = serde_json::to_vec(&LockSettings {
            idle_minutes: minutes,
        })
        .map_err(AppError::storage)?;
        fs::create_dir_all(&self.data_dir).map_err(AppError::storage)?;
        jiandu_store::crypto::write_file(&self.data_dir.join(SETTINGS_FILE), &bytes, None)?;
        Ok(self.lock_state())
    }

    /// Where the lock stands now.
    pub fn lock_state(&self) -> LockView {
        let mut view = LockView {
            state: "signed_out".into(),
            failures: 0,
            remaining: MAX_PIN_FAILURES,
            wait_ms: 0,
            idle_minutes: self.idle_minutes(),
            notice: None,
        };
        if let Some(s) = self.current() {
            view.state = if s.key.is_some() { "open" } else { "set_pin" }.into();
        } else if let Some(p) = lock(&self.locked).clone() {
            view.state = "locked".into();
            if let Ok(Some((failures, wait))) =
                self.vault(&self.user_dir(&p.user_id)).status(self.now_ms())
            {
                view.failures = failures;
                view.remaining = MAX_PIN_FAILURES.saturating_sub(failures);
                view.wait_ms = wait;
            }
        } else {
            view.notice = self.lost_notice();
        }
        view
    }

    /// 设置 PIN 码: makes the data key, wraps it with `pin` and encrypts this
    /// user's folder in place (see the module docs). Only once, right after the
    /// first sign-in (or on a device whose data predates the app lock).
    pub fn set_pin(&self, pin: &str) -> AppResult<LockView> {
        jiandu_store::crypto::check_pin_format(pin)?;
        let _one_at_a_time = lock(&self.signing);
        let s = self.session()?;
        if s.key.is_some() {
            return Err(AppError::new("pin_set", "本机已设置 PIN 码"));
        }
        let profile = s.profile.clone();
        let dir = s.dir.clone();
        drop(s);
        let key = DataKey::generate();
        self.vault(&dir).store(&key, pin)?;
        tracing::info!(user = %profile.username, "PIN set; encrypting the user's data");
        self.close_session();
        self.open_encrypted_session(profile, key)?;
        Ok(self.lock_state())
    }

    /// Opens `profile`'s session with `key`, finishing any encryption left undone
    /// (the store's own files, then the app's). Waits briefly for use cases still
    /// finishing on the previous session to let go of the folder.
    fn open_encrypted_session(&self, profile: Profile, key: DataKey) -> AppResult<()> {
        let dir = self.user_dir(&profile.user_id);
        let db = dir.join("device.db");
        let mut tries = 0;
        loop {
            match Store::encrypt_folder(&db, &key) {
                Ok(()) => break,
                Err(e) if e.code() == "invalid" && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        }
        seal_app_files(&dir, &key)?;
        self.open_session(profile, Some(key))?;
        Ok(())
    }

    /// Locks the app now (the idle timer, 锁定): the session closes and the key is
    /// forgotten until the PIN is entered. A session without a PIN stays open.
    pub fn lock_now(&self) -> AppResult<LockView> {
        let _one_at_a_time = lock(&self.signing);
        if let Some(s) = self.current()
            && s.key.is_some()
        {
            *lock(&self.locked) = Some(s.profile.clone());
            drop(s);
            self.close_session();
            tracing::info!("app locked");
        }
        Ok(self.lock_state())
    }

    /// 输入 PIN 码 to unlock. A wrong PIN says how many tries are left; from the
    /// fourth in a row the next try waits; the tenth erases the keys and signs out.
    pub fn unlock(&self, pin: &str) -> AppResult<LockView> {
        let _one_at_a_time = lock(&self.signing);
        let Some(profile) = lock(&self.locked).clone() else {
            return Ok(self.lock_state());
        };
        let dir = self.user_dir(&profile.user_id);
        let vault = self.vault(&dir);
        match vault.unlock(pin, self.now_ms())? {
            Ok(key) => {
                self.open_encrypted_session(profile, key)?;
                *lock(&self.locked) = None;
                if let Some(p) = lock(&self.pending).take() {
                    self.apply_pending_enrolment(p)?;
                }
                tracing::info!("app unlocked");
                Ok(self.lock_state())
            }
            Err(UnlockError::WrongPin { remaining, wait_ms }) => {
                tracing::warn!(remaining, "wrong PIN");
                let wait = if wait_ms > 0 {
                    format!("，请 {} 秒后再试", (wait_ms + 999) / 1000)
                } else {
                    String::new()
                };
                Err(AppError::new(
                    "wrong_pin",
                    format!(
                        "PIN 码错误，还可尝试 {remaining} 次{wait}。连续输错 {MAX_PIN_FAILURES} 次将清除本机密钥，数据无法再读取"
                    ),
                ))
            }
            Err(UnlockError::TooSoon { wait_ms }) => Err(AppError::new(
                "pin_wait",
                format!("输错次数过多，请 {} 秒后再试", (wait_ms + 999) / 1000),
            )),
            Err(UnlockError::Erased | UnlockError::NoKeys) => {
                self.after_keys_erased(&dir)?;
                Err(AppError::new(
                    "keys_erased",
                    "本机密钥已清除（PIN 码连续输错次数过多），本机数据无法再读取。请联网后用账号密码重新登录",
                ))
            }
        }
    }

    /// 修改 PIN 码: the current PIN (a wrong one counts as a try, as at unlock),
    /// then the new one twice. The data key is wrapped again with the new PIN
    /// (`keys.json` replaced atomically); the data itself is not re-encrypted.
    pub fn change_pin(&self, old: &str, new: &str, again: &str) -> AppResult<LockView> {
        jiandu_store::crypto::check_pin_format(new)
            .map_err(|_| AppError::invalid("新 PIN 码应为 6 位数字"))?;
        if new != again {
            return Err(AppError::invalid("两次输入的新 PIN 码不一致"));
        }
        if new == old {
            return Err(AppError::invalid("新 PIN 码不能与原 PIN 码相同"));
        }
        let _one_at_a_time = lock(&self.signing);
        let s = self.session()?;
        if s.key.is_none() {
            return Err(AppError::new("no_pin", "本机尚未设置 PIN 码"));
        }
        let dir = s.dir.clone();
        drop(s);
        let key = self.check_pin(&dir, old)?;
        self.vault(&dir).store(&key, new)?;
        tracing::info!("PIN changed; the data key was wrapped again");
        Ok(self.lock_state())
    }

    /// Asks for the PIN again while unlocked (导出本机数据, 修改 PIN 码): a wrong one
    /// counts as a try, as at unlock. Answers the data key it unwraps.
    pub(crate) fn check_pin(&self, user_dir: &Path, pin: &str) -> AppResult<DataKey> {
        match self.vault(user_dir).unlock(pin, self.now_ms())? {
            Ok(key) => Ok(key),
            Err(UnlockError::WrongPin { remaining, .. }) => Err(AppError::new(
                "wrong_pin",
                format!("PIN 码错误，还可尝试 {remaining} 次"),
            )),
            Err(UnlockError::TooSoon { wait_ms }) => Err(AppError::new(
                "pin_wait",
                format!("输错次数过多，请 {} 秒后再试", (wait_ms + 999) / 1000),
            )),
            Err(UnlockError::Erased | UnlockError::NoKeys) => {
                self.after_keys_erased(user_dir)?;
                Err(AppError::new(
                    "keys_erased",
                    "本机密钥已清除（PIN 码连续输错次数过多），本机数据无法再读取。请联网后用账号密码重新登录",
                ))
            }
        }
    }

    /// The keys are gone: nobody stays signed in; the folder's data is unreadable
    /// and is cleared at the next sign-in of that user.
    fn after_keys_erased(&self, dir: &Path) -> AppResult<()> {
        tracing::warn!(dir = %dir.display(), "device keys erased");
        *lock(&self.locked) = None;
        *lock(&self.pending) = None;
        self.close_session();
        match fs::remove_file(self.data_dir.join(crate::PROFILE_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AppError::storage(e)),
        }
    }

    /// Before a sign-in writes into `user_dir`: a folder whose keys were erased
    /// cannot be read by anyone; it is removed so the new sign-in starts clean.
    pub(crate) fn clear_unreadable(&self, user_dir: &Path) -> AppResult<()> {
        let db = user_dir.join("device.db");
        if !self.vault(user_dir).exists()
            && (Store::is_encrypted(&db) || user_dir.join(APP_FILES_MARKER).exists())
        {
            tracing::warn!(dir = %user_dir.display(), "removing a folder whose keys were erased");
            fs::remove_dir_all(user_dir).map_err(AppError::storage)?;
        }
        Ok(())
    }

    /// Whether `user_dir` has a PIN (its data is encrypted, or being encrypted).
    pub(crate) fn has_pin(&self, user_dir: &Path) -> bool {
        self.vault(user_dir).exists()
    }

    fn apply_pending_enrolment(&self, p: PendingEnrolment) -> AppResult<()> {
        let s = self.session()?;
        {
            let mut store = s.store();
            store.set_enrolment(
                &p.url,
                p.device_id,
                p.user_id,
                p.epoch,
                p.authority.as_deref(),
                self.clock.now(),
            )?;
        }
        let tokens = jiandu_sync::FileTokenStore::in_data_dir(&s.dir).with_key(s.key.clone());
        jiandu_sync::TokenStore::save(&tokens, &p.token).map_err(AppError::storage)?;
        // The session started before the enrolment was stored: start its sync now.
        let profile = s.profile.clone();
        let key = s.key.clone();
        drop(s);
        self.close_session();
        self.open_session(profile, key)?;
        Ok(())
    }
}

/// Seals the app's own files of a user folder in place: the sync token, the
/// documents; derived photo copies are removed (made again, sealed, when shown).
/// Idempotent; a marker file says when it is done.
fn seal_app_files(dir: &Path, key: &DataKey) -> AppResult<()> {
    if dir.join(APP_FILES_MARKER).exists() {
        return Ok(());
    }
    jiandu_sync::FileTokenStore::in_data_dir(dir)
        .with_key(Some(key.clone()))
        .seal_existing()
        .map_err(AppError::storage)?;
    let derived = dir.join("photos-derived");
    if derived.exists() {
        fs::remove_dir_all(&derived).map_err(AppError::storage)?;
    }
    let mut stack: Vec<PathBuf> = vec![dir.join("documents")];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(AppError::storage(e)),
        };
        for entry in entries {
            let path = entry.map_err(AppError::storage)?.path();
            if path.is_dir() {
                stack.push(path);
            } else if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tmp"))
            {
                jiandu_store::crypto::seal_file_in_place(&path, key)?;
            }
        }
    }
    jiandu_store::crypto::write_file(&dir.join(APP_FILES_MARKER), b"1\n", None)?;
    Ok(())
}
