//! The ServerStore conformance suite: every test runs against SQLite, and against
//! PostgreSQL when `JIANDU_TEST_PG` names a server (scripts/start-test-postgres.sh).
//! Both backends must behave identically.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::stamp;
use common::{Backend, backends, code};
use jiandu_core::inspection::{DrawKind, Inspection, InspectionStatus};
use jiandu_core::{CategoryCode, Role};
use jiandu_server::error::ServiceError;
use jiandu_server::model::{
    Device, DrawRecord, Institution, NewUser, PenalisedEntry, Reassignment, RegistryImport,
    ReviewDecision, ReviewRecord, RevokeKind, StaffEntry, StoredTask,
};
use jiandu_server::service::{draws, review};
use jiandu_server::store::{self, ReviewState, Stamp, StoreError};
use std::collections::HashSet;
use uuid::Uuid;

fn new_user(username: &str, role: Role, badge: Option<&str>) -> NewUser {
    NewUser {
        id: Uuid::now_v7(),
        username: username.into(),
        display_name: format!("{username}的名字"),
        role,
        badge_no: badge.map(str::to_owned),
        team: "监督一科".into(),
        district: "小店区".into(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        created_at: Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap(),
    }
}

fn institution(n: u32, category: &str) -> Institution {
    Institution {
        id: Uuid::now_v7(),
        name: format!("单位{n}"),
        credit_code: code(n),
        licence_no: format!("PDY{n}"),
        category: CategoryCode::from(category),
        district: "小店区".into(),
        address: "地址".into(),
        legal_representative: "张三".into(),
        phone: "0351-1234567".into(),
    }
}

/// The code the service answers a store refusal with.
fn conflict_code(e: StoreError) -> &'static str {
    match e {
        StoreError::Duplicate { .. } | StoreError::Refused(_) => {
            ServiceError::from(e).code.as_str()
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_keep_the_epoch() {
    for b in backends().await {
        let before = b.store.state().await.unwrap();
        let reopened = store::open(&b.url).await.unwrap();
        let after = reopened.state().await.unwrap();
        assert_eq!(
            before.epoch, after.epoch,
            "{}: epoch survives a reopen",
            b.name
        );
        assert_eq!(before.change_seq, after.change_seq, "{}", b.name);
    }
}

#[tokio::test]
async fn a_newer_database_is_refused() {
    for b in backends().await {
        match b.name {
            "sqlite" => {
                let c = rusqlite::Connection::open(&b.url).unwrap();
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'x')",
                    [],
                )
                .unwrap();
            }
            _ => {
                let (c, conn) = tokio_postgres::connect(&b.url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                c.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (999, now())",
                    &[],
                )
                .await
                .unwrap();
            }
        }
        match store::open(&b.url).await {
            Err(StoreError::TooNew { found: 999, .. }) => {}
            other => panic!("{}: expected TooNew, got {other:?}", b.name),
        }
    }
}

#[tokio::test]
async fn every_write_bumps_the_change_sequence_once_and_stamps_rows() {
    for b in backends().await {
        let s0 = b.store.state().await.unwrap().change_seq;
        let u = b
            .store
            .create_user(&stamp(), new_user("zhang", Role::Admin, None))
            .await
            .unwrap();
        assert_eq!(u.seq, s0 + 1, "{}", b.name);
        let u2 = b
            .store
            .set_user_disabled(&stamp(), "zhang", true)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u2.seq, s0 + 2, "{}", b.name);
        assert!(u2.disabled);
        // A failed write changes nothing, not even the sequence.
        let _ = b
            .store
            .create_user(&stamp(), new_user("zhang", Role::Admin, None))
            .await
            .unwrap_err();
        assert_eq!(
            b.store.state().await.unwrap().change_seq,
            s0 + 2,
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn concurrent_writes_get_distinct_sequence_values() {
    for b in backends().await {
        let s0 = b.store.state().await.unwrap().change_seq;
        let mut handles = Vec::new();
        for i in 0..20 {
            let st = b.store.clone();
            handles.push(tokio::spawn(async move {
                st.create_user(&stamp(), new_user(&format!("u{i}"), Role::Admin, None))
                    .await
                    .unwrap()
                    .seq
            }));
        }
        let mut seqs = HashSet::new();
        for h in handles {
            assert!(seqs.insert(h.await.unwrap()), "{}: duplicate seq", b.name);
        }
        assert_eq!(seqs, (s0 + 1..=s0 + 20).collect(), "{}", b.name);
    }
}

#[tokio::test]
async fn users_are_unique_by_username_and_badge() {
    for b in backends().await {
        b.store
            .create_user(&stamp(), new_user("li", Role::Inspector, Some("SX-1")))
            .await
            .unwrap();
        let e = b
            .store
            .create_user(&stamp(), new_user("li", Role::Inspector, Some("SX-2")))
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "username_taken", "{}", b.name);
        let e = b
            .store
            .create_user(&stamp(), new_user("wang", Role::Inspector, Some("SX-1")))
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "badge_taken", "{}", b.name);
        let (user, hash) = b.store.user_credentials("li").await.unwrap().unwrap();
        assert_eq!(user.role, Role::Inspector);
        assert!(hash.unwrap().starts_with("$argon2id$"));
        assert!(b.store.user_credentials("nobody").await.unwrap().is_none());
        assert!(matches!(
            b.store.set_user_disabled(&stamp(), "nobody", true).await,
            Ok(None)
        ));
        // SQL-looking input is data, nothing else.
        let evil = "x'; DROP TABLE users; --";
        assert!(b.store.user_credentials(evil).await.unwrap().is_none());
        assert_eq!(b.store.list_users().await.unwrap().len(), 1, "{}", b.name);
    }
}

#[tokio::test]
async fn devices_are_found_by_token_hash_and_revoked_once() {
    for b in backends().await {
        let u = b
            .store
            .create_user(&stamp(), new_user("zhao", Role::TeamLead, None))
            .await
            .unwrap();
        let t0 = Utc.with_ymd_and_hms(2025, 4, 1, 9, 0, 0).unwrap();
        let d = b
            .store
            .create_device(
                &stamp(),
                Device {
                    id: Uuid::now_v7(),
                    user_id: u.id,
                    name: "平板 01".into(),
                    created_at: t0,
                    revoked_at: None,
                    seq: 0,
                    last_sync_at: None,
                    revoked_kind: None,
                    last_used_at: None,
                },
                "hash-1",
            )
            .await
            .unwrap();
        let (found, user) = b
            .store
            .device_by_token_hash("hash-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, d, "{}", b.name);
        assert_eq!(user.id, u.id);
        assert!(
            b.store
                .device_by_token_hash("hash-2")
                .await
                .unwrap()
                .is_none()
        );
        let t1 = Utc.with_ymd_and_hms(2025, 4, 2, 9, 0, 0).unwrap();
        let r = b
            .store
            .revoke_device(&Stamp::system(t1), d.id, RevokeKind::Retired)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.revoked_at, Some(t1));
        let again = b
            .store
            .revoke_device(
                &Stamp::system(t1 + chrono::Duration::days(1)),
                d.id,
                RevokeKind::Retired,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            again.revoked_at,
            Some(t1),
            "{}: first revocation time kept",
            b.name
        );
        assert_eq!(again.revoked_kind, Some(RevokeKind::Retired));
        // A retired device may still be declared lost (the time is kept); a lost
        // one stays lost.
        let lost = b
            .store
            .revoke_device(&Stamp::system(t1), d.id, RevokeKind::Lost)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (lost.revoked_at, lost.revoked_kind),
            (Some(t1), Some(RevokeKind::Lost)),
            "{}",
            b.name
        );
        let still = b
            .store
            .revoke_device(&Stamp::system(t1), d.id, RevokeKind::Retired)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(still.revoked_kind, Some(RevokeKind::Lost), "{}", b.name);
        assert!(matches!(
            b.store
                .revoke_device(&Stamp::system(t1), Uuid::now_v7(), RevokeKind::Lost)
                .await,
            Ok(None)
        ));

        // A token's last use is recorded; a password reset revokes every live
        // device of the user in the same write.
        let d2 = b
            .store
            .create_device(
                &stamp(),
                Device {
                    id: Uuid::now_v7(),
                    name: "平板 02".into(),
                    ..d.clone()
                },
                "hash-2",
            )
            .await
            .unwrap();
        b.store.device_used(d2.id, t1).await.unwrap();
        let (used, _) = b
            .store
            .device_by_token_hash("hash-2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (used.last_used_at, used.revoked_kind),
            (Some(t1), None),
            "{}",
            b.name
        );
        let t2 = t1 + chrono::Duration::hours(1);
        assert!(
            b.store
                .set_password(&Stamp::system(t2), &u.username, "new-hash")
                .await
                .unwrap()
        );
        let after = b.store.device(d2.id).await.unwrap().unwrap();
        assert_eq!(
            (after.revoked_at, after.revoked_kind),
            (Some(t2), Some(RevokeKind::PasswordReset)),
            "{}",
            b.name
        );
        let first = b.store.device(d.id).await.unwrap().unwrap();
        assert_eq!(
            first.revoked_kind,
            Some(RevokeKind::Lost),
            "{}: an already revoked device keeps its kind",
            b.name
        );
    }
}

#[tokio::test]
async fn registry_import_upserts_and_is_all_or_nothing() {
    for b in backends().await {
        let import = RegistryImport {
            services: Default::default(),
            institutions: vec![institution(1, "hospital"), institution(2, "clinic")],
            staff: vec![StaffEntry {
                name: "王五".into(),
                badge_no: "SX-0001".into(),
                team: "监督一科".into(),
                district: "小店区".into(),
                username: "wangwu".into(),
                conflicts: vec![code(1)],
            }],
            penalised: vec![PenalisedEntry {
                campaign: "c2023".into(),
                credit_code: code(2),
                note: "罚款".into(),
            }],
            penalised_rows: vec![2],
        };
        let c = b.store.import_registry(&stamp(), import).await.unwrap();
        assert_eq!(
            (
                c.institutions_added,
                c.institutions_updated,
                c.staff_added,
                c.penalised
            ),
            (2, 0, 1, 1),
            "{}",
            b.name
        );
        // Re-import: updates by credit code and badge, conflicts replaced.
        let mut renamed = institution(1, "hospital");
        renamed.name = "改名后的医院".into();
        let c = b
            .store
            .import_registry(
                &stamp(),
                RegistryImport {
                    services: Default::default(),
                    institutions: vec![renamed],
                    staff: vec![StaffEntry {
                        name: "王五（改）".into(),
                        badge_no: "SX-0001".into(),
                        team: "监督二科".into(),
                        district: "小店区".into(),
                        username: "ignored-on-update".into(),
                        conflicts: vec![code(2)],
                    }],
                    penalised: vec![],
                    penalised_rows: vec![],
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (c.institutions_updated, c.staff_updated),
            (1, 1),
            "{}",
            b.name
        );
        let all = b.store.list_institutions().await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().any(|i| i.name == "改名后的医院"));
        let staff = b.store.staff_for_draw().await.unwrap();
        assert_eq!(staff.len(), 1);
        assert_eq!(staff[0].conflict_codes, vec![code(2)], "{}", b.name);
        assert_eq!(staff[0].user.team, "监督二科");

        // Batched lookups (a pull's): known ids found, unknown ones skipped.
        let ids: Vec<Uuid> = all.iter().map(|i| i.id).chain([Uuid::now_v7()]).collect();
        let mut found = b.store.institutions_by_ids(&ids).await.unwrap();
        found.sort_by(|a, b| a.credit_code.cmp(&b.credit_code));
        assert_eq!(found, all, "{}", b.name);
        assert!(b.store.institutions_by_ids(&[]).await.unwrap().is_empty());
        let users = b
            .store
            .users_by_ids(&[staff[0].user.id, Uuid::now_v7()])
            .await
            .unwrap();
        assert_eq!(users, vec![staff[0].user.clone()], "{}", b.name);

        // A failing import writes nothing: the new institution 3 must not appear.
        b.store
            .create_user(&stamp(), new_user("taken", Role::Admin, None))
            .await
            .unwrap();
        let seq_before = b.store.state().await.unwrap().change_seq;
        let e = b
            .store
            .import_registry(
                &stamp(),
                RegistryImport {
                    services: Default::default(),
                    institutions: vec![institution(3, "clinic")],
                    staff: vec![StaffEntry {
                        name: "冲突".into(),
                        badge_no: "SX-0009".into(),
                        team: "t".into(),
                        district: "d".into(),
                        username: "taken".into(),
                        conflicts: vec![],
                    }],
                    penalised: vec![],
                    penalised_rows: vec![],
                },
            )
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "username_taken", "{}", b.name);
        assert_eq!(
            b.store.list_institutions().await.unwrap().len(),
            2,
            "{}",
            b.name
        );
        assert_eq!(b.store.state().await.unwrap().change_seq, seq_before);
    }
}

async fn seed_draw(
    b: &Backend,
    plan_id: &str,
    year: i32,
) -> (DrawRecord, Vec<StoredTask>, Vec<Uuid>) {
    let i1 = institution(10, "clinic");
    let i2 = institution(11, "clinic");
    b.store
        .import_registry(
            &stamp(),
            RegistryImport {
                services: Default::default(),
                institutions: vec![i1.clone(), i2.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<Uuid> = b
        .store
        .list_institutions()
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    let mut people = Vec::new();
    for n in 0..4 {
        let u = b
            .store
            .create_user(
                &stamp(),
                new_user(
                    &format!("insp{n}"),
                    Role::Inspector,
                    Some(&format!("B-{n}")),
                ),
            )
            .await
            .unwrap();
        people.push(u.id);
    }
    let draw_id = Uuid::now_v7();
    let tasks: Vec<StoredTask> = ids
        .iter()
        .enumerate()
        .map(|(i, unit)| StoredTask {
            id: Uuid::now_v7(),
            draw_id,
            plan_id: plan_id.into(),
            plan_version: 1,
            position: i as i64,
            checklist: "medical".into(),
            kind: DrawKind::National,
            followup: None,
            institution_id: *unit,
            category: CategoryCode::from("clinic"),
            drawn_inspectors: vec![people[2 * i], people[2 * i + 1]],
            inspectors: vec![people[2 * i], people[2 * i + 1]],
            seq: 0,
        })
        .collect();
    let record = DrawRecord {
        freeze_id: None,
        id: draw_id,
        plan_id: plan_id.into(),
        plan_version: 1,
        seed: "种子".into(),
        algorithm: "jiandu-draw/1".into(),
        inputs_hash: "ih".into(),
        tasks_hash: "th".into(),
        inputs: serde_json::json!({"plan": {"id": plan_id}, "units": [1, 2, 3]}),
        created_by: "admin".into(),
        created_at: Utc.with_ymd_and_hms(2025, 5, 1, 10, 0, 0).unwrap(),
    };
    b.store
        .save_draw(&stamp(), record.clone(), year, tasks.clone())
        .await
        .unwrap();
    (record, tasks, people)
}

#[tokio::test]
async fn draws_and_tasks_round_trip_and_one_draw_per_plan() {
    for b in backends().await {
        let (record, tasks, people) = seed_draw(&b, "shanxi-2025", 2025).await;
        assert_eq!(
            b.store.draw(record.id).await.unwrap().unwrap(),
            record,
            "{}",
            b.name
        );
        let stored = b.store.tasks_of_draw(record.id).await.unwrap();
        assert_eq!(stored.len(), 2);
        for (s, t) in stored.iter().zip(&tasks) {
            assert_eq!(
                (s.id, &s.inspectors, &s.drawn_inspectors),
                (t.id, &t.inspectors, &t.drawn_inspectors)
            );
            assert!(s.seq > 0);
        }
        let e = b
            .store
            .save_draw(
                &stamp(),
                DrawRecord {
                    freeze_id: None,
                    id: Uuid::now_v7(),
                    ..record.clone()
                },
                2025,
                vec![],
            )
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "already_drawn", "{}", b.name);
        // Scoping by user.
        let mine = b.store.tasks_for(None, Some(&people[0..1])).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].id, tasks[0].id);
        assert_eq!(
            b.store
                .tasks_for(Some("shanxi-2025"), None)
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(
            b.store
                .tasks_for(Some("other"), None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(b.store.tasks_for(None, Some(&[])).await.unwrap().is_empty());
        // Previous-campaign look-up by plan year.
        let pairs: HashSet<(Uuid, Uuid)> = b
            .store
            .assignments_in_year(2025)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(pairs.len(), 4);
        assert!(pairs.contains(&(tasks[0].institution_id, people[0])));
        assert!(b.store.assignments_in_year(2024).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn reassignment_is_capped_in_the_same_transaction() {
    for b in backends().await {
        let (record, tasks, people) = seed_draw(&b, "shanxi-2025", 2025).await;
        let extra = b
            .store
            .create_user(&stamp(), new_user("extra", Role::Inspector, Some("B-9")))
            .await
            .unwrap();
        // The service's own rule, run by the store on the state it read.
        let rule = |from, to| -> store::Decide<store::ReassignState, usize> {
            let task = tasks[0].id;
            Box::new(move |st| draws::reassign_rule(st, 1, task, from, to))
        };
        let r = |from, to| Reassignment {
            id: Uuid::now_v7(),
            draw_id: record.id,
            task_id: tasks[0].id,
            from_user: from,
            to_user: to,
            reason: "回避".into(),
            by: "admin".into(),
            at: Utc::now(),
        };
        let e = b
            .store
            .reassign(
                &stamp(),
                r(people[2], extra.id),
                1,
                rule(people[2], extra.id),
            )
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "not_assigned", "{}", b.name);
        let e = b
            .store
            .reassign(
                &stamp(),
                r(people[0], people[1]),
                1,
                rule(people[0], people[1]),
            )
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "already_assigned", "{}", b.name);
        b.store
            .reassign(
                &stamp(),
                r(people[0], extra.id),
                1,
                rule(people[0], extra.id),
            )
            .await
            .unwrap();
        let t = b.store.task(tasks[0].id).await.unwrap().unwrap();
        assert_eq!(
            t.inspectors,
            vec![extra.id, people[1]],
            "{}: position kept",
            b.name
        );
        assert_eq!(
            t.drawn_inspectors, tasks[0].drawn_inspectors,
            "drawn never changes"
        );
        let e = b
            .store
            .reassign(
                &stamp(),
                r(people[1], people[0]),
                1,
                rule(people[1], people[0]),
            )
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "reassignment_cap", "{}", b.name);
        let log = b.store.reassignments(record.id).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].reason, "回避");
    }
}

#[tokio::test]
async fn inspections_use_optimistic_versions_and_reviews_name_the_version() {
    for b in backends().await {
        let (_, tasks, people) = seed_draw(&b, "shanxi-2025", 2025).await;
        let id = Uuid::now_v7();
        let mut insp = Inspection::new(id, tasks[0].id);
        insp.status = InspectionStatus::Submitted;
        insp.version = 7;
        let t = Stamp::system(Utc::now());
        let stored = b
            .store
            .put_inspection(&t, insp.clone(), None, review::expect_version(None))
            .await
            .unwrap();
        assert_eq!(stored.inspection, insp);
        let e = b
            .store
            .put_inspection(&t, insp.clone(), None, review::expect_version(None))
            .await
            .unwrap_err();
        assert_eq!(
            conflict_code(e),
            "stale",
            "{}: insert of an existing one",
            b.name
        );
        let e = b
            .store
            .put_inspection(&t, insp.clone(), Some(6), review::expect_version(Some(6)))
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "stale", "{}", b.name);
        let lead = b
            .store
            .create_user(&stamp(), new_user("lead", Role::TeamLead, None))
            .await
            .unwrap();
        let mut approved = insp.clone();
        approved.status = InspectionStatus::Approved;
        approved.version = 8;
        let review = |v| ReviewRecord {
            id: Uuid::now_v7(),
            inspection_id: id,
            decision: ReviewDecision::Approve,
            reviewed_version: v,
            comment: None,
            reviewer: lead.id,
            at: Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap(),
        };
        // A decision sees the stored inspection; its refusal writes nothing.
        let decide = |v: u64, approved: Inspection| -> store::Decide<ReviewState, Inspection> {
            Box::new(move |st| {
                let current = st.inspection.as_ref().map(|s| s.inspection.version);
                assert_eq!(st.incomplete_blobs, 0);
                if current == Some(v) {
                    Ok(approved)
                } else {
                    Err(ServiceError::new(
                        jiandu_server::error::ErrorCode::Stale,
                        "stale",
                    ))
                }
            })
        };
        let e = b
            .store
            .record_review(&stamp(), review(6), decide(6, approved.clone()))
            .await
            .unwrap_err();
        assert_eq!(conflict_code(e), "stale", "{}", b.name);
        assert!(b.store.reviews(id).await.unwrap().is_empty(), "{}", b.name);
        let r = b
            .store
            .record_review(&stamp(), review(7), decide(7, approved.clone()))
            .await
            .unwrap();
        assert_eq!(r.inspection.status, InspectionStatus::Approved);
        let got = b.store.inspection(id).await.unwrap().unwrap();
        assert_eq!(got.inspection, approved, "{}", b.name);
        let reviews = b.store.reviews(id).await.unwrap();
        assert_eq!(reviews.len(), 1);
        assert_eq!(reviews[0].reviewed_version, 7);
        let listed = b
            .store
            .inspections_of_tasks(&[tasks[0].id, tasks[1].id])
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert!(b.store.inspections_of_tasks(&[]).await.unwrap().is_empty());
        let _ = people;
    }
}
