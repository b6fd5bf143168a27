//! Plans as data on the tablet: how big a plan version is in a pull, and how long
//! the device takes to store it and to read it back (issue 12's figures for
//! BENCHMARKS.md).
//!
//!     cargo bench -p jiandu-tests --bench plan_bench
//!
//! For each built-in plan: the JSON bytes of its pull change; the time to apply a
//! pull page holding it on a real device store (a fresh SQLite file each run,
//! synchronous=FULL); the time to read the device's plans (`Store::plans`, what the
//! app does when a pull brought a new version). Median and max of 20 runs.

use chrono::Utc;
use jiandu_core::plan::PLAN_FORMAT;
use jiandu_core::protocol::{Change, ChangeBody, PlanChange, PullPage};
use jiandu_core::templates::TemplateSet;
use std::time::{Duration, Instant};
use uuid::Uuid;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let builtin = TemplateSet::builtin().expect("built-in plans");
    println!("plan versions in a pull (format {PLAN_FORMAT}), 20 runs each:");
    for plan in &builtin.plans {
        let change = PlanChange {
            id: plan.id.clone(),
            version: 2,
            format: PLAN_FORMAT,
            sha256: "0".repeat(64),
            plan: serde_json::to_value(plan).expect("plan serializes"),
        };
        let page = PullPage {
            epoch: Uuid::now_v7(),
            changes: vec![Change {
                seq: 1,
                body: ChangeBody::Plan {
                    plan: Box::new(change.clone()),
                },
            }],
            next: 1,
            has_more: false,
        };
        let bytes = serde_json::to_vec(&page.changes[0])
            .expect("serializes")
            .len();
        let (mut apply, mut read) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut store =
                jiandu_store::Store::open(dir.path().join("device.db")).expect("store opens");
            let t = Instant::now();
            // What the device does with the page: parse it, apply it with its cursor.
            let parsed: PullPage =
                serde_json::from_slice(&serde_json::to_vec(&page).expect("page"))
                    .expect("page parses");
            store.apply_pull_page(&parsed, Utc::now()).expect("applies");
            apply.push(t.elapsed());
            let t = Instant::now();
            let set = store.plans(&builtin).expect("plans read");
            read.push(t.elapsed());
            assert!(set.plan_version(&plan.id, 2).is_some());
        }
        apply.sort();
        read.sort();
        println!(
            "  {:<18} {:>7} bytes of JSON; parse + store: median {}, max {}; read back: median {}, max {}",
            plan.id,
            bytes,
            ms(apply[10]),
            ms(apply[19]),
            ms(read[10]),
            ms(read[19])
        );
    }
}
