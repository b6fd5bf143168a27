//! Benchmark: compute every summary table of the Shanxi 2025 plan over 100,000
//! approved inspections. Prints figures; asserts nothing about time.
//!
//! Run: `cargo bench -p jiandu-core --bench summary`

use jiandu_core::Fen;
use jiandu_core::inspection::{Outcome, Penalty, PublicCategory};
use jiandu_core::summary::{UnitResult, compute};
use jiandu_core::templates::TemplateSet;
use std::time::Instant;
use uuid::Uuid;

fn main() {
    let set = TemplateSet::builtin().expect("built-in templates");
    let plan = set.plan("shanxi-2025").expect("shanxi-2025");
    const N: usize = 100_000;
    // Deterministic pseudo-random choices (xorshift), so runs are comparable.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for table in &plan.summaries {
        let sources: Vec<_> = plan
            .checklists
            .iter()
            .filter(|c| table.sources.contains(&c.code))
            .collect();
        let mut units = Vec::with_capacity(N);
        for i in 0..N {
            let cl = sources[next() as usize % sources.len()];
            let row = &cl.rows[next() as usize % cl.rows.len()];
            let category = row.categories[next() as usize % row.categories.len()].clone();
            let points: Vec<String> = cl
                .applicable_points(&category)
                .filter(|_| next() % 10 == 0)
                .map(|(_, p)| p.code.clone())
                .collect();
            let penalised = !points.is_empty() && next() % 4 == 0;
            units.push(UnitResult {
                services: Vec::new(),
                institution_id: Uuid::from_u128(i as u128 + 1),
                category,
                followup: None,
                checklist: cl.code.clone(),
                outcome: Outcome {
                    category: if penalised {
                        PublicCategory::Penalised
                    } else if points.is_empty() {
                        PublicCategory::NoProblem
                    } else {
                        PublicCategory::Corrected
                    },
                    penalty: penalised.then(|| Penalty {
                        cases: 1,
                        fine: Fen((next() % 5_000_000) as i64),
                        revoked_licence: next() % 50 == 0,
                        ..Default::default()
                    }),
                    opinion: None,
                    unreachable_reason: None,
                },
                non_compliant_points: points,
            });
        }
        let mut times = Vec::new();
        let mut report = None;
        for _ in 0..5 {
            let start = Instant::now();
            report = Some(compute(plan, table, &units, &|_| 1000));
            times.push(start.elapsed());
        }
        times.sort();
        let report = report.expect("ran");
        let total = report.rows.last().expect("rows");
        println!(
            "summary {:<22} {} inspections, {} rows x {} columns: median {:>7.1} ms, max {:>7.1} ms (合计 检查/首列 = {})",
            table.code,
            N,
            report.rows.len(),
            table.columns.len(),
            times[2].as_secs_f64() * 1e3,
            times[4].as_secs_f64() * 1e3,
            total.cells.first().map(|c| c.text()).unwrap_or_default(),
        );
    }
}
