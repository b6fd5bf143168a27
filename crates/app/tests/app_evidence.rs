//! Photos, signatures and documents as the UI calls them, on a real temporary
//! app-data folder. PDFs are read back with pdftotext (poppler-utils).

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use chrono::{TimeZone, Utc};
use jiandu_app::App;
use jiandu_app::documents::DocKindCode;
use jiandu_app::dto::*;
use jiandu_app::evidence::*;
use jiandu_core::protocol::DocNumberLease;
use jiandu_docs::sample;
use std::path::{Path, PathBuf};

mod common;
use common::*;

fn demo_app(h: &Harness) -> App {
    let app = h.open();
    app.sign_in(SignInInput {
        server_url: "demo".into(),
        username: "zhangwei".into(),
        password: "x".into(),
    })
    .unwrap();
    app
}

/// A started inspection of the demo's 仁和诊所 with med.3.1 answered 不符合.
fn started(app: &App) -> String {
    let task = app
        .task_list(TaskQuery::default())
        .unwrap()
        .tasks
        .into_iter()
        .find(|t| t.unit_name == "仁和诊所")
        .unwrap();
    start(app, &task.task_id);
    app.answer(AnswerInput {
        task_id: task.task_id.clone(),
        point: "med.3.1".into(),
        verdict: VerdictCode::NonCompliant,
    })
    .unwrap();
    app.set_observation(ObservationInput {
        task_id: task.task_id.clone(),
        point: "med.3.1".into(),
        observation: "抽查处方20张，其中3张无医师签名。".into(),
    })
    .unwrap();
    task.task_id
}

fn photo_input(task: &str, point: &str) -> PhotoInput {
    PhotoInput {
        task_id: task.into(),
        point: point.into(),
        taken_at: Some("2024-06-01T02:05:00Z".into()),
        lat: Some(37.87),
        lon: Some(112.55),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_photo_is_stored_unmodified_with_its_hash_thumbnail_and_print_copy() {
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app);
    let original = sample::photo_jpeg(2400, 1800, 7);
    let view = app
        .add_photo(photo_input(&task, "med.3.1"), &original)
        .unwrap();
    assert_eq!(view.sha256, sha256_hex(&original));
    assert_eq!(view.size_bytes as usize, original.len());
    assert_eq!(view.point.as_deref(), Some("med.3.1"));
    assert_eq!(view.taken_at, "2024-06-01T02:05:00Z");
    assert_eq!((view.lat, view.lon), (Some(37.87), Some(112.55)));
    assert_eq!(view.mime, "image/jpeg");
    // The original, byte for byte.
    assert_eq!(app.photo_original(&view.photo_id).unwrap(), original);
    // Thumbnail and print copy exist on disk, made at capture.
    let derived: Vec<String> = files_under(h.path())
        .iter()
        .filter(|p| p.to_string_lossy().contains("photos-derived"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        derived,
        vec![
            format!("{}.print.jpg", view.sha256),
            format!("{}.thumb.jpg", view.sha256)
        ]
    );
    let thumb = app.photo_thumbnail(&view.photo_id).unwrap();
    let info = jiandu_docs::image::jpeg_info(&thumb).unwrap();
    assert_eq!(info.width.max(info.height), 320);
    let print = app.photo_print_copy(&view.photo_id).unwrap();
    assert_eq!(print, jiandu_docs::image::print_copy(&original).unwrap());
    assert!(print.len() < original.len() / 3);
    // The checklist counts it on its point, and the list shows it.
    let list = app.photos(&task, Some("med.3.1")).unwrap();
    assert_eq!(list, vec![view.clone()]);
    let checklist = app.checklist(&task).unwrap();
    let point = checklist
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .find(|p| p.code == "med.3.1")
        .unwrap();
    assert_eq!(point.photo_count, 1);
    // A restart keeps it.
    drop(app);
    let app = h.open();
    assert_eq!(app.photos(&task, None).unwrap(), vec![view]);
}

#[test]
fn a_non_image_is_refused_in_chinese_and_nothing_is_saved() {
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app);
    let before = files_under(h.path());
    let pending = app.sync_badge().unwrap().pending_changes;
    for (bytes, code) in [
        (
            &b"%PDF-1.7 this is a document, not a photo"[..],
            "not_an_image",
        ),
        (&b""[..], "not_an_image"),
        (&b"\xFF\xD8\xFF\xE0 truncated jpeg"[..], "not_an_image"),
    ] {
        let err = app
            .add_photo(photo_input(&task, "med.3.1"), bytes)
            .unwrap_err();
        assert_eq!(err.code, code);
        assert!(err.message.contains("未保存"), "{}", err.message);
    }
    // A photo for a point not answered yet is refused too.
    let err = app
        .add_photo(
            photo_input(&task, "med.1.1"),
            &sample::photo_jpeg(64, 48, 1),
        )
        .unwrap_err();
    assert!(err.message.contains("请先选择"), "{}", err.message);
    assert_eq!(files_under(h.path()), before, "no file written");
    assert_eq!(app.sync_badge().unwrap().pending_changes, pending);
    assert!(app.photos(&task, None).unwrap().is_empty());
}

#[test]
fn a_photo_is_voided_with_a_reason_and_never_deleted() {
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app);
    let original = sample::photo_jpeg(800, 600, 3);
    let view = app
        .add_photo(photo_input(&task, "med.3.1"), &original)
        .unwrap();
    let err = app.delete_photo(&view.photo_id).unwrap_err();
    assert_eq!(err.code, "photo_not_deletable");
    let err = app
        .void_photo(VoidPhotoInput {
            photo_id: view.photo_id.clone(),
            reason: "  ".into(),
        })
        .unwrap_err();
    assert_eq!(err.code, "reason_required");
    let voided = app
        .void_photo(VoidPhotoInput {
            photo_id: view.photo_id.clone(),
            reason: "拍摄对象错误".into(),
        })
        .unwrap();
    assert!(voided.voided);
    assert_eq!(voided.void_reason.as_deref(), Some("拍摄对象错误"));
    // Still on the device, unmodified, and listed (marked).
    assert_eq!(app.photo_original(&view.photo_id).unwrap(), original);
    assert_eq!(app.photos(&task, None).unwrap().len(), 1);

    // After submission: nothing changes any more, not even a void.
    let second = app
        .add_photo(photo_input(&task, "med.3.1"), &original)
        .unwrap();
    answer_all_and_submit(&app, &task);
    let err = app
        .void_photo(VoidPhotoInput {
            photo_id: second.photo_id.clone(),
            reason: "拍错".into(),
        })
        .unwrap_err();
    assert_eq!(err.code, "wrong_state", "{err:?}");
    let err = app
        .void_photo(VoidPhotoInput {
            photo_id: second.photo_id.clone(),
            reason: String::new(),
        })
        .unwrap_err();
    assert_eq!(err.code, "reason_required");
    assert_eq!(
        app.delete_photo(&second.photo_id).unwrap_err().code,
        "photo_not_deletable"
    );
    assert!(!app.photos(&task, None).unwrap()[1].voided);
}

fn answer_all_and_submit(app: &App, task: &str) {
    let checklist = app.checklist(task).unwrap();
    for p in checklist.items.iter().flat_map(|i| i.points.iter()) {
        if p.applicable && p.verdict.is_none() {
            app.answer(AnswerInput {
                task_id: task.into(),
                point: p.code.clone(),
                verdict: VerdictCode::Compliant,
            })
            .unwrap();
        }
    }
    app.set_outcome(common::corrected(
        task,
        "责令立即改正处方管理问题，处方须经医师签名后方可调剂。",
    ))
    .unwrap();
    app.submit(task).unwrap();
}

#[test]
fn documents_are_made_on_the_device_with_the_number_from_the_block() {
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app);
    app.add_photo(
        photo_input(&task, "med.3.1"),
        &sample::photo_jpeg(2400, 1800, 5),
    )
    .unwrap();
    let sigs = app.signatures(&task).unwrap();
    assert_eq!(sigs.inspectors.len(), 2);
    for (k, inspector) in sigs.inspectors.iter().enumerate() {
        app.add_signature(
            SignatureInput {
                task_id: task.clone(),
                role: SignerRole::Inspector,
                signer_name: inspector.name.clone(),
            },
            &sample::signature_png(k as u32),
        )
        .unwrap();
    }
    let err = app
        .add_signature(
            SignatureInput {
                task_id: task.clone(),
                role: SignerRole::Inspector,
                signer_name: "路人甲".into(),
            },
            &sample::signature_png(9),
        )
        .unwrap_err();
    assert!(err.message.contains("不是本任务的执法人员"));
    app.set_outcome(common::corrected(
        &task,
        "责令立即改正，处方须经医师签名后方可调剂。",
    ))
    .unwrap();
    // The party has not signed: the documents print blank lines, no error.
    let before = app.documents(&task).unwrap();
    assert!(before.demo && before.can_generate);
    assert!(before.documents.iter().all(|d| d.generated_at.is_none()));
    let err = app.document_pdf(&task, DocKindCode::Opinion).unwrap_err();
    assert_eq!(err.code, "not_generated");

    for kind in [
        DocKindCode::Record,
        DocKindCode::Opinion,
        DocKindCode::Evidence,
    ] {
        app.generate_document(&task, kind).unwrap();
    }
    let docs = app.documents(&task).unwrap();
    let opinion = docs
        .documents
        .iter()
        .find(|d| d.kind == DocKindCode::Opinion)
        .unwrap();
    let number = opinion.number.clone().unwrap();
    assert_eq!(number, "县卫监意字〔2024〕第0001号（演示）");
    assert!(docs.documents.iter().all(|d| d.pages >= 1));
    assert_eq!(docs.numbers_left, jiandu_app::documents::DEMO_BLOCK - 1);

    let unit = "仁和诊所";
    let opinion_pdf = app.document_path(&task, DocKindCode::Opinion).unwrap();
    let text = pdftotext(&opinion_pdf);
    assert!(text.contains(unit), "{text}");
    assert!(text.contains("县卫监意字〔2024〕第0001号"), "{text}");
    assert!(text.contains("处方须经医师签名"), "{text}");
    let record = pdftotext(&app.document_path(&task, DocKindCode::Record).unwrap());
    assert!(
        record.contains(unit) && record.contains("3张无医师签名"),
        "{record}"
    );
    let evidence = pdftotext(&app.document_path(&task, DocKindCode::Evidence).unwrap());
    assert!(evidence.contains("证据照片") && evidence.contains(unit));
    assert!(
        !evidence.contains(jiandu_docs::PHOTO_PLACEHOLDER),
        "{evidence}"
    );

    // Made again: the same number, none taken.
    app.generate_document(&task, DocKindCode::Opinion).unwrap();
    let again = app.documents(&task).unwrap();
    assert_eq!(again.documents[1].number.as_deref(), Some(number.as_str()));
    assert_eq!(again.numbers_left, docs.numbers_left);

    // A copy saved for the system viewer, never overwriting.
    let dest = h.path().join("下载");
    let a = app
        .export_document(&task, DocKindCode::Opinion, &dest)
        .unwrap();
    let b = app
        .export_document(&task, DocKindCode::Opinion, &dest)
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&opinion_pdf).unwrap()
    );
    assert!(a.file_name().unwrap().to_string_lossy().contains(unit));
}

#[test]
fn no_number_left_offline_asks_to_sync_and_a_leased_block_is_used() {
    // A device enrolled with a server (not 演示模式) with the demo's task.
    let demo = Harness::new();
    let app = demo_app(&demo);
    let task_id = started(&app);
    let (task, _) = app.task_for_bench(&task_id).unwrap();
    let profile = app.startup().profile.unwrap();
    drop(app);

    let h = Harness::new();
    let mut p = serde_json::to_value(&profile).unwrap();
    p["demo"] = false.into();
    p["server_url"] = "http://127.0.0.1:9".into();
    std::fs::write(
        h.path().join("profile.json"),
        serde_json::to_vec(&p).unwrap(),
    )
    .unwrap();
    let app = h.open();
    app.receive_tasks(std::slice::from_ref(&task)).unwrap();
    let _ = started(&app);
    let err = app
        .generate_document(&task_id, DocKindCode::Opinion)
        .unwrap_err();
    assert_eq!(err.code, "no_doc_number");
    assert!(err.message.contains("同步"), "{}", err.message);
    assert!(app.document_path(&task_id, DocKindCode::Opinion).is_err());
    // The record needs no number.
    app.generate_document(&task_id, DocKindCode::Record)
        .unwrap();

    // The sync engine leased a block: the next number of it is printed, not 演示.
    let (authority, year) = app
        .doc_number_series(&task, Utc.with_ymd_and_hms(2024, 6, 1, 2, 0, 0).unwrap())
        .unwrap();
    let db = h
        .path()
        .join("users")
        .join(&profile.user_id)
        .join("device.db");
    drop(app);
    {
        let mut store = jiandu_store::Store::open(&db).unwrap();
        store
            .add_doc_number_lease(
                &DocNumberLease {
                    authority,
                    year,
                    first: 31,
                    last: 40,
                },
                Utc::now(),
            )
            .unwrap();
    }
    let app = h.open();
    let docs = app
        .generate_document(&task_id, DocKindCode::Opinion)
        .unwrap();
    assert_eq!(
        docs.documents[1].number.as_deref(),
        Some("县卫监意字〔2024〕第0031号")
    );
    let text = pdftotext(&app.document_path(&task_id, DocKindCode::Opinion).unwrap());
    assert!(text.contains("县卫监意字〔2024〕第0031号"), "{text}");
    assert!(!text.contains("演示"));
}

#[test]
fn the_party_refuses_with_a_reason_and_a_witness_signs() {
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app);
    let err = app
        .record_refusal(
            RefusalInput {
                task_id: task.clone(),
                party_name: "王某".into(),
                reason: String::new(),
                witness_name: String::new(),
            },
            &[],
        )
        .unwrap_err();
    assert!(err.message.contains("原因"), "{}", err.message);
    let err = app
        .record_refusal(
            RefusalInput {
                task_id: task.clone(),
                party_name: "王某".into(),
                reason: "对检查结果有异议".into(),
                witness_name: "李见证".into(),
            },
            &[],
        )
        .unwrap_err();
    assert!(err.message.contains("见证人在屏幕上签名"));
    let view = app
        .record_refusal(
            RefusalInput {
                task_id: task.clone(),
                party_name: "王某".into(),
                reason: "对检查结果有异议".into(),
                witness_name: "李见证".into(),
            },
            &sample::signature_png(4),
        )
        .unwrap();
    let roles: Vec<(SignerRole, &str, Option<&str>)> = view
        .signatures
        .iter()
        .map(|s| (s.role, s.signer_name.as_str(), s.refusal_reason.as_deref()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (SignerRole::Party, "王某", Some("对检查结果有异议")),
            (SignerRole::Witness, "李见证", None),
        ]
    );
    app.generate_document(&task, DocKindCode::Record).unwrap();
    let text = pdftotext(&app.document_path(&task, DocKindCode::Record).unwrap());
    assert!(text.contains("拒绝签字"), "{text}");
    assert!(text.contains("对检查结果有异议"), "{text}");
    assert!(text.contains("李见证"), "{text}");
    // A signature that is no PNG is refused.
    let err = app
        .add_signature(
            SignatureInput {
                task_id: task.clone(),
                role: SignerRole::Party,
                signer_name: "王某".into(),
            },
            b"not a png",
        )
        .unwrap_err();
    assert!(err.message.contains("签名图片无效"));
}

#[test]
fn the_device_prints_what_the_platform_prints_from_the_originals() {
    // The platform holds only the original photos; the device prints its print copies
    // made at capture. Both go through jiandu_docs::archive: the PDFs must be equal.
    let h = Harness::new();
    let app = demo_app(&h);
    let task_id = started(&app);
    for seed in 0..3 {
        app.add_photo(
            photo_input(&task_id, "med.3.1"),
            &sample::photo_jpeg(2400, 1800, seed),
        )
        .unwrap();
    }
    app.add_signature(
        SignatureInput {
            task_id: task_id.clone(),
            role: SignerRole::Party,
            signer_name: "王某".into(),
        },
        &sample::signature_png(2),
    )
    .unwrap();
    app.generate_document(&task_id, DocKindCode::Evidence)
        .unwrap();
    app.generate_document(&task_id, DocKindCode::Record)
        .unwrap();
    let device_evidence = app.document_pdf(&task_id, DocKindCode::Evidence).unwrap();
    let device_record = app.document_pdf(&task_id, DocKindCode::Record).unwrap();
    let (task, _) = app.task_for_bench(&task_id).unwrap();
    let user = app.startup().profile.unwrap().user_id;
    drop(app);

    let store =
        jiandu_store::Store::open(h.path().join("users").join(user).join("device.db")).unwrap();
    let insp = store
        .load_inspection(store.inspection_for_task(task.id).unwrap().unwrap())
        .unwrap();
    let photos: Vec<jiandu_core::protocol::PhotoRecord> = store
        .list_photos(insp.id)
        .unwrap()
        .iter()
        .map(|p| serde_json::from_value(serde_json::to_value(p).unwrap()).unwrap())
        .collect();
    let signatures = store.list_signatures(insp.id).unwrap();
    let mut originals = std::collections::HashMap::new();
    for p in &photos {
        originals.insert(
            p.sha256.clone(),
            std::fs::read(store.photo_path(p.id)).unwrap(),
        );
    }
    for s in &signatures {
        if let Some(h) = &s.image_sha256 {
            originals.insert(
                h.clone(),
                std::fs::read(store.signature_path(s.id)).unwrap(),
            );
        }
    }
    let files = |sha: &str| originals.get(sha).cloned();
    let set = fixture_templates();
    let checklist = set
        .plan(&task.plan_id)
        .unwrap()
        .checklist(&task.checklist)
        .unwrap();
    let input = jiandu_docs::archive::ArchiveInput {
        checklist,
        task: &task,
        inspection: &insp,
        photos: &photos,
        signatures: &signatures,
        authority: jiandu_app::documents::DOCUMENT_AUTHORITY,
        opinion_number: "",
    };
    let platform_evidence =
        jiandu_docs::render_evidence(&jiandu_docs::archive::evidence(&input, &files)).unwrap();
    let platform_record =
        jiandu_docs::render_record(&jiandu_docs::archive::record(&input, &files)).unwrap();
    assert!(
        device_evidence == platform_evidence,
        "evidence sheets differ"
    );
    assert!(device_record == platform_record, "records differ");
}

/// A long operation cancelled midway (the person taps 取消 as its progress shows):
/// the export leaves no folder, hidden or not; the evidence sheet is not written;
/// both answer `cancelled`. Run again without cancelling, both complete.
#[test]
fn cancelled_exports_and_documents_leave_nothing_half_written() {
    let h = Harness::new();
    let app = std::sync::Arc::new(demo_app(&h));
    let task = started(&app);
    for seed in 1..=3 {
        app.add_photo(
            photo_input(&task, "med.3.1"),
            &sample::photo_jpeg(800, 600, seed),
        )
        .unwrap();
    }
    // Cancels its own run at the first report of `label`; keeps every report.
    let cancelling = |id: &str, label: &'static str| {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (app2, id2, log) = (
            std::sync::Arc::clone(&app),
            id.to_owned(),
            std::sync::Arc::clone(&seen),
        );
        let job = app.start_job(id, move |p| {
            if p.label == label {
                app2.cancel_job(&id2).unwrap();
            }
            log.lock().unwrap().push(p);
        });
        (job, seen)
    };

    let downloads = tempfile::tempdir().unwrap();
    let (job, seen) = cancelling("export-1", "正在复制照片、签名和文书");
    let e = app.export_data(downloads.path(), &job).unwrap_err();
    assert_eq!(e.code, "cancelled");
    let reports = seen.lock().unwrap().clone();
    assert_eq!(reports[0].label, "正在复制数据库", "{reports:?}");
    assert_eq!(
        reports[1].total, 3,
        "the three original photos to copy: {reports:?}"
    );
    assert_eq!(
        std::fs::read_dir(downloads.path()).unwrap().count(),
        0,
        "no folder left behind, hidden or not"
    );
    drop(job);
    let done = app
        .export_data(downloads.path(), &jiandu_app::jobs::Job::none())
        .unwrap();
    assert!(Path::new(&done.path).is_dir());

    let (job, seen) = cancelling("evidence-1", "正在读取照片");
    let e = app
        .generate_document_with(&task, DocKindCode::Evidence, &job)
        .unwrap_err();
    assert_eq!(e.code, "cancelled");
    assert_eq!(seen.lock().unwrap()[0].total, 3, "three photos to read");
    let evidence = |app: &App| {
        app.documents(&task)
            .unwrap()
            .documents
            .into_iter()
            .find(|d| d.kind == DocKindCode::Evidence)
            .unwrap()
    };
    assert!(evidence(&app).generated_at.is_none(), "nothing written");
    assert!(
        files_under(h.path())
            .iter()
            .all(|p| !p.ends_with("evidence.pdf")),
        "no PDF on the device"
    );
    drop(job);
    app.generate_document(&task, DocKindCode::Evidence).unwrap();
    assert!(evidence(&app).generated_at.is_some());
}
