//! Shared test fixtures: backends (SQLite always, PostgreSQL when JIANDU_TEST_PG is
//! set), valid credit codes, registry CSVs and a real server on 127.0.0.1:0.
#![allow(dead_code, clippy::unwrap_used)]

use jiandu_server::credit_code;
use jiandu_server::http;
use jiandu_server::service::{Actor, Platform};
use jiandu_server::store::Stamp;
use jiandu_server::store::{self, ServerStore, postgres::PgStore};
use std::sync::Arc;

/// One backend under test.
pub struct Backend {
    pub name: &'static str,
    /// What `--db` / `store::open` takes.
    pub url: String,
    pub store: Arc<dyn ServerStore>,
    /// Keeps the SQLite folder alive.
    pub dir: Option<tempfile::TempDir>,
}

/// SQLite in a fresh temp folder, and a fresh PostgreSQL database when
/// `JIANDU_TEST_PG` is set.
pub async fn backends() -> Vec<Backend> {
    let mut out = vec![sqlite().await];
    if let Some(b) = postgres().await {
        out.push(b);
    }
    out
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = dir
        .path()
        .join("server.sqlite")
        .to_string_lossy()
        .into_owned();
    let store = store::open(&url).await.unwrap();
    Backend {
        name: "sqlite",
        url,
        store,
        dir: Some(dir),
    }
}

pub async fn postgres() -> Option<Backend> {
    let Some(admin) = std::env::var("JIANDU_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        assert!(
            std::env::var("JIANDU_REQUIRE_PG").as_deref() != Ok("1"),
            "JIANDU_REQUIRE_PG=1 but JIANDU_TEST_PG is not set; start PostgreSQL with \
             `export JIANDU_TEST_PG=\"$(bash scripts/start-test-postgres.sh)\"`"
        );
        eprintln!(
            "PostgreSQL skipped: JIANDU_TEST_PG is not set (scripts/start-test-postgres.sh prints one)"
        );
        return None;
    };
    let url = PgStore::scratch_database(&admin)
        .await
        .expect("JIANDU_TEST_PG is set but PostgreSQL is not reachable");
    let store = store::open(&url).await.unwrap();
    Some(Backend {
        name: "postgres",
        url,
        store,
        dir: None,
    })
}

/// A valid 统一社会信用代码 numbered `n` (GB 32100 check character computed).
pub fn code(n: u32) -> String {
    let body = format!("91140100{n:09}");
    let c = credit_code::check_char(&body).unwrap();
    format!("{body}{c}")
}

pub const INSTITUTION_HEADER: &str =
    "名称,统一社会信用代码,执业许可证登记号,类别,区县,地址,法定代表人,联系电话\n";

/// A registry CSV: `counts` units per category, numbered from `start`, in `district`.
pub fn institutions_csv(counts: &[(&str, u32)], start: u32, district: &str) -> String {
    let mut s = INSTITUTION_HEADER.to_owned();
    let mut n = start;
    for (cat, k) in counts {
        for _ in 0..*k {
            s.push_str(&format!(
                "测试单位{n}号,{},PDY{n:08},{cat},{district},{district}某路{n}号,负责人{n},0351-{:07}\n",
                code(n),
                n % 10_000_000
            ));
            n += 1;
        }
    }
    s
}

/// A running server on 127.0.0.1:0.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(store: Arc<dyn ServerStore>) -> TestServer {
        Self::start_with_limit(store, 64 * 1024).await
    }

    pub async fn start_with_limit(store: Arc<dyn ServerStore>, max_body: usize) -> TestServer {
        let state = Platform::new(
            store,
            jiandu_core::templates::TemplateSet::builtin().unwrap(),
        );
        Self::start_platform(state, max_body).await
    }

    /// Serves `state` (e.g. with short session expiry).
    #[allow(dead_code)]
    pub async fn start_platform(state: Platform, max_body: usize) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(http::serve(listener, state, max_body, async {
            let _ = rx.await;
        }));
        TestServer {
            base: format!("http://{addr}/api/v1"),
            client: reqwest::Client::builder().build().unwrap(),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and checks it did not fail.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// The platform over a backend's store with the built-in plans.
pub fn platform(b: &Backend) -> Platform {
    Platform::new(
        b.store.clone(),
        jiandu_core::templates::TemplateSet::builtin().unwrap(),
    )
}

/// A stamp for writes made by a test directly on the store.
pub fn stamp() -> Stamp {
    Stamp::system(chrono::Utc::now())
}

/// A tablet of `user_id`, enrolled now, as the store takes it.
pub fn device(user_id: uuid::Uuid) -> jiandu_server::model::Device {
    jiandu_server::model::Device {
        id: uuid::Uuid::now_v7(),
        user_id,
        name: "平板".into(),
        created_at: chrono::Utc::now(),
        revoked_at: None,
        seq: 0,
        last_sync_at: None,
        revoked_kind: None,
        last_used_at: None,
    }
}

/// The library's own actor (tests, benchmarks).
pub fn system() -> Actor {
    Actor::system()
}

/// Imports a registry CSV (institutions, staff or follow-up list) straight into the
/// store, checked as the service checks it.
pub async fn import_csv(store: &dyn ServerStore, csv: &str) {
    let t = jiandu_core::templates::TemplateSet::builtin().unwrap();
    let (_, import) =
        jiandu_server::service::registry::parse_csv(csv.as_bytes(), &t.catalogue).unwrap();
    store.import_registry(&stamp(), import).await.unwrap();
}

/// Draws a plan as the system and records it.
pub async fn draw(
    store: &Arc<dyn ServerStore>,
    plan: &str,
    seed: &str,
) -> jiandu_server::service::draws::DrawView {
    let p = Platform::new(
        store.clone(),
        jiandu_core::templates::TemplateSet::builtin().unwrap(),
    );
    jiandu_server::service::draws::freeze(
        &p,
        &Actor::system(),
        chrono::Utc::now(),
        jiandu_server::service::draws::FreezeRequest {
            plan_id: plan.to_owned(),
        },
    )
    .await
    .unwrap();
    jiandu_server::service::draws::run(
        &p,
        &Actor::system(),
        chrono::Utc::now(),
        jiandu_server::service::draws::DrawRequest {
            plan_id: plan.to_owned(),
            seed: seed.to_owned(),
            dry_run: false,
        },
    )
    .await
    .unwrap()
}

/// Stores an inspection as new (seeding a scenario).
pub async fn put_new(
    store: &dyn ServerStore,
    i: jiandu_core::Inspection,
) -> jiandu_server::model::StoredInspection {
    store
        .put_inspection(
            &stamp(),
            i,
            None,
            jiandu_server::service::review::expect_version(None),
        )
        .await
        .unwrap()
}
