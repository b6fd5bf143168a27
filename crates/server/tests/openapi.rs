//! `GET /api/openapi.json`: generated from the handlers (a route cannot exist
//! without its documentation), complete (Chinese summaries, statuses, strict
//! request schemas), and each documented operation, called for real on both
//! backends with every role's token, answers one of its documented statuses, with a
//! `{code, message}` body for errors, the documented access rule and a request id.
//! schemathesis checks every schema against real traffic (scripts/schemathesis.sh).
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, backends};
use jiandu_server::demo;
use jiandu_server::service::Actor;
use std::collections::BTreeSet;

/// Operations only some roles may call (operationId, roles); every other operation
/// is open to any enrolled device, and `PUBLIC` ones need no token.
const RESTRICTED: &[(&str, &[&str])] = &[
    ("listUsers", &["admin"]),
    ("metrics", &["admin"]),
    ("createDraw", &["admin"]),
    ("reassignTask", &["admin"]),
    ("listInstitutions", &["admin", "team_lead"]),
    ("listDraws", &["admin", "team_lead"]),
    ("showDraw", &["admin", "team_lead"]),
    ("verifyDraw", &["admin", "team_lead"]),
    ("reportSummary", &["admin", "team_lead"]),
    ("reportProgress", &["admin", "team_lead"]),
    ("reviewQueue", &["team_lead"]),
    ("approveInspection", &["team_lead"]),
    ("returnInspection", &["team_lead"]),
    ("createUser", &["admin"]),
    ("setUserDisabled", &["admin"]),
    ("setUserPassword", &["admin"]),
    ("dashboard", &["admin", "team_lead"]),
    ("listAudit", &["admin"]),
    ("verifyAudit", &["admin"]),
    ("drawReassignments", &["admin", "team_lead"]),
];
const PUBLIC: &[&str] = &[
    "health",
    "enrollDevice",
    "signIn",
    "publicPlans",
    "publicResults",
    "publicDraw",
    "publicResultsPage",
    "publicDrawInputs",
];

/// The console's copy of the document (`console/src/api/openapi.json`, from which
/// its TypeScript types are generated) is the document the server serves: run
/// `cd console && npm run gen:api` when this fails.
#[test]
fn the_console_api_document_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../console/src/api/openapi.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let committed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        committed == serde_json::to_value(jiandu_server::http::document()).unwrap(),
        "console/src/api/openapi.json is stale: run `cd console && npm run gen:api` and commit"
    );
}

/// (method, path, operationId) of every operation in the document.
fn operations(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            out.push((
                method.clone(),
                path.clone(),
                op["operationId"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn the_document_is_generated_from_the_handlers_and_complete() {
    let doc = serde_json::to_value(jiandu_server::http::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() >= 31, "{ops:?}");
    let ids: BTreeSet<&str> = ops.iter().map(|o| o.2.as_str()).collect();
    assert_eq!(ids.len(), ops.len(), "operation ids are unique");
    for (id, _) in RESTRICTED {
        assert!(ids.contains(id), "{id} is documented");
    }
    for (method, path, id) in &ops {
        let op = &doc["paths"][path][method];
        assert!(path.starts_with("/api/v1/"), "{path}");
        assert!(!id.is_empty(), "{method} {path} has an operationId");
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(
            summary
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{method} {path}: summary in Chinese, got {summary:?}"
        );
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert!(
            statuses.iter().any(|s| s.starts_with('2')),
            "{method} {path}: {statuses:?}"
        );
        if !PUBLIC.contains(&id.as_str()) {
            assert!(
                statuses.iter().any(|s| *s == "401"),
                "{method} {path} documents 401"
            );
        }
    }
    // Request bodies refuse what the schema refuses: no unknown properties.
    for name in [
        "EnrollRequest",
        "DrawRequest",
        "ReassignRequest",
        "ApproveRequest",
    ] {
        assert_eq!(
            doc["components"]["schemas"][name]["additionalProperties"], false,
            "{name}"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["EnrollRequest"]["properties"]["username"]["maxLength"],
        100
    );
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
    for b in backends().await {
        demo::run(&common::platform(&b), &Actor::system(), demo::DEFAULT_SEED)
            .await
            .unwrap();
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
            serde_json::to_value(jiandu_server::http::document()).unwrap(),
            "no token needed"
        );
        let tokens = [
            ("admin", enroll(&s, "admin").await),
            ("team_lead", enroll(&s, "lina").await),
            ("inspector", enroll(&s, "zhangwei").await),
        ];
        for (method, full_path, id) in operations(&served) {
            let op = &served["paths"][&full_path][&method];
            let api_path = full_path.trim_start_matches("/api/v1");
            let path = api_path
                .replace(
                    "{id}",
                    if api_path.starts_with("/plans/") {
                        "shanxi-2025"
                    } else {
                        "0196a3c4-0000-7000-8000-000000000000"
                    },
                )
                .replace("{kind}", "opinion.pdf");
            let path = match api_path {
                "/reports/summary" => format!("{path}?plan=shanxi-2025&table=medical-summary"),
                p if p.starts_with("/reports/") => format!("{path}?plan=shanxi-2025"),
                _ => path,
            };
            let documented: BTreeSet<String> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let has_body = op.get("requestBody").is_some();
            let roles = RESTRICTED.iter().find(|r| r.0 == id).map(|r| r.1);
            for (role, token) in &tokens {
                // Signing out revokes the token it is called with: a token of its own,
                // so the other operations keep theirs.
                let token = if id == "signOutDevice" {
                    let who = match *role {
                        "admin" => "admin",
                        "team_lead" => "lina",
                        _ => "zhangwei",
                    };
                    enroll(&s, who).await
                } else {
                    token.clone()
                };
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut req = s.client.request(m, s.url(&path)).bearer_auth(&token);
                if has_body {
                    req = req.json(&serde_json::json!({}));
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                assert_ne!(status, 405, "{method} {api_path}: method not routed");
                assert!(
                    documented.contains(&status.to_string()),
                    "{}: {method} {api_path} as {role} answered {status}, documented {documented:?}",
                    b.name
                );
                let forbidden = roles.is_some_and(|roles| !roles.contains(role));
                // (With a body, the body is read first: `{}` is refused as 422.)
                if forbidden && !has_body {
                    assert_eq!(status, 403, "{method} {api_path} as {role}");
                }
                if forbidden {
                    assert!(
                        !(200..300).contains(&status),
                        "{method} {api_path} as {role}"
                    );
                }
                assert!(
                    r.headers().contains_key("x-request-id"),
                    "{method} {api_path}"
                );
                if status >= 400 && method != "head" {
                    let body: serde_json::Value = r.json().await.unwrap();
                    assert!(
                        body["code"].is_string() && body["message"].is_string(),
                        "{body}"
                    );
                    assert_ne!(
                        body["message"], "接口不存在",
                        "{method} {api_path}: fell through to the fallback"
                    );
                }
            }
            // No token: 401 except for public operations.
            if !PUBLIC.contains(&id.as_str()) {
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let r = s.client.request(m, s.url(&path)).send().await.unwrap();
                assert_eq!(r.status(), 401, "{method} {api_path}");
            }
        }
        // A method a route does not have: 405, as JSON.
        let r = s.client.delete(s.url("/health")).send().await.unwrap();
        assert_eq!(r.status(), 405);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
        // A request id sent by the client comes back.
        let r = s
            .client
            .get(s.url("/health"))
            .header("x-request-id", "trace-me-42")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], "trace-me-42");
        s.stop().await;
    }
}

#[tokio::test]
async fn an_internal_error_shows_only_its_request_id() {
    let b = common::sqlite().await;
    demo::run(&common::platform(&b), &Actor::system(), demo::DEFAULT_SEED)
        .await
        .unwrap();
    let s = TestServer::start(b.store.clone()).await;
    let admin = enroll(&s, "admin").await;
    // The database loses a table under the running server: a fault, not a refusal.
    let c = rusqlite::Connection::open(&b.url).unwrap();
    c.execute_batch("ALTER TABLE draws RENAME TO draws_gone")
        .unwrap();
    let r = s
        .client
        .get(s.url("/draws"))
        .bearer_auth(&admin)
        .header("x-request-id", "req-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["x-request-id"], "req-7f3a");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "internal");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("请求编号 req-7f3a"), "{message}");
    assert!(
        !message.contains("draws") && !message.contains("sqlite"),
        "nothing about the database reaches the client: {message}"
    );
    s.stop().await;
}
