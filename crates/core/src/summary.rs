//! Summary-table arithmetic (汇总表).
//!
//! From approved inspections, one row per unit category (+ 合计): the number of
//! non-compliant UNITS per indicator (a unit with three prescription problems counts
//! once under 处方管理), the number of units inspected, the registry population, and
//! the penalty figures (cases and fines summed, revocations counted as units).
//!
//! Units are identified by institution id, so a unit inspected under two checklists
//! feeding the same table still counts once per indicator; its penalty figures are
//! taken once per inspection (each inspection's penalty is its own case file).

use crate::category::CategoryCode;
use crate::inspection::{Outcome, Penalty};
use crate::money::Fen;
use crate::plan::{ColumnKind, Plan, SummaryRow, SummaryTable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// What the summary needs to know of one approved inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitResult {
    pub institution_id: Uuid,
    /// The category under which the unit was drawn.
    pub category: CategoryCode,
    /// The unit's effective services (服务项目), for rows that select by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Campaign code for a 回头看 inspection.
    pub followup: Option<String>,
    /// Checklist code the inspection followed.
    pub checklist: String,
    /// Codes of the check points answered 不符合.
    pub non_compliant_points: Vec<String>,
    pub outcome: Outcome,
}

/// A computed cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Cell {
    Count(u64),
    Fine(Fen),
}

impl Cell {
    /// Display text: integers, fines in 万元 (see [`Fen::wan_yuan`]).
    pub fn text(&self) -> String {
        match self {
            Cell::Count(n) => n.to_string(),
            Cell::Fine(f) => f.wan_yuan(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportRow {
    pub group: Option<String>,
    pub label: String,
    /// One per column of the table, in the table's order.
    pub cells: Vec<Cell>,
    pub is_total: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryReport {
    pub plan_id: String,
    /// The plan version whose table and check points made it (the version the
    /// plan's tasks were drawn with).
    #[serde(default = "first_version")]
    pub plan_version: u32,
    pub table: String,
    pub rows: Vec<ReportRow>,
}

fn first_version() -> u32 {
    1
}

/// A growable set of dense unit indices (one bit per institution seen).
#[derive(Default, Clone)]
struct UnitSet {
    words: Vec<u64>,
}

impl UnitSet {
    fn insert(&mut self, unit: usize) {
        let (w, b) = (unit / 64, unit % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
    }
    fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// Accumulates one row: distinct units per column, penalty sums.
#[derive(Default)]
struct Acc {
    units_per_column: Vec<UnitSet>,
    inspected: UnitSet,
    cases: u64,
    fine: i64,
}

impl Acc {
    fn new(columns: usize) -> Self {
        Self {
            units_per_column: vec![UnitSet::default(); columns],
            ..Default::default()
        }
    }
}

/// Computes `table` of `plan` over `units` (only those whose checklist is a source of
/// the table are considered; pass approved inspections only). `population` gives the
/// registry count for a row (辖区内单位总数 / 被处罚单位数); the total row sums it.
pub fn compute(
    plan: &Plan,
    table: &SummaryTable,
    units: &[UnitResult],
    population: &dyn Fn(&SummaryRow) -> u64,
) -> SummaryReport {
    let ncols = table.columns.len();
    // point code → indicator column indices of THIS table, resolved once.
    let mut point_columns: HashMap<&str, Vec<usize>> = HashMap::new();
    for cl in plan
        .checklists
        .iter()
        .filter(|c| table.sources.contains(&c.code))
    {
        for item in &cl.items {
            for p in &item.points {
                let cols: Vec<usize> = p
                    .feeds
                    .iter()
                    .filter_map(|f| f.split_once('/'))
                    .filter(|(t, _)| *t == table.code)
                    .filter_map(|(_, c)| table.columns.iter().position(|col| col.code == c))
                    .collect();
                if !cols.is_empty() {
                    point_columns.insert(p.code.as_str(), cols);
                }
            }
        }
    }
    let mut rows: Vec<Acc> = (0..table.rows.len()).map(|_| Acc::new(ncols)).collect();
    let mut total = Acc::new(ncols);
    // Institutions get dense indices so that "distinct units" is a bit per unit.
    let mut dense: HashMap<Uuid, usize> = HashMap::new();
    for u in units {
        if !table.sources.contains(&u.checklist) {
            continue;
        }
        // A unit belongs to the first row that matches it (rows are disjoint in the
        // seeds; first-match keeps the total equal to the sum of the rows).
        let Some(ri) = table.rows.iter().position(|r| {
            SummaryTable::row_matches_unit(r, &u.category, &u.services, u.followup.as_deref())
        }) else {
            continue;
        };
        let next = dense.len();
        let unit = *dense.entry(u.institution_id).or_insert(next);
        for acc in [&mut rows[ri], &mut total] {
            acc.inspected.insert(unit);
            for p in &u.non_compliant_points {
                for &ci in point_columns.get(p.as_str()).into_iter().flatten() {
                    acc.units_per_column[ci].insert(unit);
                }
            }
            if let Some(pen) = &u.outcome.penalty {
                acc.cases += u64::from(pen.cases);
                acc.fine = acc.fine.saturating_add(pen.fine.0);
                for (ci, col) in table.columns.iter().enumerate() {
                    if penalty_flag(col.kind, pen) {
                        acc.units_per_column[ci].insert(unit);
                    }
                }
            }
        }
    }
    let populations: Vec<u64> = table.rows.iter().map(population).collect();
    let cells = |acc: &Acc, pop: u64| -> Vec<Cell> {
        table
            .columns
            .iter()
            .enumerate()
            .map(|(ci, col)| match col.kind {
                ColumnKind::Indicator
                | ColumnKind::RevokedLicence
                | ColumnKind::RevokedSubjects
                | ColumnKind::RevokedPersonnel
                | ColumnKind::CancelledFiling => Cell::Count(acc.units_per_column[ci].len()),
                ColumnKind::Population => Cell::Count(pop),
                ColumnKind::Inspected => Cell::Count(acc.inspected.len()),
                ColumnKind::Cases => Cell::Count(acc.cases),
                ColumnKind::FineWan => Cell::Fine(Fen(acc.fine)),
            })
            .collect()
    };
    let mut out: Vec<ReportRow> = table
        .rows
        .iter()
        .zip(&rows)
        .zip(&populations)
        .map(|((row, acc), pop)| ReportRow {
            group: row.group.clone(),
            label: row.label.clone(),
            cells: cells(acc, *pop),
            is_total: false,
        })
        .collect();
    if let Some(label) = &table.total_label {
        out.push(ReportRow {
            group: None,
            label: label.clone(),
            cells: cells(&total, populations.iter().sum()),
            is_total: true,
        });
    }
    SummaryReport {
        plan_version: 1,
        plan_id: plan.id.clone(),
        table: table.code.clone(),
        rows: out,
    }
}

fn penalty_flag(kind: ColumnKind, p: &Penalty) -> bool {
    match kind {
        ColumnKind::RevokedLicence => p.revoked_licence,
        ColumnKind::RevokedSubjects => p.revoked_subjects,
        ColumnKind::RevokedPersonnel => p.revoked_personnel,
        ColumnKind::CancelledFiling => p.cancelled_filing,
        _ => false,
    }
}
