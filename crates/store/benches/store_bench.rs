//! Device-store benchmark. Prints its figures; asserts nothing.
//!
//! Run (release):
//!     cargo bench -p jiandu-store --bench store_bench
//!
//! 1. The disk's own fsync latency: write 4 KiB + fsync, in the same folder as the
//!    database, sampled INTERLEAVED with (2) so both see the same disk conditions.
//! 2. Save one finding (one transaction: finding row, inspection version, outbox
//!    entry, audit entry; synchronous=FULL) — target p99 ≤ 2 × fsync p99.
//! 3. Seeding 2,000 tasks with 60 findings each (120,000 findings) through the
//!    public API, then open the database + list the 2,000 tasks with progress —
//!    target < 50 ms.

use chrono::{DateTime, TimeZone, Utc};
use jiandu_core::inspection::{AssignedInspector, DrawKind, Institution, Task};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{Actor, CategoryCode, Role, Verdict};
use jiandu_store::{Answer, SequentialIds, Store, TaskFilter};
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::time::{Duration, Instant};
use uuid::Uuid;

const SAMPLES: usize = 1000;
const TASKS: usize = 2000;
const LIST_REPEATS: usize = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let templates = TemplateSet::from_sources(
        (
            "fixture-categories.toml",
            include_str!("../testdata/fixture-categories.toml"),
        ),
        [(
            "fixture-plan.toml",
            include_str!("../testdata/fixture-plan.toml"),
        )],
    )?;
    let points: Vec<String> = templates
        .plan("fixture-2025")
        .and_then(|p| p.checklist("medical"))
        .ok_or("fixture checklist")?
        .applicable_points(&CategoryCode::new("hospital"))
        .map(|(_, p)| p.code.clone())
        .collect();
    let dir = tempfile::Builder::new()
        .prefix("jiandu-store-bench")
        .tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()))?;
    println!("jiandu-store benchmark — folder {}", dir.path().display());
    println!("(set BENCH_DIR to measure another disk)\n");
    let me = actor();

    // 1 + 2: fsync and save-one-finding, interleaved.
    let mut fsync_file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(dir.path().join("fsync-probe"))?;
    let block = vec![0x5Au8; 4096];
    let mut store = Store::open(dir.path().join("save.db"))?;
    store.set_id_source(Box::new(SequentialIds::new(1_746_000_000_000)));
    let task_id = Uuid::from_u128(1);
    store.upsert_task(&task(task_id, 0), at(0))?;
    let insp = store
        .start_inspection(task_id, "现场", &me, at(1))?
        .inspection_id;
    // Warm-up: the first commits create WAL pages and cache statements.
    for (i, p) in points.iter().enumerate() {
        store.record_finding(&templates, insp, answer(p, i), &me, at(2))?;
    }
    let mut fsync = Vec::with_capacity(SAMPLES);
    let mut save = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let t0 = Instant::now();
        fsync_file.seek(SeekFrom::Start(0))?;
        fsync_file.write_all(&block)?;
        fsync_file.sync_all()?;
        fsync.push(t0.elapsed());

        let p = &points[i % points.len()];
        let t0 = Instant::now();
        store.record_finding(&templates, insp, answer(p, i + 1), &me, at(3 + i as i64))?;
        save.push(t0.elapsed());
    }
    drop(store);
    let f = Stats::of(&mut fsync);
    let s = Stats::of(&mut save);
    println!("disk fsync (write 4 KiB + fsync), {SAMPLES} samples:");
    f.print();
    println!("save one finding (1 transaction, synchronous=FULL), {SAMPLES} samples:");
    s.print();
    println!(
        "  → save p99 / fsync p99 = {:.2} (target ≤ 2.00)\n",
        s.p99.as_secs_f64() / f.p99.as_secs_f64()
    );

    // 3: seed 2,000 tasks × 60 findings through the public API, then open + list.
    let db = dir.path().join("list.db");
    let t0 = Instant::now();
    let mut store = Store::open(&db)?;
    store.set_id_source(Box::new(SequentialIds::new(1_746_000_000_000)));
    let tasks: Vec<Task> = (0..TASKS)
        .map(|n| task(Uuid::from_u128(1000 + n as u128), n))
        .collect();
    store.upsert_tasks(&tasks, at(0))?;
    for (n, task) in tasks.iter().enumerate() {
        let insp = store
            .start_inspection(task.id, "现场", &me, at(n as i64))?
            .inspection_id;
        let answers: Vec<Answer<'_>> = points
            .iter()
            .enumerate()
            .map(|(i, p)| answer(p, n + i))
            .collect();
        store.record_findings(&templates, insp, &answers, &me, at(n as i64))?;
    }
    let outbox = store.outbox_stats()?;
    drop(store);
    let seeding = t0.elapsed();
    let size = std::fs::metadata(&db)?.len();
    println!(
        "seeding: {TASKS} tasks, {} findings, {} outbox entries via the public API \
         ({} transactions): {:.1} s, database {:.1} MB",
        TASKS * points.len(),
        outbox.entries,
        1 + 2 * TASKS,
        seeding.as_secs_f64(),
        size as f64 / 1e6
    );

    let mut open_list = Vec::with_capacity(LIST_REPEATS);
    let mut open_only = Vec::with_capacity(LIST_REPEATS);
    let mut list_only = Vec::with_capacity(LIST_REPEATS);
    let mut rows = 0;
    for _ in 0..LIST_REPEATS {
        let t0 = Instant::now();
        let store = Store::open(&db)?;
        let t1 = Instant::now();
        let list = store.list_tasks(&templates, &TaskFilter::default())?;
        let t2 = Instant::now();
        open_list.push(t2 - t0);
        open_only.push(t1 - t0);
        list_only.push(t2 - t1);
        rows = list.len();
        assert_eq!(list[0].answered, 60, "progress counted");
        drop(store);
    }
    let o = Stats::of(&mut open_list);
    println!(
        "open database + list {rows} tasks with progress ({LIST_REPEATS} runs, warm page cache):"
    );
    o.print();
    println!("  of which open:");
    Stats::of(&mut open_only).print();
    println!("  of which list_tasks:");
    Stats::of(&mut list_only).print();
    println!(
        "  → one more run, timed alone: {:.2} ms (target < 50 ms)",
        open_list_first(&db, &templates)?.as_secs_f64() * 1e3
    );
    Ok(())
}

/// One more run, reported separately: the figure a person sees when the app starts.
fn open_list_first(
    db: &std::path::Path,
    templates: &TemplateSet,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let store = Store::open(db)?;
    let list = store.list_tasks(templates, &TaskFilter::default())?;
    let d = t0.elapsed();
    assert_eq!(list.len(), TASKS);
    Ok(d)
}

struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

impl Stats {
    fn of(v: &mut [Duration]) -> Stats {
        v.sort();
        let pick = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
        Stats {
            p50: pick(0.50),
            p99: pick(0.99),
            max: v[v.len() - 1],
            mean: v.iter().sum::<Duration>() / v.len() as u32,
        }
    }
    fn print(&self) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "  p50 {:8.3} ms   p99 {:8.3} ms   max {:8.3} ms   mean {:8.3} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            ms(self.mean)
        );
    }
}

fn answer(point: &str, n: usize) -> Answer<'_> {
    Answer {
        point,
        verdict: if n.is_multiple_of(7) {
            Verdict::NonCompliant
        } else {
            Verdict::Compliant
        },
        observation: if n.is_multiple_of(7) {
            "处方未注明患者年龄，抽查处方 20 张，其中 3 张不规范"
        } else {
            ""
        },
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_746_000_000 + secs, 0)
        .single()
        .unwrap_or_default()
}

fn actor() -> Actor {
    Actor {
        user_id: Uuid::from_u128(0x1001),
        name: "检查员".into(),
        role: Role::Inspector,
    }
}

fn task(id: Uuid, n: usize) -> Task {
    Task {
        id,
        plan_id: "fixture-2025".into(),
        plan_version: 1,
        checklist: "medical".into(),
        draw_kind: DrawKind::National,
        followup: None,
        institution: Institution {
            id: Uuid::from_u128(id.as_u128() + 1_000_000),
            name: format!("太原市第{n}医院"),
            credit_code: "12140000MB1234567X".into(),
            licence_no: "PDY00001X14010011A1001".into(),
            category: CategoryCode::new("hospital"),
            district: "小店区".into(),
            address: format!("太原市小店区测试路{n}号"),
            legal_representative: "张三".into(),
            phone: "0351-1234567".into(),
        },
        inspectors: vec![
            AssignedInspector {
                user_id: Uuid::from_u128(0x1001),
                name: "检查员".into(),
                badge_no: "晋卫执0001".into(),
            },
            AssignedInspector {
                user_id: Uuid::from_u128(0x1002),
                name: "检查员二".into(),
                badge_no: "晋卫执0002".into(),
            },
        ],
        deadline: chrono::NaiveDate::from_ymd_opt(2025, 10, 30),
    }
}
