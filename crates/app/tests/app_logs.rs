//! The app explains itself: the REAL log writer (installed once for this test
//! binary, on the app's data folder, as the shell installs it) and the diagnostics
//! file, after syncs that failed against the REAL platform behind the fault proxy
//! (503s, then a platform that is gone) and an edit the platform rejected.
//!
//! The log names each failure with its cause and each rejected edit with its reason;
//! the diagnostics file carries the same, says it holds nothing secret, and holds
//! neither the device's token nor the password (grepped for both).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use jiandu_app::diagnostics::NOTHING_SECRET;
use jiandu_app::logs;
use jiandu_tests::proxy::{FaultPlan, FaultProxy};
use std::time::Duration;

mod common;
use common::{PASSWORD, Platform, WAIT, open_system, sign_in_to, start, synced, todo_tasks};

#[test]
fn a_failed_sync_is_in_the_log_and_the_diagnostics_without_a_secret() {
    let data = tempfile::tempdir().unwrap();
    let log_dir = logs::init(data.path()).unwrap();
    assert_eq!(log_dir, data.path().join("logs"));

    let platform = Platform::start();
    let proxy = platform
        .rt
        .block_on(FaultProxy::start(platform.addr, FaultPlan::none()));
    let app = open_system(data.path());
    let profile = sign_in_to(&app, &proxy.url(), "liuyang", PASSWORD).unwrap();
    let token = std::fs::read_to_string(
        data.path()
            .join("users")
            .join(&profile.user_id)
            .join("sync-token"),
    )
    .unwrap()
    .trim()
    .to_owned();
    assert!(token.len() >= 16, "a real token to look for");

    // A rejected edit: the same inspector's second tablet starts the same task.
    let other_dir = tempfile::tempdir().unwrap();
    let other = open_system(other_dir.path());
    sign_in_to(&other, &platform.url(), "liuyang", PASSWORD).unwrap();
    let task = todo_tasks(&app)[0].task_id.clone();
    start(&other, &task);
    synced(&other);
    start(&app, &task);
    synced(&app);
    assert_eq!(
        app.conflicts(false).unwrap().len(),
        1,
        "the start was refused"
    );

    // The platform unavailable: every request answered 503 by the proxy.
    proxy.set_plan(FaultPlan {
        unavailable: 1.0,
        ..FaultPlan::none()
    });
    proxy.reset_connections(); // the kept-alive one too
    std::thread::sleep(Duration::from_millis(200)); // its closing reaches the app
    let failed = app.sync_and_wait(WAIT).unwrap().expect_err("503");
    assert!(failed.starts_with("平台暂时不可用（HTTP 503）"), "{failed}");
    // Then the platform gone: the proxy's upstream refuses connections.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_upstream(closed.local_addr().unwrap());
    drop(closed);
    proxy.set_plan(FaultPlan::none());
    proxy.reset_connections();
    std::thread::sleep(Duration::from_millis(200));
    let gone = app.sync_and_wait(WAIT).unwrap().expect_err("no platform");
    assert!(gone.starts_with("与服务器的连接中断"), "{gone}");

    let log = std::fs::read_to_string(log_dir.join(logs::LOG_FILE)).unwrap();
    for (what, needle) in [
        ("the attempt", "sync started"),
        ("the failure", "sync failed"),
        ("the 503", "HTTP 503 unavailable"),
        ("the request's id, as the platform logs it", "request_id="),
        ("the sentence shown", "平台暂时不可用（HTTP 503）"),
        ("the lost connection", "与服务器的连接中断"),
        ("the rejected edit", "edit rejected by the platform"),
        ("its reason", "reason=\"stale\""),
        ("a success", "sync finished"),
    ] {
        assert!(
            log.contains(needle),
            "the log names {what} ({needle}):\n{log}"
        );
    }
    for secret in [token.as_str(), PASSWORD] {
        assert!(!log.contains(secret), "a secret in the log: {secret}");
    }

    let downloads = tempfile::tempdir().unwrap();
    let written = app.export_diagnostics(downloads.path()).unwrap();
    let text = std::fs::read_to_string(&written.path).unwrap();
    assert_eq!(text.len() as u64, written.bytes);
    for needle in [
        NOTHING_SECRET,
        "应用版本：",
        "运行平台：",
        "待上传的修改：",
        "待上传的照片和签名：",
        "最近的同步失败",
        "[unavailable] 平台暂时不可用（HTTP 503）",
        "[network] 与服务器的连接中断",
        "[stale]",
        "sync failed",
        "edit rejected by the platform",
    ] {
        assert!(text.contains(needle), "diagnostics lack {needle}:\n{text}");
    }
    for secret in [token.as_str(), PASSWORD] {
        assert!(!text.contains(secret), "a secret in the diagnostics file");
    }
    assert!(
        written.path.ends_with(".txt") && written.path.contains("监督诊断信息-liuyang-"),
        "{}",
        written.path
    );
    // Written whole: a second export is a new file, the first untouched.
    std::thread::sleep(Duration::from_millis(10));
    let again = app.export_diagnostics(downloads.path()).unwrap();
    assert_ne!(again.path, written.path);
}
