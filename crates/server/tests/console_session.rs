//! The web console's session on the real server (127.0.0.1:0), on SQLite and
//! PostgreSQL: no session → 401; an inspector's session cannot reach
//! administrators' operations; a state-changing request without the CSRF token, or
//! sent from another site, is refused (sign-in included); an expired, signed-out or
//! disabled user's session is refused, and re-enabling the user does not revive it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, backends};
use jiandu_server::demo;
use jiandu_server::service::sessions::SessionSettings;
use jiandu_server::service::{Actor, Platform};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A browser: its own cookie jar.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Signs `username` in; answers the browser and the session's CSRF token.
async fn sign_in(s: &TestServer, username: &str) -> (reqwest::Client, String) {
    let c = browser();
    let r = c
        .post(s.url("/session"))
        .json(&json!({"username": username, "password": demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in [
        "jiandu_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let v: Value = r.json().await.unwrap();
    (c, v["csrf_token"].as_str().unwrap().to_owned())
}

async fn code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["code"].as_str().unwrap_or_default().to_owned())
}

async fn start(b: &common::Backend, sessions: SessionSettings) -> TestServer {
    demo::run(&common::platform(b), &Actor::system(), demo::DEFAULT_SEED)
        .await
        .unwrap();
    serve(b, sessions).await
}

async fn serve(b: &common::Backend, sessions: SessionSettings) -> TestServer {
    // As behind a local reverse proxy: X-Forwarded-Proto from loopback is believed
    // (from anyone else it is ignored: tests/security.rs).
    let proxies = jiandu_server::settings::TrustedProxies::parse(&["127.0.0.1".into()]).unwrap();
    let p: Platform = common::platform(b)
        .with_sessions(sessions)
        .with_proxies(proxies);
    TestServer::start_platform(p, 64 * 1024).await
}

#[tokio::test]
async fn sessions_are_checked_like_tokens() {
    for b in backends().await {
        let s = start(&b, SessionSettings::default()).await;
        // No session: 401 for the console's pages' data, the public pages open.
        let anon = browser();
        for path in ["/session", "/users", "/reports/dashboard", "/audit"] {
            let (st, c) = code(anon.get(s.url(path)).send().await.unwrap()).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{}: {path}", b.name);
            assert_eq!(c, "unauthenticated");
        }
        let r = anon.get(s.url("/public/plans")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // A made-up cookie: invalid_session.
        let (st, c) = code(
            anon.get(s.url("/users"))
                .header("cookie", "jiandu_session=jdt_forged")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_session")
        );

        // An inspector's session cannot reach administrators' operations.
        let (insp, insp_csrf) = sign_in(&s, "zhangwei").await;
        for path in [
            "/users",
            "/audit",
            "/audit/verify",
            "/reports/dashboard",
            "/draws",
        ] {
            let (st, c) = code(insp.get(s.url(path)).send().await.unwrap()).await;
            assert_eq!(
                (st, c.as_str()),
                (StatusCode::FORBIDDEN, "forbidden"),
                "{path}"
            );
        }
        let (st, _) = code(
            insp.put(s.url("/users/lina/disabled"))
                .header("x-csrf-token", &insp_csrf)
                .json(&json!({"disabled": true}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // Their own tasks they may read.
        let r = insp.get(s.url("/tasks/overview")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        // The administrator's session: reads need no CSRF token, writes do.
        let (admin, csrf) = sign_in(&s, "admin").await;
        let r = admin.get(s.url("/users")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let change = |token: Option<&str>, origin: Option<&str>, site: Option<&str>| {
            let mut req = admin
                .put(s.url("/users/liuyang/disabled"))
                .json(&json!({"disabled": false}));
            if let Some(t) = token {
                req = req.header("x-csrf-token", t);
            }
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            if let Some(site) = site {
                req = req.header("sec-fetch-site", site);
            }
            req.send()
        };
        let (st, c) = code(change(None, None, None).await.unwrap()).await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::FORBIDDEN, "csrf_failed"),
            "no token"
        );
        let (st, c) = code(change(Some("jdt_wrong"), None, None).await.unwrap()).await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::FORBIDDEN, "csrf_failed"),
            "wrong token"
        );
        let (st, c) = code(
            change(Some(&csrf), Some("https://evil.example"), None)
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::FORBIDDEN, "csrf_failed"),
            "cross-site origin"
        );
        let (st, c) = code(change(Some(&csrf), None, Some("cross-site")).await.unwrap()).await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::FORBIDDEN, "csrf_failed"),
            "sec-fetch-site"
        );
        let host = s
            .base
            .trim_start_matches("http://")
            .trim_end_matches("/api/v1");
        let (st, c) = code(
            change(
                Some(&csrf),
                Some(&format!("http://{host}")),
                Some("same-origin"),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "same site with the token: {c}");
        // Sign-in from another site is refused too.
        let (st, c) = code(
            browser()
                .post(s.url("/session"))
                .header("origin", "https://evil.example")
                .json(&json!({"username": "admin", "password": demo::DEMO_PASSWORD}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((st, c.as_str()), (StatusCode::FORBIDDEN, "csrf_failed"));
        // Behind TLS the cookie is Secure.
        let r = browser()
            .post(s.url("/session"))
            .header("x-forwarded-proto", "https")
            .json(&json!({"username": "admin", "password": demo::DEMO_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("; Secure")
        );
        // Disabling a user ends their sessions for good.
        let (lead, _) = sign_in(&s, "lina").await;
        assert_eq!(
            lead.get(s.url("/reports/dashboard"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        for disabled in [true, false] {
            let r = admin
                .put(s.url("/users/lina/disabled"))
                .header("x-csrf-token", &csrf)
                .json(&json!({"disabled": disabled}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
        let (st, c) = code(lead.get(s.url("/reports/dashboard")).send().await.unwrap()).await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_session")
        );
        let entries: Value = admin
            .get(s.url("/audit?action=user"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            entries
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["actor"] == "admin (控制台)"),
            "{entries}"
        );

        // Sign-out: the session is refused afterwards, and needs the CSRF token.
        let r = admin.delete(s.url("/session")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = admin
            .delete(s.url("/session"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let (st, c) = code(
            browser()
                .get(s.url("/users"))
                .header("cookie", "jiandu_session=jdt_forged")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (st, c.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_session")
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn expired_sessions_are_refused() {
    for b in backends().await {
        demo::run(&common::platform(&b), &Actor::system(), demo::DEFAULT_SEED)
            .await
            .unwrap();
        for (idle, absolute) in [(1, 3600), (3600, 1)] {
            let s = serve(
                &b,
                SessionSettings {
                    idle: chrono::Duration::seconds(idle),
                    absolute: chrono::Duration::seconds(absolute),
                    secure_cookies: true,
                },
            )
            .await;
            let (admin, _) = sign_in_secure(&s).await;
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            let (st, c) = code(admin.get(s.url("/users")).send().await.unwrap()).await;
            assert_eq!(
                (st, c.as_str()),
                (StatusCode::UNAUTHORIZED, "session_expired"),
                "{}: idle {idle}s, absolute {absolute}s",
                b.name
            );
            s.stop().await;
        }
    }
}

/// Signs the administrator in where cookies are always Secure; the test sends the
/// cookie by hand over plain HTTP.
async fn sign_in_secure(s: &TestServer) -> (reqwest::Client, String) {
    let r = browser()
        .post(s.url("/session"))
        .json(&json!({"username": "admin", "password": demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "secure_cookies: {cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", pair.parse().unwrap());
    let c = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    (c, String::new())
}
