//! Remote action on device tokens, against a real server on loopback, on SQLite
//! and PostgreSQL: a device revoked as 丢失 is told to erase its keys, one revoked
//! as 停用 is told it is revoked; signing out revokes the device's own token; a
//! password reset or a disabled user revokes every device of the user (audited);
//! a token unused for the set time is refused, and each use renews it.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

mod common;

use chrono::Utc;
use common::{Backend, TestServer, backends};
use jiandu_core::Role;
use jiandu_server::model::NewUser;
use jiandu_server::service::{Actor, Platform, audit, people};
use jiandu_server::settings::{FileSettings, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use uuid::Uuid;

const PASSWORD: &str = "correct-horse-9";

async fn user(b: &Backend, username: &str, role: Role) {
    let hash = jiandu_server::auth::hash_password(PASSWORD).unwrap();
    b.store
        .create_user(
            &common::stamp(),
            NewUser {
                id: Uuid::now_v7(),
                username: username.into(),
                display_name: format!("{username}姓名"),
                role,
                badge_no: (role == Role::Inspector).then(|| format!("B-{username}")),
                team: "监督一科".into(),
                district: "小店区".into(),
                password_hash: Some(hash),
                created_at: Utc::now(),
            },
        )
        .await
        .unwrap();
}

/// Enrols a device of `username`: (device id, token).
async fn enrol(s: &TestServer, username: &str) -> (String, String) {
    let r = s
        .client
        .post(s.url("/devices/enroll"))
        .json(&json!({"username": username, "password": PASSWORD, "device_name": "平板"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (
        v["device_id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

/// `GET /me` with `token`: the status and the error code (None on success).
async fn me(s: &TestServer, token: &str) -> (StatusCode, Option<String>, String) {
    let r = s
        .client
        .get(s.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    (
        status,
        v["code"].as_str().map(str::to_owned),
        v["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn revoke(
    s: &TestServer,
    admin: &str,
    device: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = s
        .client
        .post(s.url(&format!("/devices/{device}/revoke")))
        .bearer_auth(admin);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

fn platform(b: &Backend) -> Platform {
    common::platform(b)
}

#[tokio::test]
async fn lost_and_retired_devices_are_told_apart_at_their_next_contact() {
    for b in backends().await {
        user(&b, "admin", Role::Admin).await;
        user(&b, "insp", Role::Inspector).await;
        let s = TestServer::start_platform(platform(&b), 64 * 1024).await;
        let (_, admin) = enrol(&s, "admin").await;
        let (lost_id, lost) = enrol(&s, "insp").await;
        let (retired_id, retired) = enrol(&s, "insp").await;
        let (old_id, old) = enrol(&s, "insp").await;
        let (_, kept) = enrol(&s, "insp").await;
        for t in [&lost, &retired, &old, &kept] {
            assert_eq!(me(&s, t).await.0, StatusCode::OK, "{}", b.name);
        }

        // A kind the API does not offer is refused in Chinese.
        let (st, v) = revoke(&s, &admin, &lost_id, Some(json!({"kind": "signed_out"}))).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{}: {v}", b.name);
        assert!(v["message"].as_str().unwrap().contains("丢失"), "{v}");
        assert_eq!(me(&s, &lost).await.0, StatusCode::OK, "nothing revoked");

        let (st, v) = revoke(&s, &admin, &lost_id, Some(json!({"kind": "lost"}))).await;
        assert_eq!(st, StatusCode::OK, "{}: {v}", b.name);
        assert_eq!(v["revoked_kind"], "lost");
        let (st, v) = revoke(&s, &admin, &retired_id, Some(json!({"kind": "retired"}))).await;
        assert_eq!(
            (st, v["revoked_kind"].as_str()),
            (StatusCode::OK, Some("retired"))
        );
        // No body: 停用, the kind that destroys nothing.
        let (st, v) = revoke(&s, &admin, &old_id, None).await;
        assert_eq!(
            (st, v["revoked_kind"].as_str()),
            (StatusCode::OK, Some("retired"))
        );

        let (st, code, msg) = me(&s, &lost).await;
        assert_eq!(
            (st, code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("device_lost")),
            "{}",
            b.name
        );
        assert!(msg.contains("丢失") && msg.contains("密钥已清除"), "{msg}");
        let (st, code, msg) = me(&s, &retired).await;
        assert_eq!(
            (st, code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("device_revoked"))
        );
        assert!(msg.contains("仍可导出"), "{msg}");
        assert_eq!(me(&s, &old).await.1.as_deref(), Some("device_revoked"));
        assert_eq!(me(&s, &kept).await.0, StatusCode::OK, "other devices work");

        // A retired device found to be lost after all may still be declared lost.
        let (st, v) = revoke(&s, &admin, &retired_id, Some(json!({"kind": "lost"}))).await;
        assert_eq!(
            (st, v["revoked_kind"].as_str()),
            (StatusCode::OK, Some("lost"))
        );
        assert_eq!(me(&s, &retired).await.1.as_deref(), Some("device_lost"));

        // Audited with the kind.
        let p = platform(&b);
        let entries = audit::list(&p, 0, 10_000).await.unwrap();
        let revokes: Vec<&str> = entries
            .iter()
            .filter(|e| e.action == "device.revoke")
            .map(|e| e.detail.as_str())
            .collect();
        assert!(
            revokes.iter().any(|d| d.contains("\"kind\":\"lost\"")),
            "{revokes:?}"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn signing_out_revokes_the_devices_own_token() {
    for b in backends().await {
        user(&b, "insp", Role::Inspector).await;
        let s = TestServer::start_platform(platform(&b), 64 * 1024).await;
        let (id, token) = enrol(&s, "insp").await;
        let (_, other) = enrol(&s, "insp").await;
        let r = s
            .client
            .delete(s.url("/me/token"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", b.name);
        let (st, code, _) = me(&s, &token).await;
        assert_eq!(
            (st, code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{}",
            b.name
        );
        assert_eq!(me(&s, &other).await.0, StatusCode::OK, "only that device");
        let d = b
            .store
            .device(Uuid::parse_str(&id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.revoked_kind,
            Some(jiandu_server::model::RevokeKind::SignedOut)
        );
        // Without a token there is nothing to sign out.
        let r = s.client.delete(s.url("/me/token")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        s.stop().await;
    }
}

#[tokio::test]
async fn a_password_reset_or_a_disabled_user_revokes_every_device() {
    for b in backends().await {
        user(&b, "insp", Role::Inspector).await;
        user(&b, "lead", Role::TeamLead).await;
        let s = TestServer::start_platform(platform(&b), 64 * 1024).await;
        let (_, t1) = enrol(&s, "insp").await;
        let (_, t2) = enrol(&s, "insp").await;
        let (_, lead) = enrol(&s, "lead").await;
        let p = platform(&b);
        let op = Actor::operator("test");
        people::set_password(&p, &op, Utc::now(), "insp", "another-password-1".into())
            .await
            .unwrap();
        for t in [&t1, &t2] {
            let (st, code, msg) = me(&s, t).await;
            assert_eq!(
                (st, code.as_deref()),
                (StatusCode::UNAUTHORIZED, Some("token_revoked")),
                "{}",
                b.name
            );
            assert!(msg.contains("密码已重置"), "{msg}");
        }
        assert_eq!(
            me(&s, &lead).await.0,
            StatusCode::OK,
            "other users untouched"
        );
        // The new password enrols again.
        let r = s
            .client
            .post(s.url("/devices/enroll"))
            .json(&json!({"username": "insp", "password": "another-password-1", "device_name": "平板"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);

        // Disabling: every device revoked for good, re-enabling revives none.
        people::set_disabled(&p, &op, Utc::now(), "lead", true)
            .await
            .unwrap();
        assert_eq!(me(&s, &lead).await.1.as_deref(), Some("token_revoked"));
        people::set_disabled(&p, &op, Utc::now(), "lead", false)
            .await
            .unwrap();
        let (st, code, msg) = me(&s, &lead).await;
        assert_eq!(
            (st, code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("token_revoked"))
        );
        assert!(msg.contains("停用"), "{msg}");

        let entries = audit::list(&p, 0, 10_000).await.unwrap();
        let reset = entries
            .iter()
            .find(|e| e.action == "user.password" && e.subject == "insp")
            .unwrap();
        assert!(
            reset.detail.contains("\"devices_revoked\":true"),
            "{reset:?}"
        );
        let devices = b.store.list_devices(None).await.unwrap();
        let revoked_in_audited_write: Vec<_> = devices
            .iter()
            .filter(|d| d.revoked_kind == Some(jiandu_server::model::RevokeKind::PasswordReset))
            .collect();
        assert_eq!(revoked_in_audited_write.len(), 2, "{}", b.name);
        assert!(
            revoked_in_audited_write
                .iter()
                .all(|d| d.seq == reset.change_seq),
            "{}: revoked in the audited write itself",
            b.name
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn tokens_expire_without_use_and_each_use_renews_them() {
    // About two seconds, from the settings file as an administrator writes it.
    let file: FileSettings = toml::from_str("device_token_idle_days = 0.000025").unwrap();
    let settings = Settings::resolve(None, None, None, file).unwrap();
    assert!(settings.tokens.idle < chrono::Duration::seconds(3));
    assert!(settings.tokens.idle > chrono::Duration::seconds(1));
    let idle = settings.tokens.idle.to_std().unwrap();
    for b in backends().await {
        user(&b, "insp", Role::Inspector).await;
        let s =
            TestServer::start_platform(platform(&b).with_tokens(settings.tokens), 64 * 1024).await;
        let (id, token) = enrol(&s, "insp").await;
        // Used every quarter expiry for two expiries: renewed each time (a quarter,
        // not a half: a request slowed by a second on a loaded machine must not
        // pass for an expiry).
        for _ in 0..8 {
            tokio::time::sleep(idle / 4).await;
            assert_eq!(me(&s, &token).await.0, StatusCode::OK, "{}", b.name);
        }
        let d = b
            .store
            .device(Uuid::parse_str(&id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(d.last_used_at.is_some(), "{}: the use is recorded", b.name);
        // Then left alone longer than the expiry.
        tokio::time::sleep(idle + Duration::from_millis(500)).await;
        let (st, code, msg) = me(&s, &token).await;
        assert_eq!(
            (st, code.as_deref()),
            (StatusCode::UNAUTHORIZED, Some("token_expired")),
            "{}",
            b.name
        );
        assert!(msg.contains("过期"), "{msg}");
        s.stop().await;
    }
}
