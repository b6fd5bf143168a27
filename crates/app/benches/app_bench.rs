//! Prints what an inspector feels, measured through the same use cases the UI calls:
//! - cold start to a task list of 2,000 tasks (open the app's data, sign-in restored,
//!   list with counts), the part of "window appears → interactive list" that is ours;
//! - one tap on 不符合 until it is durable (committed with synchronous=FULL), p50/p99;
//! - a photo taken: stored with its hash, thumbnail and print copy, p50;
//! - the process's resident memory after a full checklist with 30 photos.
//!
//! - the 意见书 of an inspection with 6 photos, generated on the device.
//!
//! `cargo bench -p jiandu-app --bench app_bench` (release build).
//! `JIANDU_BENCH_ENCRYPTED=1`: the same with the app lock's PIN set, so the store
//! is SQLCipher and every file sealed (opening then includes entering the PIN:
//! argon2id and the key unwrap), the figures BENCHMARKS.md compares.

#![allow(clippy::unwrap_used)] // a benchmark that cannot unwrap has nothing to report

use jiandu_app::dto::*;
use jiandu_app::evidence::PhotoInput;
use jiandu_app::{App, SystemClock, V7Ids};
use std::time::{Duration, Instant};

/// A figure of /proc/self/status in KiB (`VmRSS:` now, `VmHWM:` peak).
fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

const PIN: &str = "246810";

fn main() {
    let encrypted = std::env::var("JIANDU_BENCH_ENCRYPTED").is_ok_and(|v| v == "1");
    println!(
        "store: {}",
        if encrypted {
            "encrypted (SQLCipher + XChaCha20-Poly1305, PIN set)"
        } else {
            "plain"
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let app = App::open(dir.path(), Box::new(SystemClock), Box::new(V7Ids)).unwrap();
        if encrypted {
            app.unlock(PIN).unwrap();
        }
        app
    };
    let app = App::open(dir.path(), Box::new(SystemClock), Box::new(V7Ids)).unwrap();
    app.sign_in(SignInInput {
        server_url: "demo".into(),
        username: "zhangwei".into(),
        password: "x".into(),
    })
    .unwrap();
    if encrypted {
        let t0 = Instant::now();
        app.set_pin(PIN).unwrap();
        println!(
            "set PIN (key made, demo data encrypted in place): {:.0} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
        app.lock_now().unwrap();
        let t0 = Instant::now();
        app.unlock(PIN).unwrap();
        println!(
            "unlock with the PIN (argon2id 64 MiB × 3, key unwrap, store opened): {:.0} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
    // 2,000 tasks: the demo's tasks copied with new ids and unit names.
    let first = app.task_list(TaskQuery::default()).unwrap().tasks;
    let mut tasks = Vec::new();
    for i in 0..2000 {
        let src = &first[i % first.len()];
        let (task, _) = app.task_for_bench(&src.task_id).unwrap();
        let mut t = task.clone();
        t.id = uuid::Uuid::now_v7();
        t.institution.id = uuid::Uuid::now_v7();
        t.institution.name = format!("{}{:04}", task.institution.name, i);
        tasks.push(t);
    }
    app.receive_tasks(&tasks).unwrap();
    drop(app);

    let mut cold = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let app = open();
        let list = app.task_list(TaskQuery::default()).unwrap();
        cold.push(t0.elapsed());
        assert!(list.total >= 2000);
    }
    cold.sort();
    println!(
        "cold open{} + task list of {} tasks: median {:.1} ms, worst {:.1} ms (target < 500 ms)",
        if encrypted { " + PIN" } else { "" },
        2000 + first.len(),
        cold[cold.len() / 2].as_secs_f64() * 1e3,
        cold[cold.len() - 1].as_secs_f64() * 1e3
    );

    let app = open();
    let id = first[0].task_id.clone();
    let detail = app.task_detail(&id).unwrap();
    app.show_credentials(ShowCredentialsInput {
        task_id: id.clone(),
        confirmed: detail
            .inspectors
            .iter()
            .map(|i| i.user_id.clone())
            .collect(),
        place: "现场".into(),
    })
    .unwrap();
    let points: Vec<String> = app
        .checklist(&id)
        .unwrap()
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .filter(|p| p.applicable)
        .map(|p| p.code.clone())
        .collect();
    let mut taps = Vec::new();
    for round in 0..4 {
        for p in &points {
            let verdict = if round % 2 == 0 {
                VerdictCode::NonCompliant
            } else {
                VerdictCode::Compliant
            };
            let t0 = Instant::now();
            app.answer(AnswerInput {
                task_id: id.clone(),
                point: p.clone(),
                verdict,
            })
            .unwrap();
            taps.push(t0.elapsed());
        }
    }
    taps.sort();
    println!(
        "tap → durable ({} taps): p50 {:.2} ms, p99 {:.2} ms",
        taps.len(),
        pct(&taps, 0.5).as_secs_f64() * 1e3,
        pct(&taps, 0.99).as_secs_f64() * 1e3
    );
    // 30 camera-sized photos on the last points, as an inspector takes them.
    let photo_points: Vec<&String> = points.iter().rev().take(30).collect();
    let mut shots = Vec::new();
    let mut bytes = 0usize;
    for k in 0..30 {
        let jpeg = jiandu_docs::sample::photo_jpeg(2400, 1800, 100 + k as u32);
        bytes += jpeg.len();
        let t0 = Instant::now();
        app.add_photo(
            PhotoInput {
                task_id: id.clone(),
                point: photo_points[k % photo_points.len()].clone(),
                taken_at: None,
                lat: Some(37.87),
                lon: Some(112.55),
            },
            &jpeg,
        )
        .unwrap();
        shots.push(t0.elapsed());
    }
    shots.sort();
    println!(
        "photo stored + thumbnail + print copy (30 photos of 2400×1800, {:.1} MB in all): p50 {:.0} ms, worst {:.0} ms",
        bytes as f64 / 1e6,
        pct(&shots, 0.5).as_secs_f64() * 1e3,
        shots[shots.len() - 1].as_secs_f64() * 1e3
    );
    // The 意见书 of another inspection with 6 photos on a non-compliant point.
    let other = first[1].task_id.clone();
    let detail = app.task_detail(&other).unwrap();
    app.show_credentials(ShowCredentialsInput {
        task_id: other.clone(),
        confirmed: detail
            .inspectors
            .iter()
            .map(|i| i.user_id.clone())
            .collect(),
        place: "现场".into(),
    })
    .unwrap();
    let point = app
        .checklist(&other)
        .unwrap()
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .find(|p| p.applicable)
        .map(|p| p.code.clone())
        .unwrap();
    app.answer(AnswerInput {
        task_id: other.clone(),
        point: point.clone(),
        verdict: VerdictCode::NonCompliant,
    })
    .unwrap();
    app.set_observation(ObservationInput {
        task_id: other.clone(),
        point: point.clone(),
        observation: "现场发现问题，详见照片。".into(),
    })
    .unwrap();
    for k in 0..6 {
        app.add_photo(
            PhotoInput {
                task_id: other.clone(),
                point: point.clone(),
                taken_at: None,
                lat: None,
                lon: None,
            },
            &jiandu_docs::sample::photo_jpeg(2400, 1800, 300 + k),
        )
        .unwrap();
    }
    let mut docs = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        match app.generate_document(&other, jiandu_app::documents::DocKindCode::Opinion) {
            Ok(_) => docs.push(t0.elapsed()),
            Err(e) => {
                println!("意见书 not generated: {}", e.message);
                break;
            }
        }
    }
    if !docs.is_empty() {
        docs.sort();
        println!(
            "意见书 with 6 photos generated ({} runs): median {:.0} ms",
            docs.len(),
            docs[docs.len() / 2].as_secs_f64() * 1e3
        );
    }
    println!(
        "resident memory after a full checklist with 30 photos: {:.1} MiB now, {:.1} MiB peak (app process without the webview)",
        status_kib("VmRSS:") as f64 / 1024.0,
        status_kib("VmHWM:") as f64 / 1024.0
    );
}
