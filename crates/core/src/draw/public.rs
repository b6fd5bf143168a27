//! Algorithm `jiandu-draw/2` on the published, canonical form of a draw's inputs
//! ([`PublicInputs`]): no internal ids, only what a third party can check: units by
//! 统一社会信用代码 (or masked identity), inspectors by 执法证号 (badge number). The
//! same registry file imported into two databases gives the same draw; anyone with
//! the published inputs and the seed recomputes it (`jiandu-server draw verify
//! --inputs FILE --seed TEXT`, or their own code following `docs/DRAW.md`).

use super::{
    ALGORITHM_V2, DrawError, DrawInputs, DrawResult, DrawnTask, MIN_TEAM_SIZE, Staff, hex, key,
    ratio_count, staff_tasks,
};
use crate::category::CategoryCode;
use crate::inspection::DrawKind;
use crate::plan::{Plan, QuotaRule};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A unit as published: its public key, category, services and district.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicUnit {
    /// 统一社会信用代码, or the masked identity of a unit without one.
    pub key: String,
    pub category: CategoryCode,
    /// Effective services (服务项目), sorted.
    #[serde(default)]
    pub services: Vec<String>,
    pub district: String,
}

/// An inspector as published: badge number, district, and the units (by key) they
/// may not be drawn for (回避 declarations and last campaign's inspections).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicInspector {
    /// 执法证号.
    pub badge: String,
    pub district: String,
    #[serde(default)]
    pub conflicts: Vec<String>,
    #[serde(default)]
    pub previous: Vec<String>,
}

/// A penalised unit followed up (回头看), by key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicPenalised {
    pub campaign: String,
    pub unit: String,
}

/// Everything a `jiandu-draw/2` draw depends on besides the seed, in the form that is
/// published (the draw's freeze, 抽取公示) and hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicInputs {
    pub algorithm: String,
    pub plan: Plan,
    pub team_size: usize,
    pub units: Vec<PublicUnit>,
    pub inspectors: Vec<PublicInspector>,
    pub penalised: Vec<PublicPenalised>,
}

/// A drawn task as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicTask {
    pub checklist: String,
    pub kind: DrawKind,
    /// Campaign code of a 回头看 task.
    pub followup: Option<String>,
    /// The unit's key.
    pub unit: String,
    pub category: CategoryCode,
    /// Badge numbers.
    pub inspectors: Vec<String>,
}

/// The draw as anyone recomputes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicResult {
    pub algorithm: String,
    pub inputs_hash: String,
    pub tasks: Vec<PublicTask>,
}

impl PublicResult {
    /// SHA-256 (hex) of the task list in compact JSON: what a published draw is
    /// compared by.
    pub fn tasks_hash(&self) -> String {
        let bytes = serde_json::to_vec(&self.tasks).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }
}

/// The key of a unit without a 统一社会信用代码 (an unlicensed place, or a person:
/// 单位和个人): `名称|地址|证件号` with the ID number masked as [`mask_id`] does.
pub fn masked_identity(name: &str, address: &str, id_number: Option<&str>) -> String {
    let id = id_number.map(mask_id).unwrap_or_default();
    format!("{}|{}|{}", name.trim(), address.trim(), id)
}

/// How a unit key reads where a 统一社会信用代码 is printed: the code itself, or for a
/// unit without one (a [`masked_identity`]) "无" with the masked ID number if any.
pub fn credit_code_label(key: &str) -> String {
    match key.rsplit_once('|') {
        None => key.to_owned(),
        Some((_, "")) => "无".to_owned(),
        Some((_, id)) => format!("无（证件号码 {id}）"),
    }
}

/// Whether a unit key is a [`masked_identity`] (a unit without a 统一社会信用代码).
pub fn is_masked_identity(key: &str) -> bool {
    key.contains('|')
}

/// Masks an ID number on every output: the first 4 and last 4 characters remain
/// (1401**********1234); 8 characters or fewer are masked whole.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 4 || i >= n - 4 { *c } else { '*' })
        .collect()
}

impl PublicInputs {
    /// Sorts and de-duplicates every list, so neither the hash nor the draw depends
    /// on the order a database returned rows in.
    pub fn normalize(&mut self) {
        for u in &mut self.units {
            u.services.sort();
            u.services.dedup();
        }
        self.units.sort();
        self.units.dedup();
        for i in &mut self.inspectors {
            i.conflicts.sort();
            i.conflicts.dedup();
            i.previous.sort();
            i.previous.dedup();
        }
        self.inspectors.sort();
        self.inspectors.dedup();
        self.penalised.sort();
        self.penalised.dedup();
    }

    /// SHA-256 (hex) of the normalized inputs in compact JSON (field order as
    /// declared): the hash a freeze publishes before the seed is known.
    pub fn hash(&self) -> String {
        let mut n = self.clone();
        n.normalize();
        let bytes = serde_json::to_vec(&n).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }
}

impl DrawInputs {
    /// The published form: internal ids replaced by keys and badge numbers.
    pub fn public(&self) -> Result<PublicInputs, DrawError> {
        let mut keys: HashMap<Uuid, &str> = HashMap::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for u in &self.units {
            let k = u
                .key
                .as_deref()
                .filter(|k| !k.trim().is_empty())
                .ok_or_else(|| DrawError::UnitWithoutKey(u.id.to_string()))?;
            if keys.insert(u.id, k).is_none() && !seen.insert(k) {
                return Err(DrawError::DuplicateKey(k.to_owned()));
            }
        }
        let by_key = |ids: &[Uuid]| -> Vec<String> {
            ids.iter()
                .filter_map(|id| keys.get(id).map(|k| (*k).to_owned()))
                .collect()
        };
        let mut inspectors = Vec::with_capacity(self.inspectors.len());
        for i in &self.inspectors {
            let badge = i
                .badge
                .as_deref()
                .filter(|b| !b.trim().is_empty())
                .ok_or_else(|| DrawError::InspectorWithoutBadge(i.id.to_string()))?;
            inspectors.push(PublicInspector {
                badge: badge.to_owned(),
                district: i.district.clone(),
                conflicts: by_key(&i.conflicts),
                previous: by_key(&i.previous),
            });
        }
        let mut penalised = Vec::with_capacity(self.penalised.len());
        for p in &self.penalised {
            let unit = keys
                .get(&p.unit_id)
                .ok_or_else(|| DrawError::PenalisedNotInRegistry(p.unit_id.to_string()))?;
            penalised.push(PublicPenalised {
                campaign: p.campaign.clone(),
                unit: (*unit).to_owned(),
            });
        }
        let mut out = PublicInputs {
            algorithm: ALGORITHM_V2.to_owned(),
            plan: self.plan.clone(),
            team_size: self.team_size,
            units: self
                .units
                .iter()
                .map(|u| PublicUnit {
                    key: keys[&u.id].to_owned(),
                    category: u.category.clone(),
                    services: u.services.clone(),
                    district: u.district.clone(),
                })
                .collect(),
            inspectors,
            penalised,
        };
        out.normalize();
        let mut badge_seen = HashSet::new();
        for i in &out.inspectors {
            if !badge_seen.insert(i.badge.as_str()) {
                return Err(DrawError::DuplicateKey(i.badge.clone()));
            }
        }
        Ok(out)
    }
}

/// Draws with algorithm 2 on internal inputs: the published form is drawn and its
/// keys mapped back to the registry's ids. `inputs_hash` is the published form's.
pub fn draw(seed: &str, inputs: &DrawInputs) -> Result<DrawResult, DrawError> {
    let public = inputs.public()?;
    let result = draw_public(seed, &public)?;
    let units: HashMap<&str, Uuid> = inputs
        .units
        .iter()
        .filter_map(|u| u.key.as_deref().map(|k| (k, u.id)))
        .collect();
    let people: HashMap<&str, Uuid> = inputs
        .inspectors
        .iter()
        .filter_map(|i| i.badge.as_deref().map(|b| (b, i.id)))
        .collect();
    let tasks = result
        .tasks
        .iter()
        .map(|t| DrawnTask {
            checklist: t.checklist.clone(),
            kind: t.kind,
            followup: t.followup.clone(),
            unit_id: units[t.unit.as_str()],
            category: t.category.clone(),
            inspectors: t.inspectors.iter().map(|b| people[b.as_str()]).collect(),
        })
        .collect();
    Ok(DrawResult {
        algorithm: ALGORITHM_V2.to_owned(),
        inputs_hash: result.inputs_hash,
        tasks,
    })
}

/// Algorithm `jiandu-draw/2` (specified in `docs/DRAW.md`).
pub fn draw_public(seed: &str, inputs: &PublicInputs) -> Result<PublicResult, DrawError> {
    if inputs.algorithm != ALGORITHM_V2 {
        return Err(DrawError::UnknownAlgorithm(inputs.algorithm.clone()));
    }
    if seed.trim().is_empty() {
        return Err(DrawError::EmptySeed);
    }
    if inputs.team_size < MIN_TEAM_SIZE {
        return Err(DrawError::TeamTooSmall(inputs.team_size));
    }
    let mut inputs = inputs.clone();
    inputs.normalize();
    let plan = &inputs.plan;
    let mut keys = HashSet::new();
    for u in &inputs.units {
        if !keys.insert(u.key.as_str()) {
            return Err(DrawError::DuplicateKey(u.key.clone()));
        }
    }

    let mut tasks: Vec<PublicTask> = Vec::new();
    for checklist in &plan.checklists {
        // Each unit in the first row of this table that takes it.
        let mut rows: Vec<Vec<(&PublicUnit, [u8; 32])>> = vec![Vec::new(); checklist.rows.len()];
        for u in &inputs.units {
            if let Some(ri) = checklist
                .rows
                .iter()
                .position(|r| r.matches(&u.category, &u.services))
            {
                let row = (ri + 1).to_string();
                rows[ri].push((u, key(&[seed, "unit", &checklist.code, &row, &u.key])));
            }
        }
        for (row, units) in checklist.rows.iter().zip(&mut rows) {
            units.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.key.cmp(&b.0.key)));
            let n = units.len();
            let mut taken: HashSet<&str> = HashSet::new();
            for (kind, quota) in [
                (DrawKind::National, &row.national),
                (DrawKind::City, &row.city),
            ] {
                let Some(rule) = quota.as_ref().and_then(|q| q.rule()) else {
                    continue;
                };
                let want = match rule {
                    QuotaRule::Percent(p) => ratio_count(n, p),
                    QuotaRule::Count(c) => c as usize,
                    QuotaRule::Remainder => n,
                };
                let picked: Vec<&PublicUnit> = units
                    .iter()
                    .filter(|(u, _)| !taken.contains(u.key.as_str()))
                    .take(want)
                    .map(|(u, _)| *u)
                    .collect();
                for u in picked {
                    taken.insert(u.key.as_str());
                    tasks.push(PublicTask {
                        checklist: checklist.code.clone(),
                        kind,
                        followup: None,
                        unit: u.key.clone(),
                        category: u.category.clone(),
                        inspectors: Vec::new(),
                    });
                }
            }
        }
    }

    // 回头看: every penalised unit of a followed-up campaign, on that campaign's
    // checklist; campaigns in plan order, units in key order.
    let by_key: HashMap<&str, &PublicUnit> =
        inputs.units.iter().map(|u| (u.key.as_str(), u)).collect();
    for campaign in &plan.campaigns {
        let mut listed = inputs
            .penalised
            .iter()
            .filter(|p| p.campaign == campaign.code)
            .peekable();
        if listed.peek().is_none() {
            continue;
        }
        let checklist = campaign
            .checklist
            .clone()
            .filter(|c| plan.checklist(c).is_some())
            .ok_or_else(|| DrawError::CampaignWithoutChecklist(campaign.code.clone()))?;
        for p in listed {
            let unit = by_key
                .get(p.unit.as_str())
                .ok_or_else(|| DrawError::PenalisedNotInRegistry(p.unit.clone()))?;
            tasks.push(PublicTask {
                checklist: checklist.clone(),
                kind: DrawKind::FollowUp,
                followup: Some(campaign.code.clone()),
                unit: unit.key.clone(),
                category: unit.category.clone(),
                inspectors: Vec::new(),
            });
        }
    }

    let staff: Vec<Staff<String>> = inputs
        .inspectors
        .iter()
        .map(|p| Staff {
            key: key(&[seed, "inspector", &p.badge]),
            district: p.district.as_str(),
            excluded: p.conflicts.iter().chain(&p.previous).cloned().collect(),
        })
        .collect();
    let wanted: Vec<(String, &str)> = tasks
        .iter()
        .map(|t| {
            let d = by_key
                .get(t.unit.as_str())
                .map(|u| u.district.as_str())
                .unwrap_or("");
            (t.unit.clone(), d)
        })
        .collect();
    let teams = staff_tasks(&staff, &wanted, inputs.team_size)?;
    for (task, team) in tasks.iter_mut().zip(teams) {
        task.inspectors = team
            .iter()
            .map(|&i| inputs.inspectors[i].badge.clone())
            .collect();
    }
    Ok(PublicResult {
        algorithm: ALGORITHM_V2.to_owned(),
        inputs_hash: inputs.hash(),
        tasks,
    })
}
