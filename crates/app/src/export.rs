//! 导出本机数据 (data export): everything this user's device holds, copied into one
//! folder a person can hand to an administrator. It is what a device revoked by the
//! platform (lost tablet found again, inspector moved to another bureau) still offers:
//! sync has stopped for good, and the unsent work must not be lost with it.
//!
//! The folder holds a consistent copy of the database (`VACUUM INTO`: the outbox of
//! unsent changes included), the original photos and signatures byte for byte, the
//! documents made on site, and a 说明.txt in Chinese. The sync token is never copied.
//! The folder appears whole or not at all: it is written under a hidden name and
//! renamed at the end. The database is copied through a read-only connection of
//! its own (sync and the person's edits go on meanwhile); the files are copied one
//! by one with progress, and 取消 between two files removes the hidden folder.

use crate::jobs::Job;
use crate::{App, AppError, AppResult, Session, cst};
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ExportView {
    /// The folder written.
    pub path: String,
    /// Changes not yet sent to the platform (in the copied database's outbox).
    pub pending_changes: u32,
    /// Photos not yet uploaded.
    pub photos_left: u32,
    /// Files copied (the database and 说明.txt included) and their total size.
    pub files: u32,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// The user-folder entries copied as they are.
const COPIED: [(&str, &str); 3] = [
    (
        "photos",
        "原始照片（文件名为照片编号；内容未经任何修改，可按 SHA-256 校验）",
    ),
    ("signatures", "签名图片"),
    ("documents", "在现场生成的文书（PDF），每次检查一个文件夹"),
];

impl App {
    /// Copies the signed-in user's data into a new folder under `dest` (the shell
    /// passes the platform's Downloads folder); returns what was written. Works
    /// offline and on a revoked device; never changes the data it copies.
    pub fn export_data(&self, dest: &Path, job: &Job) -> AppResult<ExportView> {
        self.export_data_with(dest, job, None, false)
    }

    /// [`App::export_data`] of encrypted data: the PIN is asked again (a wrong one
    /// counts as a try, as at unlock). The folder is encrypted like the device's
    /// own data (its `keys.json` included, so it opens with the same PIN) unless
    /// the person explicitly chose `plain`.
    pub fn export_data_with(
        &self,
        dest: &Path,
        job: &Job,
        pin: Option<&str>,
        plain: bool,
    ) -> AppResult<ExportView> {
        let s = self.session()?;
        if s.key.is_some() {
            let _key = self.check_pin(&s.dir, pin.unwrap_or_default())?;
        }
        let profile = s.profile.clone();
        let now = self.clock.now().with_timezone(&cst());
        let who = file_name_part(&profile.display_name, 30);
        let base = format!("监督数据导出-{who}-{}", now.format("%Y%m%d-%H%M"));
        fs::create_dir_all(dest).map_err(AppError::storage)?;
        let mut name = base.clone();
        let mut k = 2;
        while dest.join(&name).exists() {
            name = format!("{base}（{k}）");
            k += 1;
        }
        let part = dest.join(format!(".{name}.part"));
        if part.exists() {
            fs::remove_dir_all(&part).map_err(AppError::storage)?;
        }
        let result = self.write_export(&s, &part, &now, job, plain);
        match result {
            Ok(mut view) => {
                let done = dest.join(&name);
                fs::rename(&part, &done).map_err(AppError::storage)?;
                view.path = done.to_string_lossy().into_owned();
                tracing::info!(
                    files = view.files,
                    bytes = view.bytes,
                    "local data exported"
                );
                Ok(view)
            }
            Err(e) => {
                tracing::info!(code = %e.code, "export stopped, partial folder removed");
                let _ = fs::remove_dir_all(&part);
                Err(e)
            }
        }
    }

    fn write_export(
        &self,
        s: &Session,
        dir: &Path,
        now: &chrono::DateTime<chrono::FixedOffset>,
        job: &Job,
        plain: bool,
    ) -> AppResult<ExportView> {
        let key = s.key.as_ref();
        let sealed = key.is_some() && !plain;
        let profile = &s.profile;
        fs::create_dir_all(dir).map_err(AppError::storage)?;
        job.step("正在复制数据库", 0, 1)?;
        let (db, pending, photos_left, revoked) = {
            let store = s.store();
            let stats = store.outbox_stats()?;
            let (photos_left, _) = store.uploads_left()?;
            (
                store.path().to_owned(),
                stats.pending,
                photos_left,
                store.sync_state()?.revoked_message,
            )
        };
        jiandu_store::Store::export_snapshot(
            &db,
            &dir.join("device.db"),
            key,
            if sealed { key } else { None },
        )?;
        let mut files = 1u32;
        let mut bytes = fs::metadata(dir.join("device.db"))
            .map_err(AppError::storage)?
            .len();
        let mut copies = Vec::new();
        for (entry, _) in COPIED {
            let src = s.dir.join(entry);
            if src.is_dir() {
                list_tree(&src, &dir.join(entry), &mut copies)?;
            }
        }
        let total = u32::try_from(copies.len()).unwrap_or(u32::MAX);
        for (n, (from, to)) in copies.iter().enumerate() {
            job.step(
                "正在复制照片、签名和文书",
                u32::try_from(n).unwrap_or(u32::MAX),
                total,
            )?;
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(AppError::storage)?;
            }
            bytes += match key {
                // Sealed files stay sealed: their folder and name, which they are
                // bound to, are the same in the copy.
                Some(_) if sealed => fs::copy(from, to).map_err(AppError::storage)?,
                Some(k) => {
                    let content = jiandu_store::crypto::read_file(from, Some(k))?;
                    fs::write(to, &content).map_err(AppError::storage)?;
                    content.len() as u64
                }
                None => fs::copy(from, to).map_err(AppError::storage)?,
            };
            files += 1;
        }
        if sealed {
            let keys = jiandu_store::crypto::KEYS_FILE;
            bytes += fs::copy(s.dir.join(keys), dir.join(keys)).map_err(AppError::storage)?;
            files += 1;
        }
        job.step("正在复制照片、签名和文书", total, total)?;
        let pending = u32::try_from(pending).unwrap_or(u32::MAX);
        let photos_left = u32::try_from(photos_left).unwrap_or(u32::MAX);
        let mut text = format!(
            "监督 · 现场检查 本机数据导出\n\n\
             执法人员：{}（{}）\n\
             导出时间：{}（北京时间）\n\
             服务器：{}\n",
            profile.display_name,
            profile.username,
            now.format("%Y-%m-%d %H:%M"),
            if profile.demo {
                "演示模式（未连接服务器）".to_owned()
            } else {
                profile.server_url.clone()
            },
        );
        if let Some(msg) = revoked {
            text.push_str(&format!("本机已被平台停用：{msg}\n"));
        }
        text.push_str(&format!(
            "尚未上传的修改：{pending} 项；尚未上传的照片：{photos_left} 张\n\n内容：\n  \
             device.db     本机数据库（SQLite）：任务、检查记录、签名记录、尚未上传的修改\n"
        ));
        for (entry, what) in COPIED {
            text.push_str(&format!("  {:<13} {what}\n", format!("{entry}/")));
        }
        if sealed {
            text.push_str(
                "\n本文件夹已加密（数据库为 SQLCipher，照片、签名和文书为 XChaCha20-Poly1305），\
                 keys.json 为用本机 PIN 码保护的密钥：须由本人输入 PIN 码才能打开。\n",
            );
        } else if key.is_some() {
            text.push_str("\n本文件夹按导出人的选择未加密，请妥善保管。\n");
        }
        text.push_str(
            "\n请将整个文件夹交给管理员核对与补录，不要修改其中的文件。\n\
             本文件夹不含登录凭据，不能用于登录或同步。\n",
        );
        let readme = dir.join("说明.txt");
        fs::write(&readme, text.as_bytes()).map_err(AppError::storage)?;
        files += 1;
        bytes += text.len() as u64;
        Ok(ExportView {
            path: String::new(),
            pending_changes: pending,
            photos_left,
            files,
            bytes,
        })
    }
}

/// Lists the files under `src` with where each goes under `dst` (the tree kept);
/// the folders are made as the files are copied.
fn list_tree(src: &Path, dst: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> AppResult<()> {
    fs::create_dir_all(dst).map_err(AppError::storage)?;
    let mut stack: Vec<(PathBuf, PathBuf)> = vec![(src.to_owned(), dst.to_owned())];
    while let Some((from, to)) = stack.pop() {
        for entry in fs::read_dir(&from).map_err(AppError::storage)? {
            let entry = entry.map_err(AppError::storage)?;
            let target = to.join(entry.file_name());
            let kind = entry.file_type().map_err(AppError::storage)?;
            if kind.is_dir() {
                stack.push((entry.path(), target));
            } else if kind.is_file() {
                out.push((entry.path(), target));
            }
        }
    }
    Ok(())
}

/// Part of a file name from a person's or a unit's name: without the characters
/// file systems refuse, at most `max` characters.
pub(crate) fn file_name_part(name: &str, max: usize) -> String {
    name.chars()
        .filter(|c| !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
        .take(max)
        .collect()
}
