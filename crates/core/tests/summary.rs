//! Summary-table arithmetic over the fixture plan: units counted once per
//! indicator, rows by category, 合计, penalty sums in fen shown in 万元.

mod fixture;

use fixture::*;
use jiandu_core::inspection::{Outcome, Penalty, PublicCategory};
use jiandu_core::summary::{Cell, UnitResult, compute};
use jiandu_core::{CategoryCode, Fen};
use uuid::Uuid;

fn unit(id: u128, category: &str, nc: &[&str], penalty: Option<Penalty>) -> UnitResult {
    let category_kind = match (&penalty, nc.is_empty()) {
        (Some(_), _) => PublicCategory::Penalised,
        (None, true) => PublicCategory::NoProblem,
        (None, false) => PublicCategory::Corrected,
    };
    UnitResult {
        services: Vec::new(),
        institution_id: Uuid::from_u128(id),
        category: CategoryCode::new(category),
        followup: None,
        checklist: "medical".into(),
        non_compliant_points: nc.iter().map(|s| s.to_string()).collect(),
        outcome: Outcome {
            category: category_kind,
            penalty,
            opinion: None,
            unreachable_reason: None,
        },
    }
}

fn texts(cells: &[Cell]) -> Vec<String> {
    cells.iter().map(Cell::text).collect()
}

#[test]
fn counts_units_not_problems_and_sums_penalties() {
    let plan = plan();
    let table = plan.summary("sum").expect("sum");
    let units = vec![
        // Two prescription problems (two points feeding one column) and a doctor problem: counts once each.
        unit(
            1,
            "hospital",
            &["m.5.1", "m.5.2", "m.1.1"],
            Some(Penalty {
                cases: 2,
                fine: Fen(1_234_567),
                revoked_licence: true,
                ..Default::default()
            }),
        ),
        unit(2, "hospital", &[], None),
        unit(3, "hospital", &["m.5.3"], None),
        unit(
            4,
            "village_clinic",
            &["m.5.1"],
            Some(Penalty {
                cases: 1,
                fine: Fen(50_000),
                ..Default::default()
            }),
        ),
        // A checklist that is not a source of this table is ignored.
        UnitResult {
            services: Vec::new(),
            checklist: "blood".into(),
            ..unit(5, "hospital", &["m.5.1"], None)
        },
        // A category no row counts is ignored (and not in 合计 either).
        unit(6, "clinic", &["m.5.1"], None),
    ];
    let pop = |row: &jiandu_core::plan::SummaryRow| if row.label == "医院" { 40 } else { 300 };
    let report = compute(&plan, table, &units, &pop);
    let header: Vec<&str> = table.columns.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(
        header,
        [
            "population",
            "inspected",
            "doctor",
            "nurse",
            "prescription",
            "records",
            "cases",
            "fine",
            "revoked"
        ]
    );
    assert_eq!(report.rows.len(), 3);
    assert_eq!(report.rows[0].label, "医院");
    assert_eq!(
        texts(&report.rows[0].cells),
        ["40", "3", "1", "0", "1", "1", "2", "1.234567", "1"]
    );
    assert_eq!(report.rows[1].label, "村卫生室（所）");
    assert_eq!(
        texts(&report.rows[1].cells),
        ["300", "1", "0", "0", "1", "0", "1", "0.0500", "0"]
    );
    assert_eq!(report.rows[2].label, "合计");
    assert!(report.rows[2].is_total);
    assert_eq!(
        texts(&report.rows[2].cells),
        ["340", "4", "1", "0", "2", "1", "3", "1.284567", "1"]
    );
}

#[test]
fn a_unit_inspected_twice_counts_once_per_indicator() {
    let plan = plan();
    let table = plan.summary("sum").expect("sum");
    let units = vec![
        unit(1, "hospital", &["m.5.1"], None),
        unit(1, "hospital", &["m.5.2", "m.1.2"], None),
    ];
    let report = compute(&plan, table, &units, &|_| 0);
    assert_eq!(
        texts(&report.rows[0].cells),
        ["0", "1", "0", "1", "1", "0", "0", "0.0000", "0"]
    );
}

#[test]
fn empty_input_gives_zero_rows_not_missing_rows() {
    let plan = plan();
    let table = plan.summary("sum").expect("sum");
    let report = compute(&plan, table, &[], &|_| 7);
    assert_eq!(report.rows.len(), 3);
    assert_eq!(
        texts(&report.rows[2].cells),
        ["14", "0", "0", "0", "0", "0", "0", "0.0000", "0"]
    );
}
