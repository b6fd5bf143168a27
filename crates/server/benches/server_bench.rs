//! jiandu-server benchmark (issue 4): on SQLite and on PostgreSQL,
//!
//! 1. a double-random draw of seed 003 over 50,000 institutions and 2,000 inspectors
//!    (registry import, gathering inputs, the draw itself, recording it);
//! 2. a 汇总表 (附件1 附表2) over 100,000 approved inspections read through the
//!    store (target < 1 s);
//! 3. 500 concurrent clients, each with its own device token and connection, pulling
//!    their tasks (`GET /api/v1/sync/pull?since=0`) from a server on 127.0.0.1
//!    (latency p50/p99/max, errors, throughput);
//! 4. the public result list (`GET /api/v1/public/results`, no sign-in) over 10,000
//!    approved inspections, 200 concurrent readers (target p99 < 100 ms).
//!
//! ```text
//! cargo bench -p jiandu-server --bench server_bench                       # SQLite only
//! JIANDU_BENCH_PG=postgres://user@127.0.0.1:55432/postgres \
//!   cargo bench -p jiandu-server --bench server_bench                     # and PostgreSQL
//! cargo bench -p jiandu-server --bench server_bench -- --quick            # 1/10 sizes
//! cargo bench -p jiandu-server --bench server_bench -- --skip-summary     # parts 1, 3, 4
//! cargo bench -p jiandu-server --bench server_bench -- --public-only      # part 4
//! cargo bench -p jiandu-server --bench server_bench -- --pulls-only       # parts 1, 3
//! cargo bench -p jiandu-server --bench server_bench -- --pulls-only --clients 2000
//! ```
//!
//! PostgreSQL gets a fresh scratch database per part (`PgStore::scratch_database`).
//! The 100,000 inspections are written in bulk with plain SQL (the point is reading
//! them); every other write goes through the store.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use chrono::{Duration, TimeZone, Utc};
use jiandu_core::draw::{self, MIN_TEAM_SIZE};
use jiandu_core::inspection::{
    DrawKind, Finding, Inspection, InspectionStatus, Outcome, Penalty, PublicCategory, Verdict,
};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{CategoryCode, Fen, Plan};
use jiandu_server::http;
use jiandu_server::model::{
    Device, DrawRecord, Institution, RegistryImport, StaffEntry, StoredTask,
};
use jiandu_server::service::{Actor, Platform, draws, reports};
use jiandu_server::store::{self, ServerStore, Stamp, postgres::PgStore, sqlite};
use jiandu_server::{auth, credit_code};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

const DISTRICTS: &[&str] = &[
    "小店区",
    "迎泽区",
    "杏花岭区",
    "尖草坪区",
    "万柏林区",
    "晋源区",
    "清徐县",
    "阳曲县",
    "娄烦县",
    "古交市",
];

#[derive(Debug, Clone, Copy)]
struct Sizes {
    units: usize,
    inspectors: usize,
    inspections: usize,
    clients: usize,
    /// Part 4: approved inspections on the public result list, its readers and
    /// their reads.
    public: usize,
    readers: usize,
    reads_per_reader: usize,
    requests_per_client: usize,
}

/// A deterministic stream (SplitMix64): the bench data is the same every run.
#[derive(Debug)]
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn code(n: usize) -> String {
    let body = format!("91140100{n:09}");
    let c = credit_code::check_char(&body).unwrap();
    format!("{body}{c}")
}

/// Categories weighted roughly as a prefecture's registry (clinics and village
/// clinics dominate).
const WEIGHTS: &[(&str, usize)] = &[
    ("hospital", 4),
    ("mch", 1),
    ("tcm_hospital", 1),
    ("integrated_hospital", 1),
    ("chc_center", 2),
    ("chc_station", 6),
    ("township_hc", 4),
    ("village_clinic", 30),
    ("clinic", 30),
    ("tcm_outpatient", 1),
    ("integrated_outpatient", 1),
    ("tcm_clinic", 6),
    ("tcm_general_clinic", 1),
    ("integrated_clinic", 2),
    ("other_medical", 2),
    ("cosmetology", 3),
    ("cosmetology_dept", 1),
    ("other_mch", 1),
    ("blood_general", 1),
    ("blood_special", 1),
    ("plasma_station", 1),
    ("non_medical", 2),
];

fn institutions(n: usize, categories: &[(&str, usize)], mix: &mut Mix) -> Vec<Institution> {
    let total: usize = categories.iter().map(|c| c.1).sum();
    (0..n)
        .map(|k| {
            let mut r = mix.below(total);
            let cat = categories
                .iter()
                .find(|(_, w)| {
                    if r < *w {
                        true
                    } else {
                        r -= w;
                        false
                    }
                })
                .map(|c| c.0)
                .unwrap_or("clinic");
            let d = DISTRICTS[mix.below(DISTRICTS.len())];
            Institution {
                id: Uuid::now_v7(),
                name: format!("基准单位{k}"),
                credit_code: code(k + 1),
                licence_no: format!("PDY{k:08}"),
                category: CategoryCode(cat.into()),
                district: d.into(),
                address: format!("山西省太原市{d}某路{k}号"),
                legal_representative: "负责人".into(),
                phone: "0351-1234567".into(),
            }
        })
        .collect()
}

fn staff(n: usize, units: &[Institution], mix: &mut Mix) -> Vec<StaffEntry> {
    (0..n)
        .map(|k| StaffEntry {
            name: format!("检查员{k}"),
            badge_no: format!("B{k:05}"),
            team: format!("监督{}科", k % 4 + 1),
            district: DISTRICTS[k % DISTRICTS.len()].into(),
            username: format!("B{k:05}"),
            conflicts: if k % 10 == 0 {
                (0..2)
                    .map(|_| units[mix.below(units.len())].credit_code.clone())
                    .collect()
            } else {
                vec![]
            },
        })
        .collect()
}

struct Backend {
    name: &'static str,
    store: Arc<dyn ServerStore>,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh(name: &'static str, pg_admin: Option<&str>) -> Backend {
    match name {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let url = dir
                .path()
                .join("bench.sqlite")
                .to_string_lossy()
                .into_owned();
            Backend {
                name,
                store: store::open(&url).await.unwrap(),
                url,
                _dir: Some(dir),
            }
        }
        _ => {
            let url = PgStore::scratch_database(pg_admin.unwrap()).await.unwrap();
            Backend {
                name,
                store: store::open(&url).await.unwrap(),
                url,
                _dir: None,
            }
        }
    }
}

fn secs(t: std::time::Duration) -> String {
    format!("{:.3} s", t.as_secs_f64())
}

/// Part 1: the draw. Returns the backend (for part 3).
async fn bench_draw(b: &Backend, plan: &Plan, sizes: Sizes) {
    let store = &*b.store;
    let mut mix = Mix(2025);
    let units = institutions(sizes.units, WEIGHTS, &mut mix);
    let people = staff(sizes.inspectors, &units, &mut mix);
    let t = Instant::now();
    store
        .import_registry(
            &Stamp::system(Utc::now()),
            RegistryImport {
                services: Default::default(),
                institutions: units,
                staff: vec![],
                penalised: vec![],
                penalised_rows: vec![],
            },
        )
        .await
        .unwrap();
    store
        .import_registry(
            &Stamp::system(Utc::now()),
            RegistryImport {
                services: Default::default(),
                institutions: vec![],
                staff: people,
                penalised: vec![],
                penalised_rows: vec![],
            },
        )
        .await
        .unwrap();
    let import = t.elapsed();
    let t = Instant::now();
    let catalogue = plan.catalogue(&TemplateSet::builtin().unwrap().catalogue);
    let inputs = draws::gather_inputs(store, plan, &catalogue).await.unwrap();
    let gather = t.elapsed();
    let t = Instant::now();
    let result = draw::draw("基准 2025", &inputs).unwrap();
    let compute = t.elapsed();
    let t = Instant::now();
    let p = Platform::new(b.store.clone(), TemplateSet::builtin().unwrap());
    draws::freeze(
        &p,
        &Actor::system(),
        Utc::now(),
        draws::FreezeRequest {
            plan_id: plan.id.clone(),
        },
    )
    .await
    .unwrap();
    let view = draws::run(
        &p,
        &Actor::system(),
        Utc::now(),
        draws::DrawRequest {
            plan_id: plan.id.clone(),
            seed: "基准 2025".into(),
            dry_run: false,
        },
    )
    .await
    .unwrap();
    let total = t.elapsed();
    assert_eq!(view.tasks.len(), result.tasks.len());
    let t = Instant::now();
    let verify = draws::verify(&p, &Actor::system(), view.id).await.unwrap();
    let verify_time = t.elapsed();
    assert!(verify.matches);
    println!(
        "[{}] draw {}: {} units, {} inspectors (team of {MIN_TEAM_SIZE}) -> {} tasks\n  \
         registry import {}; gather inputs {}; draw computation {}; \
         draw end to end (gather + compute + record + view) {}; draw verify {}",
        b.name,
        plan.id,
        sizes.units,
        sizes.inspectors,
        result.tasks.len(),
        secs(import),
        secs(gather),
        secs(compute),
        secs(total),
        secs(verify_time),
    );
}

/// An approved inspection answering every applicable point of `checklist`.
fn approved(plan: &Plan, task: &StoredTask, mix: &mut Mix) -> Inspection {
    let checklist = plan.checklist(&task.checklist).unwrap();
    let id = Uuid::now_v7();
    let at = Utc.with_ymd_and_hms(2025, 6, 1, 1, 0, 0).unwrap();
    let points: Vec<&str> = checklist
        .applicable_points(&task.category)
        .map(|(_, p)| p.code.as_str())
        .collect();
    let roll = mix.below(100);
    let bad: Vec<usize> = if roll < 50 {
        vec![]
    } else {
        (0..1 + mix.below(2))
            .map(|_| mix.below(points.len()))
            .collect()
    };
    let mut i = Inspection::new(id, task.id);
    i.status = InspectionStatus::Approved;
    i.version = 12;
    i.started_at = Some(at);
    i.ended_at = Some(at + Duration::hours(2));
    i.place = "现场".into();
    i.reviewed_by = Some(task.inspectors[0]);
    i.findings = points
        .iter()
        .enumerate()
        .map(|(k, p)| Finding {
            id: Uuid::now_v7(),
            inspection_id: id,
            point: (*p).to_owned(),
            verdict: if bad.contains(&k) {
                Verdict::NonCompliant
            } else {
                Verdict::Compliant
            },
            observation: if bad.contains(&k) {
                "现场检查发现该项不符合要求，已当场指出。".into()
            } else {
                String::new()
            },
            photo_ids: vec![],
            recorded_by: task.inspectors[0],
            recorded_at: at + Duration::minutes(k as i64),
        })
        .collect();
    let category = if bad.is_empty() {
        PublicCategory::NoProblem
    } else if roll < 85 {
        PublicCategory::Corrected
    } else {
        PublicCategory::Penalised
    };
    i.outcome = Some(Outcome {
        category,
        penalty: (category == PublicCategory::Penalised).then(|| Penalty {
            cases: 1,
            fine: Fen(500_000),
            ..Default::default()
        }),
        opinion: None,
        unreachable_reason: None,
    });
    i
}

/// Writes `n` approved inspections of the medical checklist (units, staff, a
/// synthetic draw): the world of parts 2 and 4. Answers the setup time and the bytes
/// of inspection JSON.
async fn approved_world(
    b: &Backend,
    plan: &Plan,
    n: usize,
    seed: u64,
) -> (std::time::Duration, usize) {
    let store = &*b.store;
    let mut mix = Mix(seed);
    // Units of the 附表2 rows only (the medical checklist).
    let medical: Vec<(&str, usize)> = WEIGHTS
        .iter()
        .copied()
        .filter(|(c, _)| {
            plan.checklist("medical")
                .unwrap()
                .row_for(&CategoryCode((*c).into()))
                .is_some()
        })
        .collect();
    let units = institutions(n, &medical, &mut mix);
    let people = staff(20, &units, &mut mix);
    let t = Instant::now();
    store
        .import_registry(
            &Stamp::system(Utc::now()),
            RegistryImport {
                services: Default::default(),
                institutions: units.clone(),
                staff: people,
                penalised: vec![],
                penalised_rows: vec![],
            },
        )
        .await
        .unwrap();
    let inspectors: Vec<Uuid> = store
        .staff_for_draw()
        .await
        .unwrap()
        .iter()
        .map(|s| s.user.id)
        .collect();
    let draw_id = Uuid::now_v7();
    let tasks: Vec<StoredTask> = units
        .iter()
        .enumerate()
        .map(|(k, u)| {
            let pair = vec![
                inspectors[k % inspectors.len()],
                inspectors[(k + 1) % inspectors.len()],
            ];
            StoredTask {
                id: Uuid::now_v7(),
                draw_id,
                plan_id: plan.id.clone(),
                plan_version: 1,
                position: k as i64,
                checklist: "medical".into(),
                kind: DrawKind::National,
                followup: None,
                institution_id: u.id,
                category: u.category.clone(),
                drawn_inspectors: pair.clone(),
                inspectors: pair,
                seq: 0,
            }
        })
        .collect();
    store
        .save_draw(
            &Stamp::system(Utc::now()),
            DrawRecord {
                freeze_id: None,
                id: draw_id,
                plan_id: plan.id.clone(),
                plan_version: 1,
                seed: "synthetic".into(),
                algorithm: "bench".into(),
                inputs_hash: String::new(),
                tasks_hash: String::new(),
                inputs: serde_json::json!({}),
                created_by: "bench".into(),
                created_at: Utc::now(),
            },
            plan.year,
            tasks.clone(),
        )
        .await
        .unwrap();
    let bodies: Vec<Inspection> = tasks.iter().map(|t| approved(plan, t, &mut mix)).collect();
    let bytes: usize = bodies
        .iter()
        .map(|i| serde_json::to_vec(i).unwrap().len())
        .sum();
    bulk_insert(b, &bodies).await;
    (t.elapsed(), bytes)
}

/// Part 2: a 汇总表 over `sizes.inspections` approved inspections.
async fn bench_summary(b: &Backend, plan: &Plan, sizes: Sizes) {
    let store = &*b.store;
    let p = Platform::new(b.store.clone(), TemplateSet::builtin().unwrap());
    let n = sizes.inspections;
    let (setup, bytes) = approved_world(b, plan, n, 7).await;
    assert_eq!(
        store.approved_results(&plan.id).await.unwrap().len(),
        n,
        "every inspection is approved and counted"
    );
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let (_, _, report) =
            reports::summary_table(&p, &Actor::system(), &plan.id, "medical-summary")
                .await
                .unwrap();
        runs.push(t.elapsed());
        assert_eq!(report.rows.last().unwrap().label, "合计");
    }
    runs.sort();
    println!(
        "[{}] 汇总表 附件1 附表2 over {n} approved inspections ({:.0} MB of inspection JSON, setup {}):\n  \
         min {}, median {}, max {} over {} runs (target < 1 s)",
        b.name,
        bytes as f64 / 1e6,
        secs(setup),
        secs(runs[0]),
        secs(runs[runs.len() / 2]),
        secs(runs[runs.len() - 1]),
        runs.len()
    );
}

/// Part 4: the public result list (`GET /api/v1/public/results`, no sign-in) over
/// `sizes.public` approved inspections, read by `sizes.readers` concurrent readers.
async fn bench_public(b: &Backend, plan: &Plan, sizes: Sizes) {
    let n = sizes.public;
    let (setup, _) = approved_world(b, plan, n, 11).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Platform::new(b.store.clone(), TemplateSet::builtin().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, state, 1 << 20, async {
        let _ = stop_rx.await;
    }));
    let url = format!("http://{addr}/api/v1/public/results?plan={}", plan.id);
    // The first read computes the list (cold); the readers share it afterwards.
    let t = Instant::now();
    let first = reqwest::get(&url).await.unwrap();
    assert!(first.status().is_success());
    let body = first.bytes().await.unwrap();
    let cold = t.elapsed();
    let entries = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["entries"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(entries, n, "every approved inspection is listed");
    // Three kinds of reader: a client asking for the whole list as plain JSON, one
    // asking for it gzipped (as browsers and most HTTP clients do), and the public
    // page itself, which reads one page of 50 per result (four requests a view).
    let page = format!(
        "http://{addr}/api/v1/public/results/page?plan={}&result=corrected&size=50",
        plan.id
    );
    let runs = [
        ("whole list, plain JSON", url.clone(), false),
        ("whole list, gzip", url.clone(), true),
        ("one page of 50 (the public page)", page, false),
    ];
    let mut report = Vec::new();
    for (what, url, gzip) in runs {
        let (lat, errors, wall, bytes) = read_concurrently(&url, gzip, sizes).await;
        report.push(format!(
            "  {what} ({:.1} KB a response): {} concurrent readers x {} reads: {} requests in {}, {:.0} req/s; \
             latency p50 {}, p99 {}, max {}; errors {errors} (target p99 < 100 ms)",
            bytes as f64 / 1e3,
            sizes.readers,
            sizes.reads_per_reader,
            lat.len() + errors,
            secs(wall),
            lat.len() as f64 / wall.as_secs_f64(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0),
        ));
    }
    let _ = stop_tx.send(());
    let _ = server.await;
    println!(
        "[{}] public results over {n} approved inspections ({:.1} MB JSON; setup {}), first read (computes the list) {}:\n{}",
        b.name,
        body.len() as f64 / 1e6,
        secs(setup),
        secs(cold),
        report.join("\n")
    );
}

/// `sizes.readers` concurrent readers, each reading `url` `sizes.reads_per_reader`
/// times (`gzip`: asking for gzip and receiving the compressed body, as a browser
/// does before it inflates): sorted latencies, errors, wall time, bytes a response.
/// `sizes.readers` clients each read `url` `sizes.reads_per_reader` times. Each
/// client first opens its keep-alive connection with one untimed read and waits for
/// the others, so the figures are the server's answers, not 200 TCP handshakes in
/// the same millisecond (whose SYN retries on a saturated loopback cost a whole
/// second, the initial retransmission timeout).
async fn read_concurrently(
    url: &str,
    gzip: bool,
    sizes: Sizes,
) -> (Vec<std::time::Duration>, usize, std::time::Duration, usize) {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(sizes.readers));
    let mut handles = Vec::new();
    for _ in 0..sizes.readers {
        let url = url.to_owned();
        let k = sizes.reads_per_reader;
        let barrier = barrier.clone();
        handles.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap();
            let get = || {
                let req = client.get(&url);
                if gzip {
                    req.header("accept-encoding", "gzip")
                } else {
                    req
                }
            };
            let warm = match get().send().await {
                Ok(r) => r.bytes().await.is_ok(),
                Err(_) => false,
            };
            barrier.wait().await;
            let begin = Instant::now();
            let mut lat = Vec::with_capacity(k);
            let mut errors = usize::from(!warm);
            let mut size = 0usize;
            for _ in 0..k {
                let t = Instant::now();
                match get().send().await {
                    Ok(r) if r.status().is_success() => match r.bytes().await {
                        Ok(b) => {
                            lat.push(t.elapsed());
                            size = b.len();
                        }
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (lat, errors, size, begin, Instant::now())
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut size = 0;
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for h in handles {
        let (l, e, s, begin, end) = h.await.unwrap();
        lat.extend(l);
        errors += e;
        size = size.max(s);
        first = Some(first.map_or(begin, |f| f.min(begin)));
        last = Some(last.map_or(end, |x| x.max(end)));
    }
    let wall = match (first, last) {
        (Some(f), Some(l)) => l - f,
        _ => std::time::Duration::ZERO,
    };
    lat.sort();
    (lat, errors, wall, size)
}

fn percentile(lat: &[std::time::Duration], p: f64) -> String {
    lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
        .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
        .unwrap_or_default()
}

/// Writes approved inspections with plain SQL in large transactions (the
/// `inspection_results` triggers run as for any write).
async fn bulk_insert(b: &Backend, bodies: &[Inspection]) {
    let now = Utc::now();
    if b.name == "sqlite" {
        let path = b.url.clone();
        let rows: Vec<(String, String, String)> = bodies
            .iter()
            .map(|i| {
                (
                    i.id.to_string(),
                    i.task_id.to_string(),
                    serde_json::to_string(i).unwrap(),
                )
            })
            .collect();
        tokio::task::spawn_blocking(move || {
            let mut c = sqlite::open_connection(std::path::Path::new(&path)).unwrap();
            let tx = c.transaction().unwrap();
            {
                let mut st = tx
                    .prepare(
                        "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
                         VALUES (?1, ?2, 'approved', 12, ?3, ?4, 1)",
                    )
                    .unwrap();
                let at = now.to_rfc3339();
                for (id, task, body) in &rows {
                    st.execute(rusqlite::params![id, task, body, at]).unwrap();
                }
            }
            tx.commit().unwrap();
        })
        .await
        .unwrap();
    } else {
        let (client, conn) = tokio_postgres::connect(&b.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let h = tokio::spawn(conn);
        for chunk in bodies.chunks(2_000) {
            let ids: Vec<Uuid> = chunk.iter().map(|i| i.id).collect();
            let tasks: Vec<Uuid> = chunk.iter().map(|i| i.task_id).collect();
            let json: Vec<serde_json::Value> = chunk
                .iter()
                .map(|i| serde_json::to_value(i).unwrap())
                .collect();
            client
                .execute(
                    "INSERT INTO inspections (id, task_id, status, version, body, updated_at, seq)
                     SELECT id, task, 'approved', 12, body, $4, 1
                     FROM unnest($1::uuid[], $2::uuid[], $3::jsonb[]) AS x(id, task, body)",
                    &[&ids, &tasks, &json, &now],
                )
                .await
                .unwrap();
        }
        drop(client);
        let _ = h.await;
    }
}

/// Part 3: concurrent clients pulling their tasks over HTTP.
async fn bench_pull(b: &Backend, sizes: Sizes) {
    let store = b.store.clone();
    let staff = store.staff_for_draw().await.unwrap();
    let mut tokens = Vec::new();
    for s in staff.iter().take(sizes.clients) {
        let token = auth::new_token();
        store
            .create_device(
                &Stamp::system(Utc::now()),
                Device {
                    id: Uuid::now_v7(),
                    user_id: s.user.id,
                    name: "bench".into(),
                    created_at: Utc::now(),
                    revoked_at: None,
                    seq: 0,
                    last_sync_at: None,
                    revoked_kind: None,
                    last_used_at: None,
                },
                &auth::token_hash(&token),
            )
            .await
            .unwrap();
        tokens.push(token);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Platform::new(store.clone(), TemplateSet::builtin().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, state, 1 << 20, async {
        let _ = stop_rx.await;
    }));
    let url = format!("http://{addr}/api/v1/sync/pull?since=0");
    // Each client is made before the clock starts, as a device has its own long
    // before its day's end (making one loads the system's root certificates when a
    // crate in the build asks reqwest for them: ~10 ms of CPU each, not the server's).
    let clients: Vec<reqwest::Client> = (0..tokens.len())
        .map(|_| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    let mut handles = Vec::new();
    for (token, client) in tokens.into_iter().zip(clients) {
        let url = url.clone();
        let n = sizes.requests_per_client;
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n);
            let (mut errors, mut tasks) = (0usize, 0usize);
            for _ in 0..n {
                let t = Instant::now();
                match client.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => match r.json::<serde_json::Value>().await {
                        Ok(v) => {
                            tasks = v["changes"].as_array().map(Vec::len).unwrap_or(0);
                            lat.push(t.elapsed());
                        }
                        Err(_) => errors += 1,
                    },
                    _ => errors += 1,
                }
            }
            (lat, errors, tasks)
        }));
    }
    let mut lat = Vec::new();
    let (mut errors, mut changes) = (0, 0);
    for h in handles {
        let (l, e, t) = h.await.unwrap();
        lat.extend(l);
        errors += e;
        changes += t;
    }
    let wall = start.elapsed();
    let _ = stop_tx.send(());
    let _ = server.await;
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
            .unwrap_or_default()
    };
    println!(
        "[{}] {} concurrent clients x {} pulls (GET /api/v1/sync/pull?since=0, {:.1} changes per pull on average):\n  \
         {} requests in {}, {:.0} req/s; latency p50 {}, p99 {}, max {}; errors {}",
        b.name,
        sizes.clients,
        sizes.requests_per_client,
        changes as f64 / sizes.clients.max(1) as f64,
        lat.len() + errors,
        secs(wall),
        lat.len() as f64 / wall.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        errors
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // Parts 1 and 3 only (part 2's setup writes ~1 GB per backend).
    let skip_summary = args.iter().any(|a| a == "--skip-summary");
    // Part 4 only: the public result list under concurrent readers.
    let public_only = args.iter().any(|a| a == "--public-only");
    // Parts 1 and 3 only (the draw is part 3's setup).
    let pulls_only = args.iter().any(|a| a == "--pulls-only");
    let clients: Option<usize> = args
        .iter()
        .position(|a| a == "--clients")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--clients N"));
    let mut sizes = if quick {
        Sizes {
            units: 5_000,
            inspectors: 200,
            inspections: 10_000,
            clients: 50,
            requests_per_client: 5,
            public: 1_000,
            readers: 50,
            reads_per_reader: 5,
        }
    } else {
        Sizes {
            units: 50_000,
            inspectors: 2_000,
            inspections: 100_000,
            clients: 500,
            requests_per_client: 10,
            public: 10_000,
            readers: 200,
            reads_per_reader: 10,
        }
    };
    if let Some(n) = clients {
        sizes.clients = n;
    }
    let pg = std::env::var("JIANDU_BENCH_PG")
        .ok()
        .filter(|s| !s.is_empty());
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    println!(
        "jiandu-server benchmark: cargo bench -p jiandu-server --bench server_bench{}\n\
         machine: {} CPUs; sizes {:?}; PostgreSQL: {}",
        if quick { " -- --quick" } else { "" },
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        sizes,
        if pg.is_some() {
            "JIANDU_BENCH_PG"
        } else {
            "not set (SQLite only)"
        }
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = TemplateSet::builtin().unwrap();
    let plan = t.plan("shanxi-2025").unwrap().clone();
    let mut names = vec!["sqlite"];
    if pg.is_some() {
        names.push("postgres");
    }
    if let Some(o) = &only {
        names.retain(|n| n == o);
    }
    rt.block_on(async {
        for name in names {
            if !pulls_only {
                let b = fresh(name, pg.as_deref()).await;
                bench_public(&b, &plan, sizes).await;
                drop(b);
            }
            if public_only {
                continue;
            }
            let b = fresh(name, pg.as_deref()).await;
            bench_draw(&b, &plan, sizes).await;
            bench_pull(&b, sizes).await;
            drop(b);
            if !skip_summary && !pulls_only {
                let b = fresh(name, pg.as_deref()).await;
                bench_summary(&b, &plan, sizes).await;
            }
        }
    });
}
