//! The audit log on SQLite and PostgreSQL: one hash-chained entry per change, in
//! the change's transaction, with who did it; the database refuses UPDATE and
//! DELETE of entries; `audit verify` finds a tampered, removed or truncated entry
//! (tampering done directly in the database, triggers disabled as an intruder
//! would) and names the first broken one.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, TestServer, backends};
use jiandu_server::audit::{GENESIS, entry_hash};
use jiandu_server::demo;
use jiandu_server::service::{self, Actor};
use std::process::Command;

/// Runs SQL directly against the backend's database (as an intruder with the
/// database's credentials or its file would). Returns the error text, if any.
async fn raw_sql(b: &Backend, sql: &str) -> Result<(), String> {
    if b.name == "sqlite" {
        let c = rusqlite::Connection::open(&b.url).unwrap();
        c.execute_batch(sql).map_err(|e| e.to_string())
    } else {
        let (client, conn) = tokio_postgres::connect(&b.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let h = tokio::spawn(conn);
        let r = client.batch_execute(sql).await.map_err(|e| {
            e.as_db_error()
                .map(|d| d.message().to_owned())
                .unwrap_or_else(|| e.to_string())
        });
        drop(client);
        let _ = h.await;
        r
    }
}

/// What disables the append-only triggers on each backend.
fn disable_triggers(b: &Backend) -> &'static str {
    if b.name == "sqlite" {
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
    } else {
        "ALTER TABLE audit_log DISABLE TRIGGER USER;"
    }
}

async fn filled(b: &Backend) {
    demo::run(&common::platform(b), &Actor::system(), demo::DEFAULT_SEED)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_change_is_logged_chained_and_attributed() {
    for b in backends().await {
        let store = &*b.store;
        filled(&b).await;
        let state = store.state().await.unwrap();
        let entries = store.audit_entries(0, 100_000).await.unwrap();
        assert_eq!(store.audit_start().await.unwrap(), 0);
        assert_eq!(entries.len() as i64, state.change_seq, "{}", b.name);
        let mut prev = GENESIS.to_owned();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.change_seq, i as i64 + 1);
            assert_eq!(e.prev_hash, prev);
            assert_eq!(e.hash, e.recomputed_hash());
            assert_eq!(e.actor, "system", "no scope: the library called directly");
            prev = e.hash.clone();
        }
        let actions: std::collections::BTreeSet<&str> =
            entries.iter().map(|e| e.action.as_str()).collect();
        for a in [
            "registry.import",
            "user.create",
            "draw.save",
            "inspection.put",
            "inspection.review",
        ] {
            assert!(actions.contains(a), "{}: {a} not logged", b.name);
        }
        // The draw's entry names the same hashes as the draw record.
        let draw = &store.draws().await.unwrap()[0];
        let e = entries.iter().find(|e| e.action == "draw.save").unwrap();
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap();
        assert_eq!(e.subject, draw.id.to_string());
        assert_eq!(detail["tasks_hash"], draw.tasks_hash);
        assert!(
            !e.detail.contains("argon2"),
            "password hashes are never logged"
        );

        let report = service::audit::verify(&common::platform(&b)).await.unwrap();
        assert!(report.ok, "{}: {}", b.name, report.message);
        assert_eq!(report.head_hash, prev);

        // Over HTTP the entry names the user and device, and is written with the
        // change (a refused change writes nothing).
        let server = TestServer::start(b.store.clone()).await;
        let enroll: serde_json::Value = server
            .client
            .post(server.url("/devices/enroll"))
            .json(&serde_json::json!({
                "username": "lina", "password": demo::DEMO_PASSWORD, "device_name": "组长平板"
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = enroll["token"].as_str().unwrap();
        let device = enroll["device_id"].as_str().unwrap();
        let queue: Vec<serde_json::Value> = server
            .client
            .get(server.url("/review/queue"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = queue[0]["inspection"]["id"]
            .as_str()
            .or_else(|| queue[0]["id"].as_str())
            .unwrap()
            .to_owned();
        let version = queue[0]["inspection"]["version"]
            .as_u64()
            .or_else(|| queue[0]["version"].as_u64())
            .unwrap();
        let before = store.state().await.unwrap().change_seq;
        let stale = server
            .client
            .post(server.url(&format!("/inspections/{id}/approve")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "version": version + 7 }))
            .send()
            .await
            .unwrap();
        assert!(stale.status().is_client_error());
        assert_eq!(store.state().await.unwrap().change_seq, before);
        let r = server
            .client
            .post(server.url(&format!("/inspections/{id}/approve")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "version": version }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let last = store.audit_entries(before - 1, 10).await.unwrap();
        assert_eq!(last.len(), 2);
        assert_eq!(last[1].action, "inspection.review");
        assert_eq!(last[1].subject, id);
        assert_eq!(last[1].actor, format!("lina (设备 {device})"));
        let enrolled = store
            .audit_entries(0, 100_000)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.action == "device.enroll")
            .unwrap();
        assert_eq!(enrolled.actor, "lina");
        assert!(
            service::audit::verify(&common::platform(&b))
                .await
                .unwrap()
                .ok
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn the_database_refuses_to_change_entries() {
    for b in backends().await {
        filled(&b).await;
        for sql in [
            "UPDATE audit_log SET actor = 'someone' WHERE change_seq = 2",
            "DELETE FROM audit_log WHERE change_seq = 2",
            "DELETE FROM audit_log",
            "UPDATE audit_start SET after_seq = 5",
        ] {
            let err = raw_sql(&b, sql).await.unwrap_err();
            assert!(
                err.contains("append-only") || err.contains("fixed"),
                "{}: {sql}: {err}",
                b.name
            );
        }
        if b.name == "postgres" {
            let err = raw_sql(&b, "TRUNCATE audit_log").await.unwrap_err();
            assert!(err.contains("append-only"), "{err}");
        }
        assert!(
            service::audit::verify(&common::platform(&b))
                .await
                .unwrap()
                .ok
        );
    }
}

#[tokio::test]
async fn verify_names_the_first_broken_entry() {
    // (what the intruder does, the first broken entry, words of the message)
    let cases: &[(&str, i64, &str)] = &[
        // Rewrites what an entry says: its own hash no longer matches.
        (
            "UPDATE audit_log SET detail = '{\"plan_id\":\"other\"}' WHERE change_seq = 3",
            3,
            "被改动过",
        ),
        // Removes an entry in the middle.
        (
            "DELETE FROM audit_log WHERE change_seq = 5",
            5,
            "缺少第 5 号",
        ),
        // Removes the last entries.
        (
            "DELETE FROM audit_log WHERE change_seq > 20",
            21,
            "末尾的记录可能被删除",
        ),
    ];
    for &(sql, first, words) in cases {
        for b in backends().await {
            filled(&b).await;
            raw_sql(&b, &format!("{} {sql};", disable_triggers(&b)))
                .await
                .unwrap();
            let r = service::audit::verify(&common::platform(&b)).await.unwrap();
            assert!(!r.ok, "{}: {sql}", b.name);
            assert_eq!(
                r.first_broken,
                Some(first),
                "{}: {sql}: {}",
                b.name,
                r.message
            );
            assert!(r.message.contains(words), "{}: {}", b.name, r.message);
        }
    }

    // A cleverer intruder also re-hashes the entry they changed: the next entry's
    // link to it breaks.
    for b in backends().await {
        filled(&b).await;
        let e = b.store.audit_entries(2, 1).await.unwrap().remove(0);
        let detail = "{\"plan_id\":\"other\"}";
        let hash = entry_hash(
            e.change_seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.subject,
            detail,
            &e.prev_hash,
        );
        raw_sql(
            &b,
            &format!(
                "{} UPDATE audit_log SET detail = '{detail}', hash = '{hash}' WHERE change_seq = 3;",
                disable_triggers(&b)
            ),
        )
        .await
        .unwrap();
        let r = service::audit::verify(&common::platform(&b)).await.unwrap();
        assert_eq!(r.first_broken, Some(4), "{}: {}", b.name, r.message);
        assert!(r.message.contains("链条在此断开"), "{}", r.message);
    }
}

#[test]
fn audit_verify_command_exit_status_and_first_broken_entry() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("server.sqlite");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_jiandu-server"))
            .env_remove("JIANDU_DB")
            .env_remove("JIANDU_CONFIG")
            .env("JIANDU_LOG", "warn")
            .env("USER", "ops")
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["demo"]).status.success());
    let ok = run(&["audit", "verify"]);
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(ok.status.success(), "{out}");
    assert!(out.contains("完整"), "{out}");
    let head = out
        .lines()
        .find_map(|l| l.split("最新哈希：").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(head.len(), 64);
    assert!(run(&["audit", "verify", "--head", &head]).status.success());

    // Entries written by the command line name it.
    let list = run(&["audit", "list", "--json", "--limit", "3"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["actor"], "cli:ops");

    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET actor = 'cli:nobody' WHERE change_seq = 7;",
    )
    .unwrap();
    drop(c);
    let bad = run(&["audit", "verify"]);
    let out = String::from_utf8_lossy(&bad.stdout).into_owned();
    assert_eq!(bad.status.code(), Some(3), "{out}");
    assert!(out.contains("第一个有问题的记录：第 7 号"), "{out}");
    let json = run(&["audit", "verify", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["first_broken"], 7);
    assert_eq!(v["ok"], false);
}
