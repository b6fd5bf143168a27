//! The public pages (一公开, no sign-in): the plans with published results, the
//! result list of a plan (结果公示) and a draw's public record (抽取公示).
//!
//! Only approved inspections appear, and only what the plans publish: unit, 统一
//! 社会信用代码, category, date and the result in four categories. Never an
//! inspector's badge number or phone, an observation, a photo.
//!
//! The result list is the most-read page: it is computed once per database change
//! (the change sequence names the state) and kept ready as JSON and as gzip, with
//! an ETag; readers share it until the next change.

use super::reports::{self, PublicEntry};
use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult, draws, plans};
use crate::model::PlanState;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// A plan as the public sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicPlan {
    pub id: String,
    pub title: String,
    pub year: i32,
    pub authority: String,
    /// The draws of this plan (their public records: `/public/draws/{id}`).
    pub draws: Vec<Uuid>,
}

/// The published plans, newest year first.
pub async fn plans(p: &Platform) -> ServiceResult<Vec<PublicPlan>> {
    let all = plans::list(p, &Actor::system()).await?;
    let draws = p.store.draws().await?;
    let mut out: Vec<PublicPlan> = Vec::new();
    for s in all.into_iter().filter(|s| s.state == PlanState::Published) {
        if out.iter().any(|o| o.id == s.id) {
            continue;
        }
        out.push(PublicPlan {
            draws: draws
                .iter()
                .filter(|d| d.plan_id == s.id)
                .map(|d| d.id)
                .collect(),
            id: s.id,
            title: s.title,
            year: s.year,
            authority: s.authority,
        });
    }
    out.sort_by(|a, b| (b.year, &a.id).cmp(&(a.year, &b.id)));
    Ok(out)
}

/// The result list of a plan (结果公示).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicResults {
    pub plan_id: String,
    pub title: String,
    pub year: i32,
    pub authority: String,
    /// When this list was computed.
    pub generated_at: DateTime<Utc>,
    pub entries: Vec<PublicEntry>,
}

/// A computed result list, ready to send. The bodies are shared (`Bytes`): a
/// response clones a reference, never the megabytes.
#[derive(Debug)]
pub struct Ready {
    /// The change sequence it was computed at.
    pub seq: i64,
    pub etag: String,
    pub json: Bytes,
    pub gzip: Bytes,
    /// The list itself, for pages ([`page`]).
    pub list: PublicResults,
}

/// Result lists by plan, valid while the change sequence has not moved; result
/// hashes of draws (immutable once recorded).
#[derive(Debug, Default)]
pub struct PublicCache {
    lists: Mutex<HashMap<String, Arc<Ready>>>,
    draw_hashes: Mutex<HashMap<Uuid, String>>,
}

/// Largest page of the result list.
pub const MAX_PAGE_SIZE: usize = 200;

/// The four public results (公示结果), in the order the page shows them.
pub const RESULT_CODES: [&str; 4] = ["no_problem", "corrected", "penalised", "unreachable"];

/// What a reader asks of the result list: one result, a search, one page.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// One of [`RESULT_CODES`]; `None`: every result.
    pub result: Option<String>,
    /// Part of the unit's name, or of its 统一社会信用代码 (any case).
    pub q: Option<String>,
    /// From 1.
    pub page: usize,
    pub size: usize,
}

/// Units per result that match a search.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ResultCounts {
    pub no_problem: usize,
    pub corrected: usize,
    pub penalised: usize,
    pub unreachable: usize,
}

/// One page of the result list: what a browser loads, a few kilobytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicPage {
    pub plan_id: String,
    pub title: String,
    pub year: i32,
    pub authority: String,
    pub generated_at: DateTime<Utc>,
    /// Units per result matching the search (every page has them, for the tabs).
    pub counts: ResultCounts,
    /// Units matching the search and the result asked for.
    pub total: usize,
    pub page: usize,
    pub size: usize,
    pub entries: Vec<PublicEntry>,
}

/// One page of the result list, cut from the cached list (no database work while
/// the data has not changed).
pub async fn page(
    p: &Platform,
    plan_id: &str,
    q: &PageQuery,
    now: DateTime<Utc>,
) -> ServiceResult<PublicPage> {
    if let Some(r) = &q.result
        && !RESULT_CODES.contains(&r.as_str())
    {
        return Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            "result 应为 no_problem、corrected、penalised 或 unreachable",
        ));
    }
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            "搜索词最多 100 个字符",
        ));
    }
    if q.page == 0 || q.size == 0 || q.size > MAX_PAGE_SIZE {
        return Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            format!("页码从 1 开始，每页 1–{MAX_PAGE_SIZE} 条"),
        ));
    }
    let ready = results(p, plan_id, now).await?;
    let list = &ready.list;
    let needle = q.q.as_deref().map(str::trim).unwrap_or("");
    let upper = needle.to_uppercase();
    let found: Vec<&PublicEntry> = list
        .entries
        .iter()
        .filter(|e| {
            needle.is_empty() || e.institution.contains(needle) || e.credit_code.contains(&upper)
        })
        .collect();
    let mut counts = ResultCounts::default();
    for e in &found {
        match e.result_code {
            "no_problem" => counts.no_problem += 1,
            "corrected" => counts.corrected += 1,
            "penalised" => counts.penalised += 1,
            _ => counts.unreachable += 1,
        }
    }
    let chosen: Vec<&PublicEntry> = found
        .into_iter()
        .filter(|e| q.result.as_deref().is_none_or(|r| e.result_code == r))
        .collect();
    Ok(PublicPage {
        plan_id: list.plan_id.clone(),
        title: list.title.clone(),
        year: list.year,
        authority: list.authority.clone(),
        generated_at: list.generated_at,
        counts,
        total: chosen.len(),
        page: q.page,
        size: q.size,
        entries: chosen
            .into_iter()
            .skip((q.page - 1).saturating_mul(q.size))
            .take(q.size)
            .cloned()
            .collect(),
    })
}

/// The result list of `plan_id`, from the cache when the database has not changed.
pub async fn results(p: &Platform, plan_id: &str, now: DateTime<Utc>) -> ServiceResult<Arc<Ready>> {
    let seq = p.store.state().await?.change_seq;
    if let Some(r) = p.public.get(plan_id)
        && r.seq == seq
    {
        return Ok(r);
    }
    let version = reports::plan_version(p, plan_id).await?;
    let plan = &*version.plan;
    let list = PublicResults {
        plan_id: plan.id.clone(),
        title: plan.title.clone(),
        year: plan.year,
        authority: plan.authority.clone(),
        generated_at: now,
        entries: reports::public_list(p, plan_id).await?,
    };
    let json = serde_json::to_vec(&list).map_err(super::ServiceError::internal)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).map_err(super::ServiceError::internal)?;
    let gzip = gz.finish().map_err(super::ServiceError::internal)?;
    let digest = crate::auth::token_hash(&format!("{}:{seq}:{}", plan.id, json.len()));
    let ready = Arc::new(Ready {
        seq,
        etag: format!("\"{}-{}\"", seq, &digest[..16]),
        json: json.into(),
        gzip: gzip.into(),
        list,
    });
    p.public.put(plan_id, ready.clone());
    Ok(ready)
}

impl PublicCache {
    fn get(&self, plan_id: &str) -> Option<Arc<Ready>> {
        self.lists.lock().ok()?.get(plan_id).cloned()
    }

    fn put(&self, plan_id: &str, ready: Arc<Ready>) {
        if let Ok(mut m) = self.lists.lock() {
            m.insert(plan_id.to_owned(), ready);
        }
    }

    fn draw_hash(&self, id: Uuid) -> Option<String> {
        self.draw_hashes.lock().ok()?.get(&id).cloned()
    }

    fn put_draw_hash(&self, id: Uuid, hash: &str) {
        if let Ok(mut m) = self.draw_hashes.lock() {
            m.insert(id, hash.to_owned());
        }
    }
}

/// One drawn unit as the public sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicDrawnUnit {
    pub position: i64,
    pub checklist: String,
    pub category: String,
    pub institution: String,
    pub credit_code: String,
    pub district: String,
    /// Inspectors' names (never their badge numbers).
    pub inspectors: Vec<String>,
}

/// A draw's public record (抽取公示): enough to recompute it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicDraw {
    pub id: Uuid,
    pub plan_id: String,
    pub plan_version: u32,
    pub plan_title: String,
    pub seed: String,
    pub algorithm: String,
    /// SHA-256 of the frozen inputs (registry, staff, plan) the draw read.
    pub inputs_hash: String,
    /// SHA-256 of the drawn list: for `jiandu-draw/2` of the published list (units
    /// by credit code, inspectors by badge), what `draw verify --inputs` prints.
    pub tasks_hash: String,
    pub created_at: DateTime<Utc>,
    pub units: Vec<PublicDrawnUnit>,
    /// How anyone recomputes the draw.
    pub how_to_verify: String,
}

/// The published inputs of a recorded `jiandu-draw/2` draw (抽取输入公示): units
/// by credit code or masked identity, inspectors by 执法证号 with their conflicts,
/// the penalised list and the plan. With the seed, anyone recomputes the draw.
pub async fn draw_inputs(p: &Platform, id: Uuid) -> ServiceResult<jiandu_core::draw::PublicInputs> {
    draws::published_inputs(p, &Actor::system(), id).await
}

/// The public record of a draw.
pub async fn draw(p: &Platform, id: Uuid) -> ServiceResult<PublicDraw> {
    let d = draws::show(p, &Actor::system(), id).await?;
    let version = plans::version(p, &d.plan_id, d.plan_version).await.ok();
    let title = version
        .as_ref()
        .map(|v| v.plan.title.clone())
        .unwrap_or_default();
    // Names, not codes: 附表 names of checklists, official names of categories.
    let checklists: HashMap<String, String> = version
        .as_ref()
        .map(|v| {
            v.plan
                .checklists
                .iter()
                .map(|c| (c.code.clone(), c.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let catalogue = plans::catalogue(p).await?;
    let (tasks_hash, how_to_verify) = if d.algorithm == jiandu_core::draw::ALGORITHM_V2 {
        // A recorded draw never changes: its result is recomputed once per process,
        // not for every reader of the public page.
        let hash = match p.public.draw_hash(id) {
            Some(h) => h,
            None => {
                let inputs = draws::published_inputs(p, &Actor::system(), id).await?;
                let h = jiandu_core::draw::draw_public(&d.seed, &inputs)
                    .map_err(|e| ServiceError::internal(e.to_string()))?
                    .tasks_hash();
                p.public.put_draw_hash(id, &h);
                h
            }
        };
        let text = format!(
            "抽取前，抽取输入（名录库、执法人员及回避、回头看名单、计划）已冻结并公示其 SHA-256 {}；\
             种子“{}”在此之后产生。抽取结果由输入、种子和算法 {} 唯一确定（算法见 docs/DRAW.md）。\
             从本页下载公示的抽取输入文件后，任何人可用 jiandu-server draw verify --inputs 文件 --seed 种子 \
             在不连接数据库的情况下重新计算，结果的 SHA-256 应等于 {}。",
            d.inputs_hash, d.seed, d.algorithm, hash
        );
        (hash, text)
    } else {
        let text = format!(
            "抽取结果由种子“{}”和抽取算法 {} 确定。该算法按平台内部编号排序，只能由平台用 \
             jiandu-server draw verify {} 按记录重算，结果的 SHA-256 应等于 {}。",
            d.seed, d.algorithm, d.id, d.tasks_hash
        );
        (d.tasks_hash.clone(), text)
    };
    Ok(PublicDraw {
        how_to_verify,
        id: d.id,
        plan_id: d.plan_id,
        plan_version: d.plan_version,
        plan_title: title,
        seed: d.seed,
        algorithm: d.algorithm,
        inputs_hash: d.inputs_hash,
        tasks_hash,
        created_at: d.created_at,
        units: d
            .tasks
            .into_iter()
            .map(|t| PublicDrawnUnit {
                position: t.position,
                checklist: checklists
                    .get(t.checklist.as_str())
                    .cloned()
                    .unwrap_or(t.checklist),
                category: catalogue
                    .get(&jiandu_core::CategoryCode::new(t.category.as_str()))
                    .map(|c| c.name.clone())
                    .unwrap_or(t.category),
                institution: t.institution.name,
                credit_code: jiandu_core::draw::credit_code_label(&t.institution.credit_code),
                district: t.institution.district,
                inspectors: t.inspectors.into_iter().map(|i| i.name).collect(),
            })
            .collect(),
    })
}
