//! The Tauri 2 shell of the inspector app. Each command is a one-line adapter: take
//! the state, call the use case in `jiandu-app`, return its answer or its
//! `{code, message}` error. No logic lives here, so tests exercise `jiandu-app`
//! directly and this file stays the same on desktop, Android and iOS (no desktop-only
//! API: the data folder is the platform's app-data dir).

use jiandu_app::dto::*;
use jiandu_app::sync::{ConflictView, SyncStatus};
use jiandu_app::{App, AppError, AppResult, SystemClock, V7Ids};
use std::sync::{Arc, Mutex, MutexGuard};
use tauri::{Emitter, Manager, State};

/// The app behind a mutex: commands run on Tauri's thread pool, the use cases are
/// sequential by design (one person, one tablet).
struct Shared(Mutex<App>);

impl Shared {
    fn get(&self) -> AppResult<MutexGuard<'_, App>> {
        self.0
            .lock()
            .map_err(|_| AppError::new("internal", "应用内部状态异常，请重启应用"))
    }
}

type S<'a> = State<'a, Shared>;

#[tauri::command]
fn startup(s: S<'_>) -> AppResult<Startup> {
    Ok(s.get()?.startup())
}
// Waits for the platform (enrolment and the first sync): off the main thread.
#[tauri::command(async)]
fn sign_in(s: S<'_>, input: SignInInput) -> AppResult<Profile> {
    s.get()?.sign_in(input)
}
#[tauri::command]
fn sign_out(s: S<'_>) -> AppResult<()> {
    s.get()?.sign_out()
}
#[tauri::command]
fn sync_badge(s: S<'_>) -> AppResult<SyncBadge> {
    s.get()?.sync_badge()
}
#[tauri::command]
fn task_list(s: S<'_>, query: TaskQuery) -> AppResult<TaskList> {
    s.get()?.task_list(query)
}
#[tauri::command]
fn task_detail(s: S<'_>, task_id: String) -> AppResult<TaskDetail> {
    s.get()?.task_detail(&task_id)
}
#[tauri::command]
fn show_credentials(s: S<'_>, input: ShowCredentialsInput) -> AppResult<TaskDetail> {
    s.get()?.show_credentials(input)
}
#[tauri::command]
fn checklist(s: S<'_>, task_id: String) -> AppResult<ChecklistView> {
    s.get()?.checklist(&task_id)
}
#[tauri::command]
fn answer(s: S<'_>, input: AnswerInput) -> AppResult<PointSaved> {
    s.get()?.answer(input)
}
#[tauri::command]
fn set_observation(s: S<'_>, input: ObservationInput) -> AppResult<PointSaved> {
    s.get()?.set_observation(input)
}
#[tauri::command]
fn set_outcome(s: S<'_>, input: OutcomeInput) -> AppResult<TaskDetail> {
    s.get()?.set_outcome(input)
}
#[tauri::command]
fn submit(s: S<'_>, task_id: String) -> AppResult<TaskDetail> {
    s.get()?.submit(&task_id)
}
#[tauri::command]
fn mark_unreachable(s: S<'_>, task_id: String, reason: String) -> AppResult<TaskDetail> {
    s.get()?.mark_unreachable(&task_id, &reason)
}
#[tauri::command]
fn review_queue(s: S<'_>) -> AppResult<Vec<ReviewItem>> {
    s.get()?.review_queue()
}
#[tauri::command(async)]
fn review(s: S<'_>, input: ReviewInput) -> AppResult<TaskDetail> {
    s.get()?.review(input)
}
#[tauri::command]
fn sync_now(s: S<'_>) -> AppResult<()> {
    s.get()?.sync_now()
}
#[tauri::command]
fn set_online(s: S<'_>, online: bool) -> AppResult<()> {
    s.get()?.set_online(online)
}
#[tauri::command]
fn sync_status(s: S<'_>) -> AppResult<SyncStatus> {
    s.get()?.sync_status()
}
#[tauri::command]
fn conflicts(s: S<'_>, all: bool) -> AppResult<Vec<ConflictView>> {
    s.get()?.conflicts(all)
}
#[tauri::command]
fn resolve_conflict(s: S<'_>, id: i64) -> AppResult<()> {
    s.get()?.resolve_conflict(id)
}

/// Starts the app. `JIANDU_DATA_DIR` overrides the data folder (tests and demos use a
/// temporary one so they never touch a real inspector's data).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = tauri::Builder::default()
        .setup(|handle| {
            let dir = match std::env::var_os("JIANDU_DATA_DIR") {
                Some(d) => std::path::PathBuf::from(d),
                None => handle.path().app_data_dir()?,
            };
            let mut app = App::open(&dir, Box::new(SystemClock), Box::new(V7Ids))?;
            // scripts/run.sh: the first window opens signed in (nobody signed in yet).
            if let Ok(spec) = std::env::var("JIANDU_AUTO_SIGN_IN")
                && let Err(e) = app.auto_sign_in(&spec)
            {
                eprintln!("自动登录失败：{}", e.message);
            }
            // Sync progress reaches the window as the `sync` event.
            let window = handle.handle().clone();
            app.on_sync_event(Arc::new(move |e| {
                let _ = window.emit("sync", e);
            }));
            handle.manage(Shared(Mutex::new(app)));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            startup,
            sign_in,
            sign_out,
            sync_badge,
            task_list,
            task_detail,
            show_credentials,
            checklist,
            answer,
            set_observation,
            set_outcome,
            submit,
            mark_unreachable,
            review_queue,
            review,
            sync_now,
            set_online,
            sync_status,
            conflicts,
            resolve_conflict,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("监督应用无法启动：{e}");
        std::process::exit(1);
    }
}
