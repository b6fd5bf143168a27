//! Device store: the rules of jiandu-core applied on a real SQLite file, the outbox
//! and audit log written with every change, photos and signatures, the task list.

use jiandu_core::{
    Fen, InspectionStatus, Outcome, Penalty, PublicCategory, SignatureRole, Verdict,
};
use jiandu_store::{
    Answer, FileIntegrity, FileSource, GeoPoint, PhotoMeta, Review, SequentialIds, Store,
    TaskFilter, Witness,
};
use jiandu_tests::store_fixtures::{inspector, jpeg, png, points, t, task, team_lead, templates};
use uuid::Uuid;

type R = Result<(), Box<dyn std::error::Error>>;

fn open(dir: &tempfile::TempDir) -> Store {
    let mut store = Store::open(dir.path().join("device.db")).expect("a new store opens");
    store.set_id_source(Box::new(SequentialIds::new(1_746_000_000_000)));
    store
}

fn photo_meta(secs: i64) -> PhotoMeta {
    PhotoMeta {
        taken_at: t(secs),
        location: Some(GeoPoint {
            lat: 37.87,
            lon: 112.55,
        }),
        mime: "image/jpeg".into(),
    }
}

/// A started inspection of a hospital task; returns (task id, inspection id).
fn started(store: &mut Store, task_no: u128) -> (Uuid, Uuid) {
    let task_id = Uuid::from_u128(task_no);
    store
        .upsert_task(&task(task_id, "太原市测试医院", "hospital"), t(0))
        .expect("task stored");
    let saved = store
        .start_inspection(task_id, "太原市小店区测试路1号", &inspector(1), t(10))
        .expect("inspection starts");
    (task_id, saved.inspection_id)
}

fn answer(point: &str, verdict: Verdict) -> Answer<'_> {
    Answer {
        point,
        verdict,
        observation: "",
    }
}

#[test]
fn a_whole_inspection_round_trips_with_outbox_and_audit() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (task_id, insp) = started(&mut store, 1);
    let pts = points(&tpl, "hospital");
    assert_eq!(pts.len(), 60, "fixture: a hospital answers 60 points");

    // All compliant except one 不符合 with an observation and a photo.
    let answers: Vec<Answer<'_>> = pts[1..]
        .iter()
        .map(|p| answer(p, Verdict::Compliant))
        .collect();
    store.record_findings(&tpl, insp, &answers, &inspector(2), t(20))?;
    let bad = store.record_finding(
        &tpl,
        insp,
        Answer {
            point: &pts[0],
            verdict: Verdict::NonCompliant,
            observation: "处方未注明患者年龄",
        },
        &inspector(1),
        t(30),
    )?;
    let photo_bytes = jpeg(40_000, 7);
    let photo = store.add_photo(
        insp,
        Some(bad.id),
        FileSource::Bytes(&photo_bytes),
        &photo_meta(31),
        &inspector(1),
        t(32),
    )?;
    let outcome = Outcome {
        category: PublicCategory::Penalised,
        penalty: Some(Penalty {
            cases: 1,
            fine: Fen(500_000),
            ..Penalty::default()
        }),
        opinion: Some("责令立即改正".into()),
        unreachable_reason: None,
    };
    store.set_outcome(insp, &outcome, &inspector(1), t(40))?;
    let submitted = store.submit(&tpl, insp, &inspector(1), t(50))?;

    let loaded = store.load_inspection(insp)?;
    assert_eq!(loaded.status, InspectionStatus::Submitted);
    assert_eq!(loaded.task_id, task_id);
    assert_eq!(loaded.findings.len(), 60, "every point answered once");
    assert_eq!(
        loaded.outcome.as_ref(),
        Some(&outcome),
        "outcome incl. fine in fen"
    );
    assert_eq!(loaded.started_at, Some(t(10)));
    assert_eq!(loaded.ended_at, Some(t(50)));
    let f0 = loaded
        .findings
        .iter()
        .find(|f| f.point == pts[0])
        .expect("the 不符合 finding is stored");
    assert_eq!(
        f0.photo_ids,
        vec![photo.id],
        "the photo is attached to its finding"
    );
    assert_eq!(f0.observation, "处方未注明患者年龄");
    assert_eq!(f0.recorded_by, inspector(1).user_id);

    // Outbox: start + 59 + 1 findings + photo + outcome + submit, gapless from 1.
    let stats = store.outbox_stats()?;
    assert_eq!(stats.entries, 1 + 59 + 1 + 1 + 1 + 1);
    assert_eq!(
        (stats.min_seq, stats.max_seq),
        (1, stats.entries),
        "gapless"
    );
    assert_eq!(
        stats.last_device_seq, stats.max_seq,
        "counter matches the log"
    );
    assert_eq!(submitted.device_seq, stats.max_seq);
    assert_eq!(
        submitted.version, loaded.version,
        "Saved reports the new version"
    );
    let pending = store.pending_outbox(1000)?;
    let seqs: Vec<i64> = pending.iter().map(|e| e.device_seq).collect();
    assert_eq!(
        seqs,
        (1..=stats.entries).collect::<Vec<_>>(),
        "pushed in order"
    );
    let photo_entry = store.outbox_entry(photo.device_seq)?.expect("photo entry");
    assert_eq!(
        (photo_entry.entity.as_str(), photo_entry.op.as_str()),
        ("photo", "create")
    );
    assert_eq!(
        photo_entry.payload["sha256"].as_str().map(str::len),
        Some(64)
    );
    let versions: Vec<Option<u64>> = pending.iter().map(|e| e.base_version).collect();
    assert_eq!(versions[0], Some(0), "start was made on version 0");
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "each change was made on the version the previous one produced: {versions:?}"
    );

    // Audit: who and when, before and after.
    let trail = store.audit_trail(bad.id)?;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].user_id, Some(inspector(1).user_id));
    assert_eq!(trail[0].at, t(30));
    assert!(trail[0].before.is_none(), "a creation has no before");
    assert_eq!(
        trail[0].after.as_ref().expect("after")["verdict"],
        "non_compliant"
    );
    Ok(())
}

#[test]
fn changing_an_answer_keeps_the_finding_and_its_history() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (_, insp) = started(&mut store, 1);
    let first = store.record_finding(
        &tpl,
        insp,
        answer("fx.2.1", Verdict::Compliant),
        &inspector(1),
        t(20),
    )?;
    let photo = store.add_photo(
        insp,
        Some(first.id),
        FileSource::Bytes(&jpeg(1000, 1)),
        &photo_meta(21),
        &inspector(1),
        t(21),
    )?;
    let second = store.record_finding(
        &tpl,
        insp,
        Answer {
            point: "fx.2.1",
            verdict: Verdict::NonCompliant,
            observation: "消毒记录缺失",
        },
        &inspector(2),
        t(30),
    )?;
    assert_eq!(
        first.id, second.id,
        "same point: same finding, replaced not duplicated"
    );
    let loaded = store.load_inspection(insp)?;
    assert_eq!(loaded.findings.len(), 1, "UNIQUE (inspection, point)");
    assert_eq!(loaded.findings[0].verdict, Verdict::NonCompliant);
    assert_eq!(
        loaded.findings[0].photo_ids,
        vec![photo.id],
        "photos survive a new answer"
    );
    let trail = store.audit_trail(first.id)?;
    assert_eq!(trail.len(), 2, "both answers are in the audit log");
    assert_eq!(
        trail[1].before.as_ref().expect("before")["verdict"],
        "compliant"
    );
    assert_eq!(
        trail[1].after.as_ref().expect("after")["verdict"],
        "non_compliant"
    );
    assert_eq!(trail[1].user_id, Some(inspector(2).user_id));
    Ok(())
}

#[test]
fn unknown_point_and_unknown_category_are_refused_clearly() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (_, insp) = started(&mut store, 1);
    let before = store.outbox_stats()?;

    let err = store
        .record_finding(
            &tpl,
            insp,
            answer("fx.99.1", Verdict::Compliant),
            &inspector(1),
            t(20),
        )
        .expect_err("a point that is not in the checklist");
    assert_eq!(err.code(), "unknown_point");
    assert!(
        err.to_string().contains("fx.99.1"),
        "names the point: {err}"
    );

    // A 村卫生室 answers item 10 only: item 1 is out of its scope.
    let village = Uuid::from_u128(2);
    store.upsert_task(&task(village, "某村卫生室", "village_clinic"), t(0))?;
    let v = store
        .start_inspection(village, "某村", &inspector(1), t(10))?
        .inspection_id;
    let err = store
        .record_finding(
            &tpl,
            v,
            answer("fx.1.1", Verdict::Compliant),
            &inspector(1),
            t(20),
        )
        .expect_err("a point out of the category's scope");
    assert_eq!(err.code(), "unknown_point");
    store.record_finding(
        &tpl,
        v,
        answer("fx.10.1", Verdict::Compliant),
        &inspector(1),
        t(21),
    )?;

    // A category the catalogue does not know.
    let odd = Uuid::from_u128(3);
    store.upsert_task(&task(odd, "某单位", "spaceport"), t(0))?;
    let o = store
        .start_inspection(odd, "某地", &inspector(1), t(10))?
        .inspection_id;
    let err = store
        .record_finding(
            &tpl,
            o,
            answer("fx.10.1", Verdict::Compliant),
            &inspector(1),
            t(20),
        )
        .expect_err("unknown category");
    assert_eq!(err.code(), "unknown_category");
    assert!(err.to_string().contains("spaceport"), "{err}");

    // A known category this checklist does not draw.
    let other = Uuid::from_u128(4);
    store.upsert_task(&task(other, "某美容店", "non_medical"), t(0))?;
    let n = store
        .start_inspection(other, "某地", &inspector(1), t(10))?
        .inspection_id;
    let err = store
        .record_finding(
            &tpl,
            n,
            answer("fx.10.1", Verdict::Compliant),
            &inspector(1),
            t(20),
        )
        .expect_err("category not in the checklist");
    assert_eq!(err.code(), "category_not_in_checklist");

    // Refusals wrote nothing: only the three starts and the one good answer.
    let after = store.outbox_stats()?;
    assert_eq!(after.entries, before.entries + 3 + 1);
    Ok(())
}

#[test]
fn rare_characters_and_a_100_kb_observation_are_stored_intact() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (_, insp) = started(&mut store, 1);
    let rare = "𠀀㐀𪚥 龘 👩‍⚕️💉 ﬁ é\u{301} \u{200d} 〇 \"引号\" 'x' ; DROP TABLE findings; --";
    let long: String = "现场检查发现处方未注明患者年龄𠀀😀。".repeat(100_000 / 20 + 1);
    assert!(long.len() > 100_000, "more than 100 KB of UTF-8");
    store.record_finding(
        &tpl,
        insp,
        Answer {
            point: "fx.1.1",
            verdict: Verdict::NonCompliant,
            observation: rare,
        },
        &inspector(1),
        t(20),
    )?;
    store.record_finding(
        &tpl,
        insp,
        Answer {
            point: "fx.1.2",
            verdict: Verdict::NonCompliant,
            observation: &long,
        },
        &inspector(1),
        t(21),
    )?;
    drop(store);
    let store = open(&dir);
    let loaded = store.load_inspection(insp)?;
    assert_eq!(
        loaded.findings[0].observation, rare,
        "byte-for-byte after reopen"
    );
    assert_eq!(
        loaded.findings[1].observation, long,
        "100 KB intact after reopen"
    );
    let task = store.task(loaded.task_id)?;
    assert_eq!(task.institution.name, "太原市测试医院");

    // The limit of core still applies: a runaway paste is refused.
    let mut store = store;
    let huge = "字".repeat(jiandu_core::inspection::MAX_OBSERVATION_CHARS + 1);
    let err = store
        .record_finding(
            &tpl,
            insp,
            Answer {
                point: "fx.1.3",
                verdict: Verdict::NonCompliant,
                observation: &huge,
            },
            &inspector(1),
            t(22),
        )
        .expect_err("too long");
    assert_eq!(err.code(), "too_long");
    Ok(())
}

#[test]
fn after_approval_every_edit_is_refused_as_locked_and_nothing_changes() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (task_id, insp) = started(&mut store, 1);
    let pts = points(&tpl, "hospital");
    let answers: Vec<Answer<'_>> = pts.iter().map(|p| answer(p, Verdict::Compliant)).collect();
    let saved = store.record_findings(&tpl, insp, &answers, &inspector(1), t(20))?;
    let photo = store.add_photo(
        insp,
        Some(saved[0].id),
        FileSource::Bytes(&jpeg(500, 3)),
        &photo_meta(21),
        &inspector(1),
        t(21),
    )?;
    let outcome = Outcome {
        category: PublicCategory::NoProblem,
        penalty: None,
        opinion: None,
        unreachable_reason: None,
    };
    store.set_outcome(insp, &outcome, &inspector(1), t(30))?;
    let submitted = store.submit(&tpl, insp, &inspector(1), t(40))?;
    store.apply_review(
        insp,
        &Review {
            status: InspectionStatus::Approved,
            version: submitted.version + 1,
            comment: None,
            reviewed_by: team_lead().user_id,
        },
        t(50),
    )?;

    let snapshot = |s: &Store| {
        (
            s.load_inspection(insp).expect("loads"),
            s.outbox_stats().expect("stats"),
            s.audit_len().expect("audit"),
            s.list_photos(insp).expect("photos"),
            std::fs::read_dir(s.data_dir().join("photos"))
                .expect("dir")
                .count(),
        )
    };
    let before = snapshot(&store);
    assert_eq!(before.0.status, InspectionStatus::Approved);

    let attempts: Vec<(&str, jiandu_store::StoreError)> = vec![
        (
            "record_finding",
            store
                .record_finding(
                    &tpl,
                    insp,
                    answer(&pts[0], Verdict::NonCompliant),
                    &inspector(1),
                    t(60),
                )
                .expect_err("locked"),
        ),
        (
            "set_outcome",
            store
                .set_outcome(insp, &outcome, &inspector(1), t(60))
                .expect_err("locked"),
        ),
        (
            "submit",
            store
                .submit(&tpl, insp, &inspector(1), t(60))
                .expect_err("locked"),
        ),
        (
            "mark_unreachable",
            store
                .mark_unreachable(task_id, "已关闭", &inspector(1), t(60))
                .expect_err("locked"),
        ),
        (
            "start",
            store
                .start_inspection(task_id, "别处", &inspector(1), t(60))
                .expect_err("locked"),
        ),
        (
            "add_photo",
            store
                .add_photo(
                    insp,
                    None,
                    FileSource::Bytes(&jpeg(500, 4)),
                    &photo_meta(60),
                    &inspector(1),
                    t(60),
                )
                .expect_err("locked"),
        ),
        (
            "void_photo",
            store
                .void_photo(photo.id, "拍错了", &inspector(1), t(60))
                .expect_err("locked"),
        ),
        (
            "add_signature",
            store
                .add_signature(
                    insp,
                    SignatureRole::Party,
                    "张三",
                    FileSource::Bytes(&png(100, 1)),
                    &inspector(1),
                    t(60),
                )
                .expect_err("locked"),
        ),
        (
            "record_refusal",
            store
                .record_refusal(insp, "张三", "拒绝", None, &inspector(1), t(60))
                .expect_err("locked"),
        ),
    ];
    for (what, err) in &attempts {
        assert_eq!(err.code(), "locked", "{what}: {err}");
        assert_eq!(err.to_string(), "该检查已审核通过，不能再修改", "{what}");
    }
    assert_eq!(
        snapshot(&store),
        before,
        "nothing changed: rows, outbox, audit, files"
    );
    Ok(())
}

#[test]
fn only_assigned_inspectors_edit_and_submission_needs_a_complete_inspection() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (task_id, insp) = started(&mut store, 1);
    let err = store
        .record_finding(
            &tpl,
            insp,
            answer("fx.1.1", Verdict::Compliant),
            &inspector(3),
            t(20),
        )
        .expect_err("inspector 3 is not assigned");
    assert_eq!(err.code(), "forbidden");
    let err = store
        .start_inspection(task_id, "x", &team_lead(), t(20))
        .expect_err("a team lead does not inspect");
    assert_eq!(err.code(), "forbidden");

    store.record_finding(
        &tpl,
        insp,
        answer("fx.1.1", Verdict::NonCompliant),
        &inspector(1),
        t(20),
    )?;
    let err = store
        .submit(&tpl, insp, &inspector(1), t(30))
        .expect_err("59 unanswered");
    assert_eq!(err.code(), "unanswered");
    let pts = points(&tpl, "hospital");
    let rest: Vec<Answer<'_>> = pts[1..]
        .iter()
        .map(|p| answer(p, Verdict::Compliant))
        .collect();
    store.record_findings(&tpl, insp, &rest, &inspector(1), t(31))?;
    let err = store
        .submit(&tpl, insp, &inspector(1), t(32))
        .expect_err("no observation");
    assert_eq!(err.code(), "observation_missing");
    store.record_finding(
        &tpl,
        insp,
        Answer {
            point: "fx.1.1",
            verdict: Verdict::NonCompliant,
            observation: "无消毒记录",
        },
        &inspector(1),
        t(33),
    )?;
    let err = store
        .submit(&tpl, insp, &inspector(1), t(34))
        .expect_err("no outcome");
    assert_eq!(err.code(), "outcome_missing");
    let no_problem = Outcome {
        category: PublicCategory::NoProblem,
        penalty: None,
        opinion: None,
        unreachable_reason: None,
    };
    store.set_outcome(insp, &no_problem, &inspector(1), t(35))?;
    let err = store
        .submit(&tpl, insp, &inspector(1), t(36))
        .expect_err("inconsistent");
    assert_eq!(err.code(), "outcome_inconsistent");
    let bad_penalty = Outcome {
        category: PublicCategory::Penalised,
        penalty: Some(Penalty {
            cases: 1,
            fine: Fen(-1),
            ..Penalty::default()
        }),
        opinion: None,
        unreachable_reason: None,
    };
    let err = store
        .set_outcome(insp, &bad_penalty, &inspector(1), t(37))
        .expect_err("negative fine");
    assert_eq!(err.code(), "outcome_inconsistent");
    let corrected = Outcome {
        category: PublicCategory::Corrected,
        ..no_problem
    };
    store.set_outcome(insp, &corrected, &inspector(1), t(38))?;
    let s = store.submit(&tpl, insp, &inspector(1), t(39))?;

    // Returned with comments: editable again, and the next submission is 再次提交.
    store.apply_review(
        insp,
        &Review {
            status: InspectionStatus::Returned,
            version: s.version + 1,
            comment: Some("请补充照片".into()),
            reviewed_by: team_lead().user_id,
        },
        t(40),
    )?;
    let loaded = store.load_inspection(insp)?;
    assert_eq!(loaded.review_comment.as_deref(), Some("请补充照片"));
    store.add_photo(
        insp,
        None,
        FileSource::Bytes(&jpeg(800, 9)),
        &photo_meta(41),
        &inspector(2),
        t(41),
    )?;
    store.submit(&tpl, insp, &inspector(1), t(42))?;
    assert_eq!(
        store.load_inspection(insp)?.status,
        InspectionStatus::Resubmitted
    );
    Ok(())
}

#[test]
fn photos_are_written_once_verified_and_voided_never_deleted() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let (_, insp) = started(&mut store, 1);
    let f = store.record_finding(
        &tpl,
        insp,
        answer("fx.1.1", Verdict::NonCompliant),
        &inspector(1),
        t(20),
    )?;

    // From a source file (the camera's own temporary file): copied, not moved.
    let src = dir.path().join("camera-tmp.jpg");
    let bytes = jpeg(123_456, 5);
    std::fs::write(&src, &bytes)?;
    let p = store.add_photo(
        insp,
        Some(f.id),
        FileSource::Path(&src),
        &photo_meta(21),
        &inspector(1),
        t(22),
    )?;
    assert!(src.exists(), "the source is left where it was");
    assert_eq!(
        std::fs::read(store.photo_path(p.id))?,
        bytes,
        "stored copy is exact"
    );
    let rec = store.photo(p.id)?;
    assert_eq!(rec.size_bytes, 123_456);
    assert_eq!(
        rec.location,
        Some(GeoPoint {
            lat: 37.87,
            lon: 112.55
        })
    );
    assert_eq!(rec.taken_at, t(21));
    assert_eq!(store.verify_photo(p.id)?, FileIntegrity::Intact);
    let uploads = store.pending_uploads()?;
    assert_eq!(
        uploads.len(),
        1,
        "queued for upload in the same transaction"
    );
    assert_eq!(uploads[0].blob_id, p.id);

    // Truncation is detected by re-hashing against the recorded size and SHA-256.
    let path = store.photo_path(p.id);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)?
        .set_len(1000)?;
    assert_eq!(
        store.verify_photo(p.id)?,
        FileIntegrity::SizeMismatch {
            expected: 123_456,
            actual: 1000
        }
    );
    let mut same_size = bytes.clone();
    same_size[5000] ^= 0xFF;
    std::fs::write(&path, &same_size)?;
    assert!(matches!(
        store.verify_photo(p.id)?,
        FileIntegrity::HashMismatch { .. }
    ));
    std::fs::remove_file(&path)?;
    assert_eq!(store.verify_photo(p.id)?, FileIntegrity::Missing);

    // Voiding needs a reason, keeps the row and the file, and detaches the photo.
    let q = store.add_photo(
        insp,
        Some(f.id),
        FileSource::Bytes(&jpeg(2000, 6)),
        &photo_meta(30),
        &inspector(1),
        t(30),
    )?;
    let err = store
        .void_photo(q.id, "  ", &inspector(1), t(31))
        .expect_err("no reason");
    assert_eq!(err.code(), "empty");
    store.void_photo(q.id, "拍错了对象", &inspector(2), t(32))?;
    let voided = store.photo(q.id)?;
    assert_eq!(voided.void_reason.as_deref(), Some("拍错了对象"));
    assert_eq!(voided.voided_by, Some(inspector(2).user_id));
    assert_eq!(voided.voided_at, Some(t(32)));
    assert!(
        store.photo_path(q.id).exists(),
        "a voided photo's file stays"
    );
    assert_eq!(store.verify_photo(q.id)?, FileIntegrity::Intact);
    let f_loaded = store.load_inspection(insp)?.findings.remove(0);
    assert_eq!(
        f_loaded.photo_ids,
        vec![p.id],
        "voided photo no longer evidence"
    );
    assert_eq!(store.list_photos(insp)?.len(), 2, "but still listed");
    let err = store
        .void_photo(q.id, "再次", &inspector(1), t(33))
        .expect_err("twice");
    assert_eq!(err.code(), "already_voided");

    // Bad input: wrong type, empty, too large, bad coordinates, foreign finding.
    let not_jpeg = png(100, 1);
    let err = store
        .add_photo(
            insp,
            None,
            FileSource::Bytes(&not_jpeg),
            &photo_meta(40),
            &inspector(1),
            t(40),
        )
        .expect_err("not a JPEG");
    assert_eq!(err.code(), "invalid");
    let err = store
        .add_photo(
            insp,
            None,
            FileSource::Bytes(&[]),
            &photo_meta(40),
            &inspector(1),
            t(40),
        )
        .expect_err("empty");
    assert_eq!(err.code(), "invalid");
    let big = dir.path().join("big.jpg");
    std::fs::write(&big, jpeg((jiandu_store::MAX_PHOTO_BYTES + 1) as usize, 2))?;
    let err = store
        .add_photo(
            insp,
            None,
            FileSource::Path(&big),
            &photo_meta(40),
            &inspector(1),
            t(40),
        )
        .expect_err("too large");
    assert_eq!(err.code(), "too_large");
    let mut far = photo_meta(40);
    far.location = Some(GeoPoint {
        lat: 95.0,
        lon: 0.0,
    });
    let err = store
        .add_photo(
            insp,
            None,
            FileSource::Bytes(&jpeg(100, 1)),
            &far,
            &inspector(1),
            t(40),
        )
        .expect_err("bad latitude");
    assert_eq!(err.code(), "invalid");
    let mut heic = photo_meta(40);
    heic.mime = "image/gif".into();
    let err = store
        .add_photo(
            insp,
            None,
            FileSource::Bytes(&jpeg(100, 1)),
            &heic,
            &inspector(1),
            t(40),
        )
        .expect_err("gif");
    assert_eq!(err.code(), "invalid");
    let err = store
        .add_photo(
            insp,
            Some(Uuid::from_u128(99)),
            FileSource::Bytes(&jpeg(100, 1)),
            &photo_meta(40),
            &inspector(1),
            t(40),
        )
        .expect_err("no such finding");
    assert_eq!(err.code(), "not_found");
    let files: Vec<String> = std::fs::read_dir(store.data_dir().join("photos"))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        files.len(),
        1,
        "refused photos left no file (p was removed above): {files:?}"
    );
    assert_eq!(files[0], q.id.to_string());
    Ok(())
}

#[test]
fn signatures_and_a_refusal_with_witness() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let (_, insp) = started(&mut store, 1);
    let sig_png = png(3000, 11);
    let s = store.add_signature(
        insp,
        SignatureRole::Inspector,
        "检查员1",
        FileSource::Bytes(&sig_png),
        &inspector(1),
        t(20),
    )?;
    assert_eq!(std::fs::read(store.signature_path(s.id))?, sig_png);
    assert_eq!(store.verify_signature(s.id)?, FileIntegrity::Intact);

    let err = store
        .add_signature(
            insp,
            SignatureRole::Party,
            "张三",
            FileSource::Bytes(&jpeg(100, 1)),
            &inspector(1),
            t(21),
        )
        .expect_err("a JPEG is not a signature PNG");
    assert_eq!(err.code(), "invalid");
    let err = store
        .record_refusal(insp, "张三", "", None, &inspector(1), t(21))
        .expect_err("reason required");
    assert_eq!(err.code(), "empty");

    let witness_png = png(2000, 12);
    let r = store.record_refusal(
        insp,
        "张三",
        "当事人拒绝签字，称需请示上级",
        Some(Witness {
            name: "李四（社区工作人员）",
            png: FileSource::Bytes(&witness_png),
        }),
        &inspector(1),
        t(22),
    )?;
    let w = r.witness.expect("witness signature recorded");
    assert_eq!(
        w.device_seq,
        r.refusal.device_seq + 1,
        "same transaction, consecutive"
    );
    let sigs = store.list_signatures(insp)?;
    assert_eq!(sigs.len(), 3);
    assert_eq!(sigs[1].role, SignatureRole::Party);
    assert_eq!(sigs[1].image_sha256, None, "a refusal has no image");
    assert_eq!(
        sigs[1].refusal_reason.as_deref(),
        Some("当事人拒绝签字，称需请示上级")
    );
    assert_eq!(sigs[2].role, SignatureRole::Witness);
    assert_eq!(sigs[2].signer_name, "李四（社区工作人员）");
    assert_eq!(store.verify_signature(w.id)?, FileIntegrity::Intact);
    assert_eq!(
        store.pending_uploads()?.len(),
        2,
        "two PNGs to upload, no refusal"
    );
    Ok(())
}

#[test]
fn unreachable_without_starting_and_the_task_list() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let tpl = templates();
    let tasks: Vec<_> = [
        (1, "甲医院", "hospital"),
        (2, "乙诊所", "clinic"),
        (3, "丙村卫生室", "village_clinic"),
    ]
    .into_iter()
    .map(|(n, name, cat)| task(Uuid::from_u128(n), name, cat))
    .collect();
    store.upsert_tasks(&tasks, t(0))?;
    assert_eq!(
        store.task(tasks[1].id)?,
        tasks[1],
        "task round-trips with inspectors"
    );

    let h = store
        .start_inspection(tasks[0].id, "甲医院门诊楼", &inspector(1), t(10))?
        .inspection_id;
    let pts = points(&tpl, "hospital");
    let some: Vec<Answer<'_>> = pts[..5]
        .iter()
        .map(|p| answer(p, Verdict::Compliant))
        .collect();
    store.record_findings(&tpl, h, &some, &inspector(1), t(11))?;
    store.record_finding(
        &tpl,
        h,
        answer(&pts[5], Verdict::NonCompliant),
        &inspector(1),
        t(12),
    )?;
    let err = store
        .mark_unreachable(tasks[1].id, " ", &inspector(1), t(13))
        .expect_err("reason");
    assert_eq!(err.code(), "empty");
    let u = store.mark_unreachable(tasks[1].id, "检查时诊所已关闭", &inspector(2), t(13))?;
    let unreachable = store.load_inspection(u.inspection_id)?;
    assert_eq!(unreachable.status, InspectionStatus::Unreachable);
    assert_eq!(
        unreachable
            .outcome
            .and_then(|o| o.unreachable_reason)
            .as_deref(),
        Some("检查时诊所已关闭")
    );

    let rows = store.list_tasks(&tpl, &TaskFilter::default())?;
    let by_name = |n: &str| {
        rows.iter()
            .find(|r| r.institution_name == n)
            .expect("listed")
    };
    assert_eq!(rows.len(), 3);
    let a = by_name("甲医院");
    assert_eq!(
        (a.status, a.answered, a.total, a.non_compliant),
        (InspectionStatus::InProgress, 6, Some(60), 1)
    );
    assert_eq!(a.inspection_id, Some(h));
    let b = by_name("乙诊所");
    assert_eq!(
        (b.status, b.answered, b.total),
        (InspectionStatus::Unreachable, 0, Some(60))
    );
    let c = by_name("丙村卫生室");
    assert_eq!(
        (c.status, c.answered, c.total, c.inspection_id),
        (InspectionStatus::Assigned, 0, Some(6), None)
    );
    // The counts follow a changed answer (不符合 → 符合) in the same transaction.
    store.record_finding(
        &tpl,
        h,
        answer(&pts[5], Verdict::Compliant),
        &inspector(1),
        t(14),
    )?;
    let rows = store.list_tasks(&tpl, &TaskFilter::default())?;
    let a = rows
        .iter()
        .find(|r| r.task_id == tasks[0].id)
        .expect("listed");
    assert_eq!(
        (a.answered, a.non_compliant),
        (6, 0),
        "recounted, not added"
    );
    let only = store.list_tasks(
        &tpl,
        &TaskFilter {
            statuses: vec![InspectionStatus::Assigned],
        },
    )?;
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].task_id, tasks[2].id);
    Ok(())
}

#[test]
fn two_connections_writing_at_once_keep_device_seq_gapless() -> R {
    let dir = tempfile::tempdir()?;
    let mut store = open(&dir);
    let (_, a) = started(&mut store, 1);
    let b_task = Uuid::from_u128(2);
    store.upsert_task(&task(b_task, "乙医院", "hospital"), t(0))?;
    let b = store
        .start_inspection(b_task, "乙医院", &inspector(2), t(10))?
        .inspection_id;
    drop(store);
    let writers: Vec<_> = [(a, 1u128), (b, 2u128)]
        .into_iter()
        .map(|(insp, who)| {
            let path = dir.path().join("device.db");
            std::thread::spawn(move || -> Result<Vec<i64>, jiandu_store::StoreError> {
                // Each thread has its own connection: the busy timeout and the
                // IMMEDIATE transactions serialise them.
                let mut store = Store::open(&path)?;
                let tpl = templates();
                let mut seqs = Vec::new();
                for (i, p) in points(&tpl, "hospital").iter().enumerate() {
                    let s = store.record_finding(
                        &tpl,
                        insp,
                        answer(p, Verdict::Compliant),
                        &inspector(who),
                        t(100 + i as i64),
                    )?;
                    seqs.push(s.device_seq);
                }
                Ok(seqs)
            })
        })
        .collect();
    let mut all: Vec<i64> = Vec::new();
    for w in writers {
        all.extend(w.join().expect("writer thread")?);
    }
    all.sort_unstable();
    let store = open(&dir);
    let stats = store.outbox_stats()?;
    assert_eq!(stats.entries, 2 + 120, "two starts and 2 × 60 findings");
    assert_eq!(
        (stats.min_seq, stats.max_seq),
        (1, stats.entries),
        "gapless"
    );
    assert_eq!(
        all,
        (3..=122).collect::<Vec<_>>(),
        "no number handed out twice"
    );
    Ok(())
}
