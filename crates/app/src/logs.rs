//! The device's log: what the app, the store and sync did (sign-in, sync attempts
//! and their results, rejected edits with the platform's reason, uploads, failed
//! requests with their technical cause), in `<data_dir>/logs/jiandu.log`.
//!
//! Why our own small writer rather than tauri-plugin-log or tracing-appender:
//! the log must have a size cap on a tablet that is never cleaned (tracing-appender
//! rotates by time only, with no cap); it must be readable by the app itself for
//! the diagnostics file ([`read_recent`]); and it must work without Tauri, so the
//! tests that check what a failed sync leaves in the log run the real writer
//! (tauri-plugin-log sits on the `log` crate and on the shell). The writer is
//! ~60 lines: append to `jiandu.log`; past [`MAX_FILE_BYTES`] it becomes
//! `jiandu.log.1` (older ones shift up to [`KEPT_FILES`]) and a new one starts. At
//! most 4 MiB on the device.
//!
//! What never goes into the log: the token, passwords, photo bytes, request or
//! answer bodies. Requests are logged by method, path, status and time
//! (`jiandu_sync::client`); the token travels in a header that is never logged.

use crate::{AppError, AppResult, cst, lock};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The log folder under the app's data folder.
pub const LOG_DIR: &str = "logs";
/// The current log file.
pub const LOG_FILE: &str = "jiandu.log";
/// A log file is rotated when the next line would take it past this size.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Rotated files kept beside the current one (`jiandu.log.1` newest).
pub const KEPT_FILES: usize = 3;

/// Levels unless `JIANDU_LOG` says otherwise: ours at info, libraries' warnings.
const DEFAULT_LEVELS: &str =
    "jiandu_app=info,jiandu_store=info,jiandu_sync=info,jiandu_inspector_lib=info,warn";

/// A log file with a size cap: appends, rotates, keeps [`KEPT_FILES`] old ones.
#[derive(Debug)]
pub struct RotatingFile {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    /// The open file and its size (opened on the first line).
    open: Mutex<Option<(File, u64)>>,
}

impl RotatingFile {
    /// Logs into `dir` (created).
    pub fn new(dir: &Path, max_bytes: u64, keep: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            keep,
            open: Mutex::new(None),
        })
    }

    fn path(&self, n: usize) -> PathBuf {
        match n {
            0 => self.dir.join(LOG_FILE),
            n => self.dir.join(format!("{LOG_FILE}.{n}")),
        }
    }

    /// Appends one formatted line (or several), rotating first if it would not fit.
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        let mut open = lock(&self.open);
        if open.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(0))?;
            let size = file.metadata()?.len();
            *open = Some((file, size));
        }
        let too_big = open
            .as_ref()
            .is_some_and(|(_, size)| *size > 0 && size + buf.len() as u64 > self.max_bytes);
        if too_big {
            *open = None;
            for n in (1..self.keep).rev() {
                let from = self.path(n);
                if from.exists() {
                    std::fs::rename(&from, self.path(n + 1))?;
                }
            }
            if self.keep > 0 {
                std::fs::rename(self.path(0), self.path(1))?;
            } else {
                std::fs::remove_file(self.path(0))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(0))?;
            *open = Some((file, 0));
        }
        let Some((file, size)) = open.as_mut() else {
            return Ok(());
        };
        file.write_all(buf)?;
        *size += buf.len() as u64;
        Ok(())
    }
}

/// One event's writer (tracing-subscriber formats a line, then writes it whole).
#[derive(Debug)]
pub struct LogWriter<'a>(&'a RotatingFile);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = LogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter(self)
    }
}

/// Log times in Beijing time, as the people who read the file live by.
struct BeijingTime;

impl tracing_subscriber::fmt::time::FormatTime for BeijingTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        let now = chrono::Utc::now().with_timezone(&cst());
        write!(w, "{}", now.format("%Y-%m-%d %H:%M:%S%.3f%:z"))
    }
}

static INSTALLED: OnceLock<PathBuf> = OnceLock::new();

/// Sends this process's logs (the app, the store, sync, the shell) to the rotating
/// file in `<data_dir>/logs/`, and logs panics there too. Once per process: later
/// calls return the folder chosen first. `JIANDU_LOG` (e.g. `debug`, or
/// `jiandu_sync=debug,info`) overrides the levels.
pub fn init(data_dir: &Path) -> AppResult<PathBuf> {
    if let Some(dir) = INSTALLED.get() {
        return Ok(dir.clone());
    }
    let dir = data_dir.join(LOG_DIR);
    let file = RotatingFile::new(&dir, MAX_FILE_BYTES, KEPT_FILES)
        .map_err(|e| AppError::storage(format!("{}：{e}", dir.display())))?;
    let levels = std::env::var("JIANDU_LOG").unwrap_or_else(|_| DEFAULT_LEVELS.to_owned());
    let filter = Targets::from_str(&levels)
        .or_else(|_| Targets::from_str(DEFAULT_LEVELS))
        .map_err(|e| AppError::new("internal", format!("日志级别设置有误：{e}")))?;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(file)
        .with_ansi(false)
        .with_timer(BeijingTime)
        .finish()
        .with(filter);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        // Someone else (a test harness) installed one first: leave it.
        return Ok(INSTALLED.get_or_init(|| dir).clone());
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "the app panicked");
        previous(info);
    }));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        os = std::env::consts::OS,
        arch = std::env::consts::ARCH,
        "log started"
    );
    Ok(INSTALLED.get_or_init(|| dir).clone())
}

/// The last `max_bytes` of the log in `<data_dir>/logs/` (rotated files first,
/// oldest first), starting at a whole line.
pub fn read_recent(data_dir: &Path, max_bytes: u64) -> String {
    let dir = data_dir.join(LOG_DIR);
    let mut files: Vec<PathBuf> = (1..=KEPT_FILES)
        .rev()
        .map(|n| dir.join(format!("{LOG_FILE}.{n}")))
        .collect();
    files.push(dir.join(LOG_FILE));
    // From the newest file backwards until enough is read.
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut left = max_bytes;
    for path in files.iter().rev() {
        if left == 0 {
            break;
        }
        let Ok(mut f) = File::open(path) else {
            continue;
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let take = len.min(left);
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(len - take)).is_ok() && f.take(take).read_to_end(&mut buf).is_ok()
        {
            left -= take;
            parts.push(buf);
        }
    }
    let mut all: Vec<u8> = parts.into_iter().rev().flatten().collect();
    if left == 0
        && let Some(nl) = all.iter().position(|&b| b == b'\n')
    {
        // The first line was cut: start at the next one.
        all.drain(..=nl);
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_past_the_cap_and_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = RotatingFile::new(dir.path(), 1000, 2).expect("log folder");
        let line = format!("{}\n", "x".repeat(99)); // 100 bytes
        for _ in 0..45 {
            LogWriter(&log).write_all(line.as_bytes()).expect("written");
        }
        let size = |p: &str| std::fs::metadata(dir.path().join(p)).map(|m| m.len()).ok();
        // 45 lines of 100 bytes, 10 a file: 40 rotated (two kept), 5 current.
        assert_eq!(size(LOG_FILE), Some(500));
        assert_eq!(size("jiandu.log.1"), Some(1000));
        assert_eq!(size("jiandu.log.2"), Some(1000));
        assert_eq!(size("jiandu.log.3"), None, "only `keep` old files stay");
        let files = std::fs::read_dir(dir.path()).expect("listed").count();
        assert_eq!(files, 3);
    }
}
