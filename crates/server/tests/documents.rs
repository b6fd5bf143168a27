//! Archive copies (issue 3 item 6), on SQLite and PostgreSQL: the platform renders
//! an inspection's 意见书, 现场笔录 and 证据照片 from its own data (with a photo and
//! signatures synced), over HTTP and with `jiandu-server doc render`; the PDFs read
//! back with pdftotext show the inspection; and they are byte-identical to what a
//! device renders from what it pulled (`jiandu_docs::archive`, the one builder).
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use common::backends;
use jiandu_core::inspection::{Inspection, InspectionStatus, Signature, SignatureRole, Task};
use jiandu_core::protocol::{
    BlobKind, ChangeBody, PhotoRecord, PullPage, PushItem, ServerInspection,
};
use jiandu_core::templates::TemplateSet;
use jiandu_docs::archive::{self, ArchiveInput};
use jiandu_docs::sample;
use jiandu_server::demo;
use jiandu_server::http;
use jiandu_server::service::documents::DEFAULT_AUTHORITY;
use jiandu_server::service::{Actor, Platform};
use jiandu_server::store::{BlobWrite, ItemDecision, PreparedItem, ServerStore};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use uuid::Uuid;

struct Server {
    base: String,
    client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(store: Arc<dyn ServerStore>, blobs: &Path) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Platform::new(store, TemplateSet::builtin().unwrap()).with_blobs(blobs.into());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http::serve(listener, state, 1 << 20, async {
        let _ = rx.await;
    }));
    Server {
        base: format!("http://{addr}/api/v1"),
        client: reqwest::Client::new(),
        stop: tx,
    }
}

async fn token(s: &Server, username: &str) -> String {
    let v: serde_json::Value = s
        .client
        .post(format!("{}/devices/enroll", s.base))
        .json(&serde_json::json!({
            "username": username, "password": demo::DEMO_PASSWORD, "device_name": "archive"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("enrolment: {v}"))
        .to_owned()
}

fn store_file(blobs: &Path, bytes: &[u8]) -> String {
    let sha = sample::sha256_hex(bytes);
    let dir = blobs.join(&sha[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&sha), bytes).unwrap();
    sha
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.pdf");
    std::fs::write(&p, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&p)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Syncs a photo on the first 不符合 finding, the party's signature and the first
/// inspector's signature into the inspection, as a device's push would.
async fn sync_evidence(
    store: &dyn ServerStore,
    blobs: &Path,
    mut inspection: Inspection,
    task_inspector: (Uuid, String),
    party_name: &str,
) -> (Uuid, Vec<u8>, Vec<u8>, Vec<u8>) {
    let device = common::device(task_inspector.0);
    store
        .create_device(&common::stamp(), device.clone(), "hash-of-archive-device")
        .await
        .unwrap();
    let jpeg = sample::photo_jpeg(640, 480, 7);
    let party_png = sample::signature_png(1);
    let inspector_png = sample::signature_png(2);
    let (jpeg_sha, party_sha, inspector_sha) = (
        store_file(blobs, &jpeg),
        store_file(blobs, &party_png),
        store_file(blobs, &inspector_png),
    );
    let at = inspection.started_at.unwrap() + Duration::minutes(20);
    let photo = Uuid::now_v7();
    let finding = inspection
        .findings
        .iter_mut()
        .find(|f| f.verdict == jiandu_core::inspection::Verdict::NonCompliant)
        .unwrap();
    finding.photo_ids.push(photo);
    let finding_id = finding.id;
    inspection.version += 1;
    let record = PhotoRecord {
        id: photo,
        inspection_id: inspection.id,
        finding_id: Some(finding_id),
        sha256: jpeg_sha.clone(),
        size_bytes: jpeg.len() as u64,
        mime: "image/jpeg".into(),
        taken_at: at,
        location: None,
        captured_by: task_inspector.0,
        captured_at: at,
        voided_by: None,
        voided_at: None,
        void_reason: None,
    };
    let sig = |role, name: &str, sha: &str| Signature {
        id: Uuid::now_v7(),
        inspection_id: inspection.id,
        role,
        signer_name: name.to_owned(),
        image_sha256: Some(sha.to_owned()),
        refusal_reason: None,
        signed_at: at + Duration::minutes(60),
    };
    let party = sig(SignatureRole::Party, party_name, &party_sha);
    let inspector = sig(SignatureRole::Inspector, &task_inspector.1, &inspector_sha);
    let item = |n: i64, entity: &str, id: Uuid, decision: ItemDecision| PreparedItem {
        item: PushItem {
            mutation_id: Uuid::now_v7(),
            device_seq: n,
            entity: entity.into(),
            entity_id: id,
            inspection_id: inspection.id,
            op: "create".into(),
            base_version: Some(inspection.version - 1),
            payload: serde_json::json!({}),
        },
        task_id: None,
        decide: Box::new(move |_, _| decision.clone()),
    };
    let blob = |id, kind, sha: &str, size: usize, mime: &str, meta| BlobWrite {
        id,
        kind,
        sha256: sha.to_owned(),
        size: Some(size as u64),
        mime: mime.into(),
        voided: false,
        meta,
    };
    let items = vec![
        item(
            1,
            "photo",
            photo,
            ItemDecision::Apply {
                inspection: Box::new(inspection.clone()),
                blob: Some(Box::new(blob(
                    photo,
                    BlobKind::Photo,
                    &jpeg_sha,
                    jpeg.len(),
                    "image/jpeg",
                    Some(record),
                ))),
                signature: None,
            },
        ),
        item(
            2,
            "signature",
            party.id,
            ItemDecision::Apply {
                inspection: Box::new(inspection.clone()),
                blob: Some(Box::new(blob(
                    party.id,
                    BlobKind::Signature,
                    &party_sha,
                    party_png.len(),
                    "image/png",
                    None,
                ))),
                signature: Some(Box::new(party.clone())),
            },
        ),
        item(
            3,
            "signature",
            inspector.id,
            ItemDecision::Apply {
                inspection: Box::new(inspection.clone()),
                blob: Some(Box::new(blob(
                    inspector.id,
                    BlobKind::Signature,
                    &inspector_sha,
                    inspector_png.len(),
                    "image/png",
                    None,
                ))),
                signature: Some(Box::new(inspector.clone())),
            },
        ),
    ];
    store
        .push(&common::stamp(), device.id, items)
        .await
        .unwrap();
    for id in [photo, party.id, inspector.id] {
        store.complete_blob(&common::stamp(), id).await.unwrap();
    }
    (inspection.id, jpeg, party_png, inspector_png)
}

#[tokio::test]
async fn archive_copies_match_the_device_and_read_back() {
    // SAFETY of the assumption: the documents print the default authority.
    assert!(std::env::var("JIANDU_AUTHORITY").is_err());
    for b in backends().await {
        let store: &dyn ServerStore = &*b.store;
        demo::run(&common::platform(&b), &Actor::system(), demo::DEFAULT_SEED)
            .await
            .unwrap();
        let blobs = tempfile::tempdir().unwrap();
        // The demo's inspection waiting for 李娜 (submitted, with 不符合 findings).
        let plan_id = jiandu_server::demo::plan_id(Utc::now().date_naive());
        let tasks = store.tasks_for(Some(&plan_id), None).await.unwrap();
        let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
        let waiting = store
            .inspections_of_tasks(&ids)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.inspection.status == InspectionStatus::Submitted)
            .unwrap()
            .inspection;
        let task = tasks.iter().find(|t| t.id == waiting.task_id).unwrap();
        let institution = store
            .institution(task.institution_id)
            .await
            .unwrap()
            .unwrap();
        let first = store.user_by_id(task.inspectors[0]).await.unwrap().unwrap();
        // 记录人, 回避 and 在场人 as the device records them (core rule applied).
        let mut waiting = waiting;
        waiting.status = InspectionStatus::InProgress;
        waiting
            .set_record_details(
                jiandu_core::inspection::RecordDetails {
                    recorder: first.id,
                    recusal: jiandu_core::inspection::Recusal {
                        requested: false,
                        reason: String::new(),
                    },
                    present: vec![jiandu_core::inspection::PresentPerson {
                        name: "周在场".into(),
                        post: "办公室主任".into(),
                    }],
                },
                &task.inspectors,
            )
            .unwrap();
        waiting.status = InspectionStatus::Submitted;
        let (id, jpeg, party_png, inspector_png) = sync_evidence(
            store,
            blobs.path(),
            waiting,
            (first.id, first.display_name.clone()),
            &institution.legal_representative,
        )
        .await;

        let s = start(b.store.clone(), blobs.path()).await;
        let admin = token(&s, "admin").await;
        let get = |kind: &str, token: &str| {
            s.client
                .get(format!("{}/inspections/{id}/documents/{kind}", s.base))
                .bearer_auth(token.to_owned())
                .send()
        };
        let mut served = HashMap::new();
        for kind in ["opinion", "record", "evidence"] {
            let r = get(&format!("{kind}.pdf"), &admin).await.unwrap();
            assert_eq!(r.status(), 200, "{}: {kind}", b.name);
            assert_eq!(r.headers()["content-type"], "application/pdf");
            let pdf = r.bytes().await.unwrap().to_vec();
            assert!(pdf.starts_with(b"%PDF"));
            served.insert(kind, pdf);
        }

        // Read back.
        let record = pdftotext(&served["record"]);
        for want in [
            "现场笔录",
            institution.name.as_str(),
            first.display_name.as_str(),
            DEFAULT_AUTHORITY,
            "第1号",
            &format!("记录人：{}", first.display_name),
            "在场人：周在场（办公室主任）",
            "回避：被检查人不申请回避。",
        ] {
            let want: String = want.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                record.contains(&want),
                "{}: record lacks {want}: {record}",
                b.name
            );
        }
        let opinion = pdftotext(&served["opinion"]);
        for want in [
            "卫生监督意见书",
            institution.name.as_str(),
            // The 监督意见 confirmed on site, numbered, with its deadline.
            "经检查，你单位存在以下问题：一、",
            "改正要求：立即改正上述问题",
        ] {
            assert!(
                opinion.contains(want),
                "{}: opinion lacks {want}: {opinion}",
                b.name
            );
        }
        for figure in ["罚没", "查处案件"] {
            assert!(!opinion.contains(figure), "{}: {figure}", b.name);
        }
        let evidence = pdftotext(&served["evidence"]);
        for want in [
            "证据",
            institution.name.as_str(),
            &sample::sha256_hex(&jpeg)[..16],
        ] {
            assert!(
                evidence.contains(want),
                "{}: evidence lacks {want}: {evidence}",
                b.name
            );
        }
        assert!(
            !evidence.contains(jiandu_docs::PHOTO_PLACEHOLDER),
            "the photo is printed"
        );

        // The device's copy: built from what the device pulled, with the files it
        // holds, by the same builder — byte for byte the same.
        let mut pulled_task: Option<Task> = None;
        let mut pulled: Option<ServerInspection> = None;
        let mut pulled_plan: Option<jiandu_core::Plan> = None;
        let mut since = 0;
        loop {
            let page: PullPage = s
                .client
                .get(format!(
                    "{}/sync/pull?since={since}&limit=1000&plan_format=1",
                    s.base
                ))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for c in page.changes {
                match c.body {
                    ChangeBody::Plan { plan } if plan.id == plan_id => {
                        pulled_plan = Some(plan.read().unwrap())
                    }
                    ChangeBody::Task { task: t } if t.id == task.id => pulled_task = Some(*t),
                    ChangeBody::Inspection { inspection } if inspection.inspection.id == id => {
                        pulled = Some(*inspection)
                    }
                    _ => {}
                }
            }
            since = page.next;
            if !page.has_more {
                break;
            }
        }
        let (pulled_task, pulled) = (pulled_task.unwrap(), pulled.unwrap());
        assert_eq!(pulled.photos.len(), 1);
        assert_eq!(pulled.signatures.len(), 2);
        let device_files: HashMap<String, Vec<u8>> = [jpeg, party_png, inspector_png]
            .into_iter()
            .map(|f| (sample::sha256_hex(&f), f))
            .collect();
        let files = |sha: &str| device_files.get(sha).cloned();
        // The plan as the device received it with its task (plans as data).
        let pulled_plan = pulled_plan.expect("the task's plan came with it");
        let checklist = pulled_plan.checklist(&pulled_task.checklist).unwrap();
        let input = ArchiveInput {
            checklist,
            task: &pulled_task,
            inspection: &pulled.inspection,
            photos: &pulled.photos,
            signatures: &pulled.signatures,
            authority: DEFAULT_AUTHORITY,
            opinion_number: "",
            correction_days: pulled_plan.correction_days(),
        };
        assert_eq!(
            jiandu_docs::render_opinion(&archive::opinion(&input, &files)).unwrap(),
            served["opinion"],
            "{}: opinion",
            b.name
        );
        assert_eq!(
            jiandu_docs::render_record(&archive::record(&input, &files)).unwrap(),
            served["record"],
            "{}: record",
            b.name
        );
        assert_eq!(
            jiandu_docs::render_evidence(&archive::evidence(&input, &files)).unwrap(),
            served["evidence"],
            "{}: evidence",
            b.name
        );

        // Who may: the task's own inspector yes, another district's inspector no
        // (as if it did not exist); bad kinds and ids are 4xx.
        let own = token(&s, &first.username).await;
        if store
            .user_credentials(&first.username)
            .await
            .unwrap()
            .unwrap()
            .1
            .is_some()
        {
            assert_eq!(get("record.pdf", &own).await.unwrap().status(), 200);
        }
        let other = token(&s, "chenjing").await;
        assert_eq!(get("record.pdf", &other).await.unwrap().status(), 404);
        assert_eq!(get("minutes.pdf", &admin).await.unwrap().status(), 400);
        let r = s
            .client
            .get(format!(
                "{}/inspections/{}/documents/record.pdf",
                s.base,
                Uuid::now_v7()
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let _ = s.stop.send(());

        // The command line writes the same file.
        if b.name == "sqlite" {
            let out = blobs.path().join("record.pdf");
            let o = Command::new(env!("CARGO_BIN_EXE_jiandu-server"))
                .env_remove("JIANDU_AUTHORITY")
                .env("JIANDU_LOG", "warn")
                .args(["--db", &b.url, "--blobs"])
                .arg(blobs.path())
                .args([
                    "doc",
                    "render",
                    "--inspection",
                    &id.to_string(),
                    "--kind",
                    "record",
                    "--out",
                ])
                .arg(&out)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(std::fs::read(&out).unwrap(), served["record"]);
        }
    }
}
