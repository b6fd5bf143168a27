//! `jiandu-server demo`: a fresh database filled with a generated registry (every
//! category, valid credit codes), staff with conflicts, accounts of every role, the
//! shanxi-2025 draw and inspections; deterministic for a seed; refuses a database
//! that is not empty; and the administration commands work on the result.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestServer, backends};
use jiandu_core::Role;
use jiandu_core::templates::TemplateSet;
use jiandu_server::service::{Actor, draws, reports};
use jiandu_server::store::ServerStore;
use jiandu_server::{auth, credit_code, demo};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

#[tokio::test]
async fn demo_fills_a_fresh_database_on_every_backend() {
    let t = TemplateSet::builtin().unwrap();
    for b in backends().await {
        let store: &dyn ServerStore = &*b.store;
        let p = common::platform(&b);
        let s = demo::run(&p, &Actor::system(), demo::DEFAULT_SEED)
            .await
            .unwrap();

        // Every category of the catalogue, with the documented counts.
        let institutions = store.list_institutions().await.unwrap();
        let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
        for i in &institutions {
            *per_category.entry(i.category.to_string()).or_default() += 1;
        }
        for c in &t.catalogue.categories {
            assert!(
                per_category.get(c.code.as_str()).copied().unwrap_or(0) > 0,
                "{}: no unit of {}",
                b.name,
                c.code
            );
        }
        let expected: BTreeMap<String, usize> = demo::CATEGORY_COUNTS
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect();
        assert_eq!(per_category, expected, "{}", b.name);
        assert_eq!(s.institutions, expected);
        assert!((300..=500).contains(&institutions.len()));

        // Valid, unique credit codes; unique names; Chinese addresses in 太原市.
        let mut codes = BTreeSet::new();
        let mut names = BTreeSet::new();
        for i in &institutions {
            assert_eq!(
                credit_code::parse(&i.credit_code).as_deref(),
                Ok(i.credit_code.as_str()),
                "{}",
                i.name
            );
            assert!(codes.insert(i.credit_code.clone()));
            assert!(names.insert(i.name.clone()), "duplicate name {}", i.name);
            assert!(i.address.starts_with("山西省太原市"), "{}", i.address);
            assert!(i.address.contains(&i.district), "{}", i.address);
            assert!(!i.licence_no.is_empty() && !i.phone.is_empty());
            assert!(!i.legal_representative.is_empty());
        }

        // Staff directory: ~40 inspectors with badges, some declared conflicts.
        let staff = store.staff_for_draw().await.unwrap();
        assert_eq!(staff.len(), s.staff);
        assert!((36..=50).contains(&staff.len()), "{}", staff.len());
        let conflicts: usize = staff.iter().map(|x| x.conflict_codes.len()).sum();
        assert!(conflicts > 0 && conflicts == s.conflicts);
        for x in &staff {
            for c in &x.conflict_codes {
                assert!(codes.contains(c), "conflict with an unknown unit");
            }
        }

        // Accounts of every role, with the documented password.
        let mut roles = BTreeSet::new();
        for (username, _, role, _, _) in demo::DEMO_ACCOUNTS {
            let (user, hash) = store.user_credentials(username).await.unwrap().unwrap();
            assert_eq!(user.role, *role);
            assert!(auth::verify_password(&hash.unwrap(), demo::DEMO_PASSWORD));
            roles.insert(format!("{role:?}"));
        }
        assert_eq!(roles.len(), 3);

        // The draw: recorded, verifiable, and zhangwei has work.
        let draws_ = store.draws().await.unwrap();
        assert_eq!(draws_.len(), 1);
        assert_eq!(draws_[0].plan_id, s.plan_id);
        assert_eq!(s.plan_id, demo::plan_id(chrono::Utc::now().date_naive()));
        assert!(
            draws::verify(&p, &Actor::system(), s.draw_id)
                .await
                .unwrap()
                .matches
        );
        let zhangwei = s
            .accounts
            .iter()
            .find(|a| a.username == "zhangwei")
            .unwrap();
        assert!(zhangwei.tasks >= 1, "{}: zhangwei has no task", b.name);
        assert_eq!(s.tasks, store.tasks_of_draw(s.draw_id).await.unwrap().len());

        // 回头看 list of an earlier campaign.
        let penalised = store.penalised().await.unwrap();
        assert_eq!(penalised.len(), s.penalised);
        assert!(
            penalised
                .iter()
                .any(|p| p.campaign == "medical-practice-2023")
        );

        // Inspections: one waiting for 李娜, one returned, approved ones in reports.
        assert_eq!(s.inspections.get("submitted"), Some(&1));
        assert_eq!(s.inspections.get("returned"), Some(&1));
        assert!(s.inspections.get("approved").copied().unwrap_or(0) >= 10);
        let public = reports::public_list(&p, &s.plan_id).await.unwrap();
        assert_eq!(
            public.len(),
            s.inspections["approved"],
            "{}: every approved inspection is public",
            b.name
        );

        // A second run is refused, in Chinese, and writes nothing.
        let before = store.state().await.unwrap();
        let err = demo::run(&p, &Actor::system(), "other")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("数据库不是空的"), "{err}");
        assert_eq!(store.state().await.unwrap(), before);

        // The demo accounts sign in over HTTP.
        let server = TestServer::start(b.store.clone()).await;
        for (username, _, role, _, _) in demo::DEMO_ACCOUNTS {
            let r = server
                .client
                .post(server.url("/devices/enroll"))
                .json(&serde_json::json!({
                    "username": username,
                    "password": demo::DEMO_PASSWORD,
                    "device_name": "演示平板"
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{username}");
            let token = r.json::<serde_json::Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned();
            if *role == Role::Inspector {
                let tasks: Vec<serde_json::Value> = server
                    .client
                    .get(server.url("/tasks"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(!tasks.is_empty(), "{username} sees no task");
            }
            if *role == Role::TeamLead && *username == "lina" {
                let queue: Vec<serde_json::Value> = server
                    .client
                    .get(server.url("/review/queue"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(queue.len(), 1, "李娜's review queue");
            }
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn demo_is_deterministic_for_a_seed() {
    let mut runs = Vec::new();
    for seed in [demo::DEFAULT_SEED, demo::DEFAULT_SEED, "另一个种子"] {
        let b = common::sqlite().await;
        let s = demo::run(&common::platform(&b), &Actor::system(), seed)
            .await
            .unwrap();
        let institutions = b.store.list_institutions().await.unwrap();
        let mut users: Vec<_> = b
            .store
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| (u.id, u.username, u.display_name, u.badge_no, u.team))
            .collect();
        users.sort();
        let record = b.store.draw(s.draw_id).await.unwrap().unwrap();
        let tasks: Vec<_> = b
            .store
            .tasks_of_draw(s.draw_id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.institution_id, t.checklist, t.inspectors))
            .collect();
        runs.push((institutions, users, record.tasks_hash, tasks, s.inspections));
    }
    assert_eq!(runs[0], runs[1], "same seed, same data");
    assert_ne!(runs[0].0, runs[2].0, "another seed, another registry");
    assert_ne!(runs[0].2, runs[2].2, "another seed, another draw");
}

fn bin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jiandu-server"))
        .env_remove("JIANDU_DB")
        .env_remove("JIANDU_CONFIG")
        .env("JIANDU_LOG", "warn")
        .arg("--db")
        .arg(dir.join("server.sqlite"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn demo_command_then_the_administration_commands() {
    // The demo's plan is this year's re-issue of the Shanxi plan.
    let plan = demo::plan_id(chrono::Utc::now().date_naive());
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let out = ok(&bin(p, &["demo"]));
    assert!(out.contains("演示账号（密码均为 jiandu-demo-1）"), "{out}");
    for who in [
        "admin",
        "lina",
        "wangqiang",
        "zhangwei",
        "liuyang",
        "chenjing",
    ] {
        assert!(out.contains(who), "{who} not printed");
    }

    // Refused the second time, with a Chinese reason, exit status 1.
    let again = bin(p, &["demo", "--seed", "x"]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("数据库不是空的"), "{err}");

    let users = ok(&bin(p, &["user", "list", "--json"]));
    let users: Vec<serde_json::Value> = serde_json::from_str(&users).unwrap();
    assert!(users.len() >= 44);

    let list: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&bin(p, &["draw", "list", "--json"]))).unwrap();
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let verify = ok(&bin(p, &["draw", "verify", &id]));
    assert!(verify.contains("一致"), "{verify}");

    // An earlier-campaign plan drawn on the demo registry gets its 回头看 tasks.
    ok(&bin(p, &["draw", "freeze", "--plan", "county-2024"]));
    let county: serde_json::Value = serde_json::from_str(&ok(&bin(
        p,
        &[
            "draw",
            "--plan",
            "county-2024",
            "--seed",
            "回头看演示",
            "--json",
        ],
    )))
    .unwrap();
    let followups = county["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "follow_up")
        .count();
    assert!(followups >= 6, "{followups} 回头看 tasks");

    let csv = ok(&bin(
        p,
        &[
            "report",
            "summary",
            "--plan",
            &plan,
            "--table",
            "medical-summary",
        ],
    ));
    assert!(csv.contains("合计"), "{csv}");
    let xlsx = p.join("blood.xlsx");
    ok(&bin(
        p,
        &[
            "report",
            "summary",
            "--plan",
            &plan,
            "--table",
            "blood-summary",
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    ));
    assert!(std::fs::metadata(&xlsx).unwrap().len() > 1000);
    let public = ok(&bin(p, &["report", "public", "--plan", &plan]));
    assert!(public.contains("行政处罚") || public.contains("发现问题已责令改正"));
    let progress = ok(&bin(p, &["report", "progress", "--plan", &plan]));
    assert!(progress.contains("医院"), "{progress}");
}
