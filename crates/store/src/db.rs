//! Opening the database: the ONE place that opens a connection, checks the file,
//! sets the pragmas and applies the migrations.
//!
//! What must stay true:
//! - a file that is not a healthy database of ours is refused with a clear error and
//!   left byte-for-byte as it was (no journal-mode switch, no migration, no repair);
//! - a database from a newer app version is refused before anything is written;
//! - migrations are applied all-or-nothing in one transaction together with
//!   `PRAGMA user_version`, so a crash mid-migration leaves the old version intact.

use crate::crypto::DataKey;
use crate::error::{Result, StoreError};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// The device migrations, in order. Migration `n` (1-based) brings the database to
/// `user_version = n`. Append only: never edit a published migration.
pub(crate) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../../migrations/device/0001_initial.sql"),
    ),
    (
        "0002_sync",
        include_str!("../../../migrations/device/0002_sync.sql"),
    ),
    (
        "0003_superseded",
        include_str!("../../../migrations/device/0003_superseded.sql"),
    ),
    (
        "0004_plans",
        include_str!("../../../migrations/device/0004_plans.sql"),
    ),
    (
        "0005_documents",
        include_str!("../../../migrations/device/0005_documents.sql"),
    ),
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `PRAGMA application_id` of a Jiandu device database ("JDDV"), so that a
/// stranger's SQLite file is recognised as such and never migrated.
const APPLICATION_ID: i64 = 0x4A44_4456;

/// How long a writer waits for another connection's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if absent) the database at `path`, with every pragma set.
/// With `key`, the file is a SQLCipher database keyed with it (a new file is
/// created encrypted); a plain database is then refused (`db_not_encrypted`), and
/// a wrong key reads as `db_locked_key`.
pub(crate) fn open_connection(path: &Path, key: Option<&DataKey>) -> Result<Connection> {
    match key {
        None => check_file_header(path)?,
        Some(_) => {
            if is_plain_sqlite(path)? {
                return Err(StoreError::NotEncrypted);
            }
        }
    }
    let corrupt = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        }
        _ => StoreError::Sqlite(e),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(corrupt)?;
    if let Some(key) = key {
        // Must be the first statement on the connection.
        conn.execute_batch(&format!(
            "PRAGMA key = \"{}\";",
            key.sqlcipher_literal().as_str()
        ))
        .map_err(StoreError::Sqlite)?;
    }
    conn.busy_timeout(BUSY_TIMEOUT).map_err(corrupt)?;

    // Read-only look first: these reads touch page 1 and the schema, so a file that
    // is not a database fails here, before any pragma below could write to it.
    let (user_version, application_id, objects): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT application_id FROM pragma_application_id),
                    (SELECT count(*) FROM sqlite_master)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| match (key, e.sqlite_error_code()) {
            (Some(_), Some(rusqlite::ErrorCode::NotADatabase)) => StoreError::KeyMismatch,
            (_, _) => corrupt(e),
        })?;
    if user_version > SCHEMA_VERSION {
        return Err(StoreError::NewerDatabase {
            found: user_version,
            supported: SCHEMA_VERSION,
        });
    }
    let foreign = if user_version == 0 {
        // Fresh file: must be empty. Tables without our version: someone else's.
        objects > 0 || application_id != 0
    } else {
        application_id != APPLICATION_ID
    };
    if foreign {
        return Err(StoreError::ForeignDatabase {
            path: path.to_owned(),
        });
    }

    // WAL: readers never block the writer, and a commit is one sequential append.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(corrupt)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Data(format!(
            "无法启用 WAL 日志模式（当前为 {mode}），数据目录所在的存储可能不受支持"
        )));
    }
    // synchronous=FULL for every write, not only "important" ones: every write here
    // is evidence (a finding, a photo, a signature, an outbox entry the server must
    // receive). In WAL mode NORMAL syncs only at checkpoints, so a power cut or a
    // tablet battery dying right after "已保存" could roll back commits the inspector
    // was told were saved. FULL syncs the WAL at each commit: one fsync per change,
    // a cost the benchmark shows to be about one disk flush.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(corrupt)?;
    // Checked every time: foreign keys are off by default in SQLite and cannot be
    // switched inside a transaction, so the connection carries it from the start.
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(corrupt)?;
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .map_err(corrupt)?;
    if fk != 1 {
        return Err(StoreError::Data("无法启用外键约束".into()));
    }

    let mut conn = conn;
    migrate(&mut conn, user_version, MIGRATIONS).map_err(|e| match e {
        StoreError::Sqlite(e) => corrupt(e),
        other => other,
    })?;
    Ok(conn)
}

/// Applies every migration after `from`, all in one IMMEDIATE transaction.
fn migrate(conn: &mut Connection, from: i64, migrations: &[(&str, &str)]) -> Result<()> {
    let target = migrations.len() as i64;
    if from >= target {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the write lock: another connection may have migrated meanwhile.
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > target {
        return Err(StoreError::NewerDatabase {
            found: current,
            supported: target,
        });
    }
    for (name, sql) in migrations.iter().skip(current.max(0) as usize) {
        tracing::info!(migration = name, "applying database migration");
        tx.execute_batch(sql)
            .map_err(|e| match e.sqlite_error_code() {
                Some(_) => StoreError::Sqlite(e),
                None => StoreError::Data(format!("数据库升级脚本 {name} 执行失败：{e}")),
            })?;
    }
    // Both pragmas write the database header inside this transaction: they commit
    // or roll back with the schema.
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

/// Writes a consistent copy of the database at `path` to `dest` (which must not
/// exist) through a read-only connection of its own: `VACUUM INTO` reads a snapshot
/// (WAL: it never blocks the app's writer, nor waits for it), so a copy of a large
/// database never holds up the store the app and sync are using.
///
/// `key` opens the source; `dest_key` is the copy's key (`None`: a plain copy,
/// only when the person chose one). An encrypted source is copied with
/// `sqlcipher_export` inside one read transaction (a snapshot too).
pub(crate) fn snapshot(
    path: &Path,
    dest: &Path,
    key: Option<&DataKey>,
    dest_key: Option<&DataKey>,
) -> Result<()> {
    // ATTACH creates the copy with the main connection's flags, which a read-only
    // connection cannot: read-write and create when encrypting (the source exists
    // and nothing is written to it).
    if !path.exists() {
        return Err(StoreError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let flags = if key.is_none() && dest_key.is_none() {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    };
    let conn = Connection::open_with_flags(
        path,
        flags | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    if key.is_none() && dest_key.is_none() {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
        return Ok(());
    }
    if let Some(key) = key {
        conn.execute_batch(&format!(
            "PRAGMA key = \"{}\";",
            key.sqlcipher_literal().as_str()
        ))?;
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    export_to(&conn, dest, dest_key)
}

/// Copies the database of `conn` into the new file `dest`, keyed with `dest_key`
/// (plain without), with its `user_version` and `application_id`.
pub(crate) fn export_to(conn: &Connection, dest: &Path, dest_key: Option<&DataKey>) -> Result<()> {
    // KEY '' attaches a plain database; the raw-key literal an encrypted one. The
    // literal is hex of our own key (no quoting issue); the path is bound.
    let key_clause = match dest_key {
        Some(k) => zeroize::Zeroizing::new(format!("\"{}\"", k.sqlcipher_literal().as_str())),
        None => zeroize::Zeroizing::new("''".to_owned()),
    };
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS export KEY {}", key_clause.as_str()),
        [dest.to_string_lossy()],
    )?;
    let result = (|| -> Result<()> {
        conn.execute_batch("BEGIN")?;
        let (uv, app): (i64, i64) = conn.query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT application_id FROM pragma_application_id)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        conn.query_row("SELECT sqlcipher_export('export')", [], |_| Ok(()))?;
        conn.execute_batch(&format!(
            "PRAGMA export.user_version = {uv}; PRAGMA export.application_id = {app};"
        ))?;
        conn.execute_batch("COMMIT")?;
        Ok(())
    })();
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    conn.execute_batch("DETACH DATABASE export")?;
    result
}

/// Whether `path` is an unencrypted SQLite file (false when absent or empty).
pub(crate) fn is_plain_sqlite(path: &Path) -> Result<bool> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let mut header = [0u8; 16];
    match file.read_exact(&mut header) {
        Ok(()) => Ok(&header == b"SQLite format 3\0"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Looks at the file's first 100 bytes before SQLite does.
///
/// SQLite opens a truncated database without complaint and only fails (or returns
/// short results) when it reaches a missing page. A cleanly closed WAL database
/// has no `-wal` file and a header whose page count matches the file; when there is
/// a `-wal` file, SQLite's own recovery decides, so this check stands aside.
fn check_file_header(path: &Path) -> Result<()> {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_owned(),
        detail,
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    if len == 0 {
        // An empty file is an empty database (e.g. a crash right after creation).
        return Ok(());
    }
    let mut header = [0u8; 100];
    if len < 100 {
        return Err(corrupt(format!("文件只有 {len} 字节，不是完整的数据库")));
    }
    file.read_exact(&mut header)
        .map_err(|e| StoreError::io(path, e))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(corrupt("文件头不是 SQLite 数据库".into()));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    if page_size < 512 || !page_size.is_power_of_two() {
        return Err(corrupt(format!("页大小 {page_size} 无效")));
    }
    let change_counter = &header[24..28];
    let valid_for = &header[92..96];
    let page_count = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let wal = wal_path(path);
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    if wal_len == 0 && change_counter == valid_for && page_count > 0 {
        let expected = page_count * page_size;
        if len < expected {
            return Err(corrupt(format!(
                "文件被截断：应有 {expected} 字节（{page_count} 页），实际只有 {len} 字节"
            )));
        }
    }
    Ok(())
}

fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    s.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_is_migrated_with_pragmas_set() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("device.db");
        let conn = open_connection(&path, None).expect("opens");
        let get = |sql: &str| -> String {
            conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| format!("{v:?}"))
                .expect("pragma readable")
        };
        assert_eq!(get("PRAGMA journal_mode"), "Text(\"wal\")");
        assert_eq!(get("PRAGMA foreign_keys"), "Integer(1)");
        assert_eq!(get("PRAGMA synchronous"), "Integer(2)", "2 = FULL");
        assert_eq!(get("PRAGMA busy_timeout"), "Integer(5000)");
        assert_eq!(
            get("PRAGMA user_version"),
            format!("Integer({SCHEMA_VERSION})")
        );
        drop(conn);
        // Re-opening an up-to-date database applies nothing and succeeds.
        open_connection(&path, None).expect("re-opens");
    }

    #[test]
    fn a_failing_migration_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("device.db");
        let mut conn = Connection::open(&path).expect("opens");
        let migrations = [MIGRATIONS[0], ("0002_broken", "CREATE TABLE broken (;")];
        let err = migrate(&mut conn, 0, &migrations).expect_err("second migration fails");
        assert!(
            err.to_string().contains("0002_broken"),
            "names the script: {err}"
        );
        let (tables, version): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM sqlite_master),
                        (SELECT user_version FROM pragma_user_version)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("readable");
        assert_eq!(
            tables, 0,
            "the first migration was rolled back with the second"
        );
        assert_eq!(version, 0, "user_version unchanged");
        // The real migrations then apply cleanly on the same file.
        migrate(&mut conn, 0, MIGRATIONS).expect("migrates");
    }
}
