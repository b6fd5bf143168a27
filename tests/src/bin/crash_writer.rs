//! Writer process for the store crash test (tests/tests/store_crash.rs).
//!
//! Usage: `crash_writer <database path> <run number>`. Opens the store, then saves
//! findings with photos in a loop, forever, and prints one line per commit AFTER the
//! store call returned:
//!
//! ```text
//! C <entity> <inspection id> <entity id> <device_seq>
//! ```
//!
//! The test kills this process with SIGKILL at random moments and checks that every
//! printed commit survived. Task ids are made from the run number so that each run
//! starts fresh inspections and never collides with an earlier run's.

use jiandu_core::Verdict;
use jiandu_store::{Answer, FileSource, PhotoMeta, Store};
use jiandu_tests::store_fixtures::{inspector, jpeg, points, t, task, templates};
use std::io::Write;
use std::process::ExitCode;
use uuid::Uuid;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash_writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("missing database path")?;
    let run: u128 = args.next().ok_or("missing run number")?.parse()?;
    // JIANDU_CRASH_KEY (64 hex digits): the same loop on an encrypted store.
    let mut store = match std::env::var("JIANDU_CRASH_KEY") {
        Ok(hex_key) => {
            let bytes: [u8; 32] = hex::decode(hex_key)?
                .try_into()
                .map_err(|_| "JIANDU_CRASH_KEY must be 32 bytes")?;
            Store::open_encrypted(&path, &jiandu_store::DataKey::from_bytes(bytes))?
        }
        Err(_) => Store::open(&path)?,
    };
    let tpl = templates();
    let pts = points(&tpl, "hospital");
    let me = inspector(1);
    let mut out = std::io::stdout().lock();
    let mut clock: i64 = 0;
    let mut tick = || {
        clock += 1;
        t(clock)
    };
    for k in 0u128.. {
        let task_id = Uuid::from_u128((run + 1) << 64 | k);
        store.upsert_task(
            &task(task_id, &format!("第{run}轮第{k}家"), "hospital"),
            tick(),
        )?;
        let started = store.start_inspection(task_id, "现场", &me, tick())?;
        let insp = started.inspection_id;
        writeln!(out, "C inspection {insp} {insp} {}", started.device_seq)?;
        out.flush()?;
        for (i, point) in pts.iter().enumerate() {
            let f = store.record_finding(
                &tpl,
                insp,
                Answer {
                    point,
                    verdict: Verdict::NonCompliant,
                    observation: "现场发现问题，详见照片",
                },
                &me,
                tick(),
            )?;
            writeln!(out, "C finding {insp} {} {}", f.id, f.device_seq)?;
            out.flush()?;
            let bytes = jpeg(
                1024 + (i * 331 + k as usize * 977) % 15_000,
                (k as u64) << 8 | i as u64,
            );
            let meta = PhotoMeta {
                taken_at: tick(),
                location: None,
                mime: "image/jpeg".into(),
            };
            let p = store.add_photo(
                insp,
                Some(f.id),
                FileSource::Bytes(&bytes),
                &meta,
                &me,
                tick(),
            )?;
            writeln!(out, "C photo {insp} {} {}", p.id, p.device_seq)?;
            out.flush()?;
        }
    }
    Ok(())
}
