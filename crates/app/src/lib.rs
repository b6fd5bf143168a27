//! Jiandu inspector app: the use cases the tablet UI calls.
//!
//! Written without Tauri: `src-tauri` wraps each public method of [`App`] in a
//! one-line command, and tests call the same methods on a temporary directory. Every
//! method that changes something has committed it to the device store
//! (`jiandu-store`: SQLite, synchronous=FULL, with its outbox entry) before it
//! returns: no "save" button, and a tap that came back survives a dead battery. Rules
//! come from `jiandu-core` (the store applies them inside its transactions); this
//! crate picks the user's store, calls it, and shapes the answer for a screen
//! ([`dto`]).
//!
//! Time and ids are injected ([`Clock`], [`IdSource`]) so tests are exact.
//!
//! Concurrency: [`App`] is `Send + Sync` and every use case takes `&self`, so the
//! shell calls them from any number of threads at once and never locks the app as
//! a whole. What is shared is locked only for what needs it: the signed-in
//! session is swapped whole on sign-in and sign-out (a use case holds its own
//! `Arc` of it); the device store's mutex is held for one local step (a read, or a
//! read-modify-write such as an answer), never across a network wait or a PDF
//! render. So a team lead's decision, an archive download or a sync waiting 30 s on
//! a slow platform blocks nothing a person taps meanwhile.

pub mod demo;
pub mod diagnostics;
pub mod documents;
pub mod dto;
pub mod error;
pub mod evidence;
pub mod export;
pub mod jobs;
pub mod lock;
pub mod logs;
pub mod opinion;
pub mod remote;
pub mod sync;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dto::*;
pub use error::{AppError, AppResult};
use jiandu_core::inspection::{DrawKind, Task, check_observation};
use jiandu_core::plan::{Checklist, Plan};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{
    Actor, CategoryCode, Fen, Finding, Inspection, InspectionStatus, Outcome, Penalty,
    PublicCategory, Role, Verdict,
};
use jiandu_store::{Answer, Store, StoreError};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use uuid::Uuid;

/// The device store, shared with the sync engine (which locks it only for each
/// local step, never across a network wait).
pub type SharedStore = Arc<Mutex<Store>>;

/// The time source. Business logic never reads the system clock itself.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Where record ids come from (UUIDv7 in production, a counter in tests).
pub trait IdSource: Send + Sync {
    fn new_id(&self) -> Uuid;
}

/// UUIDv7 from the system clock and randomness.
#[derive(Debug, Clone, Copy, Default)]
pub struct V7Ids;

impl IdSource for V7Ids {
    fn new_id(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// China Standard Time: "today" for deadlines is the inspector's calendar day, and
/// every plan this app carries is a mainland-China plan.
const CST: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

fn cst() -> FixedOffset {
    CST
}

/// A poisoned lock (a panic elsewhere mid-step) is still usable: SQLite rolled the
/// transaction back, and the other guarded values are replaced whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The signed-in user's open data. Each use case holds an `Arc` of it for its own
/// duration: signing out swaps the session out without waiting for them.
pub(crate) struct Session {
    profile: Profile,
    /// `<data_dir>/users/<user id>`: the database, files, token and documents.
    dir: PathBuf,
    store: SharedStore,
    /// The connection to the platform (None in 演示模式).
    link: Option<sync::Link>,
    /// Serialises the steps of document making that read and write the documents
    /// folder's state (the 意见书's 文号 is taken once); never held over a render.
    documents: Mutex<()>,
    /// The plans this user's tasks use: the built-in ones and the versions the
    /// platform sent, read again when a pull brings a new version.
    plans: Mutex<(u64, Arc<TemplateSet>)>,
    /// Bumped by the store when a pull stores a new plan version.
    plans_changed: Arc<std::sync::atomic::AtomicU64>,
    /// The data key (None: no PIN set yet, the data is still plain).
    key: Option<jiandu_store::DataKey>,
}

impl Session {
    /// The user's store, locked for one local step.
    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    fn actor(&self) -> AppResult<Actor> {
        let p = &self.profile;
        Ok(Actor {
            user_id: parse_id(&p.user_id)?,
            name: p.display_name.clone(),
            role: p.role.into(),
        })
    }

    /// A task and its inspection, read in one step.
    fn load(&self, task_id: &str) -> AppResult<(Task, Option<Inspection>)> {
        load_task(&self.store(), task_id)
    }

    /// Loads the task's inspection for an edit; refuses before 亮证.
    fn editable(&self, task_id: &str) -> AppResult<(Task, Inspection)> {
        editable_in(&self.store(), task_id)
    }
}

/// A task and its inspection from a store already locked.
fn load_task(store: &Store, task_id: &str) -> AppResult<(Task, Option<Inspection>)> {
    let id = parse_id(task_id)?;
    let task = store.task(id)?;
    let insp = match store.inspection_for_task(id)? {
        Some(i) => Some(store.load_inspection(i)?),
        None => None,
    };
    Ok((task, insp))
}

/// [`load_task`] for an edit: refuses before 亮证.
fn editable_in(store: &Store, task_id: &str) -> AppResult<(Task, Inspection)> {
    let (task, insp) = load_task(store, task_id)?;
    let insp =
        insp.ok_or_else(|| AppError::new("not_started", "请先完成亮证（出示执法证件）再开始检查"))?;
    Ok((task, insp))
}

/// The app: built-in templates, the signed-in user's records, clock and ids.
pub struct App {
    data_dir: PathBuf,
    templates: TemplateSet,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
    /// Swapped whole on sign-in and sign-out; read only to clone the `Arc`.
    session: RwLock<Option<Arc<Session>>>,
    /// Sign-in and sign-out one at a time (no use case takes it).
    signing: Mutex<()>,
    /// Long operations running now, by the id the UI gave them (for 取消).
    jobs: jobs::Jobs,
    sync: sync::SyncHub,
    /// The signed-in user whose data waits for the PIN (the app is locked).
    locked: Mutex<Option<Profile>>,
    /// A sign-in that enrolled this device while its data was locked.
    pending: Mutex<Option<lock::PendingEnrolment>>,
    /// argon2id cost of the PIN key.
    kdf: Mutex<jiandu_store::crypto::KdfParams>,
}

// The shell shares one App between the threads its commands run on.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<App>()
};

/// Hands the app's id source to the store, so tests pin every id with one counter.
struct StoreIds(Arc<dyn IdSource>);

impl std::fmt::Debug for StoreIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreIds")
    }
}

impl jiandu_store::IdSource for StoreIds {
    fn next_id(&mut self) -> Uuid {
        self.0.new_id()
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::new(e.code(), e.to_string())
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("data_dir", &self.data_dir)
            .field("user", &self.current().map(|s| s.profile.username.clone()))
            .finish_non_exhaustive()
    }
}

pub(crate) const PROFILE_FILE: &str = "profile.json";

impl Drop for App {
    /// Stops the session's sync first, so its store is closed with the app.
    fn drop(&mut self) {
        self.close_session();
    }
}

impl App {
    /// Opens the app's data in `data_dir` (the platform's app-data folder; a temporary
    /// folder in tests). Signs the last user back in, online or not.
    pub fn open(data_dir: &Path, clock: Box<dyn Clock>, ids: Box<dyn IdSource>) -> AppResult<App> {
        let templates = TemplateSet::builtin()
            .map_err(|e| AppError::new("templates", format!("内置检查计划模板有误：{e}")))?;
        Self::open_with_templates(data_dir, templates, clock, ids)
    }

    /// [`App::open`] with the given plans instead of the built-in ones (tests pin
    /// their own plan so they do not move when a seed's transcription is refined).
    pub fn open_with_templates(
        data_dir: &Path,
        templates: TemplateSet,
        clock: Box<dyn Clock>,
        ids: Box<dyn IdSource>,
    ) -> AppResult<App> {
        let app = App {
            data_dir: data_dir.to_owned(),
            templates,
            clock: Arc::from(clock),
            ids: Arc::from(ids),
            session: RwLock::new(None),
            signing: Mutex::new(()),
            jobs: jobs::Jobs::default(),
            sync: sync::SyncHub::new()?,
            locked: Mutex::new(None),
            pending: Mutex::new(None),
            kdf: Mutex::new(jiandu_store::crypto::KdfParams::DEFAULT),
        };
        let profile_path = data_dir.join(PROFILE_FILE);
        match fs::read(&profile_path) {
            Ok(bytes) => {
                let profile: Profile = serde_json::from_slice(&bytes)
                    .map_err(|e| AppError::storage(format!("{}：{e}", profile_path.display())))?;
                if app.has_pin(&app.user_dir(&profile.user_id)) {
                    // The data is encrypted: nothing opens before the PIN.
                    *lock(&app.locked) = Some(profile);
                } else {
                    app.open_session(profile, None)?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::storage(format!(
                    "{}：{e}",
                    profile_path.display()
                )));
            }
        }
        Ok(app)
    }

    /// Each user's data is separate: one folder per user id.
    fn user_dir(&self, user_id: &str) -> PathBuf {
        self.data_dir.join("users").join(user_id)
    }

    /// The 文号 series this device keeps a leased block of: every plan's issuing
    /// authority, this year and (from December, when next year's first documents
    /// may be issued offline) next year, as [`App::doc_number_series`] names them.
    fn doc_series(&self) -> Vec<(String, i32)> {
        use chrono::Datelike;
        let today = self.clock.now().with_timezone(&cst()).date_naive();
        let mut years = vec![today.year()];
        if today.month() == 12 {
            years.push(today.year() + 1);
        }
        let mut out: Vec<(String, i32)> = Vec::new();
        // Built-in plans here; the sync engine adds the authorities of the plans
        // the platform sends (jiandu_sync::SyncEngine::leases).
        for plan in &self.templates.plans {
            for &y in &years {
                let series = (plan.authority.clone(), y);
                if !out.contains(&series) {
                    out.push(series);
                }
            }
        }
        out
    }

    /// Opens `profile`'s data and makes it the session (the previous one, if any,
    /// was closed by the caller).
    fn open_session(
        &self,
        profile: Profile,
        key: Option<jiandu_store::DataKey>,
    ) -> AppResult<Arc<Session>> {
        let dir = self.user_dir(&profile.user_id);
        let mut store = match &key {
            Some(k) => Store::open_encrypted(dir.join("device.db"), k)?,
            None => Store::open(dir.join("device.db"))?,
        };
        store.set_id_source(Box::new(StoreIds(Arc::clone(&self.ids))));
        let plans_changed = store.plans_changed();
        let plans = Arc::new(store.plans(&self.templates)?);
        let store = Arc::new(Mutex::new(store));
        // Not enrolled (cannot happen after a server sign-in): the 同步 panel says so.
        let link = (!profile.demo)
            .then(|| {
                sync::Link::start(
                    &self.sync,
                    Arc::clone(&store),
                    &dir,
                    key.clone(),
                    self.doc_series(),
                    Arc::clone(&self.clock),
                )
                .ok()
            })
            .flatten();
        tracing::info!(
            user = %profile.username,
            role = ?profile.role,
            demo = profile.demo,
            server = %profile.server_url,
            "session opened"
        );
        let session = Arc::new(Session {
            profile,
            dir,
            store,
            link,
            documents: Mutex::new(()),
            plans: Mutex::new((
                plans_changed.load(std::sync::atomic::Ordering::Acquire),
                plans,
            )),
            plans_changed,
            key,
        });
        *self
            .session
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&session));
        Ok(session)
    }

    /// The signed-in user's session, if any.
    fn current(&self) -> Option<Arc<Session>> {
        self.close_if_lost();
        self.session
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The signed-in user's session for one use case.
    fn session(&self) -> AppResult<Arc<Session>> {
        self.current().ok_or_else(AppError::not_signed_in)
    }

    // ---------------------------------------------------------------------------
    // Start and sign in
    // ---------------------------------------------------------------------------

    pub fn startup(&self) -> Startup {
        Startup {
            profile: self
                .current()
                .map(|s| s.profile.clone())
                .or_else(|| lock(&self.locked).clone()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            lock: self.lock_state(),
        }
    }

    /// 首次设置. The server address `demo` (or 演示) starts 演示模式: demo tasks on this
    /// device and no server. Any other address enrols this device on that platform
    /// and brings the user's tasks ([`sync`]).
    pub fn sign_in(&self, input: SignInInput) -> AppResult<Profile> {
        self.sign_in_trusting(input, None)
    }

    /// [`App::sign_in`] that also trusts `ca_cert` (PEM: the bureau's private CA,
    /// 首次设置) for that server; kept with the user's data for later syncs.
    pub fn sign_in_trusting(
        &self,
        input: SignInInput,
        ca_cert: Option<&str>,
    ) -> AppResult<Profile> {
        let ca_cert = ca_cert.map(str::trim).filter(|c| !c.is_empty());
        let server_url = input.server_url.trim();
        let username = input.username.trim();
        if server_url.is_empty() {
            return Err(AppError::invalid("请填写服务器地址"));
        }
        if username.is_empty() {
            return Err(AppError::invalid("请填写用户名"));
        }
        if input.password.is_empty() {
            return Err(AppError::invalid("请填写密码"));
        }
        let _one_at_a_time = lock(&self.signing);
        if !matches!(server_url, "demo" | "演示") {
            return self.sign_in_server(&input, ca_cert);
        }
        let profile = demo::profile(username, self.ids.as_ref());
        self.close_session();
        *lock(&self.locked) = None;
        *lock(&self.pending) = None;
        let user_dir = self.user_dir(&profile.user_id);
        self.clear_unreadable(&user_dir)?;
        self.save_profile(&profile)?;
        self.clear_lost_notice();
        if self.has_pin(&user_dir) {
            // This user's data is encrypted: it opens with the PIN.
            *lock(&self.locked) = Some(profile.clone());
            return Ok(profile);
        }
        let s = self.open_session(profile.clone(), None)?;
        let mut store = s.store();
        if store
            .list_tasks(&self.templates, &Default::default())?
            .is_empty()
        {
            let now = self.clock.now();
            let seed = demo::Seed {
                profile: &profile,
                templates: &self.templates,
                ids: self.ids.as_ref(),
                now,
                today: now.with_timezone(&cst()).date_naive(),
            };
            let (tasks, completed) = seed.build()?;
            store.upsert_tasks(&tasks, now)?;
            for (task, actor) in &completed {
                demo::complete(&mut store, &self.templates, task, actor, now)?;
            }
        }
        Ok(profile)
    }

    /// Who opens the app next time (written atomically).
    fn save_profile(&self, profile: &Profile) -> AppResult<()> {
        let bytes = serde_json::to_vec_pretty(profile).map_err(AppError::storage)?;
        fs::create_dir_all(&self.data_dir).map_err(AppError::storage)?;
        let path = self.data_dir.join(PROFILE_FILE);
        let tmp = self.data_dir.join("profile.json.tmp");
        fs::write(&tmp, bytes)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(AppError::storage)
    }

    /// Stores tasks as the platform sent them (the sync engine's pull calls this;
    /// the benchmark fills a device with it).
    pub fn receive_tasks(&self, tasks: &[Task]) -> AppResult<()> {
        let now = self.clock.now();
        self.session()?.store().upsert_tasks(tasks, now)?;
        Ok(())
    }

    /// 退出登录: the user's data stays on the device; the token is revoked on the
    /// platform when it can be reached (see [`remote`]). A sync running now is
    /// interrupted (all it did so far is kept); use cases still running finish on
    /// the data they started with.
    pub fn sign_out(&self) -> AppResult<()> {
        let _one_at_a_time = lock(&self.signing);
        // Online: the platform revokes the token (a short wait); offline it is
        // only forgotten here.
        self.revoke_token_online();
        match fs::remove_file(self.data_dir.join(PROFILE_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AppError::storage(e)),
        }
        self.forget_token();
        if let Some(p) = lock(&self.locked).take() {
            // Locked: no session holds the token store; its files go all the same.
            let tokens = jiandu_sync::FileTokenStore::in_data_dir(&self.user_dir(&p.user_id));
            let _ = jiandu_sync::TokenStore::clear(&tokens);
        }
        self.close_session();
        *lock(&self.pending) = None;
        tracing::info!("signed out");
        Ok(())
    }

    // ---------------------------------------------------------------------------
    // Task list and detail
    // ---------------------------------------------------------------------------

    pub fn sync_badge(&self) -> AppResult<SyncBadge> {
        let s = self.session()?;
        self.badge(&s, &s.store())
    }

    /// The offline badge's figures, read from a store already locked.
    fn badge(&self, s: &Session, store: &Store) -> AppResult<SyncBadge> {
        let (online, last_sync_at) = self.badge_online(s, store)?;
        Ok(SyncBadge {
            online,
            last_sync_at,
            pending_changes: u32::try_from(store.outbox_stats()?.pending).unwrap_or(u32::MAX),
        })
    }

    /// The plans of the session's tasks (built-in and received): read before the
    /// store is locked for a step, so a version a pull just brought is seen.
    fn plans(&self, s: &Session) -> Arc<TemplateSet> {
        use std::sync::atomic::Ordering;
        let now = s.plans_changed.load(Ordering::Acquire);
        let mut cached = lock(&s.plans);
        if cached.0 != now {
            // A sync stored a plan version: read the plans again. The store may be
            // busy for a moment (a sync applying its next page); wait for it, but
            // never block for good, since a caller of ours may be holding it (it
            // keeps the plans it had, and its next step reads the new ones).
            for _ in 0..200 {
                if let Ok(store) = s.store.try_lock() {
                    if let Ok(set) = store.plans(&self.templates) {
                        *cached = (now, Arc::new(set));
                    }
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        Arc::clone(&cached.1)
    }

    fn lookup<'a>(plans: &'a TemplateSet, task: &Task) -> AppResult<(&'a Plan, &'a Checklist)> {
        let plan = plans
            .plan_version(&task.plan_id, task.plan_version)
            .ok_or_else(|| {
                let why = plans
                    .unreadable(&task.plan_id, task.plan_version)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        format!(
                            "本机还没有检查计划“{}”（第 {} 版）：请联网同步一次后再检查",
                            task.plan_id, task.plan_version
                        )
                    });
                AppError::new("unknown_plan", why)
            })?;
        let checklist = plan
            .checklist(&task.checklist)
            .ok_or_else(|| AppError::not_found(&format!("检查表“{}”", task.checklist)))?;
        Ok((plan, checklist))
    }

    fn summary(
        &self,
        plans: &TemplateSet,
        task: &Task,
        insp: Option<&Inspection>,
    ) -> AppResult<TaskSummary> {
        let (_, checklist) = Self::lookup(plans, task)?;
        let p = progress(checklist, &task.institution.category, insp);
        let status = insp.map_or(InspectionStatus::Assigned, |i| i.status);
        self.summary_of(plans, task, status, p.answered, p.total)
    }

    /// A task-list row from a task and its status and counts.
    fn summary_of(
        &self,
        plans: &TemplateSet,
        task: &Task,
        status: InspectionStatus,
        answered: u32,
        total: u32,
    ) -> AppResult<TaskSummary> {
        let (plan, checklist) = Self::lookup(plans, task)?;
        let category = &task.institution.category;
        let today = self.clock.now().with_timezone(&cst()).date_naive();
        Ok(TaskSummary {
            task_id: task.id.to_string(),
            plan_id: plan.id.clone(),
            plan_title: format!("{}（{}）", plan.title, plan.authority),
            checklist_name: format!("{} {}", checklist.name, checklist.title),
            category: category.as_str().to_owned(),
            category_name: Self::category_name(plans, category),
            unit_name: task.institution.name.clone(),
            credit_code: task.institution.credit_code.clone(),
            district: task.institution.district.clone(),
            address: task.institution.address.clone(),
            status: status.into(),
            status_label: status.label().to_owned(),
            draw_label: dto::draw_label(task.draw_kind).to_owned(),
            followup: task.draw_kind == DrawKind::FollowUp,
            deadline: task.deadline.map(|d| d.to_string()),
            days_left: task.deadline.map(|d| days_between(today, d)),
            answered,
            total,
        })
    }

    fn category_name(plans: &TemplateSet, code: &CategoryCode) -> String {
        plans
            .catalogue
            .get(code)
            .map_or_else(|| code.as_str().to_owned(), |c| c.name.clone())
    }

    /// 任务列表, filtered; ordered by deadline (soonest first), then unit name.
    pub fn task_list(&self, query: TaskQuery) -> AppResult<TaskList> {
        let s = self.session()?;
        let plans = self.plans(&s);
        let store = s.store();
        let rows = store.list_tasks(&plans, &Default::default())?;
        let needle = query
            .search
            .as_deref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        let mut counts = StatusCounts::default();
        let mut tasks = Vec::new();
        let mut plan_categories: HashMap<String, Vec<CategoryCode>> = HashMap::new();
        for row in &rows {
            // The row lacks the credit code the search and the card need.
            // TODO(store): carry credit_code in TaskRow so the list is one query.
            let task = store.task(row.task_id)?;
            let cats = plan_categories.entry(task.plan_id.clone()).or_default();
            if !cats.contains(&task.institution.category) {
                cats.push(task.institution.category.clone());
            }
            if let Some(n) = &needle
                && !task.institution.name.to_lowercase().contains(n)
                && !task.institution.credit_code.to_lowercase().contains(n)
            {
                continue;
            }
            if query.plan_id.as_ref().is_some_and(|p| p != &task.plan_id)
                || query
                    .category
                    .as_ref()
                    .is_some_and(|c| c != task.institution.category.as_str())
                || (query.followup_only == Some(true) && task.draw_kind != DrawKind::FollowUp)
            {
                continue;
            }
            let status = row.status;
            for (filter, n) in [
                (StatusFilter::Todo, &mut counts.todo),
                (StatusFilter::InProgress, &mut counts.in_progress),
                (StatusFilter::AwaitingReview, &mut counts.awaiting_review),
                (StatusFilter::Returned, &mut counts.returned),
                (StatusFilter::Approved, &mut counts.approved),
            ] {
                if filter.matches(status) {
                    *n += 1;
                }
            }
            if query.status.is_some_and(|f| !f.matches(status)) {
                continue;
            }
            // The store lists in deadline order (none last), then by unit name.
            tasks.push(self.summary_of(
                &plans,
                &task,
                status,
                row.answered,
                row.total.unwrap_or(0),
            )?);
        }
        let mut plans: Vec<PlanFacet> = plan_categories
            .into_iter()
            .map(|(plan_id, mut cats)| {
                cats.sort();
                PlanFacet {
                    title: plans
                        .plans
                        .iter()
                        .chain(plans.received().map(|(_, p)| p))
                        .find(|p| p.id == plan_id)
                        .map_or_else(|| plan_id.clone(), |p| p.title.clone()),
                    categories: cats
                        .iter()
                        .map(|c| CategoryFacet {
                            code: c.as_str().to_owned(),
                            name: Self::category_name(&plans, c),
                        })
                        .collect(),
                    plan_id,
                }
            })
            .collect();
        plans.sort_by(|a, b| a.plan_id.cmp(&b.plan_id));
        Ok(TaskList {
            total: u32::try_from(rows.len()).unwrap_or(u32::MAX),
            tasks,
            counts,
            plans,
            sync: self.badge(&s, &store)?,
        })
    }

    /// The stored task and inspection (benchmarks copy tasks with it).
    #[doc(hidden)]
    pub fn task_for_bench(&self, task_id: &str) -> AppResult<(Task, Option<Inspection>)> {
        self.session()?.load(task_id)
    }

    /// 任务详情.
    pub fn task_detail(&self, task_id: &str) -> AppResult<TaskDetail> {
        self.detail_in(&*self.session()?, task_id)
    }

    /// 任务详情 as the session's store has it now (after a change).
    fn detail_in(&self, s: &Session, task_id: &str) -> AppResult<TaskDetail> {
        let plans = self.plans(s);
        let (task, insp) = s.load(task_id)?;
        self.detail(&plans, &task, insp.as_ref())
    }

    fn detail(
        &self,
        plans: &TemplateSet,
        task: &Task,
        insp: Option<&Inspection>,
    ) -> AppResult<TaskDetail> {
        let (_, checklist) = Self::lookup(plans, task)?;
        Ok(TaskDetail {
            summary: self.summary(plans, task, insp)?,
            checklist_title: format!("{} {}", checklist.name, checklist.title),
            checklist_note: checklist.note.clone(),
            licence_no: task.institution.licence_no.clone(),
            legal_representative: task.institution.legal_representative.clone(),
            phone: task.institution.phone.clone(),
            inspectors: task
                .inspectors
                .iter()
                .map(|i| InspectorView {
                    user_id: i.user_id.to_string(),
                    name: i.name.clone(),
                    badge_no: i.badge_no.clone(),
                })
                .collect(),
            started_at: insp.and_then(|i| i.started_at).map(rfc3339),
            place: insp.map(|i| i.place.clone()).unwrap_or_default(),
            review_comment: insp.and_then(|i| i.review_comment.clone()),
            outcome: insp.and_then(|i| i.outcome.as_ref()).map(outcome_view),
            editable: insp.is_some_and(|i| i.status.is_editable()),
            version: insp.map_or(0, |i| u32::try_from(i.version).unwrap_or(u32::MAX)),
        })
    }

    // ---------------------------------------------------------------------------
    // On site
    // ---------------------------------------------------------------------------

    /// 亮证: every assigned inspector's 执法证号 shown and confirmed (at least two,
    /// 《行政处罚法》第42条); records the time and starts the inspection.
    pub fn show_credentials(&self, input: ShowCredentialsInput) -> AppResult<TaskDetail> {
        let s = self.session()?;
        let actor = s.actor()?;
        let (task, _) = s.load(&input.task_id)?;
        if task.inspectors.len() < 2 {
            return Err(AppError::new(
                "too_few_inspectors",
                "执法检查至少需要两名执法人员，本任务分配的人员不足，请联系组长",
            ));
        }
        let missing: Vec<&str> = task
            .inspectors
            .iter()
            .filter(|i| !input.confirmed.iter().any(|c| c == &i.user_id.to_string()))
            .map(|i| i.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(AppError::new(
                "credentials_unconfirmed",
                format!("请确认以下执法人员已出示执法证：{}", missing.join("、")),
            ));
        }
        let now = self.clock.now();
        s.store()
            .start_inspection(task.id, &input.place, &actor, now)?;
        self.detail_in(&s, &input.task_id)
    }

    /// 检查表, grouped by item as in the plan's 附表.
    pub fn checklist(&self, task_id: &str) -> AppResult<ChecklistView> {
        let s = self.session()?;
        let plans = self.plans(&s);
        let (task, insp) = s.load(task_id)?;
        let (_, checklist) = Self::lookup(&plans, &task)?;
        let category = &task.institution.category;
        let applicable: Vec<&str> = checklist
            .applicable_points(category)
            .map(|(_, p)| p.code.as_str())
            .collect();
        let findings: HashMap<&str, &Finding> = insp
            .iter()
            .flat_map(|i| i.findings.iter())
            .map(|f| (f.point.as_str(), f))
            .collect();
        let items = checklist
            .items
            .iter()
            .map(|item| {
                let points: Vec<PointView> = item
                    .points
                    .iter()
                    .map(|p| {
                        point_view(
                            &p.code,
                            &p.text,
                            applicable.contains(&p.code.as_str()),
                            findings.get(p.code.as_str()).copied(),
                        )
                    })
                    .collect();
                ItemView {
                    number: item.number.clone(),
                    title: item.title.clone(),
                    text: item.text.clone(),
                    applicable: points.iter().any(|p| p.applicable),
                    points,
                }
            })
            .collect();
        let status = insp
            .as_ref()
            .map_or(InspectionStatus::Assigned, |i| i.status);
        Ok(ChecklistView {
            task_id: task.id.to_string(),
            unit_name: task.institution.name.clone(),
            name: checklist.name.clone(),
            title: checklist.title.clone(),
            note: checklist.note.clone(),
            items,
            progress: progress(checklist, category, insp.as_ref()),
            editable: insp.as_ref().is_some_and(|i| i.status.is_editable()),
            status: status.into(),
            status_label: status.label().to_owned(),
        })
    }

    /// Writes one answer through the store, in one transaction with its outbox
    /// entry, and returns the point and the progress. `decide` picks the verdict and
    /// observation from the point's current finding, read in the same locked step
    /// as the write: an answer and an observation sent at the same moment never
    /// undo each other.
    fn record(
        &self,
        task_id: &str,
        point: &str,
        decide: impl FnOnce(Option<&Finding>) -> AppResult<(Verdict, String)>,
    ) -> AppResult<PointSaved> {
        let s = self.session()?;
        let actor = s.actor()?;
        let now = self.clock.now();
        let plans = self.plans(&s);
        let (task, insp) = {
            let mut store = s.store();
            let (task, insp) = editable_in(&store, task_id)?;
            let (verdict, observation) = decide(insp.findings.iter().find(|f| f.point == point))?;
            store.record_finding(
                &plans,
                insp.id,
                Answer {
                    point,
                    verdict,
                    observation: &observation,
                },
                &actor,
                now,
            )?;
            (task, store.load_inspection(insp.id)?)
        };
        let (_, checklist) = Self::lookup(&plans, &task)?;
        let text = checklist
            .items
            .iter()
            .flat_map(|i| i.points.iter())
            .find(|p| p.code == point)
            .map(|p| p.text.clone())
            .unwrap_or_default();
        let saved = insp.findings.iter().find(|f| f.point == point);
        Ok(PointSaved {
            point: point_view(point, &text, true, saved),
            progress: progress(checklist, &task.institution.category, Some(&insp)),
        })
    }

    /// One tap: 符合 / 不符合 / 合理缺项. Changing a verdict keeps the observation (and
    /// the photos) already recorded for the point.
    pub fn answer(&self, input: AnswerInput) -> AppResult<PointSaved> {
        let verdict = input.verdict.into();
        self.record(&input.task_id, &input.point, |f| {
            Ok((
                verdict,
                f.map(|f| f.observation.clone()).unwrap_or_default(),
            ))
        })
    }

    /// 现场检查情况 of an answered point, saved as typed.
    pub fn set_observation(&self, input: ObservationInput) -> AppResult<PointSaved> {
        check_observation(&input.observation)?;
        let observation = input.observation.clone();
        self.record(&input.task_id, &input.point, |f| {
            let verdict = f.map(|f| f.verdict).ok_or_else(|| {
                AppError::invalid("请先选择符合、不符合或合理缺项，再填写检查情况")
            })?;
            Ok((verdict, observation))
        })
    }

    /// 处理结果. The store checks the outcome on its own (行政处罚 needs at least one
    /// case); its agreement with the findings is checked at submission, so choosing
    /// the outcome before the last answer is not refused.
    pub fn set_outcome(&self, input: OutcomeInput) -> AppResult<TaskDetail> {
        let s = self.session()?;
        let (_, insp) = s.editable(&input.task_id)?;
        let category: PublicCategory = input.category.into();
        if category == PublicCategory::Unreachable {
            return Err(AppError::invalid(
                "单位无法联系时请使用“登记无法联系”，并注明原因",
            ));
        }
        let penalty = if category == PublicCategory::Penalised {
            let fine = match input.fine_yuan.trim() {
                "" => Fen::ZERO,
                text => Fen::parse_yuan(text)?,
            };
            Some(Penalty {
                cases: input.cases,
                fine,
                revoked_licence: input.revoked_licence,
                revoked_subjects: input.revoked_subjects,
                revoked_personnel: input.revoked_personnel,
                cancelled_filing: input.cancelled_filing,
            })
        } else {
            None
        };
        let opinion = input.opinion.trim();
        let outcome = Outcome {
            category,
            penalty,
            opinion: (!opinion.is_empty()).then(|| opinion.to_owned()),
            unreachable_reason: None,
        };
        let actor = s.actor()?;
        let now = self.clock.now();
        s.store().set_outcome(insp.id, &outcome, &actor, now)?;
        self.detail_in(&s, &input.task_id)
    }

    /// 提交审核. Refused, with the reason, while anything is missing. A second tap
    /// finds the inspection already submitted and is refused: nothing is duplicated.
    pub fn submit(&self, task_id: &str) -> AppResult<TaskDetail> {
        let s = self.session()?;
        let actor = s.actor()?;
        let (_, insp) = s.editable(task_id)?;
        let now = self.clock.now();
        let plans = self.plans(&s);
        s.store().submit(&plans, insp.id, &actor, now)?;
        tracing::info!(inspection = %insp.id, "inspection submitted");
        if let Some(link) = &s.link {
            link.nudge(); // online: the submission goes up now
        }
        self.detail_in(&s, task_id)
    }

    /// 登记无法联系 (e.g. the unit had closed); goes to review like a submission.
    pub fn mark_unreachable(&self, task_id: &str, reason: &str) -> AppResult<TaskDetail> {
        let s = self.session()?;
        let actor = s.actor()?;
        let id = parse_id(task_id)?;
        let now = self.clock.now();
        s.store().mark_unreachable(id, reason, &actor, now)?;
        self.detail_in(&s, task_id)
    }

    // ---------------------------------------------------------------------------
    // Team lead
    // ---------------------------------------------------------------------------

    /// 组长审核 queue: inspections waiting for review, oldest submission first.
    pub fn review_queue(&self) -> AppResult<Vec<ReviewItem>> {
        let s = self.session()?;
        let actor = s.actor()?;
        if actor.role != Role::TeamLead {
            return Err(AppError::new("forbidden", "只有组长可以查看审核队列"));
        }
        let plans = self.plans(&s);
        let store = s.store();
        let filter = jiandu_store::TaskFilter {
            statuses: vec![
                InspectionStatus::Submitted,
                InspectionStatus::Resubmitted,
                InspectionStatus::Unreachable,
            ],
        };
        let mut out = Vec::new();
        for row in store.list_tasks(&plans, &filter)? {
            let Some(id) = row.inspection_id else {
                continue;
            };
            let task = store.task(row.task_id)?;
            let insp = store.load_inspection(id)?;
            out.push(ReviewItem {
                summary: self.summary(&plans, &task, Some(&insp))?,
                version: u32::try_from(insp.version).unwrap_or(u32::MAX),
                non_compliant: u32::try_from(
                    insp.findings
                        .iter()
                        .filter(|f| f.verdict == Verdict::NonCompliant)
                        .count(),
                )
                .unwrap_or(u32::MAX),
                outcome: insp.outcome.as_ref().map(outcome_view),
                submitted_at: insp.ended_at.map(rfc3339),
            });
        }
        out.sort_by(|a, b| a.submitted_at.cmp(&b.submitted_at));
        Ok(out)
    }

    /// 审核通过 (locks) or 退回 with comments. The rules (team lead only, the exact
    /// version read, a comment to return) are core's, checked here first; signed in
    /// on a platform, the decision is the platform's (sent at once, naming the
    /// version) and this device applies the platform's answer. In 演示模式 it is
    /// applied to this device's store only.
    ///
    /// The platform is asked with nothing locked: the person goes on working while
    /// the answer comes, and only the local write of the answer takes the store.
    pub fn review(&self, input: ReviewInput) -> AppResult<TaskDetail> {
        let s = self.session()?;
        let actor = s.actor()?;
        let (_, insp) = s.load(&input.task_id)?;
        let mut insp = insp.ok_or_else(|| AppError::not_found("该任务的检查记录"))?;
        let comment = (!input.approve).then(|| input.comment.clone());
        if input.approve {
            insp.approve(&actor, u64::from(input.version))?;
        } else {
            insp.return_with_comments(&actor, u64::from(input.version), &input.comment)?;
        }
        if s.link.is_some() {
            insp = self.review_on_server(&s, insp.id, u64::from(input.version), comment)?;
        }
        let review = jiandu_store::Review {
            status: insp.status,
            version: insp.version,
            comment: insp.review_comment.clone(),
            reviewed_by: actor.user_id,
        };
        let now = self.clock.now();
        s.store().apply_review(insp.id, &review, now)?;
        tracing::info!(
            inspection = %insp.id,
            approve = input.approve,
            version = insp.version,
            "review decision recorded"
        );
        self.detail_in(&s, &input.task_id)
    }
}

fn parse_id(s: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| AppError::invalid(format!("编号“{s}”格式不正确")))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn days_between(today: NaiveDate, deadline: NaiveDate) -> i32 {
    i32::try_from((deadline - today).num_days()).unwrap_or(i32::MAX)
}

fn progress(checklist: &Checklist, category: &CategoryCode, insp: Option<&Inspection>) -> Progress {
    let mut p = Progress {
        answered: 0,
        total: 0,
        missing_observations: 0,
    };
    for (_, point) in checklist.applicable_points(category) {
        p.total += 1;
        if let Some(f) = insp.and_then(|i| i.findings.iter().find(|f| f.point == point.code)) {
            p.answered += 1;
            if f.verdict == Verdict::NonCompliant && f.observation.trim().is_empty() {
                p.missing_observations += 1;
            }
        }
    }
    p
}

fn point_view(code: &str, text: &str, applicable: bool, f: Option<&Finding>) -> PointView {
    PointView {
        code: code.to_owned(),
        text: text.to_owned(),
        applicable,
        verdict: f.map(|f| f.verdict.into()),
        observation: f.map(|f| f.observation.clone()).unwrap_or_default(),
        needs_observation: f
            .is_some_and(|f| f.verdict == Verdict::NonCompliant && f.observation.trim().is_empty()),
        photo_count: f.map_or(0, |f| u32::try_from(f.photo_ids.len()).unwrap_or(u32::MAX)),
    }
}

fn outcome_view(o: &Outcome) -> OutcomeView {
    let p = o.penalty.clone().unwrap_or_default();
    OutcomeView {
        category: o.category.into(),
        category_label: o.category.label().to_owned(),
        cases: p.cases,
        fine_fen: p.fine.0,
        fine_yuan: p.fine.yuan(),
        fine_wan: p.fine.wan_yuan(),
        revoked_licence: p.revoked_licence,
        revoked_subjects: p.revoked_subjects,
        revoked_personnel: p.revoked_personnel,
        cancelled_filing: p.cancelled_filing,
        opinion: o.opinion.clone().unwrap_or_default(),
        unreachable_reason: o.unreachable_reason.clone(),
    }
}
