//! What the app's use-case tests share: a pinned clock, ids from a counter, the
//! fixture plan, and a real temporary app-data folder that can be reopened (a
//! reopening stands for a restart: battery died, app killed).

#![allow(dead_code)] // each test binary uses its own part of this module

use chrono::{DateTime, TimeZone, Utc};
use jiandu_app::dto::*;
use jiandu_app::{App, Clock, IdSource, SystemClock, V7Ids};
use jiandu_core::templates::{BUILTIN_CATALOGUE, TemplateSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

use jiandu_server::http;
use jiandu_server::http::tls::TlsFiles;
use jiandu_server::store::{self, ServerStore};
use std::net::SocketAddr;

// -------------------------------------------------------------------------------
// The REAL platform for the tests that sign in

/// The 执法机关 this test's platform prints (not the built-in default), told to each
/// device at enrolment.
pub const AUTHORITY: &str = "太原市小店区卫生健康综合行政执法大队";

pub const PASSWORD: &str = "jiandu-demo-1";
/// How long a test waits for a sync.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// `jiandu-server demo` + `serve`, in-process, on its own runtime.
pub struct Platform {
    pub addr: SocketAddr,
    pub store: Arc<dyn ServerStore>,
    pub rt: tokio::runtime::Runtime,
    /// Served over TLS (`serve --tls-cert --tls-key`): its URL is `https://`.
    tls: bool,
    _dir: tempfile::TempDir,
}

impl Platform {
    /// The demo platform over plain HTTP.
    pub fn start() -> Platform {
        Self::start_with(None)
    }

    /// The demo platform, over TLS with the certificate and key in `tls` when
    /// given (as `serve --tls-cert --tls-key` serves it), else over plain HTTP.
    pub fn start_with(tls: Option<TlsFiles>) -> Platform {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = dir.path().join("server.sqlite");
        let blobs = dir.path().join("blobs");
        let secure = tls.is_some();
        let (addr, store) = rt.block_on(async {
            let store = store::open(&db.to_string_lossy()).await.unwrap();
            let templates = jiandu_core::templates::TemplateSet::builtin().unwrap();
            let state = jiandu_server::service::Platform::new(Arc::clone(&store), templates)
                .with_blobs(blobs)
                .with_authority(AUTHORITY);
            jiandu_server::demo::run(
                &state,
                &jiandu_server::service::Actor::system(),
                "app-sync-test",
            )
            .await
            .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            const MAX_BODY: usize = 16 * 1024 * 1024;
            match tls {
                Some(files) => tokio::spawn(http::tls::serve(
                    listener,
                    state,
                    MAX_BODY,
                    files,
                    std::future::pending(),
                )),
                None => tokio::spawn(http::serve(
                    listener,
                    state,
                    MAX_BODY,
                    std::future::pending(),
                )),
            };
            (addr, store)
        });
        Platform {
            addr,
            store,
            rt,
            tls: secure,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
}

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

/// 发现问题已责令改正 with the given 监督意见.
pub fn corrected(task_id: &str, opinion: &str) -> OutcomeInput {
    OutcomeInput {
        task_id: task_id.into(),
        category: PublicCategoryCode::Corrected,
        cases: 0,
        fine_yuan: String::new(),
        revoked_licence: false,
        revoked_subjects: false,
        revoked_personnel: false,
        cancelled_filing: false,
        opinion: opinion.into(),
    }
}

/// 亮证 for a task: both inspectors' 执法证号 confirmed, at the unit's address; the
/// inspection starts. Returns the task as it stands then.
pub fn start(app: &App, task_id: &str) -> TaskDetail {
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

// -------------------------------------------------------------------------------
// Against the platform

/// An app on `dir` with the system clock and UUIDv7 ids (tests against the platform).
pub fn open_system(dir: &Path) -> App {
    App::open(dir, Box::new(SystemClock), Box::new(V7Ids)).unwrap()
}

/// Sign-in against a platform at `url`.
pub fn sign_in_to(
    app: &App,
    url: &str,
    user: &str,
    password: &str,
) -> jiandu_app::AppResult<Profile> {
    app.sign_in(SignInInput {
        server_url: url.to_owned(),
        username: user.to_owned(),
        password: password.to_owned(),
    })
}

pub fn synced(app: &App) {
    app.sync_and_wait(WAIT).unwrap().expect("sync succeeds");
}

/// The codes of the task's checklist points that apply to its unit, in order.
pub fn applicable_points(app: &App, task_id: &str) -> Vec<String> {
    app.checklist(task_id)
        .unwrap()
        .items
        .iter()
        .flat_map(|i| i.points.iter())
        .filter(|p| p.applicable)
        .map(|p| p.code.clone())
        .collect()
}

/// 亮证, then [`finish_and_submit`].
pub fn complete_and_submit(app: &App, task_id: &str) {
    start(app, task_id);
    finish_and_submit(app, task_id);
}

/// Answers every applicable point 符合 except the first (不符合, with an
/// observation), records 行政处罚 with a fine, and submits.
pub fn finish_and_submit(app: &App, task_id: &str) {
    let points = applicable_points(app, task_id);
    for (n, point) in points.iter().enumerate() {
        let verdict = if n == 0 {
            VerdictCode::NonCompliant
        } else {
            VerdictCode::Compliant
        };
        app.answer(AnswerInput {
            task_id: task_id.to_owned(),
            point: point.clone(),
            verdict,
        })
        .unwrap();
    }
    app.set_observation(ObservationInput {
        task_id: task_id.to_owned(),
        point: points[0].clone(),
        observation: "现场未见处方登记本。".into(),
    })
    .unwrap();
    app.set_outcome(OutcomeInput {
        task_id: task_id.to_owned(),
        category: PublicCategoryCode::Penalised,
        cases: 1,
        fine_yuan: "5000.50".into(),
        revoked_licence: false,
        revoked_subjects: false,
        revoked_personnel: false,
        cancelled_filing: false,
        opinion: "责令限期改正。".into(),
    })
    .unwrap();
    let submitted = app.submit(task_id).unwrap();
    assert_eq!(submitted.summary.status, StatusCode::Submitted);
    let again = app.submit(task_id).expect_err("a second tap is refused");
    assert!(!again.message.is_empty());
}

pub fn todo_tasks(app: &App) -> Vec<TaskSummary> {
    app.task_list(TaskQuery {
        status: Some(StatusFilter::Todo),
        ..Default::default()
    })
    .unwrap()
    .tasks
}
