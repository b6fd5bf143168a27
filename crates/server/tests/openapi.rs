//! `GET /api/openapi.json`: every route the router has is documented and every
//! documented operation is a real route (both ways), and each documented operation,
//! called for real on both backends, answers one of its documented statuses with a
//! `{code, message}` body for errors and the documented access rule.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, backends};
use jiandu_core::templates::TemplateSet;
use jiandu_server::demo;
use jiandu_server::openapi::{Access, OPERATIONS};
use std::collections::BTreeSet;

/// (method, path) of every `.route("PATH", get(..).post(..)…)` in the server's
/// sources: what the router serves.
fn routes_in_sources() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut out = BTreeSet::new();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // The path literal.
            let q = rest.find('"').unwrap();
            let after = &rest[q + 1..];
            let end = after.find('"').unwrap();
            let path = after[..end].to_owned();
            // The method router: up to the parenthesis closing `.route(`.
            let mut depth = 1;
            let mut close = 0;
            for (k, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let inner = &rest[q + 1 + end + 1..close];
            for m in ["get", "post", "put", "patch", "delete", "head"] {
                let needle = format!("{m}(");
                let mut from = 0;
                while let Some(j) = inner[from..].find(&needle) {
                    let at = from + j;
                    let prev = inner[..at].chars().last();
                    if !prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        out.insert((m.to_owned(), path.clone()));
                    }
                    from = at + needle.len();
                }
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_operation_is_routed() {
    let doc = jiandu_server::openapi::document();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert((
                method.clone(),
                path.trim_start_matches("/api/v1").to_owned(),
            ));
        }
    }
    let mut routed = routes_in_sources();
    // The document itself lives outside /api/v1.
    assert!(routed.remove(&("get".to_owned(), "/api/openapi.json".to_owned())));
    assert!(routed.len() >= 30, "{routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes not in the OpenAPI document: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&routed).collect();
    assert!(
        stale.is_empty(),
        "documented operations without a route: {stale:?}"
    );
    assert_eq!(doc["openapi"], "3.1.0");
}

async fn enroll(s: &TestServer, username: &str) -> String {
    let v: serde_json::Value = s
        .client
        .post(s.url("/devices/enroll"))
        .json(&serde_json::json!({
            "username": username, "password": demo::DEMO_PASSWORD, "device_name": "openapi"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_served_document_matches_what_the_server_answers() {
    let t = TemplateSet::builtin().unwrap();
    for b in backends().await {
        demo::run(&*b.store, &t, demo::DEFAULT_SEED).await.unwrap();
        let s = TestServer::start(b.store.clone()).await;
        let root = s.base.trim_end_matches("/api/v1").to_owned();
        let served: serde_json::Value = s
            .client
            .get(format!("{root}/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            served,
            jiandu_server::openapi::document(),
            "no token needed"
        );
        let tokens = [
            ("admin", enroll(&s, "admin").await),
            ("team_lead", enroll(&s, "lina").await),
            ("inspector", enroll(&s, "zhangwei").await),
        ];
        for op in OPERATIONS {
            let path = op
                .path
                .replace(
                    "{id}",
                    if op.path.starts_with("/plans/") {
                        "shanxi-2025"
                    } else {
                        "0196a3c4-0000-7000-8000-000000000000"
                    },
                )
                .replace("{kind}", "opinion.pdf");
            let path = match op.path {
                "/reports/summary" => format!("{path}?plan=shanxi-2025&table=medical-summary"),
                p if p.starts_with("/reports/") => format!("{path}?plan=shanxi-2025"),
                _ => path,
            };
            let documented: BTreeSet<String> = served["paths"][format!("/api/v1{}", op.path)]
                [op.method]["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            for (role, token) in &tokens {
                let method =
                    reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
                let mut req = s.client.request(method, s.url(&path)).bearer_auth(token);
                if op.body.is_some() {
                    req = req.json(&serde_json::json!({}));
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                assert_ne!(status, 405, "{} {}: method not routed", op.method, op.path);
                assert!(
                    documented.contains(&status.to_string()),
                    "{}: {} {} as {role} answered {status}, documented {documented:?}",
                    b.name,
                    op.method,
                    op.path
                );
                let forbidden = match op.access {
                    Access::Roles(roles) => !roles.contains(role),
                    _ => false,
                };
                // (With a body, the body is read first: `{}` is refused as 422.)
                if forbidden && op.body.is_none() {
                    assert_eq!(status, 403, "{} {} as {role}", op.method, op.path);
                }
                if forbidden {
                    assert!(
                        !(200..300).contains(&status),
                        "{} {} as {role}",
                        op.method,
                        op.path
                    );
                }
                if status >= 400 && op.method != "head" {
                    let body: serde_json::Value = r.json().await.unwrap();
                    assert!(
                        body["code"].is_string() && body["message"].is_string(),
                        "{body}"
                    );
                    assert_ne!(
                        body["message"], "接口不存在",
                        "{} {}: fell through to the fallback",
                        op.method, op.path
                    );
                }
            }
            // No token: 401 except for public operations.
            if op.access != Access::Public {
                let method =
                    reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
                let r = s.client.request(method, s.url(&path)).send().await.unwrap();
                assert_eq!(r.status(), 401, "{} {}", op.method, op.path);
            }
        }
        s.stop().await;
    }
}
