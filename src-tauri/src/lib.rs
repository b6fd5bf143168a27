//! The Tauri 2 shell of the inspector app. Each command is a one-line adapter: take
//! the state, call the use case in `jiandu-app`, return its answer or its
//! `{code, message}` error. No logic lives here, so tests exercise `jiandu-app`
//! directly and this file stays the same on desktop, Android and iOS (no desktop-only
//! API: the data folder is the platform's app-data dir).

use jiandu_app::documents::{DocKindCode, DocumentsView};
use jiandu_app::dto::*;
use jiandu_app::evidence::{PhotoView, SignaturesView, VoidPhotoInput};
use jiandu_app::export::ExportView;
use jiandu_app::sync::{ConflictView, SyncStatus};
use jiandu_app::{App, AppError, AppResult, SystemClock, V7Ids};
use std::sync::{Arc, Mutex, MutexGuard};
use tauri::ipc::{InvokeBody, Request, Response};
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

// -- Photos, signatures and documents (issue 6 points 4–6) ------------------------
// Photo and signature bytes arrive as the raw IPC body (no JSON or base64 of
// megabytes), with the JSON input percent-encoded in the `x-jiandu-input` header;
// files go back as raw bytes (an ArrayBuffer in the UI).

#[tauri::command]
fn add_photo(s: S<'_>, request: Request<'_>) -> AppResult<PhotoView> {
    let (input, bytes) = raw_input(&request)?;
    s.get()?.add_photo(input, bytes)
}
#[tauri::command]
fn photos(s: S<'_>, task_id: String, point: Option<String>) -> AppResult<Vec<PhotoView>> {
    s.get()?.photos(&task_id, point.as_deref())
}
#[tauri::command]
fn photo_thumbnail(s: S<'_>, photo_id: String) -> AppResult<Response> {
    Ok(Response::new(s.get()?.photo_thumbnail(&photo_id)?))
}
#[tauri::command]
fn photo_original(s: S<'_>, photo_id: String) -> AppResult<Response> {
    Ok(Response::new(s.get()?.photo_original(&photo_id)?))
}
#[tauri::command]
fn void_photo(s: S<'_>, input: VoidPhotoInput) -> AppResult<PhotoView> {
    s.get()?.void_photo(input)
}
#[tauri::command]
fn signatures(s: S<'_>, task_id: String) -> AppResult<SignaturesView> {
    s.get()?.signatures(&task_id)
}
#[tauri::command]
fn add_signature(s: S<'_>, request: Request<'_>) -> AppResult<SignaturesView> {
    let (input, png) = raw_input(&request)?;
    s.get()?.add_signature(input, png)
}
#[tauri::command]
fn record_refusal(s: S<'_>, request: Request<'_>) -> AppResult<SignaturesView> {
    let (input, witness_png) = raw_input(&request)?;
    s.get()?.record_refusal(input, witness_png)
}
#[tauri::command]
fn documents(s: S<'_>, task_id: String) -> AppResult<DocumentsView> {
    s.get()?.documents(&task_id)
}
#[tauri::command]
fn generate_document(s: S<'_>, task_id: String, kind: DocKindCode) -> AppResult<DocumentsView> {
    s.get()?.generate_document(&task_id, kind)
}
#[tauri::command]
fn document_pdf(s: S<'_>, task_id: String, kind: DocKindCode) -> AppResult<Response> {
    Ok(Response::new(s.get()?.document_pdf(&task_id, kind)?))
}
#[tauri::command]
fn archive_document(s: S<'_>, task_id: String, kind: DocKindCode) -> AppResult<Response> {
    Ok(Response::new(s.get()?.archive_document(&task_id, kind)?))
}
/// Saves a copy in Downloads and, where the platform has one, opens it in the
/// system PDF viewer (print and share from there).
#[tauri::command]
fn export_document(
    h: tauri::AppHandle,
    s: S<'_>,
    task_id: String,
    kind: DocKindCode,
    open: bool,
) -> AppResult<String> {
    let path = s.get()?.export_document(&task_id, kind, &downloads(&h)?)?;
    if open {
        open_file(&h, &path)?;
    }
    Ok(path.display().to_string())
}

/// 导出本机数据: the user's data copied into a new folder in Downloads (what a
/// revoked device still offers).
#[tauri::command]
fn export_data(h: tauri::AppHandle, s: S<'_>) -> AppResult<ExportView> {
    s.get()?.export_data(&downloads(&h)?)
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
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("监督应用无法启动：{e}");
        std::process::exit(1);
    }
}
