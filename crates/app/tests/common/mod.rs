//! What the app's use-case tests share: a pinned clock, ids from a counter, the
//! fixture plan, and a real temporary app-data folder that can be reopened (a
//! reopening stands for a restart: battery died, app killed).

#![allow(dead_code)] // each test binary uses its own part of this module

use chrono::{DateTime, TimeZone, Utc};
use jiandu_app::dto::{ShowCredentialsInput, TaskDetail};
use jiandu_app::{App, Clock, IdSource};
use jiandu_core::templates::{BUILTIN_CATALOGUE, TemplateSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

#[derive(Clone)]
pub struct FixedClock(pub DateTime<Utc>);
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Ids from a counter shared across reopenings, so a restarted app never reuses one.
#[derive(Clone)]
pub struct CountingIds(pub Arc<AtomicU64>);
impl IdSource for CountingIds {
    fn new_id(&self) -> Uuid {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | u128::from(n))
    }
}

/// The real category catalogue and the fixture plan.
pub fn fixture_templates() -> TemplateSet {
    TemplateSet::from_sources(
        BUILTIN_CATALOGUE,
        [("plan.toml", include_str!("../fixtures/plan.toml"))],
    )
    .expect("fixture plan is valid")
}

/// One app-data folder, opened as often as a test likes.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub ids: CountingIds,
    pub clock: FixedClock,
}

impl Harness {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            ids: CountingIds(Arc::new(AtomicU64::new(0))),
            // 2024-06-01 10:00 in Beijing.
            clock: FixedClock(Utc.with_ymd_and_hms(2024, 6, 1, 2, 0, 0).unwrap()),
        }
    }
    pub fn open(&self) -> App {
        self.try_open().expect("app opens")
    }
    pub fn try_open(&self) -> Result<App, jiandu_app::AppError> {
        App::open_with_templates(
            self.dir.path(),
            fixture_templates(),
            Box::new(self.clock.clone()),
            Box::new(self.ids.clone()),
        )
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The text of a PDF, as poppler's pdftotext reads it (layout kept).
pub fn pdftotext(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        path.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

/// 亮证 for a task: both inspectors' 执法证号 confirmed, at the unit's address; the
/// inspection starts. Returns the task as it stands then.
pub fn start(app: &mut App, task_id: &str) -> TaskDetail {
    let detail = app.task_detail(task_id).expect("detail");
    app.show_credentials(ShowCredentialsInput {
        task_id: task_id.into(),
        confirmed: detail
            .inspectors
            .iter()
            .map(|i| i.user_id.clone())
            .collect(),
        place: detail.summary.address.clone(),
    })
    .expect("亮证 starts the inspection")
}
