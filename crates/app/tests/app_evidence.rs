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
    // The opinion is the draft from the findings (stored when first printed).
    assert!(text.contains("3张无医师签名"), "{text}");
    assert!(
        app.opinion(&task).unwrap().confirmed,
        "what is printed is stored"
    );
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
        correction_days: set.plan(&task.plan_id).unwrap().correction_days(),
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

/// Whitespace removed: pdftotext breaks long lines where the PDF does.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn non_compliant(app: &App, task: &str, point: &str, observation: &str) {
    app.answer(AnswerInput {
        task_id: task.into(),
        point: point.into(),
        verdict: VerdictCode::NonCompliant,
    })
    .unwrap();
    app.set_observation(ObservationInput {
        task_id: task.into(),
        point: point.into(),
        observation: observation.into(),
    })
    .unwrap();
}

/// Issue 13 item 6: the 意见书 of an inspection with two 不符合 points prints the
/// drafted problems numbered, with their observations and legal bases, the deadline
/// picked and the requirements, never a penalty figure (另案处理 instead); what is
/// printed is what is stored, and printed again after an edit it prints the edit.
#[test]
fn the_opinion_is_drafted_edited_and_printed_as_stored() {
    use jiandu_app::opinion::OpinionInput;
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app); // med.3.1 不符合: 抽查处方20张，其中3张无医师签名。
    let second = app
        .checklist(&task)
        .unwrap()
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .rev()
        .find(|p| p.applicable && p.code != "med.3.1")
        .unwrap()
        .code
        .clone();
    non_compliant(&app, &task, &second, "门诊日志未登记患者住址。");
    app.set_outcome(OutcomeInput {
        category: PublicCategoryCode::Penalised,
        cases: 1,
        fine_yuan: "5000".into(),
        ..common::corrected(&task, "")
    })
    .unwrap();

    // The draft: both points, in checklist order, with their observations.
    let draft = app.opinion(&task).unwrap();
    assert!(!draft.confirmed);
    assert!(draft.separate_case);
    assert_eq!(draft.problems.len(), 2, "{draft:?}");
    assert_eq!(draft.problems[0].point.as_deref(), Some("med.3.1"));
    assert!(draft.problems[0].text.contains("3张无医师签名"));
    assert!(draft.problems[1].text.contains("门诊日志未登记患者住址"));
    let day = chrono::NaiveDate::parse_from_str(draft.inspected_on.as_deref().unwrap(), "%Y-%m-%d")
        .unwrap();
    let default_deadline = day + chrono::Duration::days(i64::from(draft.correction_days));
    assert_eq!(draft.correction_days, 15);
    assert_eq!(
        draft.deadline.as_deref(),
        Some(default_deadline.format("%Y-%m-%d").to_string().as_str())
    );

    // The inspector fills the bases, picks another date and writes requirements.
    let deadline = day + chrono::Duration::days(20);
    let mut input = OpinionInput {
        task_id: task.clone(),
        problems: draft.problems.clone(),
        deadline: Some(deadline.format("%Y-%m-%d").to_string()),
        requirements: String::new(),
    };
    input.problems[0].basis = "《处方管理办法》第三十七条".into();
    input.problems[1].basis = "《医疗机构管理条例实施细则》第五十三条".into();
    let err = app.save_opinion(input.clone()).unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("opinion_invalid", "请填写改正要求")
    );
    let early = OpinionInput {
        deadline: Some(
            (day - chrono::Duration::days(1))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        requirements: "整改".into(),
        ..input.clone()
    };
    let err = app.save_opinion(early).unwrap_err();
    assert!(err.message.contains("不能早于检查日期"), "{}", err.message);
    input.requirements = "建立处方审核制度，处方须经医师签名后方可调剂。".into();
    let saved = app.save_opinion(input.clone()).unwrap();
    assert!(saved.confirmed && !saved.findings_changed);

    app.generate_document(&task, DocKindCode::Opinion).unwrap();
    let text = squash(&pdftotext(
        &app.document_path(&task, DocKindCode::Opinion).unwrap(),
    ));
    let cn_deadline = format!(
        "{}年{}月{}日",
        chrono::Datelike::year(&deadline),
        chrono::Datelike::month(&deadline),
        chrono::Datelike::day(&deadline)
    );
    for want in [
        "经检查，你单位存在以下问题：".to_owned(),
        format!(
            "一、{}。",
            squash(input.problems[0].text.trim_end_matches('。'))
        ),
        "违反了《处方管理办法》第三十七条的规定。".to_owned(),
        format!(
            "二、{}。",
            squash(input.problems[1].text.trim_end_matches('。'))
        ),
        "违反了《医疗机构管理条例实施细则》第五十三条的规定。".to_owned(),
        format!("责令你单位于{cn_deadline}前改正上述问题。"),
        "改正要求：建立处方审核制度，处方须经医师签名后方可调剂。".to_owned(),
        jiandu_docs::SEPARATE_CASE_TEXT.to_owned(),
    ] {
        assert!(text.contains(&want), "{want} not in {text}");
    }
    for figure in ["5000", "罚没", "查处案件", "元"] {
        assert!(
            !text.contains(figure),
            "penalty figure {figure:?} in {text}"
        );
    }

    // Edited again and printed again: the edit is what prints.
    input.problems[1].text = "门诊日志未按规定登记患者住址等信息".into();
    input.requirements = "七日内完善门诊日志登记。".into();
    app.save_opinion(input.clone()).unwrap();
    app.generate_document(&task, DocKindCode::Opinion).unwrap();
    let again = squash(&pdftotext(
        &app.document_path(&task, DocKindCode::Opinion).unwrap(),
    ));
    assert!(
        again.contains("二、门诊日志未按规定登记患者住址等信息。"),
        "{again}"
    );
    assert!(
        again.contains("改正要求：七日内完善门诊日志登记。"),
        "{again}"
    );
    assert!(!again.contains("建立处方审核制度"), "{again}");
    assert_eq!(
        app.opinion(&task).unwrap().requirements,
        "七日内完善门诊日志登记。"
    );
}

/// Issue 13 item 7: the 现场笔录 prints the 记录人 chosen among the inspectors, the
/// party's answer on 回避 with its reason, the 在场人 with their posts and the
/// inspectors' signing dates; each is checked with a Chinese message.
#[test]
fn the_record_prints_recorder_recusal_present_persons_and_signing_dates() {
    use jiandu_app::opinion::{PresentPersonView, RecordDetailsInput};
    let h = Harness::new();
    let app = demo_app(&h);
    let task = started(&app);
    let view = app.record_details(&task).unwrap();
    assert!(view.recorder.is_none() && view.recusal_requested.is_none());
    let recorder = view.inspectors[1].clone();
    let input = RecordDetailsInput {
        task_id: task.clone(),
        recorder: recorder.user_id.clone(),
        recusal_requested: true,
        recusal_reason: " ".into(),
        present: vec![PresentPersonView {
            name: "王建国".into(),
            post: "诊所负责人".into(),
        }],
    };
    let err = app.save_record_details(input.clone()).unwrap_err();
    assert_eq!(err.message, "当事人申请回避时，请填写申请理由");
    let err = app
        .save_record_details(RecordDetailsInput {
            recorder: uuid::Uuid::from_u128(999).to_string(),
            recusal_requested: false,
            ..input.clone()
        })
        .unwrap_err();
    assert_eq!(err.message, "记录人须是本任务的执法人员之一");
    let err = app
        .save_record_details(RecordDetailsInput {
            recusal_requested: false,
            present: vec![PresentPersonView {
                name: "王建国".into(),
                post: "".into(),
            }],
            ..input.clone()
        })
        .unwrap_err();
    assert_eq!(err.message, "第 1 位在场人的职务不能为空");

    let saved = app
        .save_record_details(RecordDetailsInput {
            recusal_reason: "认为执法人员与本单位有利害关系".into(),
            present: vec![
                PresentPersonView {
                    name: "王建国".into(),
                    post: "诊所负责人".into(),
                },
                PresentPersonView {
                    name: "刘芳".into(),
                    post: "护士".into(),
                },
            ],
            ..input.clone()
        })
        .unwrap();
    assert_eq!(saved.recorder.as_deref(), Some(recorder.user_id.as_str()));
    assert_eq!(saved.recusal_requested, Some(true));

    let sigs = app.signatures(&task).unwrap();
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
    app.generate_document(&task, DocKindCode::Record).unwrap();
    let text = squash(&pdftotext(
        &app.document_path(&task, DocKindCode::Record).unwrap(),
    ));
    let day = chrono::NaiveDate::parse_from_str(
        app.opinion(&task).unwrap().inspected_on.as_deref().unwrap(),
        "%Y-%m-%d",
    )
    .unwrap();
    let cn_day = format!(
        "{}年{}月{}日",
        chrono::Datelike::year(&day),
        chrono::Datelike::month(&day),
        chrono::Datelike::day(&day)
    );
    for want in [
        format!("记录人：{}", recorder.name),
        "在场人：王建国（诊所负责人）、刘芳（护士）".to_owned(),
        "回避：被检查人申请回避，理由：认为执法人员与本单位有利害关系".to_owned(),
    ] {
        assert!(text.contains(&want), "{want} not in {text}");
    }
    // Each inspector's signing date under their name (one row of two signatures:
    // the layout reads both names, then both dates).
    let signed = text.split("执法人员（签名）").nth(1).unwrap();
    for inspector in &sigs.inspectors {
        assert!(
            signed.contains(&format!("（{}）", inspector.name)),
            "{signed}"
        );
    }
    assert_eq!(signed.matches(&cn_day).count(), 2, "{signed}");

    // Changed: 不申请, and printed again.
    app.save_record_details(RecordDetailsInput {
        recusal_requested: false,
        recusal_reason: String::new(),
        present: vec![],
        ..input
    })
    .unwrap();
    app.generate_document(&task, DocKindCode::Record).unwrap();
    let text = squash(&pdftotext(
        &app.document_path(&task, DocKindCode::Record).unwrap(),
    ));
    assert!(text.contains("回避：被检查人不申请回避。"), "{text}");
    assert!(text.contains("在场人：无"), "{text}");
}
