//! Documents built from the core types, as the app and the server build them: an
//! inspection recorded through the core state machine against the real Shanxi 2025
//! checklist becomes a 现场笔录 and a 意见书 with the right content.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use chrono::{NaiveDate, TimeZone, Utc};
use jiandu_core::inspection::{
    Actor, AssignedInspector, DrawKind, Finding, Inspection, Institution, Outcome, Penalty,
    PublicCategory, Role, Task, Verdict,
};
use jiandu_core::inspection::{Opinion, OpinionProblem};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{CategoryCode, Fen};
use jiandu_docs::{OpinionDoc, RecordDoc, number_photos, opinion_paragraphs, render_record};
use uuid::Uuid;

fn task() -> Task {
    Task {
        id: Uuid::from_u128(1),
        plan_id: "shanxi-2025".into(),
        plan_version: 1,
        checklist: "medical".into(),
        draw_kind: DrawKind::National,
        followup: None,
        institution: Institution {
            id: Uuid::from_u128(2),
            name: "太原市小店区晋阳社区卫生服务中心".into(),
            credit_code: "12140105MB0123456X".into(),
            licence_no: "PDY0012341401051".into(),
            category: CategoryCode::new("chc_center"),
            district: "小店区".into(),
            address: "太原市小店区晋阳街66号".into(),
            legal_representative: "陈立".into(),
            phone: "0351-7654321".into(),
        },
        inspectors: vec![
            AssignedInspector {
                user_id: Uuid::from_u128(10),
                name: "张明".into(),
                badge_no: "14010620190032".into(),
            },
            AssignedInspector {
                user_id: Uuid::from_u128(11),
                name: "李娜".into(),
                badge_no: "14010620210117".into(),
            },
        ],
        deadline: None,
    }
}

#[test]
fn an_inspection_becomes_a_record_and_an_opinion() {
    let set = TemplateSet::builtin().unwrap();
    let plan = set.plan("shanxi-2025").unwrap();
    let checklist = plan.checklist("medical").unwrap();
    let task = task();
    let category = task.institution.category.clone();
    let inspector = Actor {
        user_id: Uuid::from_u128(10),
        name: "张明".into(),
        role: Role::Inspector,
    };
    let t0 = Utc.with_ymd_and_hms(2025, 6, 12, 1, 30, 0).unwrap();
    let mut insp = Inspection::new(Uuid::from_u128(3), task.id);
    insp.start(&inspector, "太原市小店区晋阳街66号一层", t0)
        .unwrap();
    let (p1, p2, p3) = (
        Uuid::from_u128(101),
        Uuid::from_u128(102),
        Uuid::from_u128(103),
    );
    // Recorded out of checklist order on purpose: the documents follow the checklist.
    let findings = [
        (
            "med.5.1",
            Verdict::NonCompliant,
            "3月份处方有12张未见医师签名。",
            vec![p2, p3],
        ),
        (
            "med.1.1",
            Verdict::Compliant,
            "执业许可证在有效期内。",
            vec![p1],
        ),
        ("med.2.1", Verdict::Compliant, "", vec![]),
        ("med.4.4", Verdict::NotApplicable, "", vec![]),
    ];
    for (k, (point, verdict, obs, photos)) in findings.into_iter().enumerate() {
        insp.record_finding(
            checklist,
            &category,
            Finding {
                id: Uuid::from_u128(200 + k as u128),
                inspection_id: insp.id,
                point: point.into(),
                verdict,
                observation: obs.into(),
                photo_ids: photos,
                recorded_by: inspector.user_id,
                recorded_at: t0,
            },
        )
        .unwrap();
    }
    insp.set_outcome(Outcome {
        category: PublicCategory::Penalised,
        penalty: Some(Penalty {
            cases: 1,
            fine: Fen(300_000),
            ..Penalty::default()
        }),
        opinion: Some("你单位处方管理不规范，请立即整改。".into()),
        unreachable_reason: None,
    })
    .unwrap();

    // Photos are numbered in checklist order: 1.1's photo first, then 5.1's two.
    assert_eq!(
        number_photos(checklist, &insp),
        vec![(p1, 1), (p2, 2), (p3, 3)]
    );

    let record = RecordDoc::from_inspection(checklist, &task, &insp, "太原市小店区卫生健康局");
    let items: Vec<&str> = record
        .observations
        .iter()
        .map(|o| o.item.as_str())
        .collect();
    assert_eq!(
        items,
        [
            "1.医疗机构资质管理情况：执业许可",
            "2.医疗卫生人员管理情况：医师",
            "5.医疗文书管理情况：处方",
        ],
        "checklist order; the not-applicable point is left out"
    );
    assert_eq!(record.observations[0].photo_numbers, [1]);
    assert_eq!(record.observations[1].facts, "已现场查看。");
    assert_eq!(record.observations[2].photo_numbers, [2, 3]);
    assert_eq!(record.photo_count, 3);
    assert_eq!(record.inspectors[1].badge_no, "14010620210117");
    assert_eq!(record.place, "太原市小店区晋阳街66号一层");
    // The record carries facts only, whatever the verdicts were.
    let pdf = render_record(&record).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));

    let draft = || Opinion::draft(checklist, &insp, plan.correction_days());
    let opinion = OpinionDoc::from_inspection(
        &task,
        &insp,
        draft,
        "太原市小店区卫生健康局",
        "并卫监意字〔2025〕第0031号",
        NaiveDate::from_ymd_opt(2025, 6, 12).unwrap(),
    );
    // No opinion confirmed yet: the draft, from the one 不符合 point, its
    // observation and the plan's legal basis; 15 days from the inspection's day.
    assert_eq!(
        opinion.opinion.problems,
        vec![OpinionProblem {
            point: Some("med.5.1".into()),
            text: "医疗文书管理情况（处方）：3月份处方有12张未见医师签名".into(),
            basis: "《处方管理办法》".into(),
        }]
    );
    assert_eq!(
        opinion.opinion.deadline,
        NaiveDate::from_ymd_opt(2025, 6, 27)
    );
    assert!(
        opinion.separate_case,
        "行政处罚: handled as a case of its own"
    );
    let text = opinion_paragraphs(&opinion.opinion, opinion.separate_case).join("\n");
    assert!(!text.contains("罚没") && !text.contains("3000"), "{text}");
    assert!(text.contains("另案处理"), "{text}");
    assert_eq!(opinion.institution.name, "太原市小店区晋阳社区卫生服务中心");
    assert_eq!(
        opinion.created_at, t0,
        "the inspection's time, not the clock"
    );

    // Confirmed (edited), the opinion is what prints.
    let mut edited = opinion.opinion.clone();
    edited.problems[0].basis = "《处方管理办法》第三十七条".into();
    insp.set_opinion(edited.clone()).unwrap();
    let again = OpinionDoc::from_inspection(
        &task,
        &insp,
        || unreachable!("a confirmed opinion is never drafted again"),
        "太原市小店区卫生健康局",
        "并卫监意字〔2025〕第0031号",
        NaiveDate::from_ymd_opt(2025, 6, 12).unwrap(),
    );
    assert_eq!(again.opinion, edited);
}
