//! Device store: opening bad files. A damaged, foreign or newer database is refused
//! with a clear error and left byte-for-byte as it was; temporary files of a crashed
//! capture are cleaned up.

use jiandu_store::{SCHEMA_VERSION, Store, StoreError};
use jiandu_tests::store_fixtures::{jpeg, t, task};
use std::path::{Path, PathBuf};
use uuid::Uuid;

type R = Result<(), Box<dyn std::error::Error>>;

/// A closed store with 300 tasks (many pages), cleanly shut down (no -wal left).
fn populated_db(dir: &Path) -> PathBuf {
    let path = dir.join("device.db");
    let mut store = Store::open(&path).expect("opens");
    let tasks: Vec<_> = (1..=300)
        .map(|n| task(Uuid::from_u128(n), &format!("第{n}号医院"), "hospital"))
        .collect();
    store.upsert_tasks(&tasks, t(0)).expect("tasks stored");
    drop(store);
    assert!(
        !dir.join("device.db-wal").exists(),
        "a clean close checkpoints and removes the WAL"
    );
    path
}

fn open_err(path: &Path) -> StoreError {
    Store::open(path).expect_err("this file must be refused")
}

#[test]
fn random_bytes_are_refused_and_left_untouched() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("device.db");
    let junk = jpeg(64 * 1024, 42);
    std::fs::write(&path, &junk)?;
    let err = open_err(&path);
    assert_eq!(err.code(), "db_corrupt", "{err}");
    assert!(err.to_string().contains("已损坏"), "Chinese message: {err}");
    assert!(
        err.to_string().contains("原样保留"),
        "says the file was kept: {err}"
    );
    assert_eq!(std::fs::read(&path)?, junk, "not one byte changed");
    assert!(
        !dir.path().join("photos").exists(),
        "nothing created beside it"
    );

    // Shorter than a database header.
    std::fs::write(&path, b"SQLite format 3\0 but short")?;
    assert_eq!(open_err(&path).code(), "db_corrupt");
    assert_eq!(std::fs::read(&path)?, b"SQLite format 3\0 but short");
    Ok(())
}

#[test]
fn a_truncated_database_is_refused_and_left_untouched() -> R {
    let dir = tempfile::tempdir()?;
    let path = populated_db(dir.path());
    let full = std::fs::read(&path)?;
    assert!(
        full.len() > 64 * 1024,
        "enough pages to cut: {}",
        full.len()
    );
    let half = &full[..full.len() / 2];
    std::fs::write(&path, half)?;
    let err = open_err(&path);
    assert_eq!(err.code(), "db_corrupt", "{err}");
    assert!(err.to_string().contains("截断"), "says truncated: {err}");
    assert_eq!(std::fs::read(&path)?, half, "not one byte changed");
    Ok(())
}

#[test]
fn garbage_inside_the_file_never_panics() -> R {
    let dir = tempfile::tempdir()?;
    let path = populated_db(dir.path());
    let mut bytes = std::fs::read(&path)?;
    let len = bytes.len();
    let junk = jpeg(len / 2, 7);
    bytes[4096..4096 + junk.len().min(len - 4096)]
        .copy_from_slice(&junk[..junk.len().min(len - 4096)]);
    std::fs::write(&path, &bytes)?;
    match Store::open(&path) {
        Err(e) => assert_eq!(e.code(), "db_corrupt", "{e}"),
        Ok(store) => {
            let check = store.integrity_check();
            let healthy = matches!(&check, Ok(lines) if lines == &["ok".to_owned()]);
            assert!(!healthy, "integrity_check must see the damage: {check:?}");
            if let Err(e) = store.task(Uuid::from_u128(150)) {
                assert!(
                    matches!(e.code(), "db_corrupt" | "not_found" | "data"),
                    "a clear error: {e}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn a_newer_database_is_refused_with_the_versions() -> R {
    let dir = tempfile::tempdir()?;
    let path = populated_db(dir.path());
    let mut bytes = std::fs::read(&path)?;
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes()); // PRAGMA user_version
    std::fs::write(&path, &bytes)?;
    let err = open_err(&path);
    assert_eq!(err.code(), "db_newer");
    assert_eq!(
        err.to_string(),
        format!(
            "该数据库由更新版本的监督 App 创建（版本 99），当前版本只支持到 {SCHEMA_VERSION}，请升级 App"
        )
    );
    assert_eq!(std::fs::read(&path)?, bytes, "not one byte changed");
    Ok(())
}

#[test]
fn another_applications_sqlite_file_is_refused() -> R {
    let dir = tempfile::tempdir()?;
    let path = populated_db(dir.path());
    let mut bytes = std::fs::read(&path)?;
    bytes[68..72].copy_from_slice(&0x1234_5678u32.to_be_bytes()); // PRAGMA application_id
    std::fs::write(&path, &bytes)?;
    let err = open_err(&path);
    assert_eq!(err.code(), "db_foreign", "{err}");
    assert_eq!(std::fs::read(&path)?, bytes, "not one byte changed");
    Ok(())
}

#[test]
fn reopening_keeps_everything_and_applies_no_migration_twice() -> R {
    let dir = tempfile::tempdir()?;
    let path = populated_db(dir.path());
    let store = Store::open(&path)?;
    assert_eq!(store.schema_version()?, SCHEMA_VERSION);
    assert_eq!(
        store.task(Uuid::from_u128(300))?.institution.name,
        "第300号医院"
    );
    assert_eq!(store.integrity_check()?, vec!["ok".to_owned()]);
    Ok(())
}

#[test]
fn crash_leftover_temp_files_are_removed_but_never_a_live_writers() -> R {
    let dir = tempfile::tempdir()?;
    let path = populated_db(dir.path());
    let photos = dir.path().join("photos");
    let signatures = dir.path().join("signatures");
    for d in [&photos, &signatures] {
        std::fs::write(
            d.join(".tmp-0193c0de-0000-7000-8000-000000000001"),
            b"partial",
        )?;
    }
    std::fs::write(
        photos.join("0193c0de-0000-7000-8000-000000000002"),
        b"a file",
    )?;

    let first = Store::open(&path)?;
    for d in [&photos, &signatures] {
        let temps: Vec<_> = std::fs::read_dir(d)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(
            temps.is_empty(),
            "orphan temp files removed at open in {d:?}"
        );
    }
    assert!(
        photos.join("0193c0de-0000-7000-8000-000000000002").exists(),
        "complete files are never removed"
    );

    // While `first` is open, a second store on the same folder must not delete
    // what may be `first`'s write in progress.
    let live = photos.join(".tmp-0193c0de-0000-7000-8000-000000000003");
    std::fs::write(&live, b"being written")?;
    let second = Store::open(&path)?;
    assert!(
        live.exists(),
        "a live writer's temp file survives another open"
    );
    drop(second);
    drop(first);
    let _third = Store::open(&path)?;
    assert!(
        !live.exists(),
        "once nobody holds the folder, it is cleaned"
    );
    Ok(())
}

#[test]
fn a_new_users_folder_is_created_with_its_evidence_folders() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("users").join("u-1001").join("device.db");
    let store = Store::open(&path)?;
    assert_eq!(store.data_dir(), path.parent().expect("parent"));
    assert!(store.data_dir().join("photos").is_dir());
    assert!(store.data_dir().join("signatures").is_dir());
    assert_eq!(store.schema_version()?, SCHEMA_VERSION);
    Ok(())
}
