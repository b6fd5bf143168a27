//! Long operations a person waits for (导出本机数据, a document of many photos):
//! their progress as it goes, and 取消.
//!
//! The UI names each run with an id of its own; the shell passes the progress on
//! (a Tauri channel) and [`App::cancel_job`] sets the run's flag. The operation
//! checks the flag between its steps, stops there and leaves nothing half-written
//! (an export's hidden folder is removed; a document is not written), answering
//! `cancelled`.

use crate::{App, AppError, AppResult, lock};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ts_rs::TS;

/// How far a long operation is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct JobProgress {
    /// What is being done now, e.g. 正在复制照片、签名和文书.
    pub label: String,
    /// Steps done of `total` (0 of 0: no count known).
    pub done: u32,
    pub total: u32,
}

/// Reports are sent at most this often (a folder of thousands of photos would
/// otherwise send thousands), except a new label and the last step.
const REPORT_EVERY: Duration = Duration::from_millis(100);

type Report = Box<dyn Fn(JobProgress) + Send + Sync>;
type Running = Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>;

/// One run of a long operation: where its progress goes, and whether the person
/// cancelled it.
pub struct Job {
    cancelled: Arc<AtomicBool>,
    report: Report,
    last: Mutex<Option<(String, Instant)>>,
    /// The app's list of running jobs and this one's id (removed on drop).
    registered: Option<(Running, String)>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.registered.as_ref().map(|(_, id)| id))
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Job {
    /// A run nobody watches or cancels (tests; callers without a progress bar).
    pub fn none() -> Job {
        Job {
            cancelled: Arc::default(),
            report: Box::new(|_| {}),
            last: Mutex::new(None),
            registered: None,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// `Err(cancelled)` once the person has cancelled.
    pub fn check(&self) -> AppResult<()> {
        if self.is_cancelled() {
            Err(AppError::new("cancelled", "已取消"))
        } else {
            Ok(())
        }
    }

    /// Reports a step (throttled), then [`Job::check`]s.
    pub fn step(&self, label: &str, done: u32, total: u32) -> AppResult<()> {
        self.check()?;
        let now = Instant::now();
        let due = {
            let mut last = lock(&self.last);
            let due = match &*last {
                Some((l, at)) => {
                    l != label || done >= total || now.duration_since(*at) >= REPORT_EVERY
                }
                None => true,
            };
            if due {
                *last = Some((label.to_owned(), now));
            }
            due
        };
        if due {
            (self.report)(JobProgress {
                label: label.to_owned(),
                done,
                total,
            });
        }
        Ok(())
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some((running, id)) = &self.registered {
            lock(running).remove(id);
        }
    }
}

/// The running jobs of an app, by id.
#[derive(Debug, Default)]
pub(crate) struct Jobs(Running);

impl App {
    /// Starts a run named `id` (the UI's) whose progress goes to `report`;
    /// [`App::cancel_job`] with the same id cancels it while it runs.
    pub fn start_job(&self, id: &str, report: impl Fn(JobProgress) + Send + Sync + 'static) -> Job {
        let cancelled = Arc::new(AtomicBool::new(false));
        lock(&self.jobs.0).insert(id.to_owned(), Arc::clone(&cancelled));
        Job {
            cancelled,
            report: Box::new(report),
            last: Mutex::new(None),
            registered: Some((Arc::clone(&self.jobs.0), id.to_owned())),
        }
    }

    /// 取消: the run stops at its next step and writes nothing more. A run that
    /// has already ended is left as it is (its result stands).
    pub fn cancel_job(&self, id: &str) -> AppResult<()> {
        if let Some(flag) = lock(&self.jobs.0).get(id) {
            tracing::info!(job = id, "cancel requested");
            flag.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}
