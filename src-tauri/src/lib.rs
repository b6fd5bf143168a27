//! The Tauri 2 shell of the inspector app. Each command is a one-line adapter: take
//! the state, call the use case in `jiandu-app`, return its answer or its
//! `{code, message}` error. No logic lives here, so tests exercise `jiandu-app`
//! directly and this file stays the same on desktop, Android and iOS (no desktop-only
//! API: the data folder is the platform's app-data dir).
//!
//! Threads: every command is `async` and runs its use case on Tauri's blocking pool
//! ([`use_case`]), never on the main thread (which draws the window) and never on an
//! async worker (a use case may wait for the platform or render a PDF). The app is
//! shared as one `Arc<App>` with no lock around it: `jiandu-app` locks only what
//! each step needs (see its crate docs), so a decision, an archive download or a
//! sync waiting on a slow platform never holds up an answer being saved.
//!
//! Logs go to `<data folder>/logs/` (`jiandu_app::logs`); each failed command is
//! logged with its code and message, and any command taking over a second with
//! its time.

use jiandu_app::diagnostics::DiagnosticsView;
use jiandu_app::documents::{DocKindCode, DocumentsView};
use jiandu_app::dto::*;
use jiandu_app::evidence::{PhotoView, SignaturesView, VoidPhotoInput};
use jiandu_app::export::ExportView;
use jiandu_app::jobs::JobProgress;
use jiandu_app::lock::LockView;
use jiandu_app::opinion::{OpinionInput, OpinionView, RecordDetailsInput, RecordDetailsView};
use jiandu_app::sync::{ConflictView, SyncStatus};
use jiandu_app::{App, AppError, AppResult, SystemClock, V7Ids};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::ipc::{Channel, InvokeBody, Request, Response};
use tauri::{Emitter, Manager, State};

/// The app, shared by the commands running at the same time.
struct Shared {
    app: Arc<App>,
    /// The start-up sign-in of `JIANDU_AUTO_SIGN_IN`, running in the background:
    /// `startup` waits for it, so the first screen is the signed-in list.
    auto_sign_in: Mutex<Option<std::thread::JoinHandle<()>>>,
}

type S<'a> = State<'a, Shared>;

/// A command slower than this is logged with its time.
const SLOW_COMMAND: Duration = Duration::from_secs(1);

/// Runs a use case on Tauri's blocking pool and logs a failure (code and message:
/// never an input) or a slow answer.
async fn use_case<T: Send + 'static>(
    s: &Shared,
    command: &'static str,
    f: impl FnOnce(&App) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let app = Arc::clone(&s.app);
    let started = Instant::now();
    let result = tauri::async_runtime::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| {
            tracing::error!(command, error = %e, "command thread failed");
            AppError::new("internal", "应用内部出错，请重试；如仍出现，请重启应用")
        })?;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match &result {
        Err(e) => {
            tracing::warn!(command, ms, code = %e.code, message = %e.message, "command failed")
        }
        Ok(_) if started.elapsed() >= SLOW_COMMAND => tracing::info!(command, ms, "slow command"),
        Ok(_) => {}
    }
    result
}

#[tauri::command]
async fn startup(s: S<'_>) -> AppResult<Startup> {
    let pending = s
        .auto_sign_in
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    use_case(&s, "startup", move |app| {
        if let Some(h) = pending {
            let _ = h.join();
        }
        Ok(app.startup())
    })
    .await
}
#[tauri::command]
async fn sign_in(s: S<'_>, input: SignInInput, ca_cert: Option<String>) -> AppResult<Profile> {
    use_case(&s, "sign_in", move |app| {
        app.sign_in_trusting(input, ca_cert.as_deref())
    })
    .await
}
#[tauri::command]
async fn lock_state(s: S<'_>) -> AppResult<LockView> {
    use_case(&s, "lock_state", |app| Ok(app.lock_state())).await
}
#[tauri::command]
async fn set_pin(s: S<'_>, pin: String) -> AppResult<LockView> {
    use_case(&s, "set_pin", move |app| app.set_pin(&pin)).await
}
#[tauri::command]
async fn unlock(s: S<'_>, pin: String) -> AppResult<LockView> {
    use_case(&s, "unlock", move |app| app.unlock(&pin)).await
}
#[tauri::command]
async fn change_pin(s: S<'_>, old: String, new: String, again: String) -> AppResult<LockView> {
    use_case(&s, "change_pin", move |app| {
        app.change_pin(&old, &new, &again)
    })
    .await
}
#[tauri::command]
async fn lock_now(s: S<'_>) -> AppResult<LockView> {
    use_case(&s, "lock_now", |app| app.lock_now()).await
}
#[tauri::command]
async fn set_idle_minutes(s: S<'_>, minutes: u32) -> AppResult<LockView> {
    use_case(&s, "set_idle_minutes", move |app| {
        app.set_idle_minutes(minutes)
    })
    .await
}
#[tauri::command]
async fn sign_out(s: S<'_>) -> AppResult<()> {
    use_case(&s, "sign_out", |app| app.sign_out()).await
}
#[tauri::command]
async fn sync_badge(s: S<'_>) -> AppResult<SyncBadge> {
    use_case(&s, "sync_badge", |app| app.sync_badge()).await
}
#[tauri::command]
async fn task_list(s: S<'_>, query: TaskQuery) -> AppResult<TaskList> {
    use_case(&s, "task_list", move |app| app.task_list(query)).await
}
#[tauri::command]
async fn task_detail(s: S<'_>, task_id: String) -> AppResult<TaskDetail> {
    use_case(&s, "task_detail", move |app| app.task_detail(&task_id)).await
}
#[tauri::command]
async fn show_credentials(s: S<'_>, input: ShowCredentialsInput) -> AppResult<TaskDetail> {
    use_case(&s, "show_credentials", move |app| {
        app.show_credentials(input)
    })
    .await
}
#[tauri::command]
async fn checklist(s: S<'_>, task_id: String) -> AppResult<ChecklistView> {
    use_case(&s, "checklist", move |app| app.checklist(&task_id)).await
}
#[tauri::command]
async fn answer(s: S<'_>, input: AnswerInput) -> AppResult<PointSaved> {
    use_case(&s, "answer", move |app| app.answer(input)).await
}
#[tauri::command]
async fn set_observation(s: S<'_>, input: ObservationInput) -> AppResult<PointSaved> {
    use_case(&s, "set_observation", move |app| app.set_observation(input)).await
}
#[tauri::command]
async fn set_outcome(s: S<'_>, input: OutcomeInput) -> AppResult<TaskDetail> {
    use_case(&s, "set_outcome", move |app| app.set_outcome(input)).await
}
#[tauri::command]
async fn opinion(s: S<'_>, task_id: String) -> AppResult<OpinionView> {
    use_case(&s, "opinion", move |app| app.opinion(&task_id)).await
}
#[tauri::command]
async fn opinion_draft(s: S<'_>, task_id: String) -> AppResult<OpinionView> {
    use_case(&s, "opinion_draft", move |app| app.opinion_draft(&task_id)).await
}
#[tauri::command]
async fn save_opinion(s: S<'_>, input: OpinionInput) -> AppResult<OpinionView> {
    use_case(&s, "save_opinion", move |app| app.save_opinion(input)).await
}
#[tauri::command]
async fn record_details(s: S<'_>, task_id: String) -> AppResult<RecordDetailsView> {
    use_case(&s, "record_details", move |app| {
        app.record_details(&task_id)
    })
    .await
}
#[tauri::command]
async fn save_record_details(s: S<'_>, input: RecordDetailsInput) -> AppResult<RecordDetailsView> {
    use_case(&s, "save_record_details", move |app| {
        app.save_record_details(input)
    })
    .await
}
#[tauri::command]
async fn submit(s: S<'_>, task_id: String) -> AppResult<TaskDetail> {
    use_case(&s, "submit", move |app| app.submit(&task_id)).await
}
#[tauri::command]
async fn mark_unreachable(s: S<'_>, task_id: String, reason: String) -> AppResult<TaskDetail> {
    use_case(&s, "mark_unreachable", move |app| {
        app.mark_unreachable(&task_id, &reason)
    })
    .await
}
#[tauri::command]
async fn review_queue(s: S<'_>) -> AppResult<Vec<ReviewItem>> {
    use_case(&s, "review_queue", |app| app.review_queue()).await
}
#[tauri::command]
async fn review(s: S<'_>, input: ReviewInput) -> AppResult<TaskDetail> {
    use_case(&s, "review", move |app| app.review(input)).await
}
#[tauri::command]
async fn sync_now(s: S<'_>) -> AppResult<()> {
    use_case(&s, "sync_now", |app| app.sync_now()).await
}
#[tauri::command]
async fn set_online(s: S<'_>, online: bool) -> AppResult<()> {
    use_case(&s, "set_online", move |app| app.set_online(online)).await
}
#[tauri::command]
async fn sync_status(s: S<'_>) -> AppResult<SyncStatus> {
    use_case(&s, "sync_status", |app| app.sync_status()).await
}
#[tauri::command]
async fn conflicts(s: S<'_>, all: bool) -> AppResult<Vec<ConflictView>> {
    use_case(&s, "conflicts", move |app| app.conflicts(all)).await
}
#[tauri::command]
async fn resolve_conflict(s: S<'_>, id: i64) -> AppResult<()> {
    use_case(&s, "resolve_conflict", move |app| app.resolve_conflict(id)).await
}
/// 导出诊断信息: one file in Downloads for the bureau's IT (nothing secret in it).
#[tauri::command]
async fn export_diagnostics(h: tauri::AppHandle, s: S<'_>) -> AppResult<DiagnosticsView> {
    let dest = downloads(&h)?;
    use_case(&s, "export_diagnostics", move |app| {
        app.export_diagnostics(&dest)
    })
    .await
}
/// 取消 of a long operation started with the same `job` id.
#[tauri::command]
async fn cancel_job(s: S<'_>, job: String) -> AppResult<()> {
    use_case(&s, "cancel_job", move |app| app.cancel_job(&job)).await
}

// -- Photos, signatures and documents (issue 6 points 4–6) ------------------------
// Photo and signature bytes arrive as the raw IPC body (no JSON or base64 of
// megabytes), with the JSON input percent-encoded in the `x-jiandu-input` header;
// files go back as raw bytes (an ArrayBuffer in the UI).

#[tauri::command]
async fn add_photo(s: S<'_>, request: Request<'_>) -> AppResult<PhotoView> {
    let (input, bytes) = raw_input(&request)?;
    let bytes = bytes.to_vec();
    use_case(&s, "add_photo", move |app| app.add_photo(input, &bytes)).await
}
#[tauri::command]
async fn photos(s: S<'_>, task_id: String, point: Option<String>) -> AppResult<Vec<PhotoView>> {
    use_case(&s, "photos", move |app| {
        app.photos(&task_id, point.as_deref())
    })
    .await
}
#[tauri::command]
async fn photo_thumbnail(s: S<'_>, photo_id: String) -> AppResult<Response> {
    use_case(&s, "photo_thumbnail", move |app| {
        app.photo_thumbnail(&photo_id).map(Response::new)
    })
    .await
}
#[tauri::command]
async fn photo_original(s: S<'_>, photo_id: String) -> AppResult<Response> {
    use_case(&s, "photo_original", move |app| {
        app.photo_original(&photo_id).map(Response::new)
    })
    .await
}
#[tauri::command]
async fn void_photo(s: S<'_>, input: VoidPhotoInput) -> AppResult<PhotoView> {
    use_case(&s, "void_photo", move |app| app.void_photo(input)).await
}
#[tauri::command]
async fn signatures(s: S<'_>, task_id: String) -> AppResult<SignaturesView> {
    use_case(&s, "signatures", move |app| app.signatures(&task_id)).await
}
#[tauri::command]
async fn add_signature(s: S<'_>, request: Request<'_>) -> AppResult<SignaturesView> {
    let (input, png) = raw_input(&request)?;
    let png = png.to_vec();
    use_case(&s, "add_signature", move |app| {
        app.add_signature(input, &png)
    })
    .await
}
#[tauri::command]
async fn record_refusal(s: S<'_>, request: Request<'_>) -> AppResult<SignaturesView> {
    let (input, witness_png) = raw_input(&request)?;
    let witness_png = witness_png.to_vec();
    use_case(&s, "record_refusal", move |app| {
        app.record_refusal(input, &witness_png)
    })
    .await
}
#[tauri::command]
async fn documents(s: S<'_>, task_id: String) -> AppResult<DocumentsView> {
    use_case(&s, "documents", move |app| app.documents(&task_id)).await
}
/// Makes a document; its progress (photos read, the render) goes to `progress`,
/// and `cancel_job(job)` stops it before anything is written.
#[tauri::command]
async fn generate_document(
    s: S<'_>,
    task_id: String,
    kind: DocKindCode,
    job: String,
    progress: Channel<JobProgress>,
) -> AppResult<DocumentsView> {
    use_case(&s, "generate_document", move |app| {
        let job = app.start_job(&job, move |p| {
            let _ = progress.send(p);
        });
        app.generate_document_with(&task_id, kind, &job)
    })
    .await
}
#[tauri::command]
async fn document_pdf(s: S<'_>, task_id: String, kind: DocKindCode) -> AppResult<Response> {
    use_case(&s, "document_pdf", move |app| {
        app.document_pdf(&task_id, kind).map(Response::new)
    })
    .await
}
/// The platform's archive copy: waits for the platform with nothing locked.
#[tauri::command]
async fn archive_document(s: S<'_>, task_id: String, kind: DocKindCode) -> AppResult<Response> {
    use_case(&s, "archive_document", move |app| {
        app.archive_document(&task_id, kind).map(Response::new)
    })
    .await
}
/// Saves a copy in Downloads and, where the platform has one, opens it in the
/// system PDF viewer (print and share from there).
#[tauri::command]
async fn export_document(
    h: tauri::AppHandle,
    s: S<'_>,
    task_id: String,
    kind: DocKindCode,
    open: bool,
) -> AppResult<String> {
    let dest = downloads(&h)?;
    let path = use_case(&s, "export_document", move |app| {
        app.export_document(&task_id, kind, &dest)
    })
    .await?;
    if open {
        open_file(&h, &path)?;
    }
    Ok(path.display().to_string())
}

/// 导出本机数据: the user's data copied into a new folder in Downloads (what a
/// revoked device still offers), with progress; `cancel_job(job)` stops it and
/// removes what was copied.
#[tauri::command]
async fn export_data(
    h: tauri::AppHandle,
    s: S<'_>,
    job: String,
    progress: Channel<JobProgress>,
    pin: Option<String>,
    plain: Option<bool>,
) -> AppResult<ExportView> {
    let dest = downloads(&h)?;
    use_case(&s, "export_data", move |app| {
        let job = app.start_job(&job, move |p| {
            let _ = progress.send(p);
        });
        app.export_data_with(&dest, &job, pin.as_deref(), plain.unwrap_or(false))
    })
    .await
}

fn downloads(h: &tauri::AppHandle) -> AppResult<std::path::PathBuf> {
    h.path().download_dir().map_err(|e| {
        AppError::new(
            "no_download_dir",
            format!("本机没有可保存文件的“下载”文件夹：{e}"),
        )
    })
}

#[cfg(desktop)]
fn open_file(h: &tauri::AppHandle, path: &std::path::Path) -> AppResult<()> {
    use tauri_plugin_opener::OpenerExt;
    h.opener()
        .open_path(path.display().to_string(), None::<&str>)
        .map_err(|e| AppError::new("open_failed", format!("已保存，但无法用系统程序打开：{e}")))
}
#[cfg(mobile)]
fn open_file(_: &tauri::AppHandle, _: &std::path::Path) -> AppResult<()> {
    // Mobile: sharing/printing needs a share-sheet plugin (see README).
    Ok(())
}

/// The JSON input from the `x-jiandu-input` header and the raw body.
fn raw_input<'r, T: serde::de::DeserializeOwned>(
    request: &'r Request<'_>,
) -> AppResult<(T, &'r [u8])> {
    let bad = |what: &str| AppError::new("invalid", format!("请求格式不正确：{what}"));
    let header = request
        .headers()
        .get("x-jiandu-input")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("缺少参数"))?;
    let json = percent_decode(header).ok_or_else(|| bad("参数编码"))?;
    let input = serde_json::from_slice(&json).map_err(|e| bad(&e.to_string()))?;
    let body: &[u8] = match request.body() {
        InvokeBody::Raw(bytes) => bytes,
        InvokeBody::Json(serde_json::Value::Null) => &[],
        InvokeBody::Json(_) => return Err(bad("文件内容应以二进制发送")),
    };
    Ok((input, body))
}

/// Decodes `encodeURIComponent` output.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Starts the app. `JIANDU_DATA_DIR` overrides the data folder (tests and demos use a
/// temporary one so they never touch a real inspector's data).
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .setup(|handle| {
            let dir = match std::env::var_os("JIANDU_DATA_DIR") {
                Some(d) => std::path::PathBuf::from(d),
                None => handle.path().app_data_dir()?,
            };
            jiandu_app::logs::init(&dir)?;
            let app = Arc::new(App::open(&dir, Box::new(SystemClock), Box::new(V7Ids))?);
            // Sync progress reaches the window as the `sync` event.
            let window = handle.handle().clone();
            app.on_sync_event(Arc::new(move |e| {
                let _ = window.emit("sync", e);
            }));
            // scripts/run.sh: the first window opens signed in (nobody signed in
            // yet). Enrolment waits for the platform: in the background, so the
            // window draws meanwhile; `startup` waits for it.
            let auto_sign_in = std::env::var("JIANDU_AUTO_SIGN_IN").ok().map(|spec| {
                let app = Arc::clone(&app);
                std::thread::spawn(move || {
                    if let Err(e) = app.auto_sign_in(&spec) {
                        tracing::warn!(code = %e.code, message = %e.message, "自动登录失败");
                    }
                })
            });
            handle.manage(Shared {
                app,
                auto_sign_in: Mutex::new(auto_sign_in),
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            startup,
            sign_in,
            lock_state,
            set_pin,
            unlock,
            change_pin,
            lock_now,
            set_idle_minutes,
            sign_out,
            sync_badge,
            task_list,
            task_detail,
            show_credentials,
            checklist,
            answer,
            set_observation,
            set_outcome,
            opinion,
            opinion_draft,
            save_opinion,
            record_details,
            save_record_details,
            submit,
            mark_unreachable,
            review_queue,
            review,
            sync_now,
            set_online,
            sync_status,
            conflicts,
            resolve_conflict,
            add_photo,
            photos,
            photo_thumbnail,
            photo_original,
            void_photo,
            signatures,
            add_signature,
            record_refusal,
            documents,
            generate_document,
            document_pdf,
            export_document,
            export_data,
            archive_document,
            export_diagnostics,
            cancel_job,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(error = %e, "监督应用无法启动");
        eprintln!("监督应用无法启动：{e}");
        std::process::exit(1);
    }
}
