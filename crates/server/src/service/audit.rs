//! The audit log (审计日志) for people: verifying the hash chain and listing entries.
//! The chain itself (canonical serialization, events) is `crate::audit`.

use super::{Platform, ServiceResult};
use crate::audit::{AuditEntry, GENESIS};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// A data row that no longer matches what its audit entry recorded (e.g. an
/// inspection edited with SQL behind the platform's back).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DataMismatch {
    /// The change sequence the row says it was last written at.
    pub change_seq: i64,
    /// `inspection`.
    pub table: String,
    /// The row's id.
    pub id: String,
    /// In Chinese, for people.
    pub message: String,
}

/// What an audit entry recorded about the rows it wrote.
enum Audited {
    /// `inspection.put` / `inspection.review`: the body's SHA-256.
    Body {
        subject: String,
        sha256: String,
    },
    /// `sync.push`: the inspections its items name (bodies are not recorded).
    Push(HashSet<String>),
    Other,
}

fn audited(e: &AuditEntry) -> Audited {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
    match e.action.as_str() {
        "inspection.put" | "inspection.review" => Audited::Body {
            subject: e.subject.clone(),
            sha256: detail["body_sha256"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        },
        "sync.push" => Audited::Push(
            detail["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i["inspection_id"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => Audited::Other,
    }
}

/// Recomputes what the audit log recorded of every inspection from the stored
/// rows: its last write must be an audited write of it, and its body's SHA-256 the
/// one that entry recorded (rows last written by a push are checked by name only).
async fn check_data(
    p: &Platform,
    audited: &HashMap<i64, Audited>,
    starts_after: i64,
) -> ServiceResult<Vec<DataMismatch>> {
    let tasks: Vec<uuid::Uuid> = p
        .store
        .tasks_for(None, None)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut out = Vec::new();
    for s in p.store.inspections_of_tasks(&tasks).await? {
        if s.seq <= starts_after {
            continue;
        }
        let id = s.inspection.id.to_string();
        let mismatch = |message: String| DataMismatch {
            change_seq: s.seq,
            table: "inspection".into(),
            id: id.clone(),
            message,
        };
        match audited.get(&s.seq) {
            Some(Audited::Body { subject, sha256 }) if *subject == id => {
                if crate::audit::events::inspection_body_sha256(&s.inspection) != *sha256 {
                    out.push(mismatch(format!(
                        "检查 {id} 的当前内容与第 {} 号审计记录的哈希不符：数据可能被绕过平台直接改动",
                        s.seq
                    )));
                }
            }
            Some(Audited::Push(ids)) if ids.contains(&id) => {}
            _ => out.push(mismatch(format!(
                "检查 {id} 标明最后写入于第 {} 次变更，但该次变更的审计记录没有写入它：数据可能被绕过平台直接改动",
                s.seq
            ))),
        }
    }
    Ok(out)
}

/// The head of the chain: the last change sequence and its entry's hash (keep a
/// copy elsewhere; `audit verify --head` checks it is still there).
pub async fn head(p: &Platform) -> ServiceResult<(i64, String)> {
    let start = p.store.audit_start().await?;
    let seq = p.store.state().await?.change_seq;
    if seq <= start {
        return Ok((seq, GENESIS.to_owned()));
    }
    let hash = p
        .store
        .audit_entries(seq - 1, 1)
        .await?
        .into_iter()
        .next()
        .map(|e| e.hash)
        .unwrap_or_else(|| GENESIS.to_owned());
    Ok((seq, hash))
}

/// Appends the head hash to `file` and to the log (done daily by `serve`), for
/// anchoring outside the database.
pub async fn record_head(
    p: &Platform,
    file: &std::path::Path,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<String> {
    use std::io::Write;
    let (seq, hash) = head(p).await?;
    let line = format!(
        "{} change_seq={seq} head={hash}",
        crate::audit::time_text(now)
    );
    tracing::info!(change_seq = seq, head = %hash, "audit head");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| {
            writeln!(f, "{line}")?;
            f.sync_all()
        })
        .map_err(|e| super::ServiceError::internal(format!("audit head file: {e}")))?;
    Ok(line)
}

/// Result of [`verify`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditReport {
    /// The whole chain is intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// Changes before this sequence value predate the audit log.
    pub starts_after: i64,
    /// The server's current change sequence (the last entry must be it).
    pub change_seq: i64,
    /// The change sequence of the first entry that breaks the chain (or where one is
    /// missing).
    pub first_broken: Option<i64>,
    /// Hash of the last entry: keep a copy elsewhere to detect a wholesale rewrite.
    pub head_hash: String,
    /// Data rows that differ from what their audit entries recorded.
    pub data_mismatches: Vec<DataMismatch>,
    /// In Chinese, for people.
    pub message: String,
}

/// Entries read per page.
const PAGE: usize = 5_000;

/// Checks the whole chain (see the module documentation).
pub async fn verify(p: &Platform) -> ServiceResult<AuditReport> {
    let store = p.store();
    let starts_after = store.audit_start().await?;
    let change_seq = store.state().await?.change_seq;
    let mut expected_seq = starts_after + 1;
    let mut prev = GENESIS.to_owned();
    let mut entries = 0u64;
    let broken = |seq: i64, message: String, entries: u64, prev: &str| AuditReport {
        ok: false,
        entries,
        starts_after,
        change_seq,
        first_broken: Some(seq),
        head_hash: prev.to_owned(),
        data_mismatches: Vec::new(),
        message,
    };
    let mut seen: HashMap<i64, Audited> = HashMap::new();
    let mut after = starts_after;
    loop {
        let page = store.audit_entries(after, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if e.change_seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    format!(
                        "审计日志不完整：缺少第 {expected_seq} 号记录（下一条是第 {} 号），记录可能被删除",
                        e.change_seq
                    ),
                    entries,
                    &prev,
                ));
            }
            if e.prev_hash != prev {
                return Ok(broken(
                    e.change_seq,
                    format!(
                        "第 {} 号审计记录的“前一条哈希”与第 {} 号记录不符：链条在此断开，之前的记录可能被改动或替换",
                        e.change_seq,
                        e.change_seq - 1
                    ),
                    entries,
                    &prev,
                ));
            }
            if e.recomputed_hash() != e.hash {
                return Ok(broken(
                    e.change_seq,
                    format!(
                        "第 {} 号审计记录（{}，{}）的内容与其哈希不符：该记录被改动过",
                        e.change_seq, e.action, e.at
                    ),
                    entries,
                    &prev,
                ));
            }
            match audited(e) {
                Audited::Other => {}
                a => {
                    seen.insert(e.change_seq, a);
                }
            }
            prev = e.hash.clone();
            expected_seq += 1;
            entries += 1;
        }
        after = page.last().map(|e| e.change_seq).unwrap_or(after);
    }
    if expected_seq <= change_seq {
        return Ok(broken(
            expected_seq,
            format!(
                "审计日志不完整：数据库已有第 {change_seq} 次变更，但审计记录只到第 {} 号，末尾的记录可能被删除",
                expected_seq - 1
            ),
            entries,
            &prev,
        ));
    }
    let data_mismatches = check_data(p, &seen, starts_after).await?;
    if let Some(first) = data_mismatches.first() {
        return Ok(AuditReport {
            ok: false,
            entries,
            starts_after,
            change_seq,
            first_broken: None,
            head_hash: prev,
            message: format!(
                "不一致：审计链完整，但 {} 行数据与审计记录不符（第一处：{}）",
                data_mismatches.len(),
                first.message
            ),
            data_mismatches,
        });
    }
    Ok(AuditReport {
        ok: true,
        entries,
        starts_after,
        change_seq,
        first_broken: None,
        head_hash: prev,
        data_mismatches,
        message: if starts_after > 0 {
            format!(
                "完整：{entries} 条审计记录环环相扣（第 {starts_after} 次变更之前的数据早于审计功能）"
            )
        } else {
            format!("完整：{entries} 条审计记录环环相扣，与数据库的 {change_seq} 次变更一一对应")
        },
    })
}

/// Checks the chain, and that `head` (a head hash kept elsewhere earlier), when
/// given, is still in it: a wholesale rewrite is caught only so.
pub async fn verify_with_head(p: &Platform, head: Option<&str>) -> ServiceResult<AuditReport> {
    let mut report = verify(p).await?;
    if let (Some(head), true) = (head, report.ok) {
        let head = head.trim().to_ascii_lowercase();
        if !has_hash(p, &head).await? {
            report.ok = false;
            report.message = format!(
                "不一致：链条本身完整，但其中没有此前记下的哈希 {head}：审计日志可能被截断或整体重写"
            );
        }
    }
    Ok(report)
}

async fn has_hash(p: &Platform, hash: &str) -> ServiceResult<bool> {
    let mut after = p.store.audit_start().await?;
    loop {
        let page = p.store.audit_entries(after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(false);
        };
        if page.iter().any(|e| e.hash == hash) {
            return Ok(true);
        }
        after = last.change_seq;
    }
}

/// Up to `limit` (1–10,000) entries after change `after`.
pub async fn list(p: &Platform, after: i64, limit: usize) -> ServiceResult<Vec<AuditEntry>> {
    Ok(p.store.audit_entries(after, limit.clamp(1, 10_000)).await?)
}

/// What the console's audit page asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Entries after this change (0: from the start).
    pub after: i64,
    /// At most this many (1–1000).
    pub limit: usize,
    /// Only actors whose name contains this text.
    pub actor: Option<String>,
    /// Only actions containing this text (e.g. `draw`, `review`).
    pub action: Option<String>,
}

/// Entries matching `f`, oldest first (administrators only).
pub async fn search(
    p: &Platform,
    actor: &super::Actor,
    f: Filter,
) -> ServiceResult<Vec<AuditEntry>> {
    actor.require(&[jiandu_core::Role::Admin])?;
    if !(1..=1000).contains(&f.limit) {
        return Err(super::ServiceError::new(
            super::ErrorCode::InvalidQuery,
            "每页条数 limit 应在 1–1000 之间",
        ));
    }
    let keep = |e: &AuditEntry| {
        f.actor.as_deref().is_none_or(|a| e.actor.contains(a))
            && f.action.as_deref().is_none_or(|a| e.action.contains(a))
    };
    let mut out = Vec::new();
    let mut after = f.after;
    loop {
        let page = p.store.audit_entries(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.change_seq;
        let full = page.len() == PAGE;
        out.extend(page.into_iter().filter(|e| keep(e)));
        if out.len() >= f.limit || !full {
            break;
        }
    }
    out.truncate(f.limit);
    Ok(out)
}

/// [`verify`], for administrators.
pub async fn verify_as(p: &Platform, actor: &super::Actor) -> ServiceResult<AuditReport> {
    actor.require(&[jiandu_core::Role::Admin])?;
    verify(p).await
}
