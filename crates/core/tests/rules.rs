//! The inspection rules of `jiandu_core::inspection`, exercised through the public API.

mod fixture;

use fixture::*;
use jiandu_core::inspection::{
    Inspection, InspectionStatus, Outcome, Penalty, PublicCategory, Verdict,
};
use jiandu_core::{CategoryCode, Fen, RuleViolation};
use uuid::Uuid;

fn started() -> Inspection {
    let mut i = Inspection::new(Uuid::from_u128(500), Uuid::from_u128(400));
    i.start(&inspector(), "太原市某医院门诊楼", t(0))
        .expect("start");
    i
}

fn outcome(category: PublicCategory, penalty: Option<Penalty>) -> Outcome {
    Outcome {
        category,
        penalty,
        opinion: None,
        unreachable_reason: None,
    }
}

fn answer_all(i: &mut Inspection, verdict: Verdict) {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    for (n, point) in ["m.1.1", "m.1.2", "m.5.1", "m.5.2", "m.5.3"]
        .iter()
        .enumerate()
    {
        i.record_finding(cl, &hospital(), finding(n as u128, point, verdict, ""))
            .expect("record");
    }
}

/// An inspection with every point answered 符合, outcome 抽查未发现问题, submitted.
fn submitted_with_no_problem() -> Inspection {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = started();
    answer_all(&mut i, Verdict::Compliant);
    i.set_outcome(outcome(PublicCategory::NoProblem, None))
        .expect("outcome");
    i.submit(&inspector(), cl, &hospital(), t(30))
        .expect("submit");
    i
}

#[test]
fn cannot_submit_while_an_applicable_point_is_unanswered() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = started();
    i.record_finding(cl, &hospital(), finding(1, "m.1.1", Verdict::Compliant, ""))
        .expect("record");
    i.set_outcome(outcome(PublicCategory::NoProblem, None))
        .expect("outcome");
    let err = i
        .submit(&inspector(), cl, &hospital(), t(30))
        .expect_err("must refuse");
    match &err {
        RuleViolation::Unanswered(missing) => {
            assert_eq!(missing, &["1.护士", "5.处方", "5.处方（用药）", "5.病历"]);
        }
        other => panic!("expected Unanswered, got {other:?}"),
    }
    assert_eq!(err.code(), "unanswered");
    assert_eq!(
        i.status,
        InspectionStatus::InProgress,
        "a refused submit changes nothing"
    );
}

#[test]
fn village_clinic_only_answers_prescriptions_under_item_5() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let village = CategoryCode::new("village_clinic");
    let points: Vec<&str> = cl
        .applicable_points(&village)
        .map(|(_, p)| p.code.as_str())
        .collect();
    assert_eq!(points, ["m.1.1", "m.1.2", "m.5.1", "m.5.2"]);
    let mut i = started();
    let err = i
        .record_finding(cl, &village, finding(9, "m.5.3", Verdict::Compliant, ""))
        .expect_err("病历 does not apply to a village clinic");
    assert_eq!(err, RuleViolation::UnknownPoint("m.5.3".into()));
    for (n, p) in points.iter().enumerate() {
        i.record_finding(cl, &village, finding(n as u128, p, Verdict::Compliant, ""))
            .expect("record");
    }
    i.set_outcome(outcome(PublicCategory::NoProblem, None))
        .expect("outcome");
    i.submit(&inspector(), cl, &village, t(40))
        .expect("all applicable points answered");
    assert_eq!(i.status, InspectionStatus::Submitted);
}

#[test]
fn non_compliant_needs_an_observation_at_submission_but_the_tap_is_saved_at_once() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = started();
    answer_all(&mut i, Verdict::Compliant);
    // The tap on 不符合 is accepted with no text yet (saved immediately on the tablet).
    i.record_finding(
        cl,
        &hospital(),
        finding(2, "m.5.1", Verdict::NonCompliant, "  "),
    )
    .expect("tap saved");
    i.set_outcome(outcome(PublicCategory::Corrected, None))
        .expect("outcome");
    let err = i
        .submit(&inspector(), cl, &hospital(), t(30))
        .expect_err("no observation");
    assert_eq!(
        err,
        RuleViolation::ObservationMissing(vec!["5.处方".into()])
    );
    i.record_finding(
        cl,
        &hospital(),
        finding(
            2,
            "m.5.1",
            Verdict::NonCompliant,
            "抽查处方20张，3张无医师签名",
        ),
    )
    .expect("observation");
    i.submit(&inspector(), cl, &hospital(), t(31))
        .expect("now complete");
    assert_eq!(
        i.findings.len(),
        5,
        "re-answering a point replaces its finding"
    );
}

#[test]
fn penalised_outcome_needs_penalty_figures_and_non_compliance() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = started();
    answer_all(&mut i, Verdict::Compliant);
    i.set_outcome(outcome(PublicCategory::Penalised, None))
        .expect("saved as draft");
    let err = i
        .submit(&inspector(), cl, &hospital(), t(30))
        .expect_err("no figures");
    assert_eq!(err.code(), "outcome_inconsistent");
    assert!(err.to_string().contains("查处案件数"), "{err}");

    let pen = Penalty {
        cases: 1,
        fine: Fen(500_000),
        ..Default::default()
    };
    i.set_outcome(outcome(PublicCategory::Penalised, Some(pen.clone())))
        .expect("outcome");
    let err = i
        .submit(&inspector(), cl, &hospital(), t(30))
        .expect_err("nothing non-compliant");
    assert_eq!(err.code(), "outcome_inconsistent");

    i.record_finding(
        cl,
        &hospital(),
        finding(3, "m.1.1", Verdict::NonCompliant, "一名医师未注册"),
    )
    .expect("finding");
    let zero_cases = Penalty {
        cases: 0,
        ..pen.clone()
    };
    i.set_outcome(outcome(PublicCategory::Penalised, Some(zero_cases)))
        .expect("outcome");
    assert_eq!(
        i.submit(&inspector(), cl, &hospital(), t(30))
            .expect_err("0 cases")
            .code(),
        "outcome_inconsistent"
    );

    i.set_outcome(outcome(PublicCategory::NoProblem, None))
        .expect("outcome");
    assert_eq!(
        i.submit(&inspector(), cl, &hospital(), t(30))
            .expect_err("has non-compliance")
            .code(),
        "outcome_inconsistent"
    );
    i.set_outcome(outcome(PublicCategory::Penalised, Some(pen)))
        .expect("outcome");
    i.submit(&inspector(), cl, &hospital(), t(30))
        .expect("consistent");
}

#[test]
fn approved_is_immutable_and_names_the_reviewed_version() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = submitted_with_no_problem();
    let v = i.version;
    assert_eq!(
        i.approve(&lead(), v - 1).expect_err("stale"),
        RuleViolation::StaleVersion {
            reviewed: v - 1,
            current: v
        }
    );
    i.approve(&lead(), v).expect("approve");
    assert_eq!(i.status, InspectionStatus::Approved);
    let before = i.clone();
    assert_eq!(
        i.record_finding(
            cl,
            &hospital(),
            finding(1, "m.1.1", Verdict::NonCompliant, "x")
        ),
        Err(RuleViolation::Locked)
    );
    assert_eq!(
        i.set_outcome(outcome(PublicCategory::Corrected, None)),
        Err(RuleViolation::Locked)
    );
    assert_eq!(
        i.mark_unreachable(&inspector(), "关门", t(50)),
        Err(RuleViolation::Locked)
    );
    assert_eq!(i.approve(&lead(), i.version), Err(RuleViolation::Locked));
    assert_eq!(
        i.return_with_comments(&lead(), i.version, "再查"),
        Err(RuleViolation::Locked)
    );
    assert_eq!(
        i, before,
        "refused edits leave the approved inspection untouched"
    );
}

#[test]
fn inspectors_cannot_approve_not_even_their_own() {
    let mut i = submitted_with_no_problem();
    let err = i.approve(&inspector(), i.version).expect_err("inspector");
    assert_eq!(err.code(), "forbidden");
    assert_eq!(i.status, InspectionStatus::Submitted);
}

#[test]
fn returned_inspection_is_edited_and_resubmitted() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = submitted_with_no_problem();
    assert_eq!(
        i.record_finding(cl, &hospital(), finding(1, "m.1.1", Verdict::Compliant, ""))
            .expect_err("submitted")
            .code(),
        "wrong_state"
    );
    assert_eq!(
        i.return_with_comments(&lead(), i.version, "  ")
            .expect_err("empty")
            .code(),
        "empty"
    );
    i.return_with_comments(&lead(), i.version, "处方检查数量不足，请补充")
        .expect("return");
    assert_eq!(i.status, InspectionStatus::Returned);
    assert_eq!(
        i.review_comment.as_deref(),
        Some("处方检查数量不足，请补充")
    );
    i.record_finding(
        cl,
        &hospital(),
        finding(1, "m.5.1", Verdict::Compliant, "补查处方50张"),
    )
    .expect("edit");
    i.submit(&inspector(), cl, &hospital(), t(45))
        .expect("resubmit");
    assert_eq!(i.status, InspectionStatus::Resubmitted);
    i.approve(&lead(), i.version).expect("approve");
}

#[test]
fn unreachable_needs_a_reason_and_goes_to_review() {
    let mut i = Inspection::new(Uuid::from_u128(500), Uuid::from_u128(400));
    assert_eq!(
        i.mark_unreachable(&inspector(), " ", t(1))
            .expect_err("reason")
            .code(),
        "empty"
    );
    i.mark_unreachable(&inspector(), "检查时单位已关闭，门口张贴停业通知", t(1))
        .expect("mark");
    assert_eq!(i.status, InspectionStatus::Unreachable);
    assert!(i.status.awaits_review());
    assert_eq!(
        i.outcome.as_ref().map(|o| o.category),
        Some(PublicCategory::Unreachable)
    );
    i.approve(&lead(), i.version)
        .expect("lead approves 无法联系");
}

#[test]
fn start_requires_assigned_state_and_a_place() {
    let mut i = Inspection::new(Uuid::from_u128(500), Uuid::from_u128(400));
    assert_eq!(
        i.start(&inspector(), "  ", t(0)).expect_err("place").code(),
        "empty"
    );
    i.start(&inspector(), "门诊楼", t(0)).expect("start");
    assert_eq!(
        i.start(&inspector(), "门诊楼", t(1))
            .expect_err("twice")
            .code(),
        "wrong_state"
    );
    assert_eq!(i.started_at, Some(t(0)));
}

#[test]
fn observation_size_is_bounded_but_generous_and_keeps_rare_characters() {
    let plan = plan();
    let cl = plan.checklist("medical").expect("medical");
    let mut i = started();
    let long: String = "𠀀㐀😀处方".repeat(20_000); // 100,000 characters
    i.record_finding(
        cl,
        &hospital(),
        finding(1, "m.5.1", Verdict::NonCompliant, &long),
    )
    .expect("100k");
    assert_eq!(i.findings[0].observation, long);
    let huge = "字".repeat(jiandu_core::inspection::MAX_OBSERVATION_CHARS + 1);
    let err = i
        .record_finding(
            cl,
            &hospital(),
            finding(1, "m.5.1", Verdict::NonCompliant, &huge),
        )
        .expect_err("too long");
    assert_eq!(err.code(), "too_long");
    assert_eq!(
        i.findings[0].observation, long,
        "the refused edit did not replace the saved one"
    );
}

#[test]
fn an_opinion_number_is_recorded_once_and_never_changed() {
    let mut fresh = Inspection::new(Uuid::from_u128(501), Uuid::from_u128(401));
    assert_eq!(
        fresh
            .record_opinion_number("晋卫监意字〔2026〕第0001号")
            .expect_err("not started")
            .code(),
        "wrong_state",
        "not before 亮证"
    );
    let mut i = started();
    let v = i.version;
    assert_eq!(
        i.record_opinion_number(" ").expect_err("blank").code(),
        "empty"
    );
    i.record_opinion_number("晋卫监意字〔2026〕第0001号")
        .expect("first number");
    assert_eq!(i.version, v + 1);
    assert_eq!(
        i.opinion_number.as_deref(),
        Some("晋卫监意字〔2026〕第0001号")
    );
    // The same number again (a replayed change): nothing moves.
    i.record_opinion_number("晋卫监意字〔2026〕第0001号")
        .expect("same number");
    assert_eq!(i.version, v + 1);
    assert_eq!(
        i.record_opinion_number("晋卫监意字〔2026〕第0002号"),
        Err(RuleViolation::NumberIssued(
            "晋卫监意字〔2026〕第0001号".into()
        ))
    );
    let mut approved = submitted_with_no_problem();
    let v = approved.version;
    approved.approve(&lead(), v).expect("approve");
    assert_eq!(
        approved.record_opinion_number("晋卫监意字〔2026〕第0003号"),
        Err(RuleViolation::Locked)
    );
}
