//! 导出诊断信息: one text file for the bureau's IT when sync fails in a clinic
//! corridor and nobody nearby can say why. It holds the app version and platform,
//! the account and server address, the sync state (online, last success, the
//! last error), the outbox and upload-queue counts, files the platform refused to
//! take, the last failed syncs, the latest rejected edits with the platform's
//! reason, the 文号 left, and the recent log.
//!
//! It says, at its top and in Chinese, that it carries nothing secret: no
//! password (never kept), no sync token (kept in its own file and never logged;
//! should it ever appear in the text, it is blanked out before writing), no
//! photo, no checklist answers.

use crate::evidence::write_atomic;
use crate::export::file_name_part;
use crate::{App, AppResult, Session, cst};
use jiandu_sync::TokenStore;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use ts_rs::TS;

/// How much of the log the file carries (the newest part).
const LOG_BYTES: u64 = 512 * 1024;
/// Rejected edits listed (the newest).
const CONFLICTS_LISTED: usize = 20;

/// The written diagnostics file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DiagnosticsView {
    pub path: String,
    #[ts(type = "number")]
    pub bytes: u64,
}

/// What the file says about secrets, first thing.
pub const NOTHING_SECRET: &str =
    "本文件不含密码、登录令牌（同步凭据）、照片或检查内容，可以放心发给本单位信息化人员。";

impl App {
    /// Writes the diagnostics file into `dest` (the shell passes Downloads) under a
    /// new name; works signed in or not, online or not.
    pub fn export_diagnostics(&self, dest: &Path) -> AppResult<DiagnosticsView> {
        let text = self.diagnostics()?;
        let now = self.clock.now().with_timezone(&cst());
        let who = self
            .current()
            .map(|s| file_name_part(&s.profile.username, 30))
            .unwrap_or_else(|| "未登录".to_owned());
        let base = format!("监督诊断信息-{who}-{}", now.format("%Y%m%d-%H%M%S"));
        let mut path = dest.join(format!("{base}.txt"));
        let mut k = 2;
        while path.exists() {
            path = dest.join(format!("{base}（{k}）.txt"));
            k += 1;
        }
        write_atomic(&path, text.as_bytes())?;
        tracing::info!(path = %path.display(), bytes = text.len(), "diagnostics exported");
        Ok(DiagnosticsView {
            path: path.to_string_lossy().into_owned(),
            bytes: text.len() as u64,
        })
    }

    /// The diagnostics text ([`App::export_diagnostics`] writes it).
    pub fn diagnostics(&self) -> AppResult<String> {
        let now = self.clock.now().with_timezone(&cst());
        let mut t = String::new();
        let _ = writeln!(t, "监督 · 现场检查 诊断信息\n\n{NOTHING_SECRET}\n");
        let _ = writeln!(
            t,
            "生成时间：{}（北京时间）",
            now.format("%Y-%m-%d %H:%M:%S")
        );
        let _ = writeln!(t, "应用版本：{}", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(
            t,
            "运行平台：{} {}（{}）",
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::env::consts::FAMILY
        );
        let _ = writeln!(t, "数据文件夹：{}", self.data_dir.display());
        let session = self.current();
        let mut token = None;
        match &session {
            None => {
                let _ = writeln!(t, "\n当前没有登录的账号。");
            }
            Some(s) => {
                token = s.link.as_ref().and_then(|l| l.tokens.load().ok().flatten());
                self.session_section(&mut t, s);
            }
        }
        let _ = writeln!(
            t,
            "\n== 日志（最近部分，北京时间） ==\n{}",
            crate::logs::read_recent(&self.data_dir, LOG_BYTES)
        );
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            // Never logged; blanked out should anything ever carry it.
            t = t.replace(&token, "［已隐去］");
        }
        Ok(t)
    }

    fn session_section(&self, t: &mut String, s: &Session) {
        let p = &s.profile;
        let role = match p.role {
            crate::dto::RoleCode::Inspector => "检查人员",
            crate::dto::RoleCode::TeamLead => "组长",
        };
        let _ = writeln!(t, "\n== 账号与服务器 ==");
        let _ = writeln!(t, "用户：{}（{}），{role}", p.display_name, p.username);
        if p.demo {
            let _ = writeln!(t, "服务器：演示模式（不连接服务器）");
        } else {
            let _ = writeln!(t, "服务器：{}", p.server_url);
        }
        let store = s.store();
        let state = store.sync_state();
        if let Ok(state) = &state {
            if let Some(d) = state.device_id {
                let _ = writeln!(t, "本机设备编号：{d}");
            }
            let _ = writeln!(t, "接收进度（平台变更序号）：{}", state.cursor);
        }
        let _ = writeln!(t, "\n== 同步状态 ==");
        if let Some(link) = &s.link {
            let live = crate::lock(&link.live);
            let _ = writeln!(t, "网络：{}", if live.online { "在线" } else { "离线" });
            let _ = writeln!(t, "正在同步：{}", if live.running { "是" } else { "否" });
            let _ = writeln!(
                t,
                "上次同步错误：{}",
                live.last_error.as_deref().unwrap_or("无")
            );
        }
        if let Ok(state) = &state {
            let _ = writeln!(
                t,
                "上次成功同步：{}",
                state.last_sync_at.map_or_else(
                    || "从未".to_owned(),
                    |at| at
                        .with_timezone(&cst())
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                )
            );
            if let Some(m) = &state.revoked_message {
                let _ = writeln!(t, "本机已被平台停用：{m}");
            }
        }
        match store.outbox_stats() {
            Ok(o) => {
                let _ = writeln!(
                    t,
                    "待上传的修改：{} 项（本机共记录 {} 项修改）",
                    o.pending, o.last_device_seq
                );
            }
            Err(e) => {
                let _ = writeln!(t, "待上传的修改：无法读取（{e}）");
            }
        }
        match store.uploads_left() {
            Ok((files, bytes)) => {
                let _ = writeln!(
                    t,
                    "待上传的照片和签名：{files} 个，共 {:.1} MB",
                    bytes as f64 / 1_048_576.0
                );
            }
            Err(e) => {
                let _ = writeln!(t, "待上传的照片和签名：无法读取（{e}）");
            }
        }
        if let Ok(blocked) = store.blocked_uploads() {
            for (id, reason) in blocked {
                let _ = writeln!(t, "无法上传的文件 {id}：{reason}");
            }
        }
        let conflicts = store.conflicts(true).unwrap_or_default();
        let open = conflicts.iter().filter(|c| c.resolved_at.is_none()).count();
        let _ = writeln!(
            t,
            "被平台拒绝的修改：共 {} 项，其中未查看 {open} 项",
            conflicts.len()
        );
        let mut series = Vec::new();
        for (authority, year) in self.doc_series() {
            if let Ok(stock) = store.doc_number_stock(&authority, year) {
                series.push(format!(
                    "{authority} {year} 年：剩余 {} 个",
                    stock.remaining
                ));
            }
        }
        let _ = writeln!(t, "意见书文号：{}", series.join("；"));
        drop(store);

        let _ = writeln!(t, "\n== 最近的同步失败（最多 10 次，最早的在前） ==");
        let failures = self.sync_failures(s);
        if failures.is_empty() {
            let _ = writeln!(t, "无（自应用启动以来）");
        }
        for f in failures {
            let _ = writeln!(
                t,
                "{} [{}] {}",
                f.at.with_timezone(&cst()).format("%Y-%m-%d %H:%M:%S"),
                f.code,
                f.message
            );
        }
        let _ = writeln!(t, "\n== 被平台拒绝的修改（最近 {CONFLICTS_LISTED} 项） ==");
        if conflicts.is_empty() {
            let _ = writeln!(t, "无");
        }
        for c in conflicts.iter().rev().take(CONFLICTS_LISTED) {
            let _ = writeln!(
                t,
                "{} 第 {} 项修改（{}/{}）[{}] {}{}",
                c.at.with_timezone(&cst()).format("%Y-%m-%d %H:%M:%S"),
                c.device_seq,
                c.entity,
                c.op,
                c.reason,
                c.message,
                if c.resolved_at.is_some() {
                    "（已查看）"
                } else {
                    ""
                }
            );
        }
    }
}
