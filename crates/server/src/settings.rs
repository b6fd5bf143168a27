//! Settings: command-line flags, then `JIANDU_*` environment variables, then a TOML
//! file (`--config`), then defaults. Secrets (a PostgreSQL password in the database
//! URL) never appear in `Debug` output or logs.

use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Default data folder, relative to the working directory (git-ignored).
pub const DEFAULT_DATA_DIR: &str = ".jiandu-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Largest request body accepted (JSON API), in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed
/// (settings `trusted_proxies`: addresses or CIDR blocks). From anyone else the
/// headers are ignored: the client is the connection's peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`. `Err` names the bad entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut out = Vec::new();
        for e in entries {
            let (addr, bits) = match e.trim().split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (e.trim(), None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| e.clone())?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| e.clone())?,
                None => max,
            };
            out.push((ip, bits));
        }
        Ok(Self(out))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }

    /// The client behind `peer`: the nearest `X-Forwarded-For` address that is not a
    /// trusted proxy, when `peer` is one; otherwise `peer` itself.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let Some(list) = forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in list.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.contains(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

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

/// A secret from the settings file: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The settings file (`--config FILE`, TOML). Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub db: Option<String>,
    /// A folder, or `s3://BUCKET/PREFIX` (then the `s3_*` keys below).
    pub blobs: Option<PathBuf>,
    /// Object store endpoint, e.g. `http://minio.internal:9000` (`JIANDU_S3_ENDPOINT`;
    /// unset: AWS S3).
    pub s3_endpoint: Option<String>,
    /// Object store region (`JIANDU_S3_REGION`; default `us-east-1`).
    pub s3_region: Option<String>,
    /// `JIANDU_S3_ACCESS_KEY_ID`.
    pub s3_access_key_id: Option<String>,
    /// `JIANDU_S3_SECRET_ACCESS_KEY`: never logged.
    pub s3_secret_access_key: Option<Secret>,
    /// Addresses or CIDR blocks that may read `/api/v1/metrics` without an
    /// administrator's token or session, e.g. `["10.0.0.5"]` for Prometheus.
    pub metrics_allow: Option<Vec<String>>,
    pub listen: Option<SocketAddr>,
    pub max_body_bytes: Option<usize>,
    /// Console sessions end after this many minutes without use (default 30).
    pub session_idle_minutes: Option<u32>,
    /// Console sessions end this many hours after sign-in (default 12).
    pub session_max_hours: Option<u32>,
    /// Always mark the session cookie `Secure` (behind TLS).
    pub secure_cookies: Option<bool>,
    /// Device tokens unused this many days are refused (default 30; each use
    /// renews; a fraction is allowed, e.g. 0.5).
    pub device_token_idle_days: Option<f64>,
    /// Photos per inspection (not voided; default 300).
    pub photos_per_inspection: Option<u64>,
    /// Megabytes of photos per inspection (default 2048).
    pub photo_mb_per_inspection: Option<u64>,
    /// Photos one device may upload per day (default 2000).
    pub photos_per_device_per_day: Option<u64>,
    /// Megabytes one device may upload per day (default 8192).
    pub photo_mb_per_device_per_day: Option<u64>,
    /// Hours after which an unfinished photo upload is removed (default 72).
    pub partial_upload_hours: Option<u64>,
    /// Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For and
    /// X-Forwarded-Proto are believed, e.g. `["127.0.0.1"]` behind a local nginx.
    pub trusted_proxies: Option<Vec<String>>,
    /// File the audit head hash is appended to daily (default: beside the blobs
    /// folder, `audit-heads.txt`).
    pub audit_head_file: Option<PathBuf>,
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
    pub blobs: crate::blobs::BlobLocation,
    /// Who may read `/metrics` without the admin token (settings `metrics_allow`).
    pub metrics_allow: Vec<String>,
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub sessions: crate::service::sessions::SessionSettings,
    pub tokens: crate::service::people::TokenSettings,
    pub uploads: crate::service::sync::UploadLimits,
    pub audit_head_file: PathBuf,
    /// As the file says (checked by `TrustedProxies::parse` before serving).
    pub trusted_proxies: Vec<String>,
}

impl Settings {
    /// Merges: explicit values (flags or env, as clap resolved them) over the file
    /// over defaults.
    pub fn resolve(
        db: Option<String>,
        blobs: Option<PathBuf>,
        listen: Option<SocketAddr>,
        file: FileSettings,
    ) -> anyhow::Result<Settings> {
        Self::resolve_with_env(db, blobs, listen, file, |k| std::env::var(k).ok())
    }

    /// As [`Settings::resolve`], with the `JIANDU_S3_*` variables read by `env`.
    pub fn resolve_with_env(
        db: Option<String>,
        blobs: Option<PathBuf>,
        listen: Option<SocketAddr>,
        file: FileSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Settings> {
        let data = PathBuf::from(DEFAULT_DATA_DIR);
        let blobs = blobs
            .or(file.blobs.clone())
            .unwrap_or_else(|| data.join("blobs"));
        let text = blobs.to_string_lossy();
        let (blobs, blobs_dir) = if text.starts_with("s3://") {
            let Some((bucket, prefix)) = crate::blobs::s3::parse_url(&text) else {
                anyhow::bail!("照片存储地址“{text}”无效：应为 s3://存储桶/前缀");
            };
            let pick = |var: &str, key: &Option<String>| {
                env(var).filter(|v| !v.is_empty()).or_else(|| key.clone())
            };
            let (Some(access_key_id), Some(secret_access_key)) = (
                pick("JIANDU_S3_ACCESS_KEY_ID", &file.s3_access_key_id),
                pick(
                    "JIANDU_S3_SECRET_ACCESS_KEY",
                    &file.s3_secret_access_key.as_ref().map(|s| s.0.clone()),
                ),
            ) else {
                anyhow::bail!(
                    "照片存于对象存储（{text}）时，须在配置文件（s3_access_key_id、s3_secret_access_key）\
                     或环境变量（JIANDU_S3_ACCESS_KEY_ID、JIANDU_S3_SECRET_ACCESS_KEY）中给出访问密钥"
                );
            };
            (
                crate::blobs::BlobLocation::S3(crate::blobs::S3Location {
                    bucket,
                    prefix,
                    endpoint: pick("JIANDU_S3_ENDPOINT", &file.s3_endpoint),
                    region: pick("JIANDU_S3_REGION", &file.s3_region)
                        .unwrap_or_else(|| "us-east-1".into()),
                    access_key_id,
                    secret_access_key,
                }),
                data.clone(),
            )
        } else {
            let dir = blobs.parent().unwrap_or(&data).to_owned();
            (crate::blobs::BlobLocation::Folder(blobs), dir)
        };
        let audit_head_file = file
            .audit_head_file
            .clone()
            .unwrap_or_else(|| blobs_dir.join("audit-heads.txt"));
        Ok(Settings {
            audit_head_file,
            metrics_allow: file.metrics_allow.clone().unwrap_or_default(),
            trusted_proxies: file.trusted_proxies.clone().unwrap_or_default(),
            db: DatabaseUrl::new(
                db.or(file.db)
                    .unwrap_or_else(|| data.join("server.sqlite").to_string_lossy().into_owned()),
            ),
            blobs,
            listen: listen.or(file.listen).unwrap_or_else(|| {
                DEFAULT_LISTEN
                    .parse()
                    .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
            }),
            max_body_bytes: file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            tokens: match file.device_token_idle_days {
                // At least a second; at most a century.
                Some(days) if days.is_finite() => crate::service::people::TokenSettings {
                    idle: chrono::Duration::milliseconds(
                        (days.clamp(1.0 / 86_400.0, 36_500.0) * 86_400_000.0) as i64,
                    ),
                },
                _ => crate::service::people::TokenSettings::default(),
            },
            uploads: {
                let d = crate::service::sync::UploadLimits::default();
                let mb = |m: u64| m.max(1).saturating_mul(1024 * 1024);
                crate::service::sync::UploadLimits {
                    photos_per_inspection: file
                        .photos_per_inspection
                        .unwrap_or(d.photos_per_inspection),
                    bytes_per_inspection: file
                        .photo_mb_per_inspection
                        .map(mb)
                        .unwrap_or(d.bytes_per_inspection),
                    photos_per_device_per_day: file
                        .photos_per_device_per_day
                        .unwrap_or(d.photos_per_device_per_day),
                    bytes_per_device_per_day: file
                        .photo_mb_per_device_per_day
                        .map(mb)
                        .unwrap_or(d.bytes_per_device_per_day),
                    partial_upload_expiry: file
                        .partial_upload_hours
                        .map(|h| std::time::Duration::from_secs(h.max(1) * 3600))
                        .unwrap_or(d.partial_upload_expiry),
                }
            },
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
        })
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
        let s = Settings::resolve(Some(u.expose().into()), None, None, FileSettings::default())
            .expect("settings");
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn flags_beat_file_beat_defaults() {
        let file: FileSettings =
            toml::from_str("db = \"file.sqlite\"\nlisten = \"127.0.0.1:9000\"").expect("toml");
        let s = Settings::resolve(Some("flag.sqlite".into()), None, None, file).expect("settings");
        assert_eq!(s.db.expose(), "flag.sqlite");
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(
            s.blobs,
            crate::blobs::BlobLocation::Folder(PathBuf::from(".jiandu-data/blobs"))
        );
        assert!(toml::from_str::<FileSettings>("unknown = 1").is_err());
    }

    #[test]
    fn device_tokens_expire_after_the_set_days() {
        let d = Settings::resolve(None, None, None, FileSettings::default()).expect("settings");
        assert_eq!(d.tokens.idle, chrono::Duration::days(30));
        for (text, want) in [
            ("device_token_idle_days = 7", chrono::Duration::days(7)),
            ("device_token_idle_days = 0.5", chrono::Duration::hours(12)),
        ] {
            let file: FileSettings = toml::from_str(text).expect("toml");
            let s = Settings::resolve(None, None, None, file).expect("settings");
            assert_eq!(s.tokens.idle, want, "{text}");
        }
    }

    #[test]
    fn s3_blobs_take_credentials_from_env_over_file_and_never_show_the_secret() {
        let file: FileSettings = toml::from_str(
            "blobs = \"s3://photos/jiandu/prod/\"\ns3_endpoint = \"http://file:9000\"\n\
             s3_access_key_id = \"file-key\"\ns3_secret_access_key = \"file-secret\"",
        )
        .expect("toml");
        let env = |k: &str| match k {
            "JIANDU_S3_SECRET_ACCESS_KEY" => Some("env-secret".to_owned()),
            "JIANDU_S3_REGION" => Some("cn-north-1".to_owned()),
            _ => None,
        };
        assert!(!format!("{file:?}").contains("file-secret"), "{file:?}");
        let s = Settings::resolve_with_env(None, None, None, file, env).expect("settings");
        let crate::blobs::BlobLocation::S3(loc) = &s.blobs else {
            panic!("s3 expected: {s:?}");
        };
        assert_eq!(
            (loc.bucket.as_str(), loc.prefix.as_str()),
            ("photos", "jiandu/prod")
        );
        assert_eq!(loc.endpoint.as_deref(), Some("http://file:9000"));
        assert_eq!(loc.region, "cn-north-1");
        assert_eq!(loc.access_key_id, "file-key");
        assert_eq!(loc.secret_access_key, "env-secret");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("env-secret") && !shown.contains("file-key"),
            "{shown}"
        );
        assert_eq!(
            s.audit_head_file,
            PathBuf::from(".jiandu-data/audit-heads.txt")
        );
        let missing = Settings::resolve_with_env(
            None,
            Some("s3://photos".into()),
            None,
            FileSettings::default(),
            |_| None,
        );
        assert!(missing.is_err(), "credentials are required");
    }
}
