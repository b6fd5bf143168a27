//! Fixtures for the sync tests (tests/tests/sync_*.rs): a REAL jiandu-server on
//! 127.0.0.1 in its own runtime (so it can be killed mid-request and restarted on
//! the same database file), people and a draw seeded through the server's store,
//! and devices with real stores in temp folders syncing through jiandu-sync.

use crate::store_fixtures::{PLAN_ID, jpeg, points, templates};
use chrono::{DateTime, Utc};
use jiandu_core::protocol::{EnrollRequest, PushItem};
use jiandu_core::{Actor, CategoryCode, Outcome, PublicCategory, Role, Verdict};
use jiandu_server::blobs::{BlobLocation, BlobStore, S3Location};
use jiandu_server::http;
use jiandu_server::model::{DrawRecord, Institution, NewUser, RegistryImport, StoredTask};
use jiandu_server::service::Platform;
use jiandu_server::store::{self, ServerStore, Stamp};
use jiandu_store::Store;
use jiandu_store::{Answer, FileSource, PhotoMeta};
use jiandu_sync::{
    FileTokenStore, SharedStore, SyncConfig, SyncEngine, SyncError, SyncReport, TokenStore,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// A server running on its own thread and runtime. `kill` drops the runtime: every
/// request in flight dies where it is, like a killed process.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on `dir/server.sqlite` with blobs in `dir/blobs`.
    pub fn start(dir: &Path) -> TestServer {
        Self::start_on(
            &dir.join("server.sqlite").to_string_lossy(),
            dir.join("blobs"),
        )
    }

    /// Starts a server on the database `db` (a SQLite path or a PostgreSQL URL, as
    /// `jiandu-server --db` takes it) with blobs in `blobs`.
    pub fn start_on(db: &str, blobs: PathBuf) -> TestServer {
        Self::start_with(db, BlobLocation::Folder(blobs))
    }

    /// Starts a server on the database `db` with photos in `blobs` (a folder or an
    /// S3-compatible object store).
    pub fn start_with(db: &str, blobs: BlobLocation) -> TestServer {
        Self::start_configured(db, blobs, |p| p)
    }

    /// As [`TestServer::start_with`], the platform then changed by `configure`.
    pub fn start_configured(
        db: &str,
        blobs: BlobLocation,
        configure: fn(Platform) -> Platform,
    ) -> TestServer {
        let db = db.to_owned();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let store = store::open(&db).await.expect("server store opens");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("binds");
                addr_tx
                    .send(listener.local_addr().expect("address"))
                    .expect("reports address");
                let state = Platform::new(store, templates())
                    .with_blob_store(BlobStore::open(&blobs).expect("blob store"))
                    .with_authority(AUTHORITY);
                let state = configure(state);
                tokio::select! {
                    r = http::serve(listener, state, 1024 * 1024, std::future::pending()) => {
                        r.expect("serves");
                    }
                    _ = kill_rx => {}
                }
            });
            rt.shutdown_background();
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server starts");
        TestServer {
            addr,
            kill: Some(kill_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server at once (requests in flight are dropped mid-way).
    pub fn kill(mut self) {
        self.stop();
    }

    /// As [`TestServer::kill`], for a server held in place.
    fn stop(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
    }
}

impl crate::day::Server for TestServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn kill(&mut self) {
        self.stop();
    }
}

/// The server's database for one test: SQLite in a temp folder, or a fresh
/// PostgreSQL scratch database on the server `JIANDU_TEST_PG` names. Blobs are kept
/// in the temp folder either way.
#[derive(Debug)]
pub struct ServerDb {
    /// "sqlite" or "postgres", for messages.
    pub backend: &'static str,
    /// What `store::open` and `jiandu-server --db` take.
    pub url: String,
    pub dir: tempfile::TempDir,
    /// Photos in an object store instead of `dir/blobs`: where, and the folder the
    /// S3 server keeps those objects in.
    pub s3: Option<(S3Location, PathBuf)>,
}

impl ServerDb {
    pub fn sqlite() -> ServerDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = dir
            .path()
            .join("server.sqlite")
            .to_string_lossy()
            .into_owned();
        ServerDb {
            backend: "sqlite",
            url,
            dir,
            s3: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a notice on stderr) when
    /// `JIANDU_TEST_PG` is unset, like the server's own tests. With
    /// `JIANDU_REQUIRE_PG=1` (CI) an unset `JIANDU_TEST_PG` fails the test instead.
    pub async fn postgres(test: &str) -> Option<ServerDb> {
        let Some(admin) = std::env::var("JIANDU_TEST_PG")
            .ok()
            .filter(|s| !s.is_empty())
        else {
            assert!(
                std::env::var("JIANDU_REQUIRE_PG").as_deref() != Ok("1"),
                "{test}: JIANDU_REQUIRE_PG=1 but JIANDU_TEST_PG is not set; start PostgreSQL with \
                 `export JIANDU_TEST_PG=\"$(bash scripts/start-test-postgres.sh)\"`"
            );
            eprintln!(
                "{test}: skipped on PostgreSQL, JIANDU_TEST_PG is not set \
                 (scripts/start-test-postgres.sh prints one)"
            );
            return None;
        };
        Some(Self::postgres_on(&admin).await)
    }

    /// A fresh scratch database on the PostgreSQL server `admin` points at.
    pub async fn postgres_on(admin: &str) -> ServerDb {
        let url = jiandu_server::store::postgres::PgStore::scratch_database(admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at the given URL is not reachable: {e}"));
        ServerDb {
            backend: "postgres",
            url,
            dir: tempfile::tempdir().expect("temp dir"),
            s3: None,
        }
    }

    /// The store, opened by the test itself (beside the server's own connection).
    pub async fn open(&self) -> Arc<dyn ServerStore> {
        store::open(&self.url).await.expect("server store opens")
    }

    /// Keeps photos in `s3` under `prefix` instead of a local folder.
    pub fn with_s3(mut self, s3: &crate::s3_fixtures::S3Server, prefix: &str) -> ServerDb {
        self.s3 = Some((s3.location(prefix), s3.folder(prefix)));
        self
    }

    /// The folder the verified photos are files in (`<sha[0..2]>/<sha>`): the blob
    /// folder, or the S3 server's folder of the bucket and prefix.
    pub fn blobs(&self) -> PathBuf {
        match &self.s3 {
            Some((_, folder)) => folder.clone(),
            None => self.dir.path().join("blobs"),
        }
    }

    /// Where the servers keep photos.
    pub fn blob_location(&self) -> BlobLocation {
        match &self.s3 {
            Some((loc, _)) => BlobLocation::S3(loc.clone()),
            None => BlobLocation::Folder(self.blobs()),
        }
    }

    /// A server on this database.
    pub fn start(&self) -> TestServer {
        TestServer::start_with(&self.url, self.blob_location())
    }
}

/// A person of the seeded world.
#[derive(Debug, Clone)]
pub struct Person {
    pub username: String,
    pub password: String,
    pub actor: Actor,
}

/// What [`seed`] created.
#[derive(Debug, Clone)]
pub struct World {
    pub lead: Person,
    pub inspectors: Vec<Person>,
    /// Task ids in draw order (every task is assigned to both inspectors).
    pub tasks: Vec<Uuid>,
}

pub const PASSWORD: &str = "jiandu-test-password";
pub const AUTHORITY: &str = "并卫监";
pub const YEAR: i32 = 2025;

fn credit_code(n: u32) -> String {
    let body = format!("91140100{n:09}");
    let c = jiandu_server::credit_code::check_char(&body).expect("check character");
    format!("{body}{c}")
}

/// Seeds a team lead and two inspectors (one team), `n_tasks` clinics, and a draw
/// assigning every task to both inspectors.
pub async fn seed(store: &dyn ServerStore, n_tasks: u32) -> World {
    let hash = jiandu_server::auth::hash_password(PASSWORD).expect("hashes");
    let now = Utc::now();
    let mut people = Vec::new();
    for (username, name, role, badge) in [
        ("lead", "王组长", Role::TeamLead, None),
        ("zhang", "张检查", Role::Inspector, Some("晋卫执0001")),
        ("li", "李检查", Role::Inspector, Some("晋卫执0002")),
    ] {
        let u = store
            .create_user(
                &Stamp::system(now),
                NewUser {
                    id: Uuid::now_v7(),
                    username: username.into(),
                    display_name: name.into(),
                    role,
                    badge_no: badge.map(Into::into),
                    team: "一组".into(),
                    district: "小店区".into(),
                    password_hash: Some(hash.clone()),
                    created_at: now,
                },
            )
            .await
            .expect("user created");
        people.push(Person {
            username: username.into(),
            password: PASSWORD.into(),
            actor: Actor {
                user_id: u.id,
                name: name.into(),
                role,
            },
        });
    }
    let institutions = (0..n_tasks)
        .map(|n| Institution {
            id: Uuid::now_v7(),
            name: format!("测试诊所{n}号"),
            credit_code: credit_code(n + 1),
            licence_no: format!("PDY{n:08}"),
            category: CategoryCode::new("clinic"),
            district: "小店区".into(),
            address: format!("小店区某路{n}号"),
            legal_representative: format!("负责人{n}"),
            phone: "0351-1234567".into(),
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
        .expect("registry imported");
    let insts = store.list_institutions().await.expect("institutions");
    let draw_id = Uuid::now_v7();
    let inspectors = vec![people[1].actor.user_id, people[2].actor.user_id];
    let tasks: Vec<StoredTask> = insts
        .iter()
        .enumerate()
        .map(|(i, inst)| StoredTask {
            id: Uuid::now_v7(),
            draw_id,
            plan_id: PLAN_ID.into(),
            plan_version: 1,
            position: i as i64,
            checklist: crate::store_fixtures::CHECKLIST.into(),
            kind: jiandu_core::inspection::DrawKind::National,
            followup: None,
            institution_id: inst.id,
            category: inst.category.clone(),
            drawn_inspectors: inspectors.clone(),
            inspectors: inspectors.clone(),
            seq: 0,
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
                seed: "sync-test".into(),
                algorithm: "fixture".into(),
                inputs_hash: "0".repeat(64),
                tasks_hash: "0".repeat(64),
                inputs: serde_json::json!({}),
                created_by: "test".into(),
                created_at: now,
            },
            YEAR,
            tasks,
        )
        .await
        .expect("draw saved");
    World {
        lead: people[0].clone(),
        inspectors: people[1..].to_vec(),
        tasks: ids,
    }
}

/// A device: a real store in a temp folder, a file token store, an engine.
#[derive(Debug)]
pub struct Device {
    pub dir: tempfile::TempDir,
    pub store: SharedStore,
    pub tokens: Arc<FileTokenStore>,
    pub person: Person,
}

impl Device {
    /// A fresh device of `person` enrolled at `server_url`.
    pub async fn enrolled(person: &Person, server_url: &str) -> Device {
        Self::enrolled_in(tempfile::tempdir().expect("temp dir"), person, server_url).await
    }

    /// As [`Device::enrolled`], its store and files in `dir`.
    pub async fn enrolled_in(dir: tempfile::TempDir, person: &Person, server_url: &str) -> Device {
        // JIANDU_TEST_ENCRYPTED_STORE=1: the same devices with the app lock's
        // encryption (SQLCipher store, sealed files and token), so the sync fault
        // tests run on the encrypted store too.
        let key = std::env::var("JIANDU_TEST_ENCRYPTED_STORE")
            .is_ok_and(|v| v == "1")
            .then(|| jiandu_store::DataKey::from_bytes([9u8; 32]));
        let db = dir.path().join("device.db");
        let mut store = match &key {
            Some(k) => Store::open_encrypted(&db, k),
            None => Store::open(&db),
        }
        .expect("store opens");
        store.set_id_source(Box::new(jiandu_store::UuidV7));
        let store = Arc::new(Mutex::new(store));
        let tokens = Arc::new(FileTokenStore::in_data_dir(dir.path()).with_key(key));
        jiandu_sync::enroll(
            &store,
            tokens.as_ref(),
            server_url,
            &EnrollRequest {
                username: person.username.clone(),
                password: person.password.clone(),
                device_name: format!("{} 的平板", person.actor.name),
            },
            Utc::now(),
        )
        .await
        .expect("enrols");
        assert!(tokens.load().expect("token readable").is_some());
        Device {
            dir,
            store,
            tokens,
            person: person.clone(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// An engine talking to `url` (the server or a proxy in front of it).
    pub fn engine(&self, url: &str, config: SyncConfig) -> SyncEngine {
        SyncEngine::new(self.store.clone(), self.tokens.clone(), config)
            .expect("engine")
            .with_server(url)
            .expect("client")
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Nothing left to send: no pending outbox row, no file still to upload.
    pub fn settled(&self) -> bool {
        self.with(|s| {
            s.outbox_stats().expect("outbox").pending == 0
                && s.uploads_left().expect("uploads").0 == 0
        })
    }
}

/// A sync round through the fault proxy may fail only as a cut connection does:
/// transport trouble, or the refusals of a request cut short (a partial body).
pub fn assert_only_transport_trouble(results: &[&Result<SyncReport, SyncError>]) {
    for r in results {
        if let Err(e) = r {
            assert!(
                e.is_transient()
                    || matches!(
                        e,
                        SyncError::Server {
                            status: 400 | 409 | 413 | 422,
                            ..
                        }
                    ),
                "only transport trouble expected, got {e:?}"
            );
        }
    }
}

/// The server holds exactly what the device holds for `ids`: same inspection
/// (version, findings, photos attached, outcome, status), every photo's bytes
/// present, verified and hash-equal.
pub async fn assert_server_matches(
    server: &dyn ServerStore,
    blobs: &Path,
    dev: &Device,
    ids: &[Uuid],
) {
    let all_blobs: HashMap<Uuid, _> = server
        .all_blobs()
        .await
        .expect("photos")
        .into_iter()
        .map(|b| (b.id, b))
        .collect();
    for id in ids {
        let local = dev.with(|s| s.load_inspection(*id)).expect("on the device");
        let remote = server
            .inspection(*id)
            .await
            .expect("read")
            .expect("on the server")
            .inspection;
        assert_eq!(
            remote, local,
            "server and device agree on inspection {id}, version {}",
            local.version
        );
        for p in dev.with(|s| s.list_photos(*id)).expect("photos") {
            let b = all_blobs.get(&p.id).expect("every photo is on the server");
            assert!(b.complete, "photo {} verified", p.id);
            assert_eq!(b.sha256, p.sha256, "same hash as taken");
            let bytes =
                std::fs::read(blobs.join(&b.sha256[..2]).join(&b.sha256)).expect("stored bytes");
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                p.sha256,
                "stored bytes re-hash to the photo's SHA-256"
            );
        }
    }
}

/// Every outbox entry `dev` holds with `device_seq` in `seqs`, as push items.
pub fn push_items(dev: &Device, seqs: std::ops::RangeInclusive<i64>) -> Vec<PushItem> {
    dev.with(|s| {
        seqs.filter_map(|seq| s.outbox_entry(seq).expect("outbox"))
            .map(|e| e.into_push_item())
            .collect()
    })
}

/// Clock for device edits (whole seconds; the server keeps them verbatim).
pub fn at(secs: i64) -> DateTime<Utc> {
    crate::store_fixtures::t(secs)
}

/// One complete inspection of `task` on `dev`, offline: every point answered (the
/// first 不符合 with an observation and `photos` photos), outcome, submission.
pub fn inspect(dev: &Device, task: Uuid, photos: &[usize], seed: u64, submit: bool) -> Uuid {
    let insp = start(dev, task);
    finish(dev, insp, photos, seed, submit);
    insp
}

/// Starts the inspection of `task` on `dev` (on site, at `at(10)`).
pub fn start(dev: &Device, task: Uuid) -> Uuid {
    dev.with(|s| s.start_inspection(task, "诊所大厅", &dev.person.actor, at(10)))
        .expect("inspection starts")
        .inspection_id
}

/// Completes a started inspection: every point answered (the first 不符合 with an
/// observation and `photos` photos), the outcome, and the submission if `submit`.
pub fn finish(dev: &Device, insp: Uuid, photos: &[usize], seed: u64, submit: bool) {
    let tpl = templates();
    let actor = dev.person.actor.clone();
    dev.with(|s| {
        let pts = points(&tpl, "clinic");
        let answers: Vec<Answer<'_>> = pts
            .iter()
            .enumerate()
            .map(|(i, p)| Answer {
                point: p,
                verdict: if i == 0 {
                    Verdict::NonCompliant
                } else {
                    Verdict::Compliant
                },
                observation: if i == 0 {
                    "消毒记录不全，现场未见2025年5月记录"
                } else {
                    ""
                },
            })
            .collect();
        let saved = s
            .record_findings(&tpl, insp, &answers, &actor, at(20))
            .expect("findings saved");
        for (k, len) in photos.iter().enumerate() {
            s.add_photo(
                insp,
                Some(saved[0].id),
                FileSource::Bytes(&jpeg(*len, seed * 100 + k as u64)),
                &PhotoMeta {
                    taken_at: at(30),
                    location: None,
                    mime: "image/jpeg".into(),
                },
                &actor,
                at(31 + k as i64),
            )
            .expect("photo saved");
        }
        s.set_outcome(
            insp,
            &Outcome {
                category: PublicCategory::Corrected,
                penalty: None,
                opinion: Some("责令立即改正".into()),
                unreachable_reason: None,
            },
            &actor,
            at(40),
        )
        .expect("outcome saved");
        if submit {
            s.submit(&tpl, insp, &actor, at(50)).expect("submitted");
        }
    })
}
