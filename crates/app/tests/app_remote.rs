//! 远程处置 (remote action) on the real app store against the REAL platform: a
//! device the platform revokes as 丢失 erases its keys at its next sync (the data
//! cannot be read any more); one revoked as 停用 keeps its data locked and
//! exportable with the PIN; signing out revokes the token on the platform when
//! online and still forgets it when offline; a password reset ends every device's
//! sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use jiandu_app::App;
use jiandu_app::dto::*;
use jiandu_server::http::tls::TlsFiles;
use jiandu_server::model::RevokeKind;
use jiandu_server::store::Stamp;
use jiandu_store::crypto::KdfParams;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{PASSWORD, Platform, WAIT, open_system, sign_in_to, synced, todo_tasks};

const PIN: &str = "135790";
const FAST: KdfParams = KdfParams {
    m_kib: 256,
    t: 1,
    p: 1,
};

fn open(dir: &Path) -> App {
    let app = open_system(dir);
    app.set_pin_kdf(FAST);
    app
}

/// Signs `user` in on a fresh tablet, sets the PIN, syncs: (app, user folder).
fn tablet(platform: &Platform, dir: &Path, user: &str) -> (App, PathBuf) {
    let app = open(dir);
    let profile = sign_in_to(&app, &platform.url(), user, PASSWORD).unwrap();
    assert_eq!(app.set_pin(PIN).unwrap().state, "open");
    synced(&app);
    assert!(!todo_tasks(&app).is_empty(), "the drawn tasks arrived");
    let user_dir = dir.join("users").join(&profile.user_id);
    assert!(user_dir.join("keys.json").exists());
    (app, user_dir)
}

/// Revokes every live device of `username` on the platform as `kind`.
fn revoke_all(platform: &Platform, username: &str, kind: RevokeKind) {
    platform.rt.block_on(async {
        let users = platform.store.list_users().await.unwrap();
        let user = users.iter().find(|u| u.username == username).unwrap();
        for d in platform.store.list_devices(Some(user.id)).await.unwrap() {
            if d.revoked_at.is_none() {
                platform
                    .store
                    .revoke_device(&Stamp::system(chrono::Utc::now()), d.id, kind)
                    .await
                    .unwrap();
            }
        }
    });
}

fn devices_of(platform: &Platform, username: &str) -> Vec<jiandu_server::model::Device> {
    platform.rt.block_on(async {
        let users = platform.store.list_users().await.unwrap();
        let user = users.iter().find(|u| u.username == username).unwrap();
        platform.store.list_devices(Some(user.id)).await.unwrap()
    })
}

fn sqlite_reads(db: &Path) -> bool {
    Command::new("sqlite3")
        .arg(db)
        .arg("SELECT count(*) FROM sqlite_master;")
        .output()
        .expect("sqlite3 CLI (apt: sqlite3)")
        .status
        .success()
}

#[test]
fn a_device_revoked_as_lost_erases_its_keys_at_its_next_sync() {
    let platform = Platform::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, user_dir) = tablet(&platform, dir.path(), "liuyang");
    let task = todo_tasks(&app)[0].task_id.clone();
    assert!(
        !sqlite_reads(&user_dir.join("device.db")),
        "encrypted at rest"
    );

    revoke_all(&platform, "liuyang", RevokeKind::Lost);
    let failed = app.sync_and_wait(WAIT).unwrap().expect_err("lost");
    assert!(failed.contains("丢失"), "{failed}");

    // The keys are gone: the wrapped data key and the token.
    assert!(!user_dir.join("keys.json").exists(), "wrapped key erased");
    assert!(!user_dir.join("sync-token.sealed").exists(), "token erased");
    assert!(!user_dir.join("sync-token").exists());
    // The session is closed; nothing of the user's data opens, in Chinese why.
    let st = app.lock_state();
    assert_eq!(st.state, "signed_out");
    assert!(
        st.notice.as_deref().unwrap_or("").contains("丢失"),
        "{st:?}"
    );
    assert!(app.startup().profile.is_none());
    assert!(app.task_detail(&task).is_err());
    assert!(app.unlock(PIN).is_ok_and(|v| v.state == "signed_out"));
    // The folder as a finder reads it: nothing, and no key that opens it.
    assert!(user_dir.join("device.db").exists(), "the ciphertext stays");
    assert!(!sqlite_reads(&user_dir.join("device.db")));
    drop(app);
    let again = open(dir.path());
    let st = again.lock_state();
    assert_eq!(st.state, "signed_out", "a restart opens nothing");
    assert!(st.notice.is_some(), "and still says why");

    // Found again: the account password starts a clean folder on a new enrolment.
    sign_in_to(&again, &platform.url(), "liuyang", PASSWORD).unwrap();
    assert_eq!(again.lock_state().state, "set_pin");
    assert!(again.lock_state().notice.is_none(), "the notice was read");
}

#[test]
fn a_retired_device_keeps_its_data_locked_and_exportable_with_the_pin() {
    let platform = Platform::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, user_dir) = tablet(&platform, dir.path(), "liuyang");
    let tasks = app.task_list(TaskQuery::default()).unwrap().total;

    revoke_all(&platform, "liuyang", RevokeKind::Retired);
    let failed = app.sync_and_wait(WAIT).unwrap().expect_err("revoked");
    assert!(failed.contains("吊销"), "{failed}");
    assert!(user_dir.join("keys.json").exists(), "the keys stay");
    assert!(app.sync_status().unwrap().revoked.is_some());

    // Locked (idle or restart): the PIN opens the data, the export hands it over.
    assert_eq!(app.lock_now().unwrap().state, "locked");
    assert!(app.task_list(TaskQuery::default()).is_err());
    drop(app);
    let app = open(dir.path());
    assert_eq!(app.lock_state().state, "locked");
    assert_eq!(app.unlock(PIN).unwrap().state, "open");
    assert_eq!(app.task_list(TaskQuery::default()).unwrap().total, tasks);
    let downloads = tempfile::tempdir().unwrap();
    let job = jiandu_app::jobs::Job::none();
    let e = app
        .export_data_with(downloads.path(), &job, Some("000000"), false)
        .unwrap_err();
    assert_eq!(e.code, "wrong_pin");
    let out = app
        .export_data_with(downloads.path(), &job, Some(PIN), false)
        .unwrap();
    let exported = PathBuf::from(&out.path);
    assert!(
        exported.join("keys.json").exists(),
        "opens with the same PIN"
    );
    assert!(
        !sqlite_reads(&exported.join("device.db")),
        "encrypted export"
    );
    assert!(
        app.sync_and_wait(WAIT).unwrap().is_err(),
        "sync stays stopped"
    );
}

#[test]
fn signing_out_revokes_the_token_online_and_forgets_it_offline() {
    let platform = Platform::start();
    let dir = tempfile::tempdir().unwrap();
    // No PIN yet: the token is the plain file, so the test can reuse it after.
    let app = open(dir.path());
    let profile = sign_in_to(&app, &platform.url(), "liuyang", PASSWORD).unwrap();
    let token_file = dir
        .path()
        .join("users")
        .join(&profile.user_id)
        .join("sync-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let client =
        jiandu_sync::ApiClient::new(&platform.url(), std::time::Duration::from_secs(10)).unwrap();
    assert!(platform.rt.block_on(client.pull(&token, 0, 1)).is_ok());

    app.sign_out().unwrap();
    assert!(!token_file.exists(), "forgotten on the device");
    let refused = platform.rt.block_on(client.pull(&token, 0, 1)).unwrap_err();
    assert!(
        matches!(refused, jiandu_sync::SyncError::NotEnrolled),
        "the platform refuses the old token: {refused:?}"
    );
    assert!(
        devices_of(&platform, "liuyang")
            .iter()
            .all(|d| d.revoked_kind == Some(RevokeKind::SignedOut)),
        "revoked as a sign-out"
    );

    // Offline: the platform cannot be reached; the sign-out still forgets locally.
    let app = open(dir.path());
    let profile = sign_in_to(&app, &platform.url(), "zhangwei", PASSWORD).unwrap();
    app.set_pin(PIN).unwrap();
    let user_dir = dir.path().join("users").join(&profile.user_id);
    assert!(user_dir.join("sync-token.sealed").exists());
    let Platform { rt, .. } = platform;
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    let started = std::time::Instant::now();
    app.sign_out().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "a short wait"
    );
    assert!(!user_dir.join("sync-token.sealed").exists());
    assert!(app.startup().profile.is_none());
}

#[test]
fn a_password_reset_ends_the_devices_sign_in() {
    let platform = Platform::start();
    let dir = tempfile::tempdir().unwrap();
    let (app, user_dir) = tablet(&platform, dir.path(), "liuyang");
    platform.rt.block_on(async {
        let p = jiandu_server::service::Platform::new(
            platform.store.clone(),
            jiandu_core::templates::TemplateSet::builtin().unwrap(),
        );
        jiandu_server::service::people::set_password(
            &p,
            &jiandu_server::service::Actor::operator("test"),
            chrono::Utc::now(),
            "liuyang",
            "a-new-password-2".into(),
        )
        .await
        .unwrap();
    });
    let failed = app.sync_and_wait(WAIT).unwrap().expect_err("signed off");
    assert!(failed.contains("密码已重置"), "{failed}");
    assert!(user_dir.join("keys.json").exists(), "nothing is erased");
    // Signing in again with the new password goes on with the same data.
    app.sign_out().unwrap();
    sign_in_to(&app, &platform.url(), "liuyang", "a-new-password-2").unwrap();
    assert_eq!(app.unlock(PIN).unwrap().state, "open");
    synced(&app);
}

/// A private CA and a certificate for 127.0.0.1 it signed (openssl), as
/// (CA PEM text, server certificate path, server key path).
fn private_ca(dir: &Path) -> (String, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let ok = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "openssl {args:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-days",
        "2",
        "-subj",
        "/CN=Jiandu Test Bureau CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.crt",
        "-extfile",
        "server.ext",
    ]);
    (
        std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

#[test]
fn a_private_ca_given_at_first_setup_is_trusted_for_that_server() {
    let certs = tempfile::tempdir().unwrap();
    let (ca_pem, cert, key) = private_ca(certs.path());
    let platform = Platform::start_with(Some(TlsFiles { cert, key }));
    let url = platform.url();
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path());
    let input = || SignInInput {
        server_url: url.clone(),
        username: "liuyang".into(),
        password: PASSWORD.into(),
    };

    // Without the CA: refused before any password is sent, in Chinese.
    let e = app.sign_in(input()).unwrap_err();
    assert_eq!(e.code, "server_unreachable", "{}", e.message);
    assert!(e.message.contains("证书不受信任"), "{}", e.message);
    assert!(e.message.contains("CA 证书"), "{}", e.message);
    assert!(app.startup().profile.is_none());
    // Something that is not a certificate is refused as such.
    let e = app
        .sign_in_trusting(input(), Some("hello, not a certificate"))
        .unwrap_err();
    assert_eq!(e.code, "bad_ca", "{}", e.message);
    assert!(e.message.contains("PEM"), "{}", e.message);

    // With the bureau's CA: enrolled, and the tasks arrive.
    let profile = app.sign_in_trusting(input(), Some(&ca_pem)).unwrap();
    assert!(
        !todo_tasks(&app).is_empty(),
        "the first sync went through TLS"
    );
    let user_dir = dir.path().join("users").join(&profile.user_id);
    assert_eq!(
        std::fs::read_to_string(user_dir.join("server-ca.pem")).unwrap(),
        ca_pem.trim(),
        "kept with the server address"
    );
    // Later syncs (after a restart, behind the PIN) trust it too.
    app.set_pin(PIN).unwrap();
    drop(app);
    let app = open(dir.path());
    app.unlock(PIN).unwrap();
    synced(&app);
}
