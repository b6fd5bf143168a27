//! Settings: command-line flags, then `JIANDU_*` environment variables, then a TOML
//! file (`--config`), then defaults. Secrets (a PostgreSQL password in the database
//! URL) never appear in `Debug` output or logs.

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Default data folder, relative to the working directory (git-ignored).
pub const DEFAULT_DATA_DIR: &str = ".jiandu-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Largest request body accepted (JSON API), in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A database URL whose password is hidden from `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    /// The full URL, password included: pass it to the driver, never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let s = &self.0;
        let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
            return s.clone();
        };
        let rest = &s[scheme_end..];
        let auth_end = rest.find('/').unwrap_or(rest.len());
        match rest[..auth_end].rfind('@') {
            Some(at) => match rest[..at].find(':') {
                Some(colon) => format!("{}{}:***{}", &s[..scheme_end], &rest[..colon], &rest[at..]),
                None => s.clone(),
            },
            None => s.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The settings file (`--config FILE`, TOML). Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub db: Option<String>,
    pub blobs: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub max_body_bytes: Option<usize>,
    /// Console sessions end after this many minutes without use (default 30).
    pub session_idle_minutes: Option<u32>,
    /// Console sessions end this many hours after sign-in (default 12).
    pub session_max_hours: Option<u32>,
    /// Always mark the session cookie `Secure` (behind TLS).
    pub secure_cookies: Option<bool>,
}

impl FileSettings {
    pub fn load(path: &Path) -> anyhow::Result<FileSettings> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("无法读取配置文件 {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("配置文件 {} 格式错误", path.display()))
    }
}

/// Effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DatabaseUrl,
    pub blobs: PathBuf,
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub sessions: crate::service::sessions::SessionSettings,
}

impl Settings {
    /// Merges: explicit values (flags or env, as clap resolved them) over the file
    /// over defaults.
    pub fn resolve(
        db: Option<String>,
        blobs: Option<PathBuf>,
        listen: Option<SocketAddr>,
        file: FileSettings,
    ) -> Settings {
        let data = PathBuf::from(DEFAULT_DATA_DIR);
        Settings {
            db: DatabaseUrl::new(
                db.or(file.db)
                    .unwrap_or_else(|| data.join("server.sqlite").to_string_lossy().into_owned()),
            ),
            blobs: blobs.or(file.blobs).unwrap_or_else(|| data.join("blobs")),
            listen: listen.or(file.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
            }),
            max_body_bytes: file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            sessions: {
                let d = crate::service::sessions::SessionSettings::default();
                crate::service::sessions::SessionSettings {
                    idle: file
                        .session_idle_minutes
                        .map(|m| chrono::Duration::minutes(m.max(1).into()))
                        .unwrap_or(d.idle),
                    absolute: file
                        .session_max_hours
                        .map(|h| chrono::Duration::hours(h.max(1).into()))
                        .unwrap_or(d.absolute),
                    secure_cookies: file.secure_cookies.unwrap_or(d.secure_cookies),
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_hidden_from_debug() {
        let u = DatabaseUrl::new("postgres://jiandu:s3cret@db.example:5432/jiandu");
        let shown = format!("{u:?} {u}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://jiandu:***@db.example:5432/jiandu"));
        assert_eq!(
            u.expose(),
            "postgres://jiandu:s3cret@db.example:5432/jiandu"
        );
        let s = Settings::resolve(Some(u.expose().into()), None, None, FileSettings::default());
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn flags_beat_file_beat_defaults() {
        let file: FileSettings =
            toml::from_str("db = \"file.sqlite\"\nlisten = \"127.0.0.1:9000\"").expect("toml");
        let s = Settings::resolve(Some("flag.sqlite".into()), None, None, file);
        assert_eq!(s.db.expose(), "flag.sqlite");
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.blobs, PathBuf::from(".jiandu-data/blobs"));
        assert!(toml::from_str::<FileSettings>("unknown = 1").is_err());
    }
}
