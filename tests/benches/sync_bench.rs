//! Sync benchmark (issue 5): the real jiandu-server on 127.0.0.1 (SQLite), real
//! device stores, the real jiandu-sync engine, and the fault proxy standing for the
//! network (it counts every byte it forwards, and limits bandwidth like one link).
//!
//!     cargo bench -p jiandu-tests --bench sync_bench            # full sizes
//!     cargo bench -p jiandu-tests --bench sync_bench -- --quick # small, for a try
//!     cargo bench -p jiandu-tests --bench sync_bench -- --link-only --lanes 1
//!                                  # (b) alone, with one upload at a time (default 2)
//!     cargo bench -p jiandu-tests --bench sync_bench -- --devices-only --devices 50,500,2000
//!                                  # (d) alone, for each number of devices
//!     cargo bench -p jiandu-tests --bench sync_bench -- --photos-only
//!                                  # (e) alone: a day's photos, local disk vs S3
//!     JIANDU_BENCH_PG=postgres://user@127.0.0.1:55432/postgres \
//!       cargo bench -p jiandu-tests --bench sync_bench -- --devices-only
//!                                  # (d) on SQLite and on PostgreSQL (a scratch database)
//!
//! Prints:
//! (a) a day's work (10 inspections × 60 findings + 120 photos of 3 MB) synced over
//!     loopback: wall time, bytes on the wire, wire / payload;
//! (b) the same through a 20 Mbit/s link: wall / (bytes / bandwidth), target ≤ 1.05;
//! (c) a connection cut mid-photo: bytes sent again after the cut, target ≤ one
//!     chunk (MAX_CHUNK_BYTES);
//! (d) 500 devices, each enrolled with its own token and store, pushing a finished
//!     inspection at once to one server: latency p50 / p99 / max, errors;
//! (e) a day's photos over loopback into the local blob folder, then into a real S3
//!     server on 127.0.0.1 (src/bin/s3_server.rs, s3s over a folder, its own
//!     process): wall time and MB/s of photo bytes for each, and their ratio.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use chrono::Utc;
use jiandu_core::protocol::{MAX_CHUNK_BYTES, PushItem};
use jiandu_core::{CategoryCode, Role};
use jiandu_server::model::{DrawRecord, Institution, NewUser, RegistryImport, StoredTask};
use jiandu_server::store::{ServerStore, Stamp};
use jiandu_sync::{CancelToken, SyncConfig, SyncReport, TokenStore};
use jiandu_tests::proxy::{FaultPlan, FaultProxy};
use jiandu_tests::s3_fixtures::S3Server;
use jiandu_tests::store_fixtures::{CHECKLIST, PLAN_ID};
use jiandu_tests::sync_fixtures::{
    Device, PASSWORD, Person, ServerDb, TestServer, World, inspect, seed,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[path = "support/plain_loop.rs"]
mod plain_loop;

/// 20 Mbit/s in bytes per second.
const LINK: u64 = 20_000_000 / 8;

struct Sizes {
    /// Files uploaded at once ([`SyncConfig::upload_lanes`]).
    lanes: usize,
    inspections: usize,
    photos_per_inspection: usize,
    photo_bytes: usize,
    devices: usize,
}

fn quiet(_: jiandu_core::protocol::SyncEvent) {}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let link_only = args.iter().any(|a| a == "--link-only");
    let devices_only = args.iter().any(|a| a == "--devices-only");
    let photos_only = args.iter().any(|a| a == "--photos-only");
    let device_counts: Option<Vec<usize>> = args
        .iter()
        .position(|a| a == "--devices")
        .and_then(|i| args.get(i + 1))
        .map(|l| {
            l.split(',')
                .map(|n| n.parse().expect("--devices N[,N…]"))
                .collect()
        });
    let pg = std::env::var("JIANDU_BENCH_PG")
        .ok()
        .filter(|s| !s.is_empty());
    let lanes = args
        .iter()
        .position(|a| a == "--lanes")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse().expect("--lanes N"))
        .unwrap_or(SyncConfig::default().upload_lanes);
    let sizes = if quick {
        Sizes {
            lanes,
            inspections: 2,
            photos_per_inspection: 2,
            photo_bytes: 1_000_000,
            devices: 50,
        }
    } else {
        Sizes {
            lanes,
            inspections: 10,
            photos_per_inspection: 12,
            photo_bytes: 3_000_000,
            devices: 500,
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        println!(
            "sync benchmark{}: {} inspections × 60 findings + {} photos of {} per day; {} devices; {} upload lane(s)",
            if quick { " (--quick)" } else { "" },
            sizes.inspections,
            sizes.inspections * sizes.photos_per_inspection,
            mb(sizes.photo_bytes as u64),
            sizes.devices,
            sizes.lanes
        );
        if link_only {
            day(&sizes, Some(LINK)).await;
            return;
        }
        if photos_only {
            photos_folder_vs_s3(&sizes).await;
            return;
        }
        if !devices_only {
            day(&sizes, None).await;
            day(&sizes, Some(LINK)).await;
            cut_mid_photo(&sizes).await;
            photos_folder_vs_s3(&sizes).await;
        }
        let counts = device_counts.unwrap_or_else(|| vec![sizes.devices]);
        let mut backends = vec![None];
        if pg.is_some() {
            backends.push(pg.clone());
        }
        for admin in &backends {
            for &n in &counts {
                many_devices(n, admin.as_deref()).await;
            }
        }
    });
}

/// A server with a day's tasks and one device that did the day's work offline.
async fn offline_day(sizes: &Sizes) -> (ServerDb, TestServer, Device, u64) {
    offline_day_on(sizes, ServerDb::sqlite()).await
}

/// As [`offline_day`], on `db` (its photos in a folder or an object store).
async fn offline_day_on(sizes: &Sizes, db: ServerDb) -> (ServerDb, TestServer, Device, u64) {
    let world: World = seed(&*db.open().await, sizes.inspections as u32).await;
    let server = db.start();
    let dev = Device::enrolled(&world.inspectors[0], &server.url()).await;
    dev.engine(&server.url(), SyncConfig::default())
        .sync_once(&CancelToken::new(), &quiet)
        .await
        .unwrap();
    let photos = vec![sizes.photo_bytes; sizes.photos_per_inspection];
    for (k, task) in world.tasks.iter().enumerate() {
        inspect(&dev, *task, &photos, 1000 + k as u64, true);
    }
    // Payload: the photos' bytes and the outbox entries as JSON.
    let pending = dev.with(|s| s.pending_outbox(100_000)).unwrap();
    let json: u64 = pending
        .iter()
        .map(|e| {
            serde_json::to_vec(&PushItem {
                mutation_id: e.mutation_id,
                device_seq: e.device_seq,
                entity: e.entity.clone(),
                entity_id: e.entity_id,
                inspection_id: e.inspection_id,
                op: e.op.clone(),
                base_version: e.base_version,
                payload: e.payload.clone(),
            })
            .unwrap()
            .len() as u64
        })
        .sum();
    let payload =
        json + (sizes.photo_bytes * sizes.photos_per_inspection * sizes.inspections) as u64;
    (db, server, dev, payload)
}

/// (a) and (b): the whole day in one sync, through the proxy.
async fn day(sizes: &Sizes, rate: Option<u64>) {
    let (db, server, dev, payload) = offline_day(sizes).await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::none()).await;
    proxy.set_faults(false);
    proxy.set_rate(rate.unwrap_or(0));
    let engine = dev.engine(
        &proxy.url(),
        SyncConfig {
            upload_lanes: sizes.lanes,
            ..SyncConfig::default()
        },
    );
    let started = Instant::now();
    let report: SyncReport = engine.sync_once(&CancelToken::new(), &quiet).await.unwrap();
    let wall = started.elapsed().as_secs_f64();
    let up = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
    let down = proxy.bytes_down.load(std::sync::atomic::Ordering::Relaxed);
    let photos = sizes.inspections * sizes.photos_per_inspection;
    assert_eq!(report.files_uploaded as usize, photos, "{report:?}");
    let blobs = db.open().await.all_blobs().await.unwrap();
    assert!(blobs.len() == photos && blobs.iter().all(|b| b.complete));
    match rate {
        None => println!(
            "(a) loopback: {:.2} s for {} payload ({:.0} MB/s); wire {} up + {} down; \
             wire / payload {:.4}; {} items pushed, {} photos",
            wall,
            mb(payload),
            payload as f64 / 1e6 / wall,
            mb(up),
            mb(down),
            (up + down) as f64 / payload as f64,
            report.pushed,
            report.files_uploaded
        ),
        Some(r) => {
            let ideal_up = up as f64 / r as f64;
            let ideal_payload = payload as f64 / r as f64;
            println!(
                "(b) 20 Mbit/s link: {:.1} s for {} payload; wire {} up + {} down; \
                 wire / payload {:.4}; wall / (wire up / bandwidth) {:.4} (target ≤ 1.05); \
                 wall / (payload / bandwidth) {:.4}",
                wall,
                mb(payload),
                mb(up),
                mb(down),
                (up + down) as f64 / payload as f64,
                wall / ideal_up,
                wall / ideal_payload
            );
        }
    }
    server.kill();
}

/// (e): the day's photos over loopback, into the blob folder and into the S3 server.
async fn photos_folder_vs_s3(sizes: &Sizes) {
    let s3 = S3Server::start(env!("CARGO_BIN_EXE_s3_server"));
    let mut rates = Vec::new();
    for (name, db) in [
        ("local disk", ServerDb::sqlite()),
        ("S3 (s3s-fs)", ServerDb::sqlite().with_s3(&s3, "bench")),
    ] {
        let (db, server, dev, _) = offline_day_on(sizes, db).await;
        let engine = dev.engine(
            &server.url(),
            SyncConfig {
                upload_lanes: sizes.lanes,
                ..SyncConfig::default()
            },
        );
        // The day's findings first, so the timed part is the photos.
        let token = dev.tokens.load().unwrap().unwrap();
        let mut r = SyncReport::default();
        engine
            .push(&token, &CancelToken::new(), &quiet, &mut r)
            .await
            .unwrap();
        let started = Instant::now();
        let report = engine.sync_once(&CancelToken::new(), &quiet).await.unwrap();
        let wall = started.elapsed().as_secs_f64();
        let photos = sizes.inspections * sizes.photos_per_inspection;
        assert_eq!(report.files_uploaded as usize, photos, "{report:?}");
        let blobs = db.open().await.all_blobs().await.unwrap();
        assert!(blobs.len() == photos && blobs.iter().all(|b| b.complete));
        let bytes = (photos * sizes.photo_bytes) as f64;
        rates.push(bytes / 1e6 / wall);
        println!(
            "(e) {name}: {photos} photos, {} in {wall:.2} s ({:.0} MB/s of photos)",
            mb(bytes as u64),
            bytes / 1e6 / wall
        );
        server.kill();
    }
    println!("(e) S3 / local disk throughput: {:.2}", rates[1] / rates[0]);
}

/// (c): a connection cut in the middle of a photo; how many bytes cross the wire
/// again compared with the same upload uncut.
async fn cut_mid_photo(sizes: &Sizes) {
    let db = ServerDb::sqlite();
    let world = seed(&*db.open().await, 4).await;
    let server = db.start();
    let proxy = FaultProxy::start(server.addr, FaultPlan::none()).await;
    proxy.set_faults(false);
    let config = SyncConfig::default();
    let photo = sizes.photo_bytes;
    // Cut positions within the upload (bytes from the start of the registration):
    // a tenth, half and nine tenths into the photo (first and second chunk).
    let p = photo as u64;
    let cuts: [Option<u64>; 4] = [None, Some(p / 10), Some(p / 2), Some(p * 9 / 10)];
    let mut clean = 0u64;
    let mut worst = 0i64;
    for (k, cut) in cuts.iter().enumerate() {
        let dev = Device::enrolled(&world.inspectors[k % 2], &server.url()).await;
        let engine = dev.engine(&proxy.url(), config.clone());
        let token = dev.tokens.load().unwrap().unwrap();
        let mut r = SyncReport::default();
        engine.sync_once(&CancelToken::new(), &quiet).await.unwrap();
        inspect(&dev, world.tasks[k], &[photo], 5000 + k as u64, true);
        engine
            .push(&token, &CancelToken::new(), &quiet, &mut r)
            .await
            .unwrap();
        let before = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(at) = cut {
            proxy.cut_up_after(*at);
        }
        engine
            .upload(&token, &CancelToken::new(), &quiet, &mut r)
            .await
            .unwrap();
        assert_eq!(r.files_uploaded, 1, "{r:?}");
        let sent = proxy.bytes_up.load(std::sync::atomic::Ordering::Relaxed) - before;
        match cut {
            None => clean = sent,
            Some(at) => {
                let again = sent as i64 - clean as i64;
                worst = worst.max(again);
                println!(
                    "(c) cut {} into the upload of a {} photo: {} bytes up vs {} uncut: \
                     {} bytes sent again",
                    at,
                    mb(photo as u64),
                    sent,
                    clean,
                    again
                );
            }
        }
    }
    assert_eq!(
        proxy
            .counts
            .cuts_up
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
    let blobs = db.open().await.all_blobs().await.unwrap();
    assert!(blobs.len() == 4 && blobs.iter().all(|b| b.complete));
    println!(
        "(c) worst: {} bytes sent again after a cut; one chunk is {} (MAX_CHUNK_BYTES {}): \
         target ≤ one chunk {}",
        worst,
        config.chunk_bytes,
        MAX_CHUNK_BYTES,
        if worst <= MAX_CHUNK_BYTES as i64 {
            "met"
        } else {
            "MISSED"
        }
    );
    server.kill();
}

/// `n` inspectors, `n` clinics, task i assigned to inspectors i and i + 1.
async fn seed_many(store: &dyn ServerStore, n: usize) -> (Vec<Person>, Vec<Uuid>) {
    let hash = jiandu_server::auth::hash_password(PASSWORD).unwrap();
    let now = Utc::now();
    let mut people = Vec::new();
    for i in 0..n {
        let username = format!("insp{i:04}");
        let name = format!("检查员{i}");
        let u = store
            .create_user(
                &Stamp::system(now),
                NewUser {
                    id: Uuid::now_v7(),
                    username: username.clone(),
                    display_name: name.clone(),
                    role: Role::Inspector,
                    badge_no: Some(format!("晋卫执{i:04}")),
                    team: format!("{}组", i / 10),
                    district: "小店区".into(),
                    password_hash: Some(hash.clone()),
                    created_at: now,
                },
            )
            .await
            .unwrap();
        people.push(Person {
            username,
            password: PASSWORD.into(),
            actor: jiandu_core::Actor {
                user_id: u.id,
                name,
                role: Role::Inspector,
            },
        });
    }
    let institutions = (0..n as u32)
        .map(|k| {
            let body = format!("91140100{:09}", k + 1);
            let c = jiandu_server::credit_code::check_char(&body).unwrap();
            Institution {
                id: Uuid::now_v7(),
                name: format!("测试诊所{k}号"),
                credit_code: format!("{body}{c}"),
                licence_no: format!("PDY{k:08}"),
                category: CategoryCode::new("clinic"),
                district: "小店区".into(),
                address: format!("小店区某路{k}号"),
                legal_representative: format!("负责人{k}"),
                phone: "0351-1234567".into(),
            }
        })
        .collect();
    store
        .import_registry(
            &Stamp::system(now),
            RegistryImport {
                services: Default::default(),
                institutions,
                ..RegistryImport::default()
            },
        )
        .await
        .unwrap();
    let insts = store.list_institutions().await.unwrap();
    let draw_id = Uuid::now_v7();
    let tasks: Vec<StoredTask> = insts
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let pair = vec![people[i].actor.user_id, people[(i + 1) % n].actor.user_id];
            StoredTask {
                id: Uuid::now_v7(),
                draw_id,
                plan_id: PLAN_ID.into(),
                plan_version: 1,
                position: i as i64,
                checklist: CHECKLIST.into(),
                kind: jiandu_core::inspection::DrawKind::National,
                followup: None,
                institution_id: inst.id,
                category: inst.category.clone(),
                drawn_inspectors: pair.clone(),
                inspectors: pair,
                seq: 0,
            }
        })
        .collect();
    let ids = tasks.iter().map(|t| t.id).collect();
    store
        .save_draw(
            &Stamp::system(now),
            DrawRecord {
                freeze_id: None,
                id: draw_id,
                plan_id: PLAN_ID.into(),
                plan_version: 1,
                seed: "sync-bench".into(),
                algorithm: "fixture".into(),
                inputs_hash: "0".repeat(64),
                tasks_hash: "0".repeat(64),
                inputs: serde_json::json!({}),
                created_by: "bench".into(),
                created_at: now,
            },
            2025,
            tasks,
        )
        .await
        .unwrap();
    (people, ids)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Where a (d) device keeps its store: in memory (/dev/shm) where there is one.
/// Each real tablet fsyncs to its own flash; 500 of them fsyncing on the one disk
/// the server's database is on would measure a queue at that disk that no server
/// has. The server's database stays on the disk.
fn device_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::tempdir_in(shm),
        false => tempfile::tempdir(),
    }
    .expect("device dir")
}

/// (d): `devices` devices, each enrolled (its own token and store), each with one
/// finished inspection offline, push at the same moment.
async fn many_devices(n: usize, pg_admin: Option<&str>) {
    let db = match pg_admin {
        None => ServerDb::sqlite(),
        Some(admin) => ServerDb::postgres_on(admin).await,
    };
    let backend = db.backend;
    let (people, tasks) = seed_many(&*db.open().await, n).await;
    let server = db.start();
    let url = server.url();
    let setup = Instant::now();
    // Enrol and pull, a few at a time (as devices arrive over a morning).
    let devices: Vec<Arc<Device>> = {
        let gate = Arc::new(tokio::sync::Semaphore::new(8));
        let mut set = tokio::task::JoinSet::new();
        for (i, p) in people.iter().enumerate() {
            let (p, url, gate) = (p.clone(), url.clone(), gate.clone());
            set.spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                let dev = Device::enrolled_in(device_dir(), &p, &url).await;
                dev.engine(&url, SyncConfig::default())
                    .sync_once(&CancelToken::new(), &quiet)
                    .await
                    .unwrap();
                (i, dev)
            });
        }
        let mut all: Vec<(usize, Device)> = set.join_all().await;
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, d)| Arc::new(d)).collect()
    };
    for (i, dev) in devices.iter().enumerate() {
        inspect(dev, tasks[i], &[], 9000 + i as u64, true);
    }
    let items = devices[0].with(|s| s.outbox_stats()).unwrap().pending;
    println!(
        "(d) {backend}: {n} devices enrolled, synced and each with one finished inspection \
         ({items} outbox items) in {:.1} s; the devices' stores in {}, the server's database on disk",
        setup.elapsed().as_secs_f64(),
        devices[0]
            .path()
            .parent()
            .map_or("?".into(), |p| p.display().to_string())
    );
    let before_seq = db.open().await.state().await.unwrap().change_seq;
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let mut set = tokio::task::JoinSet::new();
    for dev in &devices {
        let (dev, url, start) = (dev.clone(), url.clone(), start.clone());
        set.spawn(async move {
            let engine = dev.engine(
                &url,
                SyncConfig {
                    request_timeout: Duration::from_secs(120),
                    ..SyncConfig::default()
                },
            );
            let token = dev.tokens.load().unwrap().unwrap();
            if start.wait().await.is_leader() {
                // A mark for a profiler to start at (the set-up before it is not timed).
                println!("(d) {backend}: pushing");
            }
            let t = Instant::now();
            let mut r = SyncReport::default();
            let res = engine
                .push(&token, &CancelToken::new(), &quiet, &mut r)
                .await;
            let ok = res.is_ok() && r.rejected == 0 && r.pushed == items as u64;
            (t.elapsed().as_secs_f64(), ok, t)
        });
    }
    let results = set.join_all().await;
    let first = results.iter().map(|r| r.2).min().unwrap();
    let wall = results
        .iter()
        .map(|r| (r.2 - first).as_secs_f64() + r.0)
        .fold(0.0, f64::max);
    let errors = results.iter().filter(|r| !r.1).count();
    let mut lat: Vec<f64> = results.iter().map(|r| r.0 * 1000.0).collect();
    lat.sort_by(f64::total_cmp);
    let stored = db.open().await.inspections_of_tasks(&tasks).await.unwrap();
    println!(
        "(d) {backend}: {n} devices pushing at once: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; \
         {errors} errors; all done in {:.1} s ({:.0} items/s); {} inspections on the server",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        lat[lat.len() - 1],
        wall,
        (n as f64 * items as f64) / wall,
        stored.len()
    );
    server.kill();
    let end_to_end = (n as f64 * items as f64) / wall;
    let l = match pg_admin {
        None => {
            let (url, dir) = (db.url.clone(), db.dir.path().to_path_buf());
            tokio::task::spawn_blocking(move || plain_loop::sqlite(&url, &dir, before_seq))
                .await
                .unwrap()
        }
        Some(admin) => plain_loop::postgres(&db.url, admin, before_seq).await,
    };
    let rate = l.items as f64 / l.secs;
    println!(
        "(d) {backend}: the same rows by a plain loop ({} pushes, {} rows, {} a transaction): \
         {:.2} s, {:.0} items/s; end to end / loop = {:.2}",
        l.pushes,
        l.rows,
        plain_loop::BATCH,
        l.secs,
        rate,
        end_to_end / rate
    );
}
