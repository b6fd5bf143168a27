//! Encryption at rest: the device's data key, the PIN that wraps it, and sealed files.
//!
//! - The **data key** is 32 random bytes made once per user folder. It is the
//!   SQLCipher key of `device.db` (a raw key: no PBKDF2 at each open) and the
//!   XChaCha20-Poly1305 key of every evidence file, document and the sync token.
//! - It is stored only **wrapped**: `keys.json` holds it sealed with a key derived
//!   from the 6-digit PIN by argon2id (64 MiB, 3 passes), plus the count of wrong
//!   PINs and the time before which no new try is accepted. The failure count is
//!   written (fsync, rename) BEFORE the PIN is checked, so killing the app between
//!   tries gives no free attempts. After [`MAX_PIN_FAILURES`] wrong PINs the file is
//!   overwritten and removed: without it, nothing in the folder can be read.
//! - A **sealed file** is `JDE1` ‖ 24-byte nonce ‖ ciphertext+tag of the whole
//!   content, with the file's role (its name) as associated data, so a sealed photo
//!   cannot be swapped for another file's ciphertext unnoticed.
//!
//! Limits, stated plainly: a 6-digit PIN has a million values. The rate limit and
//! the erasure protect against guessing in the app; someone who copies `keys.json`
//! off the disk can try PINs offline at argon2id's cost (about 0.2–0.5 s each on
//! one core, so days, not years). A hardware keystore (Android Keystore, iOS
//! Keychain) that rate-limits in hardware is the proper answer on tablets; the
//! Linux desktop build has none and uses `keys.json` alone (docs/SECURITY.md).

use crate::error::{Result, StoreError};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// Magic of a sealed file.
pub const SEALED_MAGIC: &[u8; 4] = b"JDE1";
const NONCE_LEN: usize = 24;

/// Wrong PINs in a row after which the keys are erased.
pub const MAX_PIN_FAILURES: u32 = 10;

/// Name of the wrapped-key file in a user folder.
pub const KEYS_FILE: &str = "keys.json";

/// The per-device data key. Zeroed when dropped; never printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    /// A new random key.
    pub fn generate() -> DataKey {
        let mut k = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(k.as_mut());
        DataKey(k)
    }

    /// A key from its 32 bytes (tests hand a fixed key to a child process).
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// The SQLCipher raw-key literal (`x'…'`), for `PRAGMA key`.
    pub(crate) fn sqlcipher_literal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(self.0.as_ref())))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    /// Seals `plain` for the role `aad` (e.g. `photo/<id>`).
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher(), aad, plain)
    }

    /// Opens what [`DataKey::seal`] made for the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        open_with(&self.cipher(), aad, sealed)
    }
}

fn seal_with(cipher: &XChaCha20Poly1305, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        // Only fails for messages beyond 256 GiB.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(4 + NONCE_LEN + ct.len());
    out.extend_from_slice(SEALED_MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

fn open_with(cipher: &XChaCha20Poly1305, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    if !is_sealed(sealed) || sealed.len() < 4 + NONCE_LEN + 16 {
        return Err(StoreError::Data("加密文件格式不正确".into()));
    }
    let nonce = XNonce::from_slice(&sealed[4..4 + NONCE_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &sealed[4 + NONCE_LEN..],
                aad,
            },
        )
        .map_err(|_| StoreError::Data("加密文件无法解密：文件已损坏或不属于本机".into()))
}

/// Whether `bytes` start like a sealed file.
pub fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(SEALED_MAGIC)
}

/// Argon2id parameters of the PIN key, stored with the wrapped key so they can grow.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, one lane.
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };
}

/// `keys.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeysFile {
    version: u32,
    kdf: KdfParams,
    salt: String,
    /// The data key sealed with the PIN key (hex).
    wrapped: String,
    /// Wrong PINs in a row.
    failures: u32,
    /// Unix milliseconds before which no PIN is checked.
    locked_until_ms: i64,
}

/// Why an unlock did not give the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockError {
    /// No keys in this folder (never set, or erased).
    NoKeys,
    /// Wrong PIN; `remaining` tries before erasure; `wait_ms` before the next try.
    WrongPin { remaining: u32, wait_ms: i64 },
    /// Too soon after a wrong PIN.
    TooSoon { wait_ms: i64 },
    /// That was the last try: the keys are erased.
    Erased,
}

/// The delay imposed after `failures` wrong PINs in a row (ms): none for the first
/// three, then 5 s, 15 s, 30 s, 1, 2, 5 min.
pub fn pin_delay_ms(failures: u32) -> i64 {
    match failures {
        0..=3 => 0,
        4 => 5_000,
        5 => 15_000,
        6 => 30_000,
        7 => 60_000,
        8 => 120_000,
        _ => 300_000,
    }
}

/// Checks the form of a PIN: exactly six digits.
pub fn check_pin_format(pin: &str) -> Result<()> {
    if pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StoreError::Invalid("PIN 码应为 6 位数字".into()))
    }
}

fn pin_cipher(pin: &str, salt: &[u8], kdf: KdfParams) -> Result<XChaCha20Poly1305> {
    let params = argon2::Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|e| StoreError::Data(format!("密钥参数无效：{e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut kek = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(pin.as_bytes(), salt, kek.as_mut())
        .map_err(|e| StoreError::Data(format!("无法由 PIN 码生成密钥：{e}")))?;
    Ok(XChaCha20Poly1305::new(kek.as_ref().into()))
}

const WRAP_AAD: &[u8] = b"jiandu data key v1";

/// The wrapped key of one user folder.
#[derive(Debug, Clone)]
pub struct KeyVault {
    path: PathBuf,
    kdf: KdfParams,
}

impl KeyVault {
    /// The vault of the folder `dir` (`dir/keys.json`).
    pub fn in_dir(dir: &Path) -> KeyVault {
        KeyVault {
            path: dir.join(KEYS_FILE),
            kdf: KdfParams::DEFAULT,
        }
    }

    /// Cheaper argon2 for tests and benches only (the stored file records which).
    pub fn with_kdf(mut self, kdf: KdfParams) -> KeyVault {
        self.kdf = kdf;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a wrapped key exists.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    fn read(&self) -> Result<Option<KeysFile>> {
        match fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| StoreError::Data(format!("{}：{e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&self.path, e)),
        }
    }

    fn write(&self, k: &KeysFile) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(k).map_err(|e| StoreError::Data(e.to_string()))?;
        write_durably(&self.path, &bytes)
    }

    /// Wraps `key` with `pin` (replacing any earlier wrapping: a PIN change).
    pub fn store(&self, key: &DataKey, pin: &str) -> Result<()> {
        check_pin_format(pin)?;
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let cipher = pin_cipher(pin, &salt, self.kdf)?;
        let wrapped = seal_with(&cipher, WRAP_AAD, key.0.as_ref());
        self.write(&KeysFile {
            version: 1,
            kdf: self.kdf,
            salt: hex::encode(salt),
            wrapped: hex::encode(wrapped),
            failures: 0,
            locked_until_ms: 0,
        })
    }

    /// Wrong PINs so far and the wait before the next try (ms from `now_ms`).
    pub fn status(&self, now_ms: i64) -> Result<Option<(u32, i64)>> {
        Ok(self
            .read()?
            .map(|k| (k.failures, (k.locked_until_ms - now_ms).max(0))))
    }

    /// The data key, if `pin` is right. Counts the try first (durably); a right PIN
    /// resets the count; the tenth wrong one erases the keys.
    pub fn unlock(
        &self,
        pin: &str,
        now_ms: i64,
    ) -> Result<std::result::Result<DataKey, UnlockError>> {
        let Some(mut k) = self.read()? else {
            return Ok(Err(UnlockError::NoKeys));
        };
        if k.locked_until_ms > now_ms {
            return Ok(Err(UnlockError::TooSoon {
                wait_ms: k.locked_until_ms - now_ms,
            }));
        }
        let salt = hex::decode(&k.salt).map_err(|e| StoreError::Data(e.to_string()))?;
        let wrapped = hex::decode(&k.wrapped).map_err(|e| StoreError::Data(e.to_string()))?;
        // Count this try before checking it.
        let before = k.clone();
        k.failures += 1;
        k.locked_until_ms = now_ms + pin_delay_ms(k.failures);
        self.write(&k)?;
        let opened = check_pin_format(pin)
            .and_then(|()| pin_cipher(pin, &salt, k.kdf))
            .and_then(|c| open_with(&c, WRAP_AAD, &wrapped));
        match opened {
            Ok(mut bytes) if bytes.len() == 32 => {
                let mut key = Zeroizing::new([0u8; 32]);
                key.copy_from_slice(&bytes);
                bytes.zeroize();
                self.write(&KeysFile {
                    failures: 0,
                    locked_until_ms: 0,
                    ..before
                })?;
                Ok(Ok(DataKey(key)))
            }
            _ if k.failures >= MAX_PIN_FAILURES => {
                self.erase()?;
                Ok(Err(UnlockError::Erased))
            }
            _ => Ok(Err(UnlockError::WrongPin {
                remaining: MAX_PIN_FAILURES - k.failures,
                wait_ms: pin_delay_ms(k.failures),
            })),
        }
    }

    /// Overwrites and removes the wrapped key: the folder's data is unreadable after.
    pub fn erase(&self) -> Result<()> {
        if let Ok(meta) = fs::metadata(&self.path) {
            if let Ok(mut f) = fs::OpenOptions::new().write(true).open(&self.path) {
                let _ = f.write_all(&vec![0u8; meta.len() as usize]);
                let _ = f.sync_all();
            }
            fs::remove_file(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
            if let Some(dir) = self.path.parent() {
                crate::files::sync_dir(dir)?;
            }
        }
        Ok(())
    }
}

/// Reads a file sealed with `key` (bound to its folder and name); without a key,
/// a plain file as it is (a sealed one is refused).
pub fn read_file(path: &Path, key: Option<&DataKey>) -> Result<Vec<u8>> {
    crate::files::read_plain(path, key)
}

/// Writes `bytes` to `path` durably, sealed with `key` when given.
pub fn write_file(path: &Path, bytes: &[u8], key: Option<&DataKey>) -> Result<()> {
    match key {
        Some(key) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            write_durably(path, &key.seal(&crate::files::file_aad(dir, &name), bytes))
        }
        None => write_durably(path, bytes),
    }
}

/// Seals a plain file in place (temporary file, fsync, rename); `false` when it
/// already was sealed.
pub fn seal_file_in_place(path: &Path, key: &DataKey) -> Result<bool> {
    crate::files::seal_in_place(path, key)
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename, mode 0600.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{}{name}.w", crate::files::TEMP_PREFIX));
    let result = (|| -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    crate::files::sync_dir(&dir)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let k = DataKey::generate();
        let s = k.seal(b"photo/1", b"hello");
        assert!(is_sealed(&s));
        assert_eq!(k.open(b"photo/1", &s).unwrap(), b"hello");
        assert!(k.open(b"photo/2", &s).is_err(), "bound to its role");
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(k.open(b"photo/1", &t).is_err(), "tamper detected");
        assert!(DataKey::generate().open(b"photo/1", &s).is_err());
    }

    #[test]
    fn pin_tries_are_limited_and_the_tenth_erases() {
        let dir = tempfile::tempdir().unwrap();
        let v = KeyVault::in_dir(dir.path()).with_kdf(FAST);
        let key = DataKey::generate();
        v.store(&key, "123456").unwrap();
        assert!(check_pin_format("12345").is_err());
        let mut now = 0;
        let got = v.unlock("123456", now).unwrap().unwrap();
        assert_eq!(got.seal(b"a", b"x").len(), key.seal(b"a", b"x").len());
        assert_eq!(key.open(b"a", &got.seal(b"a", b"x")).unwrap(), b"x");
        for i in 1..MAX_PIN_FAILURES {
            match v.unlock("000000", now).unwrap() {
                Err(UnlockError::WrongPin { remaining, wait_ms }) => {
                    assert_eq!(remaining, MAX_PIN_FAILURES - i);
                    assert_eq!(wait_ms, pin_delay_ms(i));
                    if wait_ms > 0 {
                        // Even the right PIN is not checked before the wait.
                        assert!(matches!(
                            v.unlock("123456", now).unwrap(),
                            Err(UnlockError::TooSoon { .. })
                        ));
                    }
                    now += wait_ms;
                }
                other => panic!("try {i}: {other:?}"),
            }
        }
        assert_eq!(
            v.unlock("000000", now).unwrap().unwrap_err(),
            UnlockError::Erased
        );
        assert!(!v.exists());
        assert_eq!(
            v.unlock("123456", now).unwrap().unwrap_err(),
            UnlockError::NoKeys
        );
    }

    #[test]
    fn a_right_pin_resets_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let v = KeyVault::in_dir(dir.path()).with_kdf(FAST);
        v.store(&DataKey::generate(), "654321").unwrap();
        for _ in 0..3 {
            assert!(v.unlock("111111", 0).unwrap().is_err());
        }
        assert!(v.unlock("654321", 0).unwrap().is_ok());
        assert_eq!(v.status(0).unwrap(), Some((0, 0)));
    }
}
