//! Security (issue 15, the server's side): the real server on 127.0.0.1:0 over
//! HTTP, on SQLite and PostgreSQL: no reads beyond one's own, no trust in what a
//! device says about who did what, bounded sign-in work, disk limits, audit.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/world.rs"]
mod world;

use chrono::Utc;
use common::{Backend, TestServer, backends};
use jiandu_core::inspection::{Inspection, InspectionStatus};
use jiandu_core::templates::TemplateSet;
use jiandu_server::service::{Platform, review};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use world::{PASSWORD, World};

async fn world(b: Backend) -> World {
    world::build(b, &[("hospital", 3), ("clinic", 10)], |p| p).await
}

async fn world_with(b: Backend, tune: impl FnOnce(Platform) -> Platform) -> World {
    world::build(b, &[("hospital", 3), ("clinic", 10)], tune).await
}

/// The id of a drawn task assigned to `who`.
fn task_of(w: &World, draw: &Value, who: &str) -> Uuid {
    let id = w.users[who].to_string();
    draw["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["inspectors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == id.as_str())
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// An inspection of `task` stored as in progress with a finding-free body.
async fn stored_inspection(w: &World, task: Uuid, status: InspectionStatus) -> Uuid {
    let id = Uuid::now_v7();
    let mut insp = Inspection::new(id, task);
    insp.status = status;
    insp.version = 2;
    insp.started_at = Some(Utc::now());
    w.b.store
        .put_inspection(&common::stamp(), insp, None, review::expect_version(None))
        .await
        .unwrap();
    id
}

fn item(inspection: Uuid, entity: &str, op: &str, payload: Value) -> Value {
    json!({
        "mutation_id": Uuid::now_v7(),
        "device_seq": 1,
        "entity": entity,
        "entity_id": Uuid::now_v7(),
        "inspection_id": inspection,
        "op": op,
        "base_version": null,
        "payload": payload,
    })
}

#[tokio::test]
async fn a_refused_push_shows_the_server_record_only_to_who_may_read_it() {
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "推送").await;
        let task = task_of(&w, &draw, "insp1");
        let id = stored_inspection(&w, task, InspectionStatus::InProgress).await;
        for (who, reason, shown) in [
            ("other_insp", "forbidden", false),
            ("other_lead", "forbidden", false),
            ("insp2", "forbidden", false),
            ("insp1", "invalid", true),
            ("lead", "invalid", true),
            ("admin", "invalid", true),
        ] {
            // insp2 may share the task: only when it is not assigned to them.
            if who == "insp2"
                && draw["tasks"].as_array().unwrap().iter().any(|t| {
                    t["id"] == task.to_string().as_str()
                        && t["inspectors"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|p| p["id"] == w.users["insp2"].to_string().as_str())
                })
            {
                continue;
            }
            let (st, v) = w
                .call(
                    who,
                    Method::POST,
                    "/sync/push",
                    Some(json!({"items": [item(id, "x", "y", json!({}))]})),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{}: {who}: {v}", w.b.name);
            let r = &v["results"][0];
            assert_eq!(r["status"], "rejected", "{}: {who}: {v}", w.b.name);
            assert_eq!(r["reason"], reason, "{}: {who}: {v}", w.b.name);
            assert_eq!(
                !r["current"].is_null(),
                shown,
                "{}: {who} sees the record: {v}",
                w.b.name
            );
            if shown {
                assert_eq!(r["current"]["inspection"]["id"], id.to_string().as_str());
            }
        }
        w.s.stop().await;
    }
}

async fn lease(w: &World, who: &str, authority: &str, floor: u64) -> (StatusCode, Value) {
    w.call(
        who,
        Method::POST,
        "/doc-numbers/lease",
        Some(json!({
            "request_id": Uuid::now_v7(),
            "authority": authority,
            "year": 2026,
            "count": 20,
            "floor": floor,
        })),
    )
    .await
}

#[tokio::test]
async fn a_lease_floor_cannot_exhaust_a_series_and_authorities_are_known_ones() {
    for b in backends().await {
        let w = world(b).await;
        const SHANXI: &str = "山西省卫生健康委员会";
        let (st, v) = lease(&w, "other_insp", SHANXI, 4_294_967_294).await;
        assert_eq!(st, StatusCode::OK, "{}: {v}", w.b.name);
        assert_eq!(
            (v["first"].as_u64(), v["last"].as_u64()),
            (Some(1), Some(20))
        );
        let (st, v) = lease(&w, "insp1", SHANXI, 0).await;
        assert_eq!(st, StatusCode::OK, "{}: {v}", w.b.name);
        assert_eq!(
            (v["first"].as_u64(), v["last"].as_u64()),
            (Some(21), Some(40))
        );
        let (st, v) = lease(&w, "insp1", "随便写的机关", 0).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_authority")),
            "{}: {v}",
            w.b.name
        );
        // The platform's own authority (JIANDU_AUTHORITY) is known.
        let own = jiandu_server::service::documents::authority();
        let (st, v) = lease(&w, "insp1", &own, 0).await;
        assert_eq!(st, StatusCode::OK, "{}: {v}", w.b.name);
        w.s.stop().await;
    }
}

fn photo(id: Uuid, inspection: Uuid, sha: &str, by: Uuid, taken: chrono::DateTime<Utc>) -> Value {
    json!({
        "id": id,
        "inspection_id": inspection,
        "finding_id": null,
        "sha256": sha,
        "size_bytes": 10,
        "mime": "image/jpeg",
        "taken_at": taken,
        "location": {"lat": 37.8, "lon": 112.5},
        "captured_by": by,
        "captured_at": taken,
        "voided_by": null,
        "voided_at": null,
        "void_reason": null,
    })
}

fn photo_item(inspection: Uuid, op: &str, payload: Value) -> Value {
    let mut i = item(inspection, "photo", op, payload.clone());
    i["entity_id"] = payload["id"].clone();
    i
}

#[tokio::test]
async fn photo_records_keep_the_server_fields_and_plausible_times() {
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "照片").await;
        let task = task_of(&w, &draw, "insp1");
        let id = stored_inspection(&w, task, InspectionStatus::InProgress).await;
        let (sha_a, sha_b) = ("a".repeat(64), "b".repeat(64));
        let now = Utc::now();
        let (p1, p2) = (Uuid::now_v7(), Uuid::now_v7());
        let someone_else = w.users["admin"];
        let push = |items: Vec<Value>| {
            let w = &w;
            async move {
                let (st, v) = w
                    .call(
                        "insp1",
                        Method::POST,
                        "/sync/push",
                        Some(json!({"items": items})),
                    )
                    .await;
                assert_eq!(st, StatusCode::OK, "{v}");
                v["results"].as_array().unwrap().clone()
            }
        };
        let r = push(vec![
            photo_item(id, "create", photo(p1, id, &sha_a, someone_else, now)),
            photo_item(
                id,
                "create",
                photo(
                    p2,
                    id,
                    &sha_a,
                    someone_else,
                    now + chrono::Duration::hours(1),
                ),
            ),
        ])
        .await;
        assert_eq!(r[0]["status"], "applied", "{}: {r:?}", w.b.name);
        assert_eq!(
            (r[1]["status"].as_str(), r[1]["reason"].as_str()),
            (Some("rejected"), Some("invalid")),
            "{}: a photo taken an hour from now: {r:?}",
            w.b.name
        );
        // Voiding sends a rewritten record: only the void fields may change.
        let mut void = photo(
            p1,
            id,
            &sha_b,
            someone_else,
            now - chrono::Duration::days(400),
        );
        void["voided_by"] = json!(someone_else);
        void["voided_at"] = json!(now);
        void["void_reason"] = json!("拍错了单位");
        void["mime"] = json!("image/png");
        let r = push(vec![photo_item(id, "void", void)]).await;
        assert_eq!(r[0]["status"], "applied", "{}: {r:?}", w.b.name);
        // The team lead's pull reads the server's record.
        let (st, page) = w
            .call("lead", Method::GET, "/sync/pull?since=0", None)
            .await;
        assert_eq!(st, StatusCode::OK);
        let photos: Vec<&Value> = page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["inspection"]["inspection"]["id"] == id.to_string().as_str())
            .flat_map(|c| c["inspection"]["photos"].as_array().unwrap())
            .collect();
        assert_eq!(photos.len(), 1, "{}: {page}", w.b.name);
        let p = photos[0];
        let insp1 = w.users["insp1"].to_string();
        assert_eq!(p["sha256"], sha_a.as_str(), "{}: {p}", w.b.name);
        assert_eq!(p["mime"], "image/jpeg", "{}: {p}", w.b.name);
        assert_eq!(p["captured_by"], insp1.as_str(), "{}: {p}", w.b.name);
        assert_eq!(p["voided_by"], insp1.as_str(), "{}: {p}", w.b.name);
        assert_eq!(p["void_reason"], "拍错了单位");
        let taken: chrono::DateTime<Utc> = serde_json::from_value(p["taken_at"].clone()).unwrap();
        assert!((taken - now).num_seconds().abs() < 2, "{}: {p}", w.b.name);
        w.s.stop().await;
    }
}

/// Registers blob `id` (`size` bytes of `sha`) as `who`.
async fn register(
    w: &World,
    who: &str,
    id: Uuid,
    inspection: Uuid,
    sha: &str,
    size: usize,
) -> (StatusCode, Value) {
    w.call(
        who,
        Method::POST,
        "/photos",
        Some(
            json!({"id": id, "kind": "photo", "inspection_id": inspection, "sha256": sha,
                    "size": size, "mime": "image/jpeg"}),
        ),
    )
    .await
}

/// Sends one chunk at `offset`: the status and the error code, if any.
async fn chunk(
    w: &World,
    who: &str,
    id: Uuid,
    offset: usize,
    bytes: Vec<u8>,
) -> (StatusCode, Option<String>) {
    let r =
        w.s.client
            .patch(w.s.url(&format!("/photos/{id}/content")))
            .bearer_auth(&w.tokens[who])
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap();
    let st = r.status();
    let code = r
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned));
    (st, code)
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Content files in the blob folder (not partial uploads).
fn stored_files(w: &World) -> usize {
    walk(w.blobs.path())
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                if e.file_name() == "partial" {
                    0
                } else {
                    walk(&p)
                }
            } else {
                1
            }
        })
        .sum()
}

#[tokio::test]
async fn a_known_hash_does_not_complete_a_photo_without_its_bytes() {
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "去重").await;
        let task = task_of(&w, &draw, "insp1");
        let id = stored_inspection(&w, task, InspectionStatus::InProgress).await;
        let bytes = b"\xFF\xD8\xFFjpeg012".to_vec(); // 10 bytes, as `photo` says
        let sha = sha_hex(&bytes);
        let (p1, p2) = (Uuid::now_v7(), Uuid::now_v7());
        let me = w.users["insp1"];
        let now = Utc::now();
        let (st, v) = w
            .call(
                "insp1",
                Method::POST,
                "/sync/push",
                Some(json!({"items": [
                    photo_item(id, "create", photo(p1, id, &sha, me, now)),
                    photo_item(id, "create", photo(p2, id, &sha, me, now)),
                ]})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, v) = register(&w, "insp1", p1, id, &sha, bytes.len()).await;
        assert_eq!(
            (st, v["complete"].as_bool()),
            (StatusCode::OK, Some(false)),
            "{v}"
        );
        assert_eq!(
            chunk(&w, "insp1", p1, 0, bytes.clone()).await.0,
            StatusCode::NO_CONTENT
        );
        // The second photo names a hash the server holds: it still needs the bytes,
        // and its answer is the same as for a hash the server has never seen.
        let (st, v) = register(&w, "insp1", p2, id, &sha, bytes.len()).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["offset"].as_u64(), v["complete"].as_bool()),
            (Some(0), Some(false)),
            "{}: registered without sending the bytes: {v}",
            w.b.name
        );
        let (st, v) = w
            .call("insp1", Method::GET, &format!("/photos/{p2}/content"), None)
            .await;
        assert_eq!(
            st,
            StatusCode::CONFLICT,
            "{}: not readable before its bytes: {v}",
            w.b.name
        );
        // Wrong bytes of the right length are refused.
        let mut wrong = bytes.clone();
        wrong[3] ^= 1;
        assert_eq!(
            chunk(&w, "insp1", p2, 0, wrong).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("hash_mismatch".into())
            )
        );
        assert_eq!(
            chunk(&w, "insp1", p2, 0, bytes.clone()).await.0,
            StatusCode::NO_CONTENT
        );
        // Stored once underneath.
        assert_eq!(stored_files(&w), 1, "{}", w.b.name);
        w.s.stop().await;
    }
}

#[tokio::test]
async fn a_team_lead_reads_the_draws_of_their_district_only() {
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "辖区").await;
        let id = draw["id"].as_str().unwrap();
        let all = draw["tasks"].as_array().unwrap().len();
        for (who, district) in [("lead", "小店区"), ("other_lead", "迎泽区")] {
            let (st, v) = w
                .call(who, Method::GET, &format!("/draws/{id}"), None)
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
            let tasks = v["tasks"].as_array().unwrap();
            let own = draw["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["institution"]["district"] == district)
                .count();
            assert!(own < all, "{}: the draw spans districts", w.b.name);
            assert_eq!(tasks.len(), own, "{}: {who} reads every district", w.b.name);
            assert!(
                tasks
                    .iter()
                    .all(|t| t["institution"]["district"] == district),
                "{}: {who}: {v}",
                w.b.name
            );
            let (st, _) = w
                .call(who, Method::GET, &format!("/draws/{id}/inputs"), None)
                .await;
            assert_eq!(
                st,
                StatusCode::FORBIDDEN,
                "{}: {who} reads every district's inputs",
                w.b.name
            );
        }
        let (_, v) = w
            .call("admin", Method::GET, &format!("/draws/{id}"), None)
            .await;
        assert_eq!(v["tasks"].as_array().unwrap().len(), all);
        let (st, _) = w
            .call("admin", Method::GET, &format!("/draws/{id}/inputs"), None)
            .await;
        assert_eq!(st, StatusCode::OK);
        w.s.stop().await;
    }
}

async fn enrol(s: &TestServer, username: &str, password: &str) -> (StatusCode, Value) {
    let r = s
        .client
        .post(s.url("/devices/enroll"))
        .json(&json!({"username": username, "password": password, "device_name": "平板"}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn random_usernames_meet_a_per_address_limit_and_hashing_is_bounded() {
    let b = common::sqlite().await;
    let w = world(b).await;
    // Random usernames from one address: the per-address limit stops them.
    let mut codes = Vec::new();
    for n in 0..35 {
        let (st, v) = enrol(
            &w.s,
            &format!("nobody-{n}-{}", Uuid::now_v7()),
            "不是密码password",
        )
        .await;
        codes.push((st.as_u16(), v["code"].as_str().unwrap_or("").to_owned()));
    }
    let limited = codes
        .iter()
        .filter(|(s, c)| *s == 429 && c == "too_many_attempts")
        .count();
    assert!(
        codes[..30].iter().all(|(s, _)| *s == 401) && limited == 5,
        "{codes:?}"
    );
    // Even the right password waits out the window from that address.
    let (st, _) = enrol(&w.s, "insp1", PASSWORD).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    w.s.stop().await;
    // The counts are in the database: another server process on it (or this one
    // restarted) refuses that address too.
    let other = TestServer::start_platform(
        jiandu_server::service::Platform::new(w.b.store.clone(), TemplateSet::builtin().unwrap()),
        64 * 1024,
    )
    .await;
    let (st, _) = enrol(&other, "insp1", PASSWORD).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "shared by every server");
    other.stop().await;

    // A flood on a server whose pool takes one at a time and queues one: the rest
    // are refused at once with 429 and a Chinese message, none with a 5xx. (A
    // fresh database: the one above locked this address out.)
    let w = world(common::sqlite().await).await;
    w.s.stop().await;
    let mut platform =
        jiandu_server::service::Platform::new(w.b.store.clone(), TemplateSet::builtin().unwrap());
    platform.passwords = std::sync::Arc::new(jiandu_server::auth::PasswordPool::new(1, 1));
    let s = TestServer::start_platform(platform, 64 * 1024).await;
    let answers = futures_util::future::join_all((0..24).map(|n| {
        enrol(
            &s,
            if n % 2 == 0 { "insp1" } else { "insp2" },
            "错误的密码password",
        )
    }))
    .await;
    assert!(
        answers.iter().all(|(st, _)| !st.is_server_error()),
        "{answers:?}"
    );
    let busy: Vec<&Value> = answers
        .iter()
        .filter(|(st, v)| *st == StatusCode::TOO_MANY_REQUESTS && v["code"] == "too_many_requests")
        .map(|(_, v)| v)
        .collect();
    assert!(!busy.is_empty(), "{answers:?}");
    assert!(busy[0]["message"].as_str().unwrap().contains("稍后再试"));
    // Once the flood is over, the right password works.
    let (st, v) = enrol(&s, "insp2", PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    s.stop().await;
}

#[tokio::test]
async fn photo_limits_minimum_chunks_and_expired_partial_uploads() {
    use jiandu_server::service::sync::{UploadLimits, sweep_partial_uploads};
    for b in backends().await {
        let limits = UploadLimits {
            photos_per_inspection: 2,
            photos_per_device_per_day: 1,
            ..UploadLimits::default()
        };
        let w = world_with(b, |p| p.with_uploads(limits)).await;
        let draw = w.draw("shanxi-2025", "磁盘").await;
        let task = task_of(&w, &draw, "insp1");
        let id = stored_inspection(&w, task, InspectionStatus::InProgress).await;
        let me = w.users["insp1"];
        const MIB: usize = 1024 * 1024;
        let a_bytes: Vec<u8> = (0..2 * MIB + 10).map(|i| (i % 251) as u8).collect();
        let b_bytes: Vec<u8> = (0..2 * MIB).map(|i| (i % 241) as u8).collect();
        let (a, bb, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let rec = |pid: Uuid, bytes: &[u8]| {
            let mut r = photo(pid, id, &sha_hex(bytes), me, Utc::now());
            r["size_bytes"] = json!(bytes.len());
            photo_item(id, "create", r)
        };
        let (_, v) = w
            .call(
                "insp1",
                Method::POST,
                "/sync/push",
                Some(json!({"items": [rec(a, &a_bytes), rec(bb, &b_bytes), rec(c, b"third")]})),
            )
            .await;
        let r = v["results"].as_array().unwrap();
        assert_eq!(
            r.iter()
                .map(|x| x["status"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["applied", "applied", "rejected"],
            "{}: at most 2 photos per inspection: {v}",
            w.b.name
        );
        assert!(
            r[2]["message"].as_str().unwrap().contains("最多 2 张"),
            "{v}"
        );
        for (pid, bytes) in [(a, &a_bytes), (bb, &b_bytes)] {
            let (st, v) = register(&w, "insp1", pid, id, &sha_hex(bytes), bytes.len()).await;
            assert_eq!(st, StatusCode::OK, "{v}");
        }
        // A short chunk that is not the last is refused and not kept.
        assert_eq!(
            chunk(&w, "insp1", a, 0, a_bytes[..100 * 1024].to_vec()).await,
            (StatusCode::BAD_REQUEST, Some("chunk_too_small".into())),
            "{}",
            w.b.name
        );
        let (_, v) = register(&w, "insp1", a, id, &sha_hex(&a_bytes), a_bytes.len()).await;
        assert_eq!(v["offset"], 0, "{}: {v}", w.b.name);
        // B: half sent, then abandoned.
        assert_eq!(
            chunk(&w, "insp1", bb, 0, b_bytes[..MIB].to_vec()).await.0,
            StatusCode::NO_CONTENT
        );
        // A: 1 MiB chunks and a short last one.
        for (from, to) in [(0, MIB), (MIB, 2 * MIB), (2 * MIB, a_bytes.len())] {
            assert_eq!(
                chunk(&w, "insp1", a, from, a_bytes[from..to].to_vec())
                    .await
                    .0,
                StatusCode::NO_CONTENT,
                "{}: chunk at {from}",
                w.b.name
            );
        }
        // One photo per device per day: B waits for tomorrow.
        let (st, v) = register(&w, "insp1", bb, id, &sha_hex(&b_bytes), b_bytes.len()).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("upload_limit")),
            "{}: {v}",
            w.b.name
        );
        // The sweep removes B's partial upload once it expired, not before.
        let now = std::time::SystemTime::now();
        assert_eq!(sweep_partial_uploads(&w.p, now).await.unwrap(), 0);
        let later = now + limits.partial_upload_expiry + std::time::Duration::from_secs(60);
        assert_eq!(
            sweep_partial_uploads(&w.p, later).await.unwrap(),
            1,
            "{}",
            w.b.name
        );
        let r =
            w.s.client
                .head(w.s.url(&format!("/photos/{bb}/content")))
                .bearer_auth(&w.tokens["insp1"])
                .send()
                .await
                .unwrap();
        assert_eq!(r.headers()["Upload-Offset"], "0");
        w.s.stop().await;
    }
}

#[tokio::test]
async fn audit_verify_reports_an_sql_edit_of_an_approved_outcome_and_a_truncated_head() {
    use jiandu_core::inspection::{Outcome, PublicCategory};
    use jiandu_server::service::audit;
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "审计").await;
        let task = task_of(&w, &draw, "insp1");
        let id = Uuid::now_v7();
        let mut insp = Inspection::new(id, task);
        insp.status = InspectionStatus::Submitted;
        insp.version = 3;
        insp.outcome = Some(Outcome {
            category: PublicCategory::Corrected,
            penalty: None,
            opinion: None,
            unreachable_reason: None,
        });
        w.b.store
            .put_inspection(&common::stamp(), insp, None, review::expect_version(None))
            .await
            .unwrap();
        let (st, v) = w
            .call(
                "lead",
                Method::POST,
                &format!("/inspections/{id}/approve"),
                Some(json!({"version": 3})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let report = audit::verify(&w.p).await.unwrap();
        assert!(report.ok, "{}: {}", w.b.name, report.message);
        assert!(report.data_mismatches.is_empty());
        let (_, head) = audit::head(&w.p).await.unwrap();
        assert_eq!(head, report.head_hash);
        // The head kept elsewhere is still found.
        assert!(audit::verify_with_head(&w.p, Some(&head)).await.unwrap().ok);
        // Someone with database access turns 责令改正 into 未发现问题.
        match w.b.name {
            "sqlite" => {
                let c = rusqlite::Connection::open(&w.b.url).unwrap();
                let n = c
                    .execute(
                        "UPDATE inspections SET body = json_set(body, '$.outcome.category', 'no_problem')
                         WHERE id = ?1",
                        [id.to_string()],
                    )
                    .unwrap();
                assert_eq!(n, 1);
            }
            _ => {
                let (c, conn) = tokio_postgres::connect(&w.b.url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                let n = c
                    .execute(
                        "UPDATE inspections SET body = jsonb_set(body, '{outcome,category}', '\"no_problem\"')
                         WHERE id = $1",
                        &[&id],
                    )
                    .await
                    .unwrap();
                assert_eq!(n, 1);
            }
        }
        let report = audit::verify(&w.p).await.unwrap();
        assert!(
            !report.ok,
            "{}: the edit passes: {}",
            w.b.name, report.message
        );
        assert_eq!(report.data_mismatches.len(), 1, "{}", w.b.name);
        assert_eq!(report.data_mismatches[0].id, id.to_string());
        // A head that is not in the chain (a truncated or rewritten log) is caught.
        let gone = "f".repeat(64);
        let r = audit::verify_with_head(&w.p, Some(&gone)).await.unwrap();
        assert!(!r.ok);
        w.s.stop().await;
    }
}

async fn enrol_from(s: &TestServer, username: &str, forwarded_for: &str) -> StatusCode {
    s.client
        .post(s.url("/devices/enroll"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"username": username, "password": "不是密码password", "device_name": "平板"}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_trusted_proxies() {
    use jiandu_server::settings::TrustedProxies;
    // Not trusted: a made-up X-Forwarded-For does not escape the per-address limit.
    let w = world(common::sqlite().await).await;
    let mut last = StatusCode::OK;
    for n in 0..31 {
        last = enrol_from(&w.s, &format!("x{n}"), &format!("198.51.100.{n}")).await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    w.s.stop().await;
    // Behind a trusted proxy: each client has its own limit.
    let proxies = TrustedProxies::parse(&["127.0.0.0/8".into()]).unwrap();
    let w = world_with(common::sqlite().await, |p| p.with_proxies(proxies)).await;
    for n in 0..31 {
        last = enrol_from(&w.s, &format!("y{n}"), "10.1.2.3, 203.0.113.7").await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        enrol_from(&w.s, "z", "203.0.113.8").await,
        StatusCode::UNAUTHORIZED,
        "another client behind the proxy"
    );
    w.s.stop().await;
}

#[tokio::test]
async fn postgres_sslmode_require_is_honoured() {
    let Some(b) = common::postgres().await else {
        return;
    };
    // The test server speaks no TLS (or a certificate nobody vouched for): a URL
    // that requires TLS must not fall back to plain text.
    let sep = if b.url.contains('?') { '&' } else { '?' };
    let required = format!("{}{sep}sslmode=require", b.url);
    assert!(
        jiandu_server::store::open(&required).await.is_err(),
        "sslmode=require connected without TLS"
    );
    let disabled = format!("{}{sep}sslmode=disable", b.url);
    assert!(jiandu_server::store::open(&disabled).await.is_ok());
}
