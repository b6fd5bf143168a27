//! Where the device's bearer token is kept: outside the database, so a copied
//! database file grants nothing.
//!
//! [`TokenStore`] is what the engine needs; the app can implement it with the
//! platform's secure storage (Android Keystore, iOS Keychain, Windows Credential
//! Manager). [`FileTokenStore`] is the portable default: one file, readable by
//! this user only (0600 on Unix), written atomically.

use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Keeps the one bearer token of this device.
pub trait TokenStore: Debug + Send + Sync {
    fn load(&self) -> std::io::Result<Option<String>>;
    fn save(&self, token: &str) -> std::io::Result<()>;
    fn clear(&self) -> std::io::Result<()>;
}

/// The token in `<data_dir>/sync-token`, mode 0600.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    /// With the device's data key the token is kept sealed in `sync-token.sealed`
    /// (a plain `sync-token` from before the PIN is still read, and removed by the
    /// next save or clear).
    key: Option<jiandu_store::DataKey>,
}

impl FileTokenStore {
    /// The token file of the data folder `data_dir` (the folder of the device
    /// database).
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join("sync-token"),
            key: None,
        }
    }

    /// The same, sealed with the device's data key.
    pub fn with_key(mut self, key: Option<jiandu_store::DataKey>) -> Self {
        self.key = key;
        self
    }

    fn sealed_path(&self) -> PathBuf {
        self.path.with_file_name("sync-token.sealed")
    }

    /// Moves a plain token (from before the PIN) into the sealed file.
    pub fn seal_existing(&self) -> std::io::Result<()> {
        if self.key.is_some()
            && let Some(t) = self.load()?
        {
            self.save(&t)?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> std::io::Result<Option<String>> {
        if let Some(key) = &self.key {
            match jiandu_store::crypto::read_file(&self.sealed_path(), Some(key)) {
                Ok(bytes) => {
                    let s = String::from_utf8(bytes).map_err(std::io::Error::other)?;
                    return Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()));
                }
                Err(jiandu_store::StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        match std::fs::read_to_string(&self.path) {
            Ok(s) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn save(&self, token: &str) -> std::io::Result<()> {
        if let Some(key) = &self.key {
            jiandu_store::crypto::write_file(&self.sealed_path(), token.as_bytes(), Some(key))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let tmp = self.path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(token.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    fn clear(&self) -> std::io::Result<()> {
        match std::fs::remove_file(self.sealed_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A token in memory only (tests; a platform store keeps it elsewhere).
#[derive(Debug, Default)]
pub struct MemoryTokenStore(std::sync::Mutex<Option<String>>);

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> std::io::Result<Option<String>> {
        Ok(self.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
    fn save(&self, token: &str) -> std::io::Result<()> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.to_owned());
        Ok(())
    }
    fn clear(&self) -> std::io::Result<()> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_token_round_trips_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let t = FileTokenStore::in_data_dir(dir.path());
        assert_eq!(t.load().expect("loads"), None, "nothing saved yet");
        t.save("jdt_abc").expect("saves");
        t.save("jdt_def").expect("saves again (atomic replace)");
        assert_eq!(t.load().expect("loads").as_deref(), Some("jdt_def"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(t.path())
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner may read the token");
        }
        t.clear().expect("clears");
        assert_eq!(t.load().expect("loads"), None);
    }
}
