//! Plans (抽查计划) as data: the random-inspection plans the platform carries out,
//! with their checklists, draw ratios, summary tables and deadlines.
//!
//! - A bureau imports its plan as TOML (the format of `templates/`, docs/TEMPLATES.md),
//!   validated with the same rules and messages as the built-in ones; a refused file
//!   writes nothing and is answered with every problem. An import is a new version,
//!   a draft (待发布).
//! - Publishing (发布) is a separate, audited step: a bureau reviews the plan as the
//!   platform shows it before any tablet or draw sees it. Only published versions are
//!   drawn and sent to tablets.
//! - A version never changes once stored (database triggers refuse it); a corrected
//!   plan is a new version. Tasks keep the version they were drawn with, so an
//!   inspection is finished, printed and summarised with the plan it was started on.
//! - The seed plans compiled into the binary are the platform's starting content:
//!   version 1 of their ids, published. When a draw first uses one, it is stored like
//!   any version, so a later binary with other built-in text cannot change it.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult};
use crate::model::{PlanSource, PlanState, PlanVersionRow};
use chrono::{DateTime, Utc};
use jiandu_core::plan::{Catalogue, PLAN_FORMAT};
use jiandu_core::protocol::PlanChange;
use jiandu_core::templates::{BUILTIN_PLANS, TemplateSet};
use jiandu_core::{Plan, Role, TemplateError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Largest plan file accepted (bytes): the widest seed plan is about 60 KB.
pub const MAX_PLAN_BYTES: usize = 2 * 1024 * 1024;

/// The plans the platform knows: the built-in templates, and stored versions read
/// once and kept (a stored version never changes, so every server process may
/// cache it).
#[derive(Debug)]
pub struct PlanLibrary {
    builtin: TemplateSet,
    /// Each built-in plan as version 1, with the hash of its source: made once (a
    /// push or pull of a task on a built-in plan reads it, and finding a plan's
    /// source means parsing every built-in file).
    builtin_versions: HashMap<String, (Arc<Plan>, String)>,
    cache: RwLock<HashMap<(String, u32), Arc<Plan>>>,
}

impl PlanLibrary {
    pub fn new(builtin: TemplateSet) -> Self {
        let builtin_versions = builtin
            .plans
            .iter()
            .map(|plan| {
                let sha = builtin_source(&plan.id).map(sha256).unwrap_or_default();
                (plan.id.clone(), (Arc::new(plan.clone()), sha))
            })
            .collect();
        Self {
            builtin,
            builtin_versions,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The built-in catalogue of categories (plans may add to it).
    pub fn builtin_catalogue(&self) -> &Catalogue {
        &self.builtin.catalogue
    }

    /// The built-in plans (version 1 of their ids).
    pub fn builtin(&self) -> &[Plan] {
        &self.builtin.plans
    }

    fn cached(&self, id: &str, version: u32) -> Option<Arc<Plan>> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        cache.get(&(id.to_owned(), version)).cloned()
    }

    fn remember(&self, id: &str, version: u32, plan: Arc<Plan>) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        cache.insert((id.to_owned(), version), plan);
    }
}

/// A plan version as the platform lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub id: String,
    pub version: u32,
    pub state: PlanState,
    pub source: PlanSource,
    pub year: i32,
    pub title: String,
    pub authority: String,
    pub document_number: Option<String>,
    /// The seed document a built-in plan was transcribed from.
    pub seed: Option<String>,
    pub checklists: usize,
    pub summaries: usize,
    /// SHA-256 of the TOML source (what was reviewed and published).
    pub sha256: String,
    pub published_at: Option<DateTime<Utc>>,
}

/// One plan version, resolved: its plan and where it stands.
#[derive(Debug, Clone)]
pub struct PlanVersion {
    pub version: u32,
    pub state: PlanState,
    pub source: PlanSource,
    pub sha256: String,
    pub published_at: Option<DateTime<Utc>>,
    pub plan: Arc<Plan>,
}

impl PlanVersion {
    pub fn summary(&self) -> PlanSummary {
        let p = &self.plan;
        PlanSummary {
            id: p.id.clone(),
            version: self.version,
            state: self.state,
            source: self.source,
            year: p.year,
            title: p.title.clone(),
            authority: p.authority.clone(),
            document_number: p.document_number.clone(),
            seed: p.seed.clone(),
            checklists: p.checklists.len(),
            summaries: p.summaries.len(),
            sha256: self.sha256.clone(),
            published_at: self.published_at,
        }
    }

    /// The plan as a pull carries it to tablets.
    pub fn change(&self) -> ServiceResult<PlanChange> {
        Ok(PlanChange {
            id: self.plan.id.clone(),
            version: self.version,
            format: PLAN_FORMAT,
            sha256: self.sha256.clone(),
            plan: serde_json::to_value(&*self.plan).map_err(ServiceError::internal)?,
        })
    }
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The TOML source of a built-in plan.
fn builtin_source(id: &str) -> Option<&'static str> {
    BUILTIN_PLANS.iter().map(|(_, text)| *text).find(|text| {
        toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(|i| i == id))
            .unwrap_or(false)
    })
}

fn from_row(p: &Platform, row: &PlanVersionRow) -> ServiceResult<PlanVersion> {
    let plan = match p.plans.cached(&row.plan_id, row.version) {
        Some(plan) => plan,
        None => {
            let plan: Plan = serde_json::from_value(row.body.clone()).map_err(|e| {
                ServiceError::internal(format!(
                    "stored plan {}@{} unreadable: {e}",
                    row.plan_id, row.version
                ))
            })?;
            let plan = Arc::new(plan);
            p.plans.remember(&row.plan_id, row.version, plan.clone());
            plan
        }
    };
    Ok(PlanVersion {
        version: row.version,
        state: row.state,
        source: row.source,
        sha256: row.sha256.clone(),
        published_at: row.published_at,
        plan,
    })
}

fn builtin_version(p: &Platform, id: &str) -> Option<PlanVersion> {
    let (plan, sha) = p.plans.builtin_versions.get(id)?;
    Some(PlanVersion {
        version: 1,
        state: PlanState::Published,
        source: PlanSource::Builtin,
        sha256: sha.clone(),
        published_at: None,
        plan: plan.clone(),
    })
}

fn missing(id: &str, version: Option<u32>) -> ServiceError {
    match version {
        Some(v) => ServiceError::not_found(format!("计划“{id}”没有第 {v} 版")),
        None => ServiceError::not_found(format!("计划“{id}”不存在")),
    }
}

/// Every version of a plan (or of every plan), stored and built-in, by id then
/// version.
async fn all_versions(p: &Platform, id: Option<&str>) -> ServiceResult<Vec<PlanVersion>> {
    let rows = p.store.plan_versions(id).await?;
    let mut out: Vec<PlanVersion> = rows
        .iter()
        .map(|r| from_row(p, r))
        .collect::<ServiceResult<_>>()?;
    for b in p.plans.builtin.plans.iter() {
        let wanted = id.is_none_or(|id| id == b.id);
        let stored = out.iter().any(|v| v.plan.id == b.id && v.version == 1);
        if wanted
            && !stored
            && let Some(v) = builtin_version(p, &b.id)
        {
            out.push(v);
        }
    }
    out.sort_by(|a, b| (&a.plan.id, a.version).cmp(&(&b.plan.id, b.version)));
    Ok(out)
}

/// A plan version (any state).
pub async fn version(p: &Platform, id: &str, version: u32) -> ServiceResult<PlanVersion> {
    if let Some(row) = p.store.plan_version(id, version).await? {
        return from_row(p, &row);
    }
    if version == 1
        && let Some(v) = builtin_version(p, id)
    {
        return Ok(v);
    }
    Err(missing(id, Some(version)))
}

/// The plan a task or a draw uses: its id and version.
pub async fn plan_of(p: &Platform, id: &str, v: u32) -> ServiceResult<Arc<Plan>> {
    if let Some(plan) = p.plans.cached(id, v) {
        return Ok(plan);
    }
    Ok(version(p, id, v).await?.plan)
}

/// The newest published version of a plan: what a draw uses and tablets are sent.
pub async fn current(p: &Platform, id: &str) -> ServiceResult<PlanVersion> {
    all_versions(p, Some(id))
        .await?
        .into_iter()
        .rfind(|v| v.state == PlanState::Published)
        .ok_or_else(|| ServiceError::not_found(format!("计划“{id}”不存在或尚未发布")))
}

/// A plan for people to read: a given version, or the newest published one.
/// Drafts are an administrator's only.
pub async fn get(
    p: &Platform,
    actor: &Actor,
    id: &str,
    v: Option<u32>,
) -> ServiceResult<PlanVersion> {
    let found = match v {
        Some(v) => version(p, id, v).await?,
        None => current(p, id).await?,
    };
    if found.state == PlanState::Draft && actor.role() != Role::Admin {
        return Err(missing(id, v));
    }
    Ok(found)
}

/// The plans: every version for an administrator, the published ones for anyone.
pub async fn list(p: &Platform, actor: &Actor) -> ServiceResult<Vec<PlanSummary>> {
    let admin = actor.role() == Role::Admin;
    Ok(all_versions(p, None)
        .await?
        .iter()
        .filter(|v| admin || v.state == PlanState::Published)
        .map(PlanVersion::summary)
        .collect())
}

/// The catalogue of categories: the built-in one, with the categories published
/// plans declare (a registry may hold units of those).
pub async fn catalogue(p: &Platform) -> ServiceResult<Catalogue> {
    let mut out = p.plans.builtin.catalogue.clone();
    for v in all_versions(p, None).await? {
        if v.state == PlanState::Published {
            out = v.plan.catalogue(&out);
        }
    }
    Ok(out)
}

/// The catalogue as every signed-in user sees it (检查对象类别 and 服务项目): the
/// console names categories and services with it instead of showing codes.
pub async fn categories(p: &Platform, _actor: &Actor) -> ServiceResult<Catalogue> {
    catalogue(p).await
}

/// The issuing authorities the platform knows: its own (`JIANDU_AUTHORITY`) and
/// every published plan's (the series a device leases 文号 of).
pub async fn authorities(p: &Platform) -> ServiceResult<Vec<String>> {
    let mut out = vec![p.authority.to_string()];
    for v in all_versions(p, None).await? {
        if v.state == PlanState::Published && !out.contains(&v.plan.authority) {
            out.push(v.plan.authority.clone());
        }
    }
    Ok(out)
}

/// The TOML a version was made from, byte for byte.
pub async fn source(
    p: &Platform,
    actor: &Actor,
    id: &str,
    v: Option<u32>,
) -> ServiceResult<(PlanVersion, String)> {
    let found = get(p, actor, id, v).await?;
    if let Some(row) = p.store.plan_version(id, found.version).await? {
        return Ok((found, row.toml));
    }
    let text = builtin_source(id).ok_or_else(|| missing(id, v))?;
    Ok((found, text.to_owned()))
}

/// A refused plan file: every problem, each naming the file, entry and problem.
fn refused(problems: Vec<TemplateError>) -> ServiceError {
    let details: Vec<String> = problems.iter().map(|e| e.to_string()).collect();
    let mut message = format!("计划文件有 {} 个问题，未导入：", details.len());
    for d in &details {
        message.push_str("\n  ");
        message.push_str(d);
    }
    ServiceError::new(ErrorCode::InvalidPlan, message).with_details(details)
}

/// Imports a plan file (administrators only): validated whole, then stored as a
/// new draft version of its id. A file identical to the newest version is refused
/// (nothing new to review).
pub async fn import(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    file_name: &str,
    text: &str,
) -> ServiceResult<PlanSummary> {
    actor.require(&[Role::Admin])?;
    if text.len() > MAX_PLAN_BYTES {
        return Err(ServiceError::new(
            ErrorCode::InvalidPlan,
            "计划文件过大（最大 2 MB）",
        ));
    }
    let base = catalogue(p).await?;
    let plan = Plan::parse(file_name, text).map_err(|e| refused(vec![e]))?;
    let problems = plan.problems(file_name, &base);
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let digest = sha256(text);
    let builtin = p.plans.builtin.plan(&plan.id).is_some();
    let id = plan.id.clone();
    let row = PlanVersionRow {
        plan_id: plan.id.clone(),
        version: 0,
        state: PlanState::Draft,
        source: PlanSource::Imported,
        title: plan.title.clone(),
        year: plan.year,
        toml: text.to_owned(),
        sha256: digest.clone(),
        body: serde_json::to_value(&plan).map_err(ServiceError::internal)?,
        format: PLAN_FORMAT,
        imported_by: actor.audit_name(),
        imported_at: now,
        published_by: None,
        published_at: None,
        seq: 0,
    };
    let builtin_sha = builtin
        .then(|| {
            p.plans
                .builtin_versions
                .get(&id)
                .map(|(_, sha)| sha.clone())
        })
        .flatten();
    let decide = Box::new(move |latest: &Option<PlanVersionRow>| {
        let latest_sha = latest.as_ref().map(|l| l.sha256.clone()).or(builtin_sha);
        if latest_sha.as_deref() == Some(digest.as_str()) {
            return Err(ServiceError::new(
                ErrorCode::PlanUnchanged,
                format!("计划“{id}”的最新版本与此文件完全相同，无需再次导入"),
            ));
        }
        let last = latest.as_ref().map(|l| l.version).unwrap_or(0);
        // A built-in plan is version 1 of its id.
        Ok(last.max(u32::from(builtin)) + 1)
    });
    let stored = p
        .store
        .add_plan_version(&actor.stamp(now), row, decide)
        .await?;
    Ok(from_row(p, &stored)?.summary())
}

/// Publishes a draft (administrators only): from now on it is drawn and sent to
/// tablets. Publishing a published version changes nothing.
pub async fn publish(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    id: &str,
    v: u32,
) -> ServiceResult<PlanSummary> {
    actor.require(&[Role::Admin])?;
    let found = version(p, id, v).await?;
    if found.state == PlanState::Published {
        return Ok(found.summary());
    }
    let row = p
        .store
        .publish_plan_version(&actor.stamp(now), id, v)
        .await?
        .ok_or_else(|| missing(id, Some(v)))?;
    tracing::info!(plan = id, version = v, by = %actor.audit_name(), "plan published");
    Ok(from_row(p, &row)?.summary())
}

/// Stores a built-in version a draw is about to use, so the record of what was
/// drawn never depends on the binary's templates again.
pub async fn keep(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    v: &PlanVersion,
) -> ServiceResult<()> {
    if v.source != PlanSource::Builtin {
        return Ok(());
    }
    let Some(text) = builtin_source(&v.plan.id) else {
        return Ok(());
    };
    let row = PlanVersionRow {
        plan_id: v.plan.id.clone(),
        version: v.version,
        state: PlanState::Published,
        source: PlanSource::Builtin,
        title: v.plan.title.clone(),
        year: v.plan.year,
        toml: text.to_owned(),
        sha256: v.sha256.clone(),
        body: serde_json::to_value(&*v.plan).map_err(ServiceError::internal)?,
        format: PLAN_FORMAT,
        imported_by: actor.audit_name(),
        imported_at: now,
        published_by: Some(actor.audit_name()),
        published_at: Some(now),
        seq: 0,
    };
    p.store.keep_plan_version(&actor.stamp(now), row).await?;
    Ok(())
}
