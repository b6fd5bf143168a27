//! Tauri build step: reads tauri.conf.json and generates the ACL of the app's own
//! commands (`allow-<command>`), so the capability file can grant exactly those.
//!
//! `frontendDist` (../ui/dist) must exist when the shell compiles. When the UI has not
//! been built (a plain `cargo clippy --workspace`), a one-page placeholder is written
//! there telling what to run; `npm run build` in ui/ replaces it.

fn main() {
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        let _ = std::fs::create_dir_all(dist);
        let _ = std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>监督</title>\
             <p style=\"font:20px sans-serif;padding:2em\">界面尚未构建：请在 ui/ 目录运行 \
             <code>npm ci &amp;&amp; npm run build</code> 后重新编译。</p>",
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist/index.html");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .unwrap_or_else(|e| panic!("tauri build step failed: {e:#}"));
}

/// Every command of src/lib.rs; the capability grants each by `allow-<name>`.
const COMMANDS: &[&str] = &[
    "startup",
    "sign_in",
    "sign_out",
    "sync_badge",
    "task_list",
    "task_detail",
    "show_credentials",
    "checklist",
    "answer",
    "set_observation",
    "set_outcome",
    "opinion",
    "opinion_draft",
    "save_opinion",
    "record_details",
    "save_record_details",
    "submit",
    "mark_unreachable",
    "review_queue",
    "review",
    "sync_now",
    "set_online",
    "sync_status",
    "conflicts",
    "resolve_conflict",
    "add_photo",
    "photos",
    "photo_thumbnail",
    "photo_original",
    "void_photo",
    "signatures",
    "add_signature",
    "record_refusal",
    "documents",
    "generate_document",
    "document_pdf",
    "export_document",
    "export_data",
    "archive_document",
    "export_diagnostics",
    "cancel_job",
    "lock_state",
    "set_pin",
    "unlock",
    "change_pin",
    "lock_now",
    "set_idle_minutes",
];
