//! What a push item's decision sees inside one batch, on every backend: the
//! batch's earlier items applied (inspection, blob rows, photo counts, refusals),
//! a refusal showing the record as stored with the batch's earlier photos, a
//! replay answered from the stored answers without a change, and a second
//! inspection of a task refused. Both stores read and decide differently (SQLite
//! statement by statement in its writer; PostgreSQL in pipelined round trips under
//! the change-sequence lock), so the decisions' view is pinned here, observation
//! by observation.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::{backends, stamp};
use jiandu_core::inspection::Inspection;
use jiandu_core::protocol::{BlobKind, ItemOutcome, PhotoRecord, PushItem, RejectReason};
use jiandu_core::{CategoryCode, Role};
use jiandu_server::model::{Device, DrawRecord, NewUser, StoredTask};
use jiandu_server::store::{BlobWrite, ItemDecision, ItemState, PreparedItem, ServerStore};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

type Seen = Arc<Mutex<Vec<String>>>;

/// What a decision saw, as one line.
fn seen(st: &ItemState<'_>) -> String {
    format!(
        "version {:?}, task's inspection {}, blob {:?}, earlier rejected {}, photos {:?}",
        st.inspection.map(|i| i.version),
        st.task_inspection.is_some(),
        st.blob
            .as_ref()
            .map(|b| (b.voided, b.size, b.meta.is_some())),
        st.earlier_rejected,
        st.photos,
    )
}

fn item(
    seen_by: &Seen,
    mutation_id: Uuid,
    n: i64,
    (entity, entity_id): (&str, Uuid),
    inspection_id: Uuid,
    task_id: Option<Uuid>,
    decision: ItemDecision,
) -> PreparedItem {
    let log = seen_by.clone();
    PreparedItem {
        item: PushItem {
            mutation_id,
            device_seq: n,
            entity: entity.into(),
            entity_id,
            inspection_id,
            op: "upsert".into(),
            base_version: None,
            payload: serde_json::json!({}),
        },
        task_id,
        decide: Box::new(move |_, st| {
            log.lock().unwrap().push(seen(st));
            decision.clone()
        }),
    }
}

fn apply(inspection: &Inspection, blob: Option<BlobWrite>) -> ItemDecision {
    ItemDecision::Apply {
        inspection: Box::new(inspection.clone()),
        blob: blob.map(Box::new),
        signature: None,
    }
}

fn refuse(show_current: bool) -> ItemDecision {
    ItemDecision::Reject {
        reason: RejectReason::Stale,
        message: "拒绝".into(),
        show_current,
    }
}

async fn one_task(store: &dyn ServerStore) -> (Uuid, Device) {
    let user = store
        .create_user(
            &stamp(),
            NewUser {
                id: Uuid::now_v7(),
                username: "insp".into(),
                display_name: "检查员".into(),
                role: Role::Inspector,
                badge_no: Some("B-1".into()),
                team: "监督一科".into(),
                district: "小店区".into(),
                password_hash: None,
                created_at: Utc::now(),
            },
        )
        .await
        .unwrap();
    let draw_id = Uuid::now_v7();
    let task = StoredTask {
        id: Uuid::now_v7(),
        draw_id,
        plan_id: "shanxi-2025".into(),
        plan_version: 1,
        position: 0,
        checklist: "medical".into(),
        kind: jiandu_core::inspection::DrawKind::National,
        followup: None,
        institution_id: Uuid::now_v7(),
        category: CategoryCode::from("clinic"),
        drawn_inspectors: vec![user.id],
        inspectors: vec![user.id],
        seq: 0,
    };
    store
        .import_registry(
            &stamp(),
            jiandu_server::model::RegistryImport {
                institutions: vec![jiandu_server::model::Institution {
                    id: task.institution_id,
                    name: "单位".into(),
                    credit_code: common::code(1),
                    licence_no: "PDY1".into(),
                    category: CategoryCode::from("clinic"),
                    district: "小店区".into(),
                    address: "地址".into(),
                    legal_representative: "张三".into(),
                    phone: "0351-1234567".into(),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let unit = store.list_institutions().await.unwrap()[0].id;
    let task = StoredTask {
        institution_id: unit,
        ..task
    };
    store
        .save_draw(
            &stamp(),
            DrawRecord {
                freeze_id: None,
                id: draw_id,
                plan_id: "shanxi-2025".into(),
                plan_version: 1,
                seed: "种子".into(),
                algorithm: "jiandu-draw/1".into(),
                inputs_hash: "ih".into(),
                tasks_hash: "th".into(),
                inputs: serde_json::json!({}),
                created_by: "admin".into(),
                created_at: Utc::now(),
            },
            2025,
            vec![task.clone()],
        )
        .await
        .unwrap();
    let device = common::device(user.id);
    store
        .create_device(&stamp(), device.clone(), "hash-of-batch-device")
        .await
        .unwrap();
    (task.id, device)
}

#[tokio::test]
async fn a_batch_decides_on_its_own_earlier_items() {
    for b in backends().await {
        let store: &dyn ServerStore = &*b.store;
        let (task, device) = one_task(store).await;
        let id = Uuid::now_v7();
        let (p1, p2) = (Uuid::now_v7(), Uuid::now_v7());
        let at = Utc::now();
        let versions: Vec<Inspection> = (1..=3)
            .map(|v| Inspection {
                version: v,
                ..Inspection::new(id, task)
            })
            .collect();
        let photo = |id: Uuid, voided: bool| BlobWrite {
            id,
            kind: BlobKind::Photo,
            sha256: "a".repeat(64),
            size: (!voided).then_some(100),
            mime: "image/jpeg".into(),
            voided,
            meta: (!voided).then(|| PhotoRecord {
                id,
                inspection_id: id,
                finding_id: None,
                sha256: "a".repeat(64),
                size_bytes: 100,
                mime: "image/jpeg".into(),
                taken_at: at,
                location: None,
                captured_by: device.user_id,
                captured_at: at,
                voided_by: None,
                voided_at: None,
                void_reason: None,
            }),
        };
        let mutations: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let batch = |log: &Seen| {
            vec![
                item(log, mutations[0], 1, ("inspection", id), id, Some(task), {
                    apply(&versions[0], None)
                }),
                item(log, mutations[1], 2, ("photo", p1), id, None, {
                    apply(&versions[1], Some(photo(p1, false)))
                }),
                item(log, mutations[2], 3, ("photo", p1), id, None, {
                    apply(&versions[2], Some(photo(p1, true)))
                }),
                item(log, mutations[3], 4, ("photo", p2), id, None, refuse(true)),
                item(
                    log,
                    mutations[4],
                    5,
                    ("finding", Uuid::now_v7()),
                    id,
                    None,
                    refuse(false),
                ),
            ]
        };
        let log: Seen = Arc::default();
        let answers = store.push(&stamp(), device.id, batch(&log)).await.unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            [
                "version None, task's inspection false, blob None, earlier rejected false, photos (0, 0)",
                "version Some(1), task's inspection false, blob None, earlier rejected false, photos (0, 0)",
                "version Some(2), task's inspection false, blob Some((false, Some(100), true)), earlier rejected false, photos (1, 100)",
                "version Some(3), task's inspection false, blob None, earlier rejected false, photos (0, 0)",
                "version Some(3), task's inspection false, blob None, earlier rejected true, photos (0, 0)",
            ],
            "{}",
            b.name
        );
        let seq = store.state().await.unwrap().change_seq;
        let outcomes: Vec<&ItemOutcome> = answers.iter().map(|a| &a.outcome).collect();
        for (n, o) in outcomes[..3].iter().enumerate() {
            assert_eq!(
                **o,
                ItemOutcome::Applied {
                    version: n as u64 + 1,
                    server_seq: seq
                },
                "{}",
                b.name
            );
        }
        // The record shown with the refusal is the one stored, with the batch's
        // earlier photo (voided: its record stays).
        let ItemOutcome::Rejected {
            current: Some(current),
            ..
        } = outcomes[3]
        else {
            panic!("{}: {:?}", b.name, outcomes[3]);
        };
        assert_eq!(current.inspection.version, 3, "{}", b.name);
        assert_eq!(
            current.photos.iter().map(|p| p.id).collect::<Vec<_>>(),
            [p1],
            "{}",
            b.name
        );
        assert!(
            matches!(outcomes[4], ItemOutcome::Rejected { current: None, .. }),
            "{}",
            b.name
        );
        let blob = store.blob(p1).await.unwrap().unwrap();
        assert_eq!(
            (blob.voided, blob.size, blob.meta.is_some(), blob.seq),
            (true, Some(100), true, seq),
            "{}",
            b.name
        );
        assert_eq!(
            store
                .inspection(id)
                .await
                .unwrap()
                .unwrap()
                .inspection
                .version,
            3,
            "{}",
            b.name
        );

        // A replay is answered from the stored answers: nothing decided, nothing
        // changed.
        let replay_log: Seen = Arc::default();
        let again = store
            .push(&stamp(), device.id, batch(&replay_log))
            .await
            .unwrap();
        assert!(replay_log.lock().unwrap().is_empty(), "{}", b.name);
        assert_eq!(again, answers, "{}", b.name);
        assert_eq!(store.state().await.unwrap().change_seq, seq, "{}", b.name);

        // Another inspection of the same task sees the task's inspection.
        let other_log: Seen = Arc::default();
        let other = Uuid::now_v7();
        store
            .push(
                &stamp(),
                device.id,
                vec![item(
                    &other_log,
                    Uuid::now_v7(),
                    6,
                    ("inspection", other),
                    other,
                    Some(task),
                    refuse(true),
                )],
            )
            .await
            .unwrap();
        assert_eq!(
            *other_log.lock().unwrap(),
            [
                "version None, task's inspection true, blob None, earlier rejected false, photos (0, 0)"
            ],
            "{}",
            b.name
        );
    }
}

/// Pushes arriving together (PostgreSQL writes them as one group, in one
/// transaction; SQLite's writer in one transaction with a savepoint each): each is
/// answered with its own results under its own change-sequence value, and one
/// whose write the database refuses (a blob row breaking a CHECK: a store error,
/// not a decision) fails alone. The others are stored, and the sequence and the
/// audit chain stay gap-free and intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_arriving_together_are_answered_each_and_a_failing_one_fails_alone() {
    for b in backends().await {
        let store: Arc<dyn ServerStore> = b.store.clone();
        let (task, device) = one_task(&*store).await;
        let id = Uuid::now_v7();
        let log: Seen = Arc::default();
        let before = store.state().await.unwrap().change_seq;
        let bad_at = 5;
        let pushes = (1..=12u64).map(|v| {
            let store = store.clone();
            let log = log.clone();
            let blob = (v == bad_at).then(|| BlobWrite {
                id: Uuid::now_v7(),
                kind: BlobKind::Photo,
                sha256: "not a hash".into(),
                size: Some(100),
                mime: "image/jpeg".into(),
                voided: false,
                meta: None,
            });
            let inspection = Inspection {
                version: v,
                ..Inspection::new(id, task)
            };
            let mutation = Uuid::now_v7();
            async move {
                let entity = match &blob {
                    Some(b) => ("photo", b.id),
                    None => ("inspection", id),
                };
                let items = vec![item(
                    &log,
                    mutation,
                    v as i64,
                    entity,
                    id,
                    Some(task),
                    apply(&inspection, blob),
                )];
                (v, store.push(&stamp(), device.id, items).await)
            }
        });
        let answers = futures_util::future::join_all(pushes).await;
        let mut seqs = Vec::new();
        for (v, answer) in answers {
            if v == bad_at {
                assert!(answer.is_err(), "{}: {answer:?}", b.name);
                continue;
            }
            let answer = answer.unwrap_or_else(|e| panic!("{}: push {v}: {e}", b.name));
            let [jiandu_core::protocol::PushResult { outcome, .. }] = &answer[..] else {
                panic!("{}: {answer:?}", b.name);
            };
            let ItemOutcome::Applied {
                version,
                server_seq,
            } = outcome
            else {
                panic!("{}: {outcome:?}", b.name);
            };
            assert_eq!(*version, v, "{}", b.name);
            seqs.push(*server_seq);
        }
        // Eleven pushes stored, each under a value of its own: before + 1 ..= + 11.
        seqs.sort_unstable();
        assert_eq!(
            seqs,
            (before + 1..=before + 11).collect::<Vec<_>>(),
            "{}",
            b.name
        );
        assert_eq!(
            store.state().await.unwrap().change_seq,
            before + 11,
            "{}",
            b.name
        );
        let start = store.audit_start().await.unwrap();
        let entries = store.audit_entries(start, 1_000_000).await.unwrap();
        for (k, e) in entries.iter().enumerate() {
            assert_eq!(e.change_seq, start + 1 + k as i64, "{}", b.name);
        }
        for w in entries.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].hash, "{}: chain broken", b.name);
        }
        for e in &entries {
            assert_eq!(
                e.recomputed_hash(),
                e.hash,
                "{}: entry {}",
                b.name,
                e.change_seq
            );
        }
    }
}
