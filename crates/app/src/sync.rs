//! Sync with the central platform, as the app uses it: sign-in by enrolment, the
//! scheduler of the signed-in user, the 同步 panel's figures, rejected edits, and a
//! team lead's decisions sent to the platform.
//!
//! The app's use cases stay synchronous (the shell runs each on a thread of its own);
//! sync runs on a small runtime the app owns ([`SyncHub`]: one worker thread), next
//! to the UI, sharing the user's store (locked per step, never across a network
//! wait). A use case that asks the platform (a decision, an archive copy, sign-in)
//! waits for the answer with nothing locked.
//!
//! - Sign-in with a server address enrols this device (`POST /api/v1/devices/enroll`);
//!   the token goes to `users/<id>/sync-token` (0600, [`FileTokenStore`]), never into
//!   the database; the enrolment into the store. A first sync then brings the tasks.
//! - While signed in, a [`Scheduler`] syncs on connectivity (the UI reports
//!   `navigator.onLine` through [`App::set_online`]), on a timer and on 立即同步; its
//!   [`SyncEvent`]s reach the UI as [`SyncEventView`]s through the listener the shell
//!   installs ([`App::on_sync_event`]).
//! - "Online" on the badge is what the device last knew: the system's signal, then
//!   corrected by each sync (reached the server, or could not).
//! - A team lead's 通过 / 退回 goes to the platform's review endpoint at once (naming
//!   the exact version read) and is applied locally from the platform's answer: a
//!   decision is the platform's record, and the inspector's device receives it with
//!   the next pull.

use crate::dto::{Profile, RoleCode, SignInInput};
use crate::{App, AppError, AppResult, Clock, Session, SharedStore, lock, rfc3339};
use jiandu_core::Inspection;
use jiandu_core::protocol::{EnrollRequest, SyncEvent, SyncPhase, SyncProgress};
use jiandu_sync::{
    ApiClient, FileTokenStore, SchedulePolicy, Scheduler, SyncConfig, SyncEngine, SyncError,
    TokenStore,
};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;
use ts_rs::TS;
use uuid::Uuid;

/// How long sign-in waits for the first sync before showing the list anyway (the
/// sync goes on in the background).
const FIRST_SYNC_WAIT: Duration = Duration::from_secs(60);
/// Enrolment, decisions and archive copies: a person asked, and keeps working
/// meanwhile (nothing is locked while they wait), so a slow platform on one bar of
/// signal is given as long as a sync request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Failed syncs kept for the 同步 panel and the diagnostics file.
const RECENT_ERRORS: usize = 10;

/// Receives every sync event of the signed-in user (the shell forwards them to the
/// window).
pub type SyncListener = Arc<dyn Fn(SyncEventView) + Send + Sync>;

// -------------------------------------------------------------------------------
// What the UI receives

/// Kind of a sync event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncEventKind {
    Started,
    Progress,
    Finished,
    Failed,
    Revoked,
    /// The platform declared this device lost: its keys are erased, the data
    /// cannot be read any more, the person is signed out.
    Lost,
}

/// One sync event, flat for the progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncEventView {
    pub event: SyncEventKind,
    /// push / photos / leases / pull / done (progress events).
    pub phase: Option<String>,
    /// Changes still to send, and sent in this sync.
    pub items_left: u32,
    pub items_done: u32,
    /// Photos (and signature images) not yet verified by the server.
    pub photos_left: u32,
    #[ts(type = "number")]
    pub bytes_left: u64,
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// Changes received in this sync so far (on `finished`: in the whole sync).
    pub changes_pulled: u32,
    /// Rejected edits waiting for the inspector (on `finished`).
    pub conflicts: u32,
    /// Why it failed, or the revocation notice.
    pub message: Option<String>,
}

/// The 同步 panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncStatus {
    /// 演示模式: no server.
    pub demo: bool,
    pub server_url: String,
    /// What the device last knew: the system's network signal, corrected by each sync.
    pub online: bool,
    /// A sync is running now.
    pub running: bool,
    /// RFC 3339 of the last sync that finished without error.
    pub last_sync_at: Option<String>,
    /// The last sync's error, until one succeeds.
    pub last_error: Option<String>,
    /// Set when the platform revoked this device: sync has stopped for good.
    pub revoked: Option<String>,
    pub pending_changes: u32,
    pub photos_left: u32,
    #[ts(type = "number")]
    pub bytes_left: u64,
    /// Photo bytes sent in the running (or last) sync.
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// Open rejected edits.
    pub conflicts: u32,
}

/// A local edit the platform refused, with the platform's version beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConflictView {
    #[ts(type = "number")]
    pub id: i64,
    pub task_id: Option<String>,
    pub unit_name: String,
    /// What was changed, e.g. 提交审核, 检查结果（处方管理情况）.
    pub change: String,
    /// locked / stale / forbidden / invalid / dependency_rejected.
    pub reason: String,
    /// The reason in words.
    pub reason_label: String,
    /// The platform's explanation.
    pub message: String,
    /// RFC 3339.
    pub at: String,
    /// The platform's record when it refused (None: it had none).
    pub server_status_label: Option<String>,
    pub server_version: Option<u32>,
    pub server_review_comment: Option<String>,
    pub server_outcome_label: Option<String>,
    pub resolved: bool,
}

// -------------------------------------------------------------------------------
// The runtime and the link of a session

/// The runtime sync runs on and the listener of its events; one per app, kept
/// across sign-out and sign-in.
pub(crate) struct SyncHub {
    rt: Option<tokio::runtime::Runtime>,
    listener: Arc<RwLock<Option<SyncListener>>>,
    /// The user folder whose keys were erased because the platform declared this
    /// device lost; the app closes that session at its next call.
    pub(crate) lost: Arc<Mutex<Option<std::path::PathBuf>>>,
}

impl SyncHub {
    pub(crate) fn new() -> AppResult<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("jiandu-sync")
            .enable_all()
            .build()
            .map_err(|e| AppError::new("internal", format!("无法启动同步线程：{e}")))?;
        Ok(Self {
            rt: Some(rt),
            listener: Arc::new(RwLock::new(None)),
            lost: Arc::default(),
        })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        // Only `drop` takes it.
        self.rt.as_ref().unwrap_or_else(|| unreachable!())
    }

    /// Runs `f` on the sync runtime and waits for its answer. Works from any thread,
    /// including one of another runtime (Tauri's), where `block_on` would panic.
    pub(crate) fn block<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = T> + Send + 'static,
    ) -> AppResult<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.rt().spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv()
            .map_err(|_| AppError::new("internal", "同步线程意外停止，请重启应用"))
    }
}

impl Drop for SyncHub {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            // Outside any runtime: wait (bounded) until sync tasks are gone, so the
            // store they held is closed when the app is.
            if tokio::runtime::Handle::try_current().is_err() {
                rt.shutdown_timeout(Duration::from_secs(5));
            } else {
                rt.shutdown_background();
            }
        }
    }
}

/// One failed sync, as the diagnostics file lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncFailure {
    pub at: chrono::DateTime<chrono::Utc>,
    pub code: String,
    pub message: String,
}

/// What the running syncs told so far.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) online: bool,
    pub(crate) running: bool,
    pub(crate) last_error: Option<String>,
    progress: SyncProgress,
    /// Changes pulled by the running sync (its `finished` event does not carry it).
    pulled: u64,
    /// The last failed syncs, newest last.
    failures: VecDeque<SyncFailure>,
}

impl Live {
    fn apply(&mut self, e: &SyncEvent, now: chrono::DateTime<chrono::Utc>) -> SyncEventView {
        let mut view = SyncEventView {
            event: SyncEventKind::Started,
            phase: None,
            items_left: 0,
            items_done: 0,
            photos_left: 0,
            bytes_left: 0,
            bytes_done: 0,
            changes_pulled: 0,
            conflicts: 0,
            message: None,
        };
        match e {
            SyncEvent::Started => {
                self.running = true;
                self.pulled = 0;
                self.progress = SyncProgress::default();
            }
            SyncEvent::Progress { phase, progress } => {
                view.event = SyncEventKind::Progress;
                view.phase = Some(phase_name(*phase).to_owned());
                self.progress = *progress;
                self.pulled = self.pulled.max(progress.changes_pulled);
            }
            SyncEvent::Finished {
                progress,
                conflicts,
            } => {
                view.event = SyncEventKind::Finished;
                view.conflicts = clamp(*conflicts);
                self.running = false;
                self.online = true;
                self.last_error = None;
                let bytes_done = self.progress.bytes_done.max(progress.bytes_done);
                self.progress = SyncProgress {
                    bytes_done,
                    changes_pulled: self.pulled,
                    ..*progress
                };
            }
            SyncEvent::Failed { code, message } => {
                view.event = SyncEventKind::Failed;
                self.running = false;
                // Could not reach the platform (or it is down): the device is offline
                // as far as the inspector is concerned.
                if code == "network" || code.starts_with("http") || code == "unavailable" {
                    self.online = false;
                }
                // The engine's message is the sentence to read (what happened, what
                // to do): jiandu_sync::SyncError's Display.
                self.last_error = Some(message.clone());
                view.message = Some(message.clone());
                if code != "cancelled" {
                    // Interrupted on purpose (sign-out): not a failure to report.
                    self.remember(now, code, message);
                }
            }
            SyncEvent::Revoked { message } => {
                view.event = SyncEventKind::Revoked;
                self.running = false;
                self.last_error = Some(message.clone());
                view.message = Some(message.clone());
                self.remember(now, "device_revoked", message);
            }
            SyncEvent::Lost { message } => {
                view.event = SyncEventKind::Lost;
                self.running = false;
                self.online = false;
                self.last_error = Some(message.clone());
                view.message = Some(message.clone());
                self.remember(now, "device_lost", message);
            }
        }
        let p = &self.progress;
        view.items_left = clamp(p.items_left);
        view.items_done = clamp(p.items_done);
        view.photos_left = clamp(p.photos_left);
        view.bytes_left = p.bytes_left;
        view.bytes_done = p.bytes_done;
        view.changes_pulled = clamp(self.pulled);
        view
    }
}

impl Live {
    fn remember(&mut self, at: chrono::DateTime<chrono::Utc>, code: &str, message: &str) {
        if self.failures.len() == RECENT_ERRORS {
            self.failures.pop_front();
        }
        self.failures.push_back(SyncFailure {
            at,
            code: code.to_owned(),
            message: message.to_owned(),
        });
    }
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn phase_name(p: SyncPhase) -> &'static str {
    match p {
        SyncPhase::Push => "push",
        SyncPhase::Photos => "photos",
        SyncPhase::Leases => "leases",
        SyncPhase::Pull => "pull",
        SyncPhase::Done => "done",
    }
}

/// A signed-in user's connection to the platform: token, scheduler, what it told.
pub(crate) struct Link {
    server_url: String,
    pub(crate) tokens: Arc<FileTokenStore>,
    /// None once stopped (sign-out).
    scheduler: Mutex<Option<Scheduler>>,
    pub(crate) live: Arc<Mutex<Live>>,
    /// Events after they were applied to `live` (so a waiter sees settled state).
    processed: broadcast::Sender<SyncEventView>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

impl Link {
    /// Starts syncing the enrolled store of `user_dir`. Offline until told
    /// otherwise ([`App::set_online`], or a sync that reaches the platform).
    /// `doc_numbers`: the (authority, year) series whose 文号 blocks it keeps topped up.
    pub(crate) fn start(
        hub: &SyncHub,
        store: SharedStore,
        user_dir: &Path,
        key: Option<jiandu_store::DataKey>,
        doc_numbers: Vec<(String, i32)>,
        clock: Arc<dyn Clock>,
    ) -> AppResult<Link> {
        let tokens = Arc::new(FileTokenStore::in_data_dir(user_dir).with_key(key));
        let token_store: Arc<dyn TokenStore> = tokens.clone();
        let config = SyncConfig {
            doc_numbers,
            root_ca_pem: crate::remote::trusted_ca(user_dir),
            ..SyncConfig::default()
        };
        let engine = SyncEngine::new(store, token_store, config).map_err(|e| {
            AppError::new(
                "not_enrolled",
                format!("本机尚未向服务器登记，请退出登录后重新登录（{e}）"),
            )
        })?;
        let server_url = engine_url(&engine);
        let live = Arc::new(Mutex::new(Live::default()));
        let scheduler = {
            let _in_runtime = hub.rt().enter();
            Scheduler::spawn(Arc::new(engine), SchedulePolicy::default(), false)
        };
        let mut rx = scheduler.subscribe();
        let (processed, _) = broadcast::channel(256);
        let (live2, listener, processed2) = (
            Arc::clone(&live),
            Arc::clone(&hub.listener),
            processed.clone(),
        );
        let (lost, dir) = (Arc::clone(&hub.lost), user_dir.to_owned());
        hub.rt().spawn(async move {
            loop {
                let event = match rx.recv().await {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if let SyncEvent::Lost { message } = &event {
                    // Before anyone hears of it: the keys go now, whatever the UI does.
                    crate::remote::erase_lost(&dir, message, clock.now());
                    *lock(&lost) = Some(dir.clone());
                }
                let view = lock(&live2).apply(&event, clock.now());
                let _ = processed2.send(view.clone());
                let f = listener
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                if let Some(f) = f {
                    f(view);
                }
            }
        });
        Ok(Link {
            server_url,
            tokens,
            scheduler: Mutex::new(Some(scheduler)),
            live,
            processed,
        })
    }

    fn set_online(&self, online: bool) {
        lock(&self.live).online = online;
        if let Some(s) = &*lock(&self.scheduler) {
            s.set_online(online);
        }
    }

    /// 立即同步: tries now, whatever the system's network signal says (it is often
    /// wrong on site); a failure shows the device offline.
    fn sync_now(&self) {
        if let Some(s) = &*lock(&self.scheduler) {
            tracing::info!("sync requested (立即同步)");
            if !lock(&self.live).online {
                s.set_online(true); // going online starts a sync
            } else {
                s.sync_now();
            }
        }
    }

    /// A change was made: send it soon if the device is online.
    pub(crate) fn nudge(&self) {
        if let Some(s) = &*lock(&self.scheduler)
            && lock(&self.live).online
        {
            s.sync_now();
        }
    }

    /// The last failed syncs, oldest first.
    pub(crate) fn failures(&self) -> Vec<SyncFailure> {
        lock(&self.live).failures.iter().cloned().collect()
    }

    /// Starts a sync and waits until it ends (Err: its message). A sync already
    /// running may predate the latest change, so the one waited for is the next to
    /// start.
    fn sync_and_wait(&self, hub: &SyncHub, timeout: Duration) -> AppResult<Result<(), String>> {
        if lock(&self.scheduler).is_none() {
            return Ok(Err("同步已停止".into()));
        }
        let mut rx = self.processed.subscribe();
        self.sync_now();
        hub.block(async move {
            let wait = async {
                let mut started = false;
                loop {
                    match rx.recv().await {
                        Ok(v) => match v.event {
                            SyncEventKind::Started => started = true,
                            _ if !started => {}
                            SyncEventKind::Finished => return Ok(()),
                            SyncEventKind::Failed
                            | SyncEventKind::Revoked
                            | SyncEventKind::Lost => {
                                return Err(v.message.unwrap_or_default());
                            }
                            SyncEventKind::Progress => {}
                        },
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => {
                            return Err("同步已停止".to_owned());
                        }
                    }
                }
            };
            tokio::time::timeout(timeout, wait)
                .await
                .unwrap_or_else(|_| Err("同步仍在进行".to_owned()))
        })
    }

    /// Stops the scheduler (a running sync is interrupted; all done so far is kept).
    pub(crate) fn stop(&self, hub: &SyncHub) {
        let scheduler = lock(&self.scheduler).take();
        if let Some(s) = scheduler {
            let _ = hub.block(s.stop());
        }
    }
}

fn engine_url(engine: &SyncEngine) -> String {
    lock(engine.store())
        .sync_state()
        .ok()
        .and_then(|s| s.server_url)
        .unwrap_or_default()
}

// -------------------------------------------------------------------------------
// Errors as a person reads them

/// A platform error as the person reads it: the sync engine's sentence (what
/// happened, what to do; see `jiandu_sync::SyncError`), under the app's codes.
/// The technical cause goes to the log.
fn sync_error(e: SyncError) -> AppError {
    tracing::info!(code = e.code(), detail = %e.detail(), "platform request failed");
    match e {
        SyncError::Network(n) => AppError::new("server_unreachable", n.to_string()),
        SyncError::Revoked(m) => AppError::new("device_revoked", m),
        SyncError::Lost(m) => AppError::new("device_lost", m),
        SyncError::Server { ref code, .. } => AppError::new(&code.clone(), e.to_string()),
        other => AppError::new(other.code(), other.to_string()),
    }
}

/// [`sync_error`] where the person is waiting for an answer now (a decision, an
/// archive copy): a network failure says what could not be done, why, and what to
/// do; `after_timeout` is what to do when the platform did not answer in time
/// (the request may have arrived).
fn request_error(e: SyncError, what: &str, after_timeout: &str) -> AppError {
    match e {
        SyncError::Network(ref n) => {
            tracing::info!(detail = %e.detail(), "platform request failed");
            let message = if n.kind == jiandu_sync::NetKind::Timeout {
                format!("{what}：{}。{after_timeout}", n.kind.reason())
            } else {
                format!("{what}：{}", n.request_message())
            };
            AppError::new("server_unreachable", message)
        }
        other => sync_error(other),
    }
}

fn enroll_error(e: SyncError, url: &str) -> AppError {
    match e {
        SyncError::NotEnrolled => AppError::new("invalid_credentials", "用户名或密码错误"),
        SyncError::Network(n) => {
            tracing::info!(%url, kind = ?n.kind, detail = %n.detail, "enrolment got no answer");
            AppError::new(
                "server_unreachable",
                format!("无法连接服务器 {url}：{}", n.request_message()),
            )
        }
        SyncError::Protocol(_)
        | SyncError::Server {
            status: 404 | 405, ..
        } => AppError::new(
            "not_a_server",
            format!("{url} 不是监督平台的地址，请检查服务器地址"),
        ),
        other => sync_error(other),
    }
}

/// Checks and normalises a server address: `https://host[:port][/path]`; a bare
/// `host:port` gets `https://`. Plain `http://` is refused (passwords and tokens
/// would cross the field network in the clear) except to this device itself
/// (127.0.0.1, ::1, localhost: a platform on the same machine, tests). 演示模式
/// never reaches here.
pub fn normalise_server_url(input: &str) -> AppResult<String> {
    let bad = || {
        AppError::new(
            "bad_url",
            format!("服务器地址“{input}”格式不正确，应类似 https://jiandu.example.gov.cn"),
        )
    };
    let s = input.trim().trim_end_matches('/');
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("https".to_owned(), s),
    };
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if !host_ok || !port_ok || rest.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    if scheme == "http" && !is_loopback(host) {
        return Err(AppError::new(
            "insecure_url",
            format!(
                "不能使用不加密的 http:// 地址“{input}”：密码和登录凭据会在网络上明文传输。\
                 请使用 https:// 开头的地址（可只填“主机:端口”，自动按 https 连接）；\
                 如平台尚未配置 HTTPS，请联系本单位信息化人员。"
            ),
        ));
    }
    Ok(format!("{scheme}://{rest}"))
}

/// This device itself: the only place plain HTTP may go.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn role_of(role: jiandu_core::Role) -> AppResult<RoleCode> {
    match role {
        jiandu_core::Role::Inspector => Ok(RoleCode::Inspector),
        jiandu_core::Role::TeamLead => Ok(RoleCode::TeamLead),
        jiandu_core::Role::Admin => Err(AppError::new(
            "forbidden",
            "管理员账号请在平台上使用，检查设备只供检查人员和组长登录",
        )),
    }
}

fn change_label(entity: &str, op: &str, local: &serde_json::Value) -> String {
    match (entity, op) {
        ("inspection", "start") => "亮证（开始检查）".into(),
        ("inspection", "set_outcome") => "处理结果".into(),
        ("inspection", "submit") => "提交审核".into(),
        ("inspection", "mark_unreachable") => "登记无法联系".into(),
        ("finding", _) => format!(
            "检查结果（{}）",
            local.get("point").and_then(|p| p.as_str()).unwrap_or("?")
        ),
        ("photo", "void") => "作废照片".into(),
        ("photo", _) => "添加照片".into(),
        ("signature", _) => "签名".into(),
        (e, o) => format!("{e}/{o}"),
    }
}

// -------------------------------------------------------------------------------
// The use cases

impl App {
    /// Sign-in against a real platform: enrols this device, keeps the token in the
    /// user's own folder, saves the profile, starts syncing and waits for the first
    /// sync (bounded), so the drawn tasks are there when the list opens. Called
    /// with `signing` held; no other lock is held while the platform answers.
    pub(crate) fn sign_in_server(
        &self,
        input: &SignInInput,
        ca_cert: Option<&str>,
    ) -> AppResult<Profile> {
        let url = normalise_server_url(&input.server_url)?;
        if let Some(pem) = ca_cert {
            if !url.starts_with("https://") {
                return Err(AppError::new(
                    "bad_ca",
                    "CA 证书只用于 https:// 地址，请核对服务器地址",
                ));
            }
            jiandu_sync::client::parse_ca_pem(pem).map_err(|e| AppError::new("bad_ca", e))?;
        }
        let request = EnrollRequest {
            username: input.username.trim().to_owned(),
            password: input.password.clone(),
            device_name: format!("监督应用（{}）", std::env::consts::OS),
        };
        tracing::info!(%url, user = %request.username, "enrolling this device");
        let client = ApiClient::with_trust(&url, REQUEST_TIMEOUT, true, ca_cert)
            .map_err(|e| enroll_error(e, &url))?;
        let resp = self
            .sync
            .block(async move { client.enroll(&request).await })?
            .map_err(|e| enroll_error(e, &url))?;
        let role = role_of(resp.user.role)?;
        tracing::info!(device = %resp.device_id, user = %resp.user.username, "device enrolled");
        // A previous session of someone else stops syncing first.
        self.close_session();
        *lock(&self.locked) = None;
        *lock(&self.pending) = None;
        let user_dir = self.user_dir(&resp.user.id.to_string());
        self.clear_unreadable(&user_dir)?;
        std::fs::create_dir_all(&user_dir).map_err(AppError::storage)?;
        crate::remote::keep_ca(&user_dir, ca_cert)?;
        let locked = self.has_pin(&user_dir);
        if locked {
            // This user's data is encrypted: the enrolment is stored once the PIN
            // opens it (App::unlock).
            *lock(&self.pending) = Some(crate::lock::PendingEnrolment {
                token: resp.token.clone(),
                url: url.clone(),
                device_id: resp.device_id,
                user_id: resp.user.id,
                epoch: resp.epoch,
                authority: resp.authority.clone(),
            });
        } else {
            FileTokenStore::in_data_dir(&user_dir)
                .save(&resp.token)
                .map_err(AppError::storage)?;
            let mut store = jiandu_store::Store::open(user_dir.join("device.db"))?;
            store.set_enrolment(
                &url,
                resp.device_id,
                resp.user.id,
                resp.epoch,
                resp.authority.as_deref(),
                self.clock.now(),
            )?;
        }
        let profile = Profile {
            user_id: resp.user.id.to_string(),
            username: resp.user.username.clone(),
            display_name: resp.user.display_name.clone(),
            role,
            badge_no: resp.user.badge_no.clone().unwrap_or_default(),
            server_url: url,
            demo: false,
        };
        self.save_profile(&profile)?;
        self.clear_lost_notice();
        if locked {
            *lock(&self.locked) = Some(profile.clone());
            return Ok(profile);
        }
        self.open_session(profile.clone(), None)?;
        // The first sync brings the tasks; if it fails the list says so and the
        // scheduler keeps trying.
        let _ = self.sync_and_wait(FIRST_SYNC_WAIT)?;
        Ok(profile)
    }

    /// Signs in at start when nobody is signed in yet, from `url,user,password`
    /// (`JIANDU_AUTO_SIGN_IN`, set by scripts/run.sh so a newcomer's first window
    /// opens signed in as a demo inspector). `Ok(None)`: someone already was.
    pub fn auto_sign_in(&self, spec: &str) -> AppResult<Option<Profile>> {
        if self.current().is_some() {
            return Ok(None);
        }
        let mut parts = spec.splitn(3, ',');
        let (Some(url), Some(user), Some(password)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(AppError::invalid(
                "自动登录的设置应为“服务器地址,用户名,密码”",
            ));
        };
        self.sign_in(SignInInput {
            server_url: url.to_owned(),
            username: user.to_owned(),
            password: password.to_owned(),
        })
        .map(Some)
    }

    /// Installs where sync events go (the shell forwards them to the window).
    pub fn on_sync_event(&self, listener: SyncListener) {
        *self
            .sync
            .listener
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(listener);
    }

    /// The system's network signal (`navigator.onLine` and its events). Going online
    /// starts a sync.
    pub fn set_online(&self, online: bool) -> AppResult<()> {
        if let Some(s) = self.current()
            && let Some(link) = &s.link
        {
            link.set_online(online);
        }
        Ok(())
    }

    /// 立即同步. Returns at once; progress arrives as events.
    pub fn sync_now(&self) -> AppResult<()> {
        let s = self.session()?;
        if s.profile.demo {
            return Err(AppError::new(
                "demo",
                "演示模式不连接服务器：修改只保存在本机",
            ));
        }
        let link = s.link.as_ref().ok_or_else(|| {
            AppError::new("not_enrolled", "本机尚未向服务器登记，请退出登录后重新登录")
        })?;
        if let Some(msg) = s.store().sync_state()?.revoked_message {
            return Err(AppError::new("device_revoked", msg));
        }
        link.sync_now();
        Ok(())
    }

    /// Starts a sync and waits until it ends or `timeout` passes (tests, and the
    /// first sync of a sign-in). `Ok(Err(message))`: the sync failed.
    pub fn sync_and_wait(&self, timeout: Duration) -> AppResult<Result<(), String>> {
        let Some(s) = self.current() else {
            return Ok(Err("未连接服务器".into()));
        };
        let Some(link) = &s.link else {
            return Ok(Err("未连接服务器".into()));
        };
        if let Some(msg) = s.store().sync_state()?.revoked_message {
            return Ok(Err(msg));
        }
        link.sync_and_wait(&self.sync, timeout)
    }

    /// The 同步 panel's figures.
    pub fn sync_status(&self) -> AppResult<SyncStatus> {
        let s = self.session()?;
        let store = s.store();
        let stats = store.outbox_stats()?;
        let (photos_left, bytes_left) = store.uploads_left()?;
        let state = store.sync_state()?;
        let conflicts = store.conflicts(false)?.len();
        drop(store);
        let (online, running, last_error, bytes_done) = match &s.link {
            Some(link) => {
                let live = lock(&link.live);
                (
                    live.online && state.revoked_message.is_none(),
                    live.running,
                    live.last_error.clone(),
                    live.progress.bytes_done,
                )
            }
            None => (false, false, None, 0),
        };
        Ok(SyncStatus {
            demo: s.profile.demo,
            server_url: s.profile.server_url.clone(),
            online,
            running,
            last_sync_at: state.last_sync_at.map(rfc3339),
            last_error,
            revoked: state.revoked_message,
            pending_changes: clamp(u64::try_from(stats.pending).unwrap_or(0)),
            photos_left: clamp(photos_left),
            bytes_left,
            bytes_done,
            conflicts: u32::try_from(conflicts).unwrap_or(u32::MAX),
        })
    }

    /// Whether the badge shows 在线 (false in 演示模式 and on a revoked device).
    pub(crate) fn badge_online(
        &self,
        s: &Session,
        store: &jiandu_store::Store,
    ) -> AppResult<(bool, Option<String>)> {
        let Some(link) = &s.link else {
            return Ok((false, None));
        };
        let state = store.sync_state()?;
        let online = lock(&link.live).online && state.revoked_message.is_none();
        Ok((online, state.last_sync_at.map(rfc3339)))
    }

    /// Rejected edits (open ones; `all`: seen ones too), newest first.
    pub fn conflicts(&self, all: bool) -> AppResult<Vec<ConflictView>> {
        let s = self.session()?;
        let store = s.store();
        let mut out = Vec::new();
        for c in store.conflicts(all)? {
            let local_task = store
                .load_inspection(c.inspection_id)
                .ok()
                .map(|i| i.task_id)
                .or_else(|| c.server.as_ref().map(|s| s.inspection.task_id))
                .or_else(|| store.superseded_task(c.inspection_id).ok().flatten());
            let unit_name = local_task
                .and_then(|t| store.task(t).ok())
                .map(|t| t.institution.name)
                .unwrap_or_default();
            let reason_label = jiandu_core::protocol::RejectReason::parse(&c.reason)
                .map_or_else(|| c.reason.clone(), |r| r.label().to_owned());
            let server = c.server.as_ref().map(|s| &s.inspection);
            out.push(ConflictView {
                id: c.id,
                task_id: local_task.map(|t| t.to_string()),
                unit_name,
                change: change_label(&c.entity, &c.op, &c.local),
                reason: c.reason.clone(),
                reason_label,
                message: c.message.clone(),
                at: rfc3339(c.at),
                server_status_label: server.map(|i| i.status.label().to_owned()),
                server_version: server.map(|i| u32::try_from(i.version).unwrap_or(u32::MAX)),
                server_review_comment: server.and_then(|i| i.review_comment.clone()),
                server_outcome_label: server
                    .and_then(|i| i.outcome.as_ref())
                    .map(|o| o.category.label().to_owned()),
                resolved: c.resolved_at.is_some(),
            });
        }
        out.reverse();
        Ok(out)
    }

    /// The inspector has read a rejected edit (知道了): it leaves the open list.
    pub fn resolve_conflict(&self, id: i64) -> AppResult<()> {
        let now = self.clock.now();
        self.session()?.store().resolve_conflict(id, now)?;
        Ok(())
    }

    /// A team lead's decision sent to the platform (naming the exact version read);
    /// returns the platform's record of the inspection after it. Nothing is locked
    /// while the platform answers.
    pub(crate) fn review_on_server(
        &self,
        s: &Session,
        inspection_id: Uuid,
        version: u64,
        comment: Option<String>,
    ) -> AppResult<Inspection> {
        let (client, token) = server_client(s, REQUEST_TIMEOUT)?;
        tracing::info!(inspection = %inspection_id, version, approve = comment.is_none(), "sending a review decision");
        let answer = self.sync.block(async move {
            client
                .review(&token, inspection_id, version, comment.as_deref())
                .await
        })?;
        answer.map_err(|e| {
            self.note_platform_error(s, &e);
            request_error(
                e,
                "审核结果需要立即报送平台，未能送达",
                "平台可能已收到，请稍后在任务列表同步后查看审核状态，再决定是否重新审核",
            )
        })
    }

    /// The platform's archive copy of one of a task's documents (a team lead reads
    /// the 现场笔录 / 意见书 / 证据照片 of a submission before deciding): made by the
    /// platform from what was synced, with the same builder as the tablet's copy.
    /// Nothing is locked while it downloads.
    pub fn archive_document(
        &self,
        task_id: &str,
        kind: crate::documents::DocKindCode,
    ) -> AppResult<Vec<u8>> {
        let s = self.session()?;
        if s.profile.demo {
            return Err(AppError::new(
                "demo",
                "演示模式不连接平台，没有平台存档的文书",
            ));
        }
        let (_, insp) = s.load(task_id)?;
        let insp = insp.ok_or_else(|| AppError::not_found("该任务的检查记录"))?;
        let (client, token) = server_client(&s, REQUEST_TIMEOUT)?;
        let id = insp.id;
        let kind = kind.key();
        let answer = self
            .sync
            .block(async move { client.archive_document(&token, id, kind).await })?;
        let pdf = answer.map_err(|e| {
            self.note_platform_error(&s, &e);
            request_error(e, "查看平台存档的文书需要连接服务器", "请稍后重试")
        })?;
        tracing::info!(inspection = %id, kind, bytes = pdf.len(), "archive copy downloaded");
        Ok(pdf)
    }

    /// The last failed syncs of this session, oldest first (diagnostics).
    pub(crate) fn sync_failures(&self, s: &Session) -> Vec<SyncFailure> {
        s.link.as_ref().map(Link::failures).unwrap_or_default()
    }

    /// Stops the session's sync (sign-out, another user signing in). Use cases
    /// still holding the session finish on it.
    pub(crate) fn close_session(&self) {
        let old = self
            .session
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(s) = old
            && let Some(link) = &s.link
        {
            link.stop(&self.sync);
        }
    }

    /// Forgets this device's token on sign-out (the data stays; signing in again
    /// enrols anew).
    pub(crate) fn forget_token(&self) {
        if let Some(s) = self.current()
            && let Some(link) = &s.link
        {
            let _ = link.tokens.clear();
        }
    }
}

/// A client for the session's platform and this device's token; `timeout` for
/// the whole request.
pub(crate) fn server_client(s: &Session, timeout: Duration) -> AppResult<(ApiClient, String)> {
    let url = s.profile.server_url.clone();
    let tokens = s
        .link
        .as_ref()
        .map(|l| Arc::clone(&l.tokens))
        .ok_or_else(|| AppError::new("not_enrolled", "本机尚未向服务器登记"))?;
    let token = tokens
        .load()
        .map_err(AppError::storage)?
        .ok_or_else(|| AppError::new("not_enrolled", "本机的登记已失效，请重新登录"))?;
    let ca = crate::remote::trusted_ca(&s.dir);
    let client = ApiClient::with_trust(&url, timeout, true, ca.as_deref()).map_err(sync_error)?;
    Ok((client, token))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed
mod url_tests {
    use super::normalise_server_url as n;

    #[test]
    fn bare_host_port_becomes_https() {
        assert_eq!(n("192.168.1.10:8443").unwrap(), "https://192.168.1.10:8443");
        assert_eq!(
            n(" jiandu.example.gov.cn/ ").unwrap(),
            "https://jiandu.example.gov.cn"
        );
        assert_eq!(n("HTTPS://a.b:443/api").unwrap(), "https://a.b:443/api");
    }

    #[test]
    fn plain_http_is_refused_except_loopback() {
        for bad in [
            "http://192.168.1.10:8080",
            "http://jiandu.example.gov.cn",
            "http://[fe80::1]:80",
            "http://127.0.0.1.example.org",
        ] {
            let e = n(bad).unwrap_err();
            assert_eq!(e.code, "insecure_url", "{bad}");
            assert!(e.message.contains("https://"), "{}", e.message);
            assert!(e.message.contains("明文"), "{}", e.message);
        }
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:8080",
            "http://127.0.0.2",
        ] {
            assert_eq!(n(ok).unwrap(), ok);
        }
    }
}
