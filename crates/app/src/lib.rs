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

pub mod demo;
pub mod documents;
pub mod dto;
pub mod error;
pub mod evidence;
pub mod export;
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
use std::sync::{Arc, Mutex, MutexGuard};
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

/// The signed-in user's open data.
struct Session {
    profile: Profile,
    store: SharedStore,
    /// The connection to the platform (None in 演示模式).
    link: Option<sync::Link>,
}

/// The app: built-in templates, the signed-in user's records, clock and ids.
pub struct App {
    data_dir: PathBuf,
    templates: TemplateSet,
    clock: Box<dyn Clock>,
    ids: Arc<dyn IdSource>,
    session: Option<Session>,
    sync: sync::SyncHub,
}

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
            .field(
                "user",
                &self.session.as_ref().map(|s| s.profile.username.as_str()),
            )
            .finish_non_exhaustive()
    }
}

const PROFILE_FILE: &str = "profile.json";

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
        let mut app = App {
            data_dir: data_dir.to_owned(),
            templates,
            clock,
            ids: Arc::from(ids),
            session: None,
            sync: sync::SyncHub::new()?,
        };
        let profile_path = data_dir.join(PROFILE_FILE);
        match fs::read(&profile_path) {
            Ok(bytes) => {
                let profile: Profile = serde_json::from_slice(&bytes)
                    .map_err(|e| AppError::storage(format!("{}：{e}", profile_path.display())))?;
                app.open_session(profile)?;
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

    fn open_session(&mut self, profile: Profile) -> AppResult<()> {
        let path = self.user_dir(&profile.user_id).join("device.db");
        let mut store = Store::open(&path)?;
        store.set_id_source(Box::new(StoreIds(Arc::clone(&self.ids))));
        let store = Arc::new(Mutex::new(store));
        // Not enrolled (cannot happen after a server sign-in): the 同步 panel says so.
        let link = (!profile.demo)
            .then(|| {
                let dir = self.user_dir(&profile.user_id);
                sync::Link::start(&self.sync, Arc::clone(&store), &dir, self.doc_series()).ok()
            })
            .flatten();
        self.session = Some(Session {
            profile,
            store,
            link,
        });
        Ok(())
    }

    /// The signed-in user's store, locked for one use case. A poisoned lock (a panic
    /// elsewhere mid-transaction) is still usable: SQLite rolled the transaction back.
    fn store(&self) -> AppResult<MutexGuard<'_, Store>> {
        Ok(self
            .session()?
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn session(&self) -> AppResult<&Session> {
        self.session.as_ref().ok_or_else(AppError::not_signed_in)
    }

    fn actor(&self) -> AppResult<Actor> {
        let p = &self.session()?.profile;
        Ok(Actor {
            user_id: parse_id(&p.user_id)?,
            name: p.display_name.clone(),
            role: p.role.into(),
        })
    }

    // ---------------------------------------------------------------------------
    // Start and sign in
    // ---------------------------------------------------------------------------

    pub fn startup(&self) -> Startup {
        Startup {
            profile: self.session.as_ref().map(|s| s.profile.clone()),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// 首次设置. The server address `demo` (or 演示) starts 演示模式: demo tasks on this
    /// device and no server. Any other address enrols this device on that platform
    /// and brings the user's tasks ([`sync`]).
    pub fn sign_in(&mut self, input: SignInInput) -> AppResult<Profile> {
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
        if !matches!(server_url, "demo" | "演示") {
            return self.sign_in_server(&input);
        }
        let profile = demo::profile(username, self.ids.as_ref());
        self.close_session();
        self.save_profile(&profile)?;
        self.open_session(profile.clone())?;
        let mut store = self.store()?;
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
    pub fn receive_tasks(&mut self, tasks: &[Task]) -> AppResult<()> {
        let now = self.clock.now();
        self.store()?.upsert_tasks(tasks, now)?;
        Ok(())
    }

    /// 退出登录: the user's data stays on the device.
    pub fn sign_out(&mut self) -> AppResult<()> {
        match fs::remove_file(self.data_dir.join(PROFILE_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AppError::storage(e)),
        }
        self.forget_token();
        self.close_session();
        Ok(())
    }

    // ---------------------------------------------------------------------------
    // Task list and detail
    // ---------------------------------------------------------------------------

    pub fn sync_badge(&self) -> AppResult<SyncBadge> {
        self.badge(&*self.store()?)
    }

    /// The offline badge's figures, read from a store already locked.
    fn badge(&self, store: &Store) -> AppResult<SyncBadge> {
        let (online, last_sync_at) = self.badge_online(store)?;
        Ok(SyncBadge {
            online,
            last_sync_at,
            pending_changes: u32::try_from(store.outbox_stats()?.pending).unwrap_or(u32::MAX),
        })
    }

    fn lookup<'a>(&'a self, task: &Task) -> AppResult<(&'a Plan, &'a Checklist)> {
        let plan = self
            .templates
            .plan(&task.plan_id)
            .ok_or_else(|| AppError::not_found(&format!("检查计划“{}”", task.plan_id)))?;
        let checklist = plan
            .checklist(&task.checklist)
            .ok_or_else(|| AppError::not_found(&format!("检查表“{}”", task.checklist)))?;
        Ok((plan, checklist))
    }

    fn summary(&self, task: &Task, insp: Option<&Inspection>) -> AppResult<TaskSummary> {
        let (_, checklist) = self.lookup(task)?;
        let p = progress(checklist, &task.institution.category, insp);
        let status = insp.map_or(InspectionStatus::Assigned, |i| i.status);
        self.summary_of(task, status, p.answered, p.total)
    }

    /// A task-list row from a task and its status and counts.
    fn summary_of(
        &self,
        task: &Task,
        status: InspectionStatus,
        answered: u32,
        total: u32,
    ) -> AppResult<TaskSummary> {
        let (plan, checklist) = self.lookup(task)?;
        let category = &task.institution.category;
        let today = self.clock.now().with_timezone(&cst()).date_naive();
        Ok(TaskSummary {
            task_id: task.id.to_string(),
            plan_id: plan.id.clone(),
            plan_title: format!("{}（{}）", plan.title, plan.authority),
            checklist_name: format!("{} {}", checklist.name, checklist.title),
            category: category.as_str().to_owned(),
            category_name: self.category_name(category),
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

    fn category_name(&self, code: &CategoryCode) -> String {
        self.templates
            .catalogue
            .get(code)
            .map_or_else(|| code.as_str().to_owned(), |c| c.name.clone())
    }

    /// 任务列表, filtered; ordered by deadline (soonest first), then unit name.
    pub fn task_list(&self, query: TaskQuery) -> AppResult<TaskList> {
        let store = self.store()?;
        let rows = store.list_tasks(&self.templates, &Default::default())?;
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
            tasks.push(self.summary_of(&task, status, row.answered, row.total.unwrap_or(0))?);
        }
        let mut plans: Vec<PlanFacet> = plan_categories
            .into_iter()
            .map(|(plan_id, mut cats)| {
                cats.sort();
                PlanFacet {
                    title: self
                        .templates
                        .plan(&plan_id)
                        .map_or_else(|| plan_id.clone(), |p| p.title.clone()),
                    categories: cats
                        .iter()
                        .map(|c| CategoryFacet {
                            code: c.as_str().to_owned(),
                            name: self.category_name(c),
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
            sync: self.badge(&store)?,
        })
    }

    fn load(&self, task_id: &str) -> AppResult<(Task, Option<Inspection>)> {
        let id = parse_id(task_id)?;
        let store = self.store()?;
        let task = store.task(id)?;
        let insp = match store.inspection_for_task(id)? {
            Some(i) => Some(store.load_inspection(i)?),
            None => None,
        };
        Ok((task, insp))
    }

    /// The stored task and inspection (benchmarks copy tasks with it).
    #[doc(hidden)]
    pub fn task_for_bench(&self, task_id: &str) -> AppResult<(Task, Option<Inspection>)> {
        self.load(task_id)
    }

    /// 任务详情.
    pub fn task_detail(&self, task_id: &str) -> AppResult<TaskDetail> {
        let (task, insp) = self.load(task_id)?;
        self.detail(&task, insp.as_ref())
    }

    fn detail(&self, task: &Task, insp: Option<&Inspection>) -> AppResult<TaskDetail> {
        let (_, checklist) = self.lookup(task)?;
        Ok(TaskDetail {
            summary: self.summary(task, insp)?,
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
    pub fn show_credentials(&mut self, input: ShowCredentialsInput) -> AppResult<TaskDetail> {
        let actor = self.actor()?;
        let (task, _) = self.load(&input.task_id)?;
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
        self.store()?
            .start_inspection(task.id, &input.place, &actor, now)?;
        self.task_detail(&input.task_id)
    }

    /// 检查表, grouped by item as in the plan's 附表.
    pub fn checklist(&self, task_id: &str) -> AppResult<ChecklistView> {
        let (task, insp) = self.load(task_id)?;
        let (_, checklist) = self.lookup(&task)?;
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

    /// Loads the task's inspection for an edit; refuses before 亮证.
    fn editable(&self, task_id: &str) -> AppResult<(Task, Inspection)> {
        let (task, insp) = self.load(task_id)?;
        let insp = insp.ok_or_else(|| {
            AppError::new("not_started", "请先完成亮证（出示执法证件）再开始检查")
        })?;
        Ok((task, insp))
    }

    /// Writes one answer (verdict and observation) through the store, in one
    /// transaction with its outbox entry, and returns the point and the progress.
    fn record(
        &mut self,
        task_id: &str,
        point: &str,
        verdict: Verdict,
        observation: &str,
    ) -> AppResult<PointSaved> {
        let actor = self.actor()?;
        let (task, insp) = self.editable(task_id)?;
        let now = self.clock.now();
        let mut store = self.store()?;
        store.record_finding(
            &self.templates,
            insp.id,
            Answer {
                point,
                verdict,
                observation,
            },
            &actor,
            now,
        )?;
        let insp = store.load_inspection(insp.id)?;
        let (_, checklist) = self.lookup(&task)?;
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
    pub fn answer(&mut self, input: AnswerInput) -> AppResult<PointSaved> {
        let (_, insp) = self.editable(&input.task_id)?;
        let observation = insp
            .findings
            .iter()
            .find(|f| f.point == input.point)
            .map(|f| f.observation.clone())
            .unwrap_or_default();
        self.record(
            &input.task_id,
            &input.point,
            input.verdict.into(),
            &observation,
        )
    }

    /// 现场检查情况 of an answered point, saved as typed.
    pub fn set_observation(&mut self, input: ObservationInput) -> AppResult<PointSaved> {
        check_observation(&input.observation)?;
        let (_, insp) = self.editable(&input.task_id)?;
        let verdict = insp
            .findings
            .iter()
            .find(|f| f.point == input.point)
            .map(|f| f.verdict)
            .ok_or_else(|| AppError::invalid("请先选择符合、不符合或合理缺项，再填写检查情况"))?;
        self.record(&input.task_id, &input.point, verdict, &input.observation)
    }

    /// 处理结果. The store checks the outcome on its own (行政处罚 needs at least one
    /// case); its agreement with the findings is checked at submission, so choosing
    /// the outcome before the last answer is not refused.
    pub fn set_outcome(&mut self, input: OutcomeInput) -> AppResult<TaskDetail> {
        let (_, insp) = self.editable(&input.task_id)?;
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
        let actor = self.actor()?;
        let now = self.clock.now();
        self.store()?.set_outcome(insp.id, &outcome, &actor, now)?;
        self.task_detail(&input.task_id)
    }

    /// 提交审核. Refused, with the reason, while anything is missing. A second tap
    /// finds the inspection already submitted and is refused: nothing is duplicated.
    pub fn submit(&mut self, task_id: &str) -> AppResult<TaskDetail> {
        let actor = self.actor()?;
        let (_, insp) = self.editable(task_id)?;
        let now = self.clock.now();
        self.store()?
            .submit(&self.templates, insp.id, &actor, now)?;
        if let Some(link) = &self.session()?.link {
            link.nudge(); // online: the submission goes up now
        }
        self.task_detail(task_id)
    }

    /// 登记无法联系 (e.g. the unit had closed); goes to review like a submission.
    pub fn mark_unreachable(&mut self, task_id: &str, reason: &str) -> AppResult<TaskDetail> {
        let actor = self.actor()?;
        let id = parse_id(task_id)?;
        let now = self.clock.now();
        self.store()?.mark_unreachable(id, reason, &actor, now)?;
        self.task_detail(task_id)
    }

    // ---------------------------------------------------------------------------
    // Team lead
    // ---------------------------------------------------------------------------

    /// 组长审核 queue: inspections waiting for review, oldest submission first.
    pub fn review_queue(&self) -> AppResult<Vec<ReviewItem>> {
        let actor = self.actor()?;
        if actor.role != Role::TeamLead {
            return Err(AppError::new("forbidden", "只有组长可以查看审核队列"));
        }
        let store = self.store()?;
        let filter = jiandu_store::TaskFilter {
            statuses: vec![
                InspectionStatus::Submitted,
                InspectionStatus::Resubmitted,
                InspectionStatus::Unreachable,
            ],
        };
        let mut out = Vec::new();
        for row in store.list_tasks(&self.templates, &filter)? {
            let Some(id) = row.inspection_id else {
                continue;
            };
            let task = store.task(row.task_id)?;
            let insp = store.load_inspection(id)?;
            out.push(ReviewItem {
                summary: self.summary(&task, Some(&insp))?,
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
    pub fn review(&mut self, input: ReviewInput) -> AppResult<TaskDetail> {
        let actor = self.actor()?;
        let (_, insp) = self.load(&input.task_id)?;
        let mut insp = insp.ok_or_else(|| AppError::not_found("该任务的检查记录"))?;
        let comment = (!input.approve).then(|| input.comment.clone());
        if input.approve {
            insp.approve(&actor, u64::from(input.version))?;
        } else {
            insp.return_with_comments(&actor, u64::from(input.version), &input.comment)?;
        }
        if self.session()?.link.is_some() {
            insp = self.review_on_server(insp.id, u64::from(input.version), comment)?;
        }
        let review = jiandu_store::Review {
            status: insp.status,
            version: insp.version,
            comment: insp.review_comment.clone(),
            reviewed_by: actor.user_id,
        };
        let now = self.clock.now();
        self.store()?.apply_review(insp.id, &review, now)?;
        self.task_detail(&input.task_id)
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
