//! The real server on 127.0.0.1:0, driven over HTTP with reqwest, on SQLite and
//! (when JIANDU_TEST_PG is set) PostgreSQL: enrolment and its rate limit, the
//! authorisation matrix, bad input, draw properties, re-assignment cap, review.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/world.rs"]
mod world;

use common::{Backend, backends, code};
use jiandu_core::draw::ratio_count;
use jiandu_core::inspection::{Inspection, InspectionStatus};
use jiandu_core::plan::QuotaRule;
use jiandu_core::templates::TemplateSet;
use jiandu_server::service::{registry, review};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use world::{PASSWORD, World};

async fn world(b: Backend) -> World {
    world::build(b, &[("clinic", 5)], |p| p).await
}

#[tokio::test]
async fn enrolment_checks_credentials_and_rate_limits_per_user() {
    for b in backends().await {
        let w = world(b).await;
        let enroll = |u: &str, p: &str| {
            w.s.client
                .post(w.s.url("/devices/enroll"))
                .json(&json!({"username": u, "password": p, "device_name": "x"}))
                .send()
        };
        let r = enroll("insp2", "wrong-password").await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "invalid_credentials");
        assert_eq!(v["message"], "用户名或密码错误");
        // Unknown user and imported staff without a password: same answer.
        for u in ["nobody", "SX-0005", "x' OR '1'='1"] {
            let r = enroll(u, PASSWORD).await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{u}");
        }
        for _ in 0..4 {
            assert_eq!(
                enroll("insp2", "wrong").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        // Locked now, even with the right password.
        let r = enroll("insp2", PASSWORD).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{}", w.b.name);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "too_many_attempts");
        // Other users are not locked out.
        assert_eq!(
            enroll("lead", PASSWORD).await.unwrap().status(),
            StatusCode::CREATED
        );
        // A disabled user cannot enrol, and their existing token stops working: it
        // was revoked with the disabling (for good: re-enabling revives no device).
        w.b.store
            .set_user_disabled(&common::stamp(), "other_insp", true)
            .await
            .unwrap();
        let r = enroll("other_insp", PASSWORD).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let (st, v) = w.call("other_insp", Method::GET, "/me", None).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("token_revoked"))
        );
        // Tokens are stored only as hashes: the token itself is nowhere in the store.
        let (_, me) = w.call("insp1", Method::GET, "/me", None).await;
        assert_eq!(me["user"]["username"], "insp1");
        w.s.stop().await;
    }
}

#[tokio::test]
async fn authorisation_matrix() {
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "矩阵测试").await;
        let draw_id = draw["id"].as_str().unwrap().to_owned();
        let insp1 = w.users["insp1"].to_string();
        let task1 = draw["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| {
                t["inspectors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == insp1.as_str())
            })
            .expect("insp1 has a task")
            .clone();
        let task1_id = task1["id"].as_str().unwrap().to_owned();
        let task1_people: Vec<String> = task1["inspectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        // A submitted inspection on insp1's task.
        let inspection_id = Uuid::now_v7();
        let mut insp = Inspection::new(inspection_id, task1_id.parse().unwrap());
        insp.status = InspectionStatus::Submitted;
        insp.version = 4;
        w.b.store
            .put_inspection(&common::stamp(), insp, None, review::expect_version(None))
            .await
            .unwrap();

        use StatusCode as S;
        let (ok, created, unauth, forbidden, missing) = (
            S::OK,
            S::CREATED,
            S::UNAUTHORIZED,
            S::FORBIDDEN,
            S::NOT_FOUND,
        );
        let _ = created;
        // Columns: none, revoked, insp1, lead, other_lead, admin.
        let who = ["none", "revoked", "insp1", "lead", "other_lead", "admin"];
        let matrix: Vec<(Method, String, Option<Value>, [StatusCode; 6])> = vec![
            (
                Method::GET,
                "/me".into(),
                None,
                [unauth, unauth, ok, ok, ok, ok],
            ),
            (
                Method::GET,
                "/users".into(),
                None,
                [unauth, unauth, forbidden, forbidden, forbidden, ok],
            ),
            (
                Method::GET,
                "/plans".into(),
                None,
                [unauth, unauth, ok, ok, ok, ok],
            ),
            (
                Method::GET,
                "/plans/shanxi-2025".into(),
                None,
                [unauth, unauth, ok, ok, ok, ok],
            ),
            (
                Method::GET,
                "/institutions".into(),
                None,
                [unauth, unauth, forbidden, ok, ok, ok],
            ),
            (
                Method::GET,
                "/draws".into(),
                None,
                [unauth, unauth, forbidden, ok, ok, ok],
            ),
            (
                Method::POST,
                "/draws".into(),
                Some(json!({"plan_id": "county-2024", "seed": "s", "dry_run": true})),
                [unauth, unauth, forbidden, forbidden, forbidden, ok],
            ),
            (
                Method::GET,
                format!("/draws/{draw_id}"),
                None,
                [unauth, unauth, forbidden, ok, ok, ok],
            ),
            (
                Method::GET,
                format!("/draws/{draw_id}/verify"),
                None,
                [unauth, unauth, forbidden, ok, ok, ok],
            ),
            (
                Method::GET,
                "/tasks".into(),
                None,
                [unauth, unauth, ok, ok, ok, ok],
            ),
            (
                Method::GET,
                format!("/tasks/{task1_id}"),
                None,
                [unauth, unauth, ok, ok, missing, ok],
            ),
            (
                Method::POST,
                format!("/tasks/{task1_id}/reassign"),
                Some(json!({"from": insp1, "to": Uuid::now_v7(), "reason": "x"})),
                [unauth, unauth, forbidden, forbidden, forbidden, missing],
            ),
            (
                Method::GET,
                "/review/queue".into(),
                None,
                [unauth, unauth, forbidden, ok, ok, forbidden],
            ),
            (
                Method::GET,
                format!("/inspections/{inspection_id}"),
                None,
                [unauth, unauth, ok, ok, missing, ok],
            ),
            (
                Method::POST,
                format!("/inspections/{inspection_id}/return"),
                Some(json!({"version": 3, "comment": "请补充"})),
                [unauth, unauth, forbidden, S::CONFLICT, missing, forbidden],
            ),
            (
                Method::POST,
                format!("/inspections/{inspection_id}/approve"),
                Some(json!({"version": 4})),
                [unauth, unauth, forbidden, ok, missing, forbidden],
            ),
        ];
        for (method, path, body, expected) in &matrix {
            for (i, who) in who.iter().enumerate() {
                let (st, v) = w.call(who, method.clone(), path, body.clone()).await;
                assert_eq!(
                    st, expected[i],
                    "{}: {method} {path} as {who}: {v}",
                    w.b.name
                );
                if *who == "revoked" {
                    assert_eq!(v["code"], "device_revoked");
                }
            }
        }
        // Scoping of lists: an inspector sees only their tasks, a team lead only
        // their team's, a lead of another district none of ours.
        let (_, mine) = w.call("insp1", Method::GET, "/tasks", None).await;
        let mine = mine.as_array().unwrap();
        assert!(!mine.is_empty());
        assert!(mine.iter().all(|t| {
            t["inspectors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == insp1.as_str())
        }));
        let (_, other) = w.call("other_lead", Method::GET, "/tasks", None).await;
        let ours: HashSet<&str> = draw["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["institution"]["district"] == "小店区")
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert!(
            other
                .as_array()
                .unwrap()
                .iter()
                .all(|t| !ours.contains(t["id"].as_str().unwrap())),
            "{}",
            w.b.name
        );
        let (_, inst) = w
            .call("other_lead", Method::GET, "/institutions", None)
            .await;
        assert!(
            inst.as_array()
                .unwrap()
                .iter()
                .all(|i| i["district"] == "迎泽区")
        );
        // Someone else's device: not found for an inspector; the admin may revoke.
        let devices = w.b.store.list_devices(Some(w.users["lead"])).await.unwrap();
        let (st, _) = w
            .call(
                "insp1",
                Method::POST,
                &format!("/devices/{}/revoke", devices[0].id),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = w.call("lead", Method::GET, "/me", None).await;
        assert_eq!(st, StatusCode::OK, "lead's device still works");
        let _ = task1_people;
        w.s.stop().await;
    }
}

#[tokio::test]
async fn bad_input_gets_a_json_4xx_and_the_server_keeps_serving() {
    for b in backends().await {
        let w = world(b).await;
        let raw = |body: Vec<u8>, content_type: Option<&str>| {
            let mut r = w.s.client.post(w.s.url("/devices/enroll")).body(body);
            if let Some(ct) = content_type {
                r = r.header("content-type", ct);
            }
            r.send()
        };
        let cases: Vec<(Vec<u8>, Option<&str>, StatusCode, &str)> = vec![
            (
                b"{not json".to_vec(),
                Some("application/json"),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                br#"{"username": 5, "password": [], "device_name": null}"#.to_vec(),
                Some("application/json"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                br#"{"username": "a", "password": "b", "device_name": "c", "admin": true}"#
                    .to_vec(),
                Some("application/json"),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                br#"{"username": "a"}"#.to_vec(),
                None,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                vec![b'x'; 1024 * 1024],
                Some("application/json"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
            ),
            (
                br#"{"username": "", "password": "b", "device_name": "c"}"#.to_vec(),
                Some("application/json"),
                StatusCode::BAD_REQUEST,
                "invalid_username",
            ),
        ];
        for (body, ct, status, code) in cases {
            let r = raw(body, ct).await.unwrap();
            assert_eq!(r.status(), status, "{}: {code}", w.b.name);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["code"], code);
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .any(|c| c > '\u{2e80}'),
                "Chinese message: {v}"
            );
        }
        let random = Uuid::now_v7();
        for (who, method, path, body, status) in [
            (
                "admin",
                Method::GET,
                format!("/tasks/{random}"),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                "admin",
                Method::GET,
                "/tasks/not-a-uuid".into(),
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                "admin",
                Method::GET,
                format!("/draws/{random}"),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                "admin",
                Method::GET,
                "/draws/1%27%20OR%201=1/verify".into(),
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                "admin",
                Method::GET,
                "/plans/x'%3B%20DROP%20TABLE%20users%3B--".into(),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                "admin",
                Method::GET,
                "/tasks?plan=x'%20OR%20'1'='1".into(),
                None,
                StatusCode::OK,
            ),
            (
                "admin",
                Method::GET,
                "/tasks?unknown=1".into(),
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                "admin",
                Method::GET,
                "/no/such/route".into(),
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                "admin",
                Method::POST,
                "/draws".into(),
                Some(json!({"plan_id": "no-such-plan", "seed": "s"})),
                StatusCode::NOT_FOUND,
            ),
            (
                "admin",
                Method::POST,
                "/draws".into(),
                Some(json!({"plan_id": "shanxi-2025", "seed": "   "})),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "admin",
                Method::POST,
                "/draws".into(),
                Some(json!({"plan_id": "shanxi-2025", "seed": 42})),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "lead",
                Method::POST,
                format!("/inspections/{random}/approve"),
                Some(json!({"version": "x"})),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                "lead",
                Method::POST,
                format!("/inspections/{random}/approve"),
                Some(json!({"version": 1})),
                StatusCode::NOT_FOUND,
            ),
        ] {
            let (st, v) = w.call(who, method.clone(), &path, body).await;
            assert_eq!(st, status, "{}: {method} {path}: {v}", w.b.name);
        }
        // Garbage in the Authorization header.
        for h in [
            "Bearer",
            "Bearer ",
            "Basic YWRtaW46YWRtaW4=",
            "Bearer ' OR 1=1 --",
            "Bearer jdt_00",
        ] {
            let r =
                w.s.client
                    .get(w.s.url("/me"))
                    .header("authorization", h)
                    .send()
                    .await
                    .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{h}");
        }
        // Still serving, data intact.
        let (st, v) = w.call("none", Method::GET, "/health", None).await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ok")));
        assert_eq!(
            w.b.store.list_users().await.unwrap().len(),
            world::PEOPLE.len() + 15
        );
        w.s.stop().await;
    }
}

#[tokio::test]
async fn draw_properties_counts_inspectors_reproducibility_and_cap() {
    let templates = TemplateSet::builtin().unwrap();
    for b in backends().await {
        let w = world(b).await;
        // Units penalised in 2023 get a 回头看 task in the 2024 plan that follows up
        // that campaign; a campaign the plan does not follow up gives none.
        let penalised = format!(
            "专项代码,统一社会信用代码,备注\nrandom-2023,{},罚款\nnot-followed,{},\n",
            code(5),
            code(6)
        );
        let (_, import) = registry::parse_csv(penalised.as_bytes(), &templates.catalogue).unwrap();
        w.b.store
            .import_registry(&common::stamp(), import)
            .await
            .unwrap();
        // Last year's campaign first, so this year's draw must avoid repeats.
        let last_year = w.draw("county-2024", "2024年公开摇号").await;
        let followups: Vec<&Value> = last_year["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"] == "follow_up")
            .collect();
        assert_eq!(followups.len(), 1, "{}: {followups:?}", w.b.name);
        assert_eq!(followups[0]["institution"]["credit_code"], code(5).as_str());
        assert_eq!(followups[0]["followup"], "random-2023");
        assert!(followups[0]["inspectors"].as_array().unwrap().len() >= 2);
        let draw = w
            .draw("shanxi-2025", "2025年5月8日公开摇号：07 23 41")
            .await;
        let tasks = draw["tasks"].as_array().unwrap();
        let institutions = w.b.store.list_institutions().await.unwrap();
        let plan = templates.plan("shanxi-2025").unwrap();

        // Counts per row (jiandu-draw/2): ceil(N_row × percent), each unit in the
        // first row of a table that takes it.
        let unit_of: HashMap<String, &jiandu_core::inspection::Institution> =
            institutions.iter().map(|i| (i.id.to_string(), i)).collect();
        for cl in &plan.checklists {
            let row_of = |i: &jiandu_core::inspection::Institution| {
                let services = templates.catalogue.effective_services(&i.category, &[]);
                cl.rows
                    .iter()
                    .position(|r| r.matches(&i.category, &services))
            };
            for (ri, row) in cl.rows.iter().enumerate() {
                let n = institutions
                    .iter()
                    .filter(|i| row_of(i) == Some(ri))
                    .count();
                let expected = match row.national.as_ref().and_then(|q| q.rule()) {
                    Some(QuotaRule::Percent(p)) => ratio_count(n, p),
                    Some(QuotaRule::Count(c)) => (c as usize).min(n),
                    _ => 0,
                };
                let got = tasks
                    .iter()
                    .filter(|t| {
                        t["checklist"] == cl.code.as_str()
                            && t["kind"] == "national"
                            && row_of(unit_of[t["institution"]["id"].as_str().unwrap()]) == Some(ri)
                    })
                    .count();
                assert_eq!(
                    got, expected,
                    "{}: {} row {}: {n} units",
                    w.b.name, cl.code, row.label
                );
            }
        }
        assert!(
            tasks.iter().any(|t| t["category"] == "chc_center"),
            "1 unit at 5% still yields 1"
        );

        // ≥ 2 distinct inspectors; never the conflicted one; never last year's.
        let unit1 = institutions
            .iter()
            .find(|i| i.credit_code == code(64))
            .unwrap()
            .id
            .to_string();
        let mut last: HashSet<(String, String)> = HashSet::new();
        for t in last_year["tasks"].as_array().unwrap() {
            for p in t["inspectors"].as_array().unwrap() {
                last.insert((
                    t["institution"]["id"].as_str().unwrap().into(),
                    p["id"].as_str().unwrap().into(),
                ));
            }
        }
        let mut load: HashMap<String, usize> = HashMap::new();
        for t in tasks {
            let people: Vec<&Value> = t["inspectors"].as_array().unwrap().iter().collect();
            let ids: HashSet<&str> = people.iter().map(|p| p["id"].as_str().unwrap()).collect();
            assert!(ids.len() >= 2, "{}: {t}", w.b.name);
            let unit = t["institution"]["id"].as_str().unwrap();
            for p in &people {
                if unit == unit1 {
                    let badge = p["badge_no"].as_str().unwrap();
                    assert!(
                        !badge.starts_with("SX-00") || badge == "SX-0001" || badge == "SX-0002",
                        "conflicted inspector {badge} drawn"
                    );
                }
                assert!(
                    !last.contains(&(unit.to_owned(), p["id"].as_str().unwrap().to_owned())),
                    "repeat inspector"
                );
                assert!(!p["badge_no"].as_str().unwrap().is_empty());
                *load
                    .entry(p["id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        let (min, max) = (load.values().min().unwrap(), load.values().max().unwrap());
        assert!(max - min <= 2, "{}: workload balanced: {load:?}", w.b.name);

        // Reproducible from the record; the same seed again gives the same draw, a
        // different seed a different one.
        let id = draw["id"].as_str().unwrap();
        let (_, verify) = w
            .call("admin", Method::GET, &format!("/draws/{id}/verify"), None)
            .await;
        assert_eq!(verify["matches"], true, "{}: {verify}", w.b.name);
        let strip = |v: &Value| -> Vec<(Value, Value, Value, Vec<Value>)> {
            v["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["institution"]["id"].clone(),
                        t["kind"].clone(),
                        t["checklist"].clone(),
                        t["inspectors"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| p["id"].clone())
                            .collect(),
                    )
                })
                .collect()
        };
        let dry = |seed: &str| {
            w.call(
                "admin",
                Method::POST,
                "/draws",
                Some(json!({"plan_id": "shanxi-2025", "seed": seed, "dry_run": true})),
            )
        };
        let (st, again) = dry("2025年5月8日公开摇号：07 23 41").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(again["recorded"], false);
        assert_eq!(
            strip(&again),
            strip(&draw),
            "{}: same seed, same draw",
            w.b.name
        );
        assert_eq!(again["inputs_hash"], draw["inputs_hash"]);
        let (_, other) = dry("另一个种子").await;
        assert_ne!(
            strip(&other),
            strip(&draw),
            "different seed, different draw"
        );
        // A second recorded draw of the same plan is refused.
        let (st, v) = w
            .call(
                "admin",
                Method::POST,
                "/draws",
                Some(json!({"plan_id": "shanxi-2025", "seed": "x"})),
            )
            .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_drawn"))
        );

        // Re-assignment: reason required, conflicted replacement refused, cap enforced.
        let drawn: HashSet<&str> = tasks
            .iter()
            .flat_map(|t| {
                t["inspectors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["id"].as_str().unwrap())
            })
            .collect();
        let allowance = drawn.len() * 15 / 100;
        assert!(allowance >= 1, "fixture should allow at least one");
        let all_staff: Vec<Uuid> =
            w.b.store
                .staff_for_draw()
                .await
                .unwrap()
                .iter()
                .filter(|s| s.user.district == "小店区")
                .map(|s| s.user.id)
                .collect();
        let mut done = 0;
        let mut refused = false;
        for t in tasks {
            let tid = t["id"].as_str().unwrap();
            let from = t["inspectors"][0]["id"].as_str().unwrap();
            let on_task: HashSet<&str> = t["inspectors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap())
                .collect();
            let unit = t["institution"]["id"].as_str().unwrap();
            let Some(to) = all_staff.iter().find(|u| {
                let s = u.to_string();
                unit != unit1
                    && !on_task.contains(s.as_str())
                    && !last.contains(&(unit.to_owned(), s.clone()))
            }) else {
                continue;
            };
            let path = format!("/tasks/{tid}/reassign");
            if done == 0 {
                let (st, v) = w
                    .call(
                        "admin",
                        Method::POST,
                        &path,
                        Some(json!({"from": from, "to": to, "reason": "  "})),
                    )
                    .await;
                assert_eq!(
                    (st, v["code"].as_str()),
                    (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required"))
                );
            }
            let (st, v) = w
                .call(
                    "admin",
                    Method::POST,
                    &path,
                    Some(json!({"from": from, "to": to, "reason": "检查人员病假"})),
                )
                .await;
            if done < allowance {
                assert_eq!(
                    st,
                    StatusCode::OK,
                    "{}: re-assignment {done}: {v}",
                    w.b.name
                );
                done += 1;
            } else {
                assert_eq!(
                    (st, v["code"].as_str()),
                    (StatusCode::CONFLICT, Some("reassignment_cap")),
                    "{}",
                    w.b.name
                );
                refused = true;
                break;
            }
        }
        assert!(refused, "the cap was reached and enforced");
        assert_eq!(
            w.b.store
                .reassignments(id.parse().unwrap())
                .await
                .unwrap()
                .len(),
            allowance
        );
        // Re-assignments do not change the recorded draw: it still verifies.
        let (_, verify) = w
            .call("admin", Method::GET, &format!("/draws/{id}/verify"), None)
            .await;
        assert_eq!(verify["matches"], true);
        w.s.stop().await;
    }
}

#[tokio::test]
async fn review_approves_the_exact_version_and_locks() {
    for b in backends().await {
        let w = world(b).await;
        let draw = w.draw("shanxi-2025", "审核").await;
        let insp1 = w.users["insp1"].to_string();
        let task = draw["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| {
                t["inspectors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == insp1.as_str())
            })
            .unwrap();
        let id = Uuid::now_v7();
        let mut insp = Inspection::new(id, task["id"].as_str().unwrap().parse().unwrap());
        insp.status = InspectionStatus::Submitted;
        insp.version = 3;
        w.b.store
            .put_inspection(
                &common::stamp(),
                insp.clone(),
                None,
                review::expect_version(None),
            )
            .await
            .unwrap();

        let (_, queue) = w.call("lead", Method::GET, "/review/queue", None).await;
        assert_eq!(queue.as_array().unwrap().len(), 1, "{}", w.b.name);
        let (_, queue) = w
            .call("other_lead", Method::GET, "/review/queue", None)
            .await;
        assert!(
            queue.as_array().unwrap().is_empty(),
            "other district sees nothing"
        );

        let path = |a: &str| format!("/inspections/{id}/{a}");
        let (st, v) = w
            .call(
                "insp1",
                Method::POST,
                &path("approve"),
                Some(json!({"version": 3})),
            )
            .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "own work"
        );
        let (st, v) = w
            .call(
                "lead",
                Method::POST,
                &path("approve"),
                Some(json!({"version": 2})),
            )
            .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("stale")),
            "{v}"
        );
        let (st, v) = w
            .call(
                "lead",
                Method::POST,
                &path("return"),
                Some(json!({"version": 3, "comment": " "})),
            )
            .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("empty"))
        );
        let (st, v) = w
            .call(
                "lead",
                Method::POST,
                &path("return"),
                Some(json!({"version": 3, "comment": "第5项缺少照片"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["inspection"]["status"], "returned");
        assert_eq!(v["inspection"]["review_comment"], "第5项缺少照片");
        // The inspector sees the comment.
        let (_, mine) = w
            .call("insp1", Method::GET, &format!("/inspections/{id}"), None)
            .await;
        assert_eq!(mine["inspection"]["review_comment"], "第5项缺少照片");
        // Resubmitted (as sync will do), then approved at exactly that version.
        let mut again = w.b.store.inspection(id).await.unwrap().unwrap().inspection;
        let base = again.version;
        again.status = InspectionStatus::Resubmitted;
        again.version = base + 1;
        w.b.store
            .put_inspection(
                &common::stamp(),
                again,
                Some(base),
                review::expect_version(Some(base)),
            )
            .await
            .unwrap();
        let (st, v) = w
            .call(
                "lead",
                Method::POST,
                &path("approve"),
                Some(json!({"version": base + 1})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["inspection"]["status"], "approved");
        let (st, v) = w
            .call(
                "lead",
                Method::POST,
                &path("approve"),
                Some(json!({"version": base + 2})),
            )
            .await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::CONFLICT, Some("locked"))
        );
        let reviews = w.b.store.reviews(id).await.unwrap();
        assert_eq!(
            reviews
                .iter()
                .map(|r| (r.decision.as_str(), r.reviewed_version))
                .collect::<Vec<_>>(),
            vec![("return", 3), ("approve", base + 1)],
            "{}",
            w.b.name
        );
        w.s.stop().await;
    }
}
