//! The double-random draw (双随机抽取): which units are inspected, and by whom.
//!
//! Pure and deterministic: [`draw`] takes a plan, a seed text and a snapshot of the
//! registry and staff directory ([`DrawInputs`]) and always returns the same tasks for
//! the same inputs, on every platform and with every version of every crate, because
//! the only source of "randomness" is SHA-256 (a fixed standard), never a PRNG whose
//! output could change with a library upgrade. That is what lets `draw verify`
//! recompute a years-old draw from its record.
//!
//! # Algorithms
//!
//! `docs/DRAW.md` specifies them precisely enough to re-implement.
//!
//! - **`jiandu-draw/2`** ([`ALGORITHM_VERSION`], [`draw`], [`draw_public`]): on the
//!   published inputs ([`PublicInputs`]): units keyed by 统一社会信用代码 (or a masked
//!   identity), inspectors by 执法证号; each unit in the first row of each table that
//!   takes it (by category and/or service); `ceil(N_row × p%)` per row; every
//!   penalised unit of a followed-up campaign once, on the campaign's checklist.
//! - **`jiandu-draw/1`** ([`draw_v1`]): units keyed by internal id, ratios per
//!   category, 回头看 on the first table with a row for the unit's category. Kept
//!   only so its draws keep verifying.
//!
//! Both staff tasks in order with [`DrawInputs::team_size`] (≥ 2, 《行政处罚法》第42条)
//! distinct inspectors: never one who declared a conflict of interest with the unit
//! (回避) or inspected it in the previous campaign; the least loaded first, ties by
//! `SHA-256(seed ␟ "inspector" ␟ id)`; the unit's own district when enough are
//! eligible there.
//!
//! Changing any rule changes the draw: that needs a new algorithm version, and
//! [`draw_versioned`] must keep computing the old ones for `draw verify`.

use crate::category::CategoryCode;
use crate::inspection::DrawKind;
use crate::plan::{Plan, QuotaRule};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use uuid::Uuid;

mod public;
pub use public::{
    PublicInputs, PublicInspector, PublicPenalised, PublicResult, PublicTask, PublicUnit,
    credit_code_label, draw, draw_public, is_masked_identity, mask_id, masked_identity,
};

/// Version of the draw algorithm new draws use; recorded with every draw.
pub const ALGORITHM_VERSION: &str = ALGORITHM_V2;
/// The first algorithm: units keyed by internal id, ratios per category. Kept so
/// that its draws keep verifying.
pub const ALGORITHM_V1: &str = "jiandu-draw/1";
/// Units keyed by 统一社会信用代码, inspectors by 执法证号, ratios per plan row, units
/// selected by category and service, 回头看 on the campaign's checklist.
pub const ALGORITHM_V2: &str = "jiandu-draw/2";

/// Fewest inspectors per task (《行政处罚法》第42条: 执法人员不得少于两人).
pub const MIN_TEAM_SIZE: usize = 2;

/// A unit of the registry (检查对象名录库) as the draw sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrawUnit {
    pub id: Uuid,
    pub category: CategoryCode,
    pub district: String,
    /// Public identity (algorithm 2): the 统一社会信用代码, or for a unit without one
    /// its masked identity (see [`masked_identity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Effective services (服务项目), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

/// An inspector of the staff directory (执法检查人员名录库) as the draw sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrawInspector {
    pub id: Uuid,
    pub district: String,
    /// Units they declared a conflict of interest with (回避).
    pub conflicts: Vec<Uuid>,
    /// Units they inspected in the previous campaign.
    pub previous: Vec<Uuid>,
    /// 执法证号 (law-enforcement badge number): the inspector's public key (algorithm 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub badge: Option<String>,
}

/// A unit penalised in an earlier campaign, to be followed up (回头看).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PenalisedUnit {
    /// Campaign code as in [`Plan::campaigns`].
    pub campaign: String,
    pub unit_id: Uuid,
}

/// Everything a draw depends on besides the seed. Recorded with the draw so that it
/// can be recomputed later even after the registry has changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrawInputs {
    pub plan: Plan,
    pub units: Vec<DrawUnit>,
    pub inspectors: Vec<DrawInspector>,
    pub penalised: Vec<PenalisedUnit>,
    pub team_size: usize,
}

impl DrawInputs {
    /// Sorts every list, so that the hash and the draw do not depend on the order the
    /// database returned rows in.
    pub fn normalize(&mut self) {
        self.units.sort_by_key(|u| u.id);
        self.units.dedup_by_key(|u| u.id);
        for i in &mut self.inspectors {
            i.conflicts.sort();
            i.conflicts.dedup();
            i.previous.sort();
            i.previous.dedup();
        }
        self.inspectors.sort_by_key(|i| i.id);
        self.inspectors.dedup_by_key(|i| i.id);
        self.penalised.sort();
        self.penalised.dedup();
    }

    /// The inputs hash a draw of `algorithm` records: for algorithm 2 that of the
    /// published form ([`PublicInputs::hash`]), for algorithm 1 [`Self::hash`].
    pub fn hash_for(&self, algorithm: &str) -> Result<String, DrawError> {
        match algorithm {
            ALGORITHM_V1 => Ok(self.hash()),
            ALGORITHM_V2 => Ok(self.public()?.hash()),
            other => Err(DrawError::UnknownAlgorithm(other.to_owned())),
        }
    }

    /// SHA-256 (hex) of the normalized inputs in canonical JSON (algorithm 1); the
    /// seed is recorded beside it, not in it.
    pub fn hash(&self) -> String {
        let mut normalized = self.clone();
        normalized.normalize();
        // Serializing plain structs, vectors and strings cannot fail.
        let bytes = serde_json::to_vec(&normalized).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }
}

/// One drawn task: a unit, the checklist it is inspected on, and its inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrawnTask {
    pub checklist: String,
    pub kind: DrawKind,
    /// Campaign code for a 回头看 task.
    pub followup: Option<String>,
    pub unit_id: Uuid,
    pub category: CategoryCode,
    pub inspectors: Vec<Uuid>,
}

/// The result of a draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrawResult {
    pub algorithm: String,
    pub inputs_hash: String,
    pub tasks: Vec<DrawnTask>,
}

impl DrawResult {
    /// SHA-256 (hex) of the tasks in canonical JSON: what `draw verify` compares.
    pub fn tasks_hash(&self) -> String {
        tasks_hash(&self.tasks)
    }
}

/// SHA-256 (hex) of a task list in canonical JSON.
pub fn tasks_hash(tasks: &[DrawnTask]) -> String {
    let bytes = serde_json::to_vec(tasks).unwrap_or_default();
    hex(&Sha256::digest(&bytes))
}

/// Why a draw cannot be made. Messages are for the person running it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("抽取种子不能为空")]
    EmptySeed,
    #[error("每项任务至少需要 {MIN_TEAM_SIZE} 名检查人员（当前设置为 {0}）")]
    TeamTooSmall(usize),
    #[error("不支持的抽取算法版本“{0}”")]
    UnknownAlgorithm(String),
    #[error(
        "单位 {unit} 可选的检查人员只有 {eligible} 名（需要 {needed} 名）：请补充执法人员名录，或核对回避声明"
    )]
    NotEnoughInspectors {
        unit: String,
        eligible: usize,
        needed: usize,
    },
    #[error("单位 {0} 没有统一社会信用代码或身份标识，无法参加抽取")]
    UnitWithoutKey(String),
    #[error("检查人员 {0} 没有执法证号，无法参加抽取")]
    InspectorWithoutBadge(String),
    #[error("抽取输入中“{0}”出现了不止一次：单位和检查人员的标识必须唯一")]
    DuplicateKey(String),
    #[error("回头看专项“{0}”未指定检查所用的工作计划表，无法抽取")]
    CampaignWithoutChecklist(String),
    #[error("回头看名单中的单位“{0}”不在抽取输入的名录中")]
    PenalisedNotInRegistry(String),
}

impl DrawError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptySeed => "empty_seed",
            Self::TeamTooSmall(_) => "team_too_small",
            Self::UnknownAlgorithm(_) => "unknown_algorithm",
            Self::NotEnoughInspectors { .. } => "not_enough_inspectors",
            Self::UnitWithoutKey(_)
            | Self::InspectorWithoutBadge(_)
            | Self::DuplicateKey(_)
            | Self::CampaignWithoutChecklist(_)
            | Self::PenalisedNotInRegistry(_) => "invalid_draw_inputs",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn key(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0x1f]);
        }
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// `ceil(n × percent / 100)`: never zero for a non-empty category.
pub fn ratio_count(n: usize, percent: u32) -> usize {
    (n * percent as usize).div_ceil(100)
}

/// Runs a recorded algorithm version.
pub fn draw_versioned(
    algorithm: &str,
    seed: &str,
    inputs: &DrawInputs,
) -> Result<DrawResult, DrawError> {
    match algorithm {
        ALGORITHM_V1 => draw_v1(seed, inputs),
        ALGORITHM_V2 => draw(seed, inputs),
        other => Err(DrawError::UnknownAlgorithm(other.to_owned())),
    }
}

/// Algorithm 1 (see `docs/DRAW.md`): kept only to verify its draws.
pub fn draw_v1(seed: &str, inputs: &DrawInputs) -> Result<DrawResult, DrawError> {
    if seed.trim().is_empty() {
        return Err(DrawError::EmptySeed);
    }
    if inputs.team_size < MIN_TEAM_SIZE {
        return Err(DrawError::TeamTooSmall(inputs.team_size));
    }
    let mut inputs = inputs.clone();
    inputs.normalize();
    let plan = &inputs.plan;

    let mut by_category: HashMap<&CategoryCode, Vec<&DrawUnit>> = HashMap::new();
    for u in &inputs.units {
        by_category.entry(&u.category).or_default().push(u);
    }

    let mut tasks: Vec<DrawnTask> = Vec::new();
    for checklist in &plan.checklists {
        for row in &checklist.rows {
            // Each category's units in key order, and the row's units merged in key order.
            let mut per_category: Vec<(&CategoryCode, Vec<Keyed>)> = Vec::new();
            for c in &row.categories {
                let mut units: Vec<Keyed> = by_category
                    .get(c)
                    .map(|v| {
                        v.iter()
                            .map(|u| {
                                let id = u.id.to_string();
                                (key(&[seed, "unit", &checklist.code, c.as_str(), &id]), *u)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                units.sort_by_key(|u| u.0);
                per_category.push((c, units));
            }
            let mut row_order: Vec<Keyed> = per_category
                .iter()
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            row_order.sort_by_key(|u| u.0);

            let mut taken: HashSet<Uuid> = HashSet::new();
            for (kind, quota) in [
                (DrawKind::National, &row.national),
                (DrawKind::City, &row.city),
            ] {
                let Some(rule) = quota.as_ref().and_then(|q| q.rule()) else {
                    continue;
                };
                let mut picked: Vec<&DrawUnit> = Vec::new();
                match rule {
                    QuotaRule::Percent(p) => {
                        for (_, units) in &per_category {
                            let want = ratio_count(units.len(), p);
                            picked.extend(
                                units
                                    .iter()
                                    .filter(|(_, u)| !taken.contains(&u.id))
                                    .take(want)
                                    .map(|(_, u)| *u),
                            );
                        }
                    }
                    QuotaRule::Count(c) => picked.extend(
                        row_order
                            .iter()
                            .filter(|(_, u)| !taken.contains(&u.id))
                            .take(c as usize)
                            .map(|(_, u)| *u),
                    ),
                    QuotaRule::Remainder => picked.extend(
                        row_order
                            .iter()
                            .filter(|(_, u)| !taken.contains(&u.id))
                            .map(|(_, u)| *u),
                    ),
                }
                for u in picked {
                    taken.insert(u.id);
                    tasks.push(DrawnTask {
                        checklist: checklist.code.clone(),
                        kind,
                        followup: None,
                        unit_id: u.id,
                        category: u.category.clone(),
                        inspectors: Vec::new(),
                    });
                }
            }
        }
    }

    // 回头看: campaigns in plan order, units in id order.
    let units_by_id: HashMap<Uuid, &DrawUnit> = inputs.units.iter().map(|u| (u.id, u)).collect();
    for campaign in &plan.campaigns {
        for p in inputs
            .penalised
            .iter()
            .filter(|p| p.campaign == campaign.code)
        {
            let Some(unit) = units_by_id.get(&p.unit_id) else {
                continue;
            };
            let Some(checklist) = plan
                .checklists
                .iter()
                .find(|c| c.row_for(&unit.category).is_some())
            else {
                continue;
            };
            tasks.push(DrawnTask {
                checklist: checklist.code.clone(),
                kind: DrawKind::FollowUp,
                followup: Some(campaign.code.clone()),
                unit_id: unit.id,
                category: unit.category.clone(),
                inspectors: Vec::new(),
            });
        }
    }

    assign_inspectors(seed, &inputs, &units_by_id, &mut tasks)?;
    Ok(DrawResult {
        algorithm: ALGORITHM_V1.to_owned(),
        inputs_hash: inputs.hash(),
        tasks,
    })
}

type Slot = (u32, [u8; 32], usize);

/// A unit with its ordering key.
type Keyed<'a> = ([u8; 32], &'a DrawUnit);

fn assign_inspectors(
    seed: &str,
    inputs: &DrawInputs,
    units: &HashMap<Uuid, &DrawUnit>,
    tasks: &mut [DrawnTask],
) -> Result<(), DrawError> {
    let people = &inputs.inspectors;
    let staff: Vec<Staff<Uuid>> = people
        .iter()
        .map(|p| Staff {
            key: key(&[seed, "inspector", &p.id.to_string()]),
            district: p.district.as_str(),
            excluded: p.conflicts.iter().chain(&p.previous).copied().collect(),
        })
        .collect();
    let wanted: Vec<(Uuid, &str)> = tasks
        .iter()
        .map(|t| {
            let d = units
                .get(&t.unit_id)
                .map(|u| u.district.as_str())
                .unwrap_or("");
            (t.unit_id, d)
        })
        .collect();
    let teams = staff_tasks(&staff, &wanted, inputs.team_size)?;
    for (task, team) in tasks.iter_mut().zip(teams) {
        task.inspectors = team.iter().map(|&i| people[i].id).collect();
    }
    Ok(())
}

/// An inspector as the staffing step sees them.
struct Staff<'a, K> {
    key: [u8; 32],
    district: &'a str,
    /// Units they may not inspect (回避, or inspected in the previous campaign).
    excluded: HashSet<K>,
}

/// Staffs tasks `(unit, district)` in order with `need` distinct inspectors each:
/// the eligible of the unit's district when there are enough, else of all; the
/// least loaded first, ties by key. Answers indices into `staff`.
fn staff_tasks<K: Eq + std::hash::Hash + ToString>(
    staff: &[Staff<K>],
    tasks: &[(K, &str)],
    need: usize,
) -> Result<Vec<Vec<usize>>, DrawError> {
    let mut load = vec![0u32; staff.len()];
    let mut global: BTreeSet<Slot> = (0..staff.len()).map(|i| (0, staff[i].key, i)).collect();
    let mut by_district: BTreeMap<&str, BTreeSet<Slot>> = BTreeMap::new();
    for (i, p) in staff.iter().enumerate() {
        by_district
            .entry(p.district)
            .or_default()
            .insert((0, p.key, i));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for (unit, district) in tasks {
        let eligible = |i: usize| !staff[i].excluded.contains(unit);
        let mut chosen: Vec<usize> = Vec::with_capacity(need);
        if let Some(local) = by_district.get(district) {
            chosen.extend(
                local
                    .iter()
                    .map(|s| s.2)
                    .filter(|&i| eligible(i))
                    .take(need),
            );
            if chosen.len() < need {
                chosen.clear();
            }
        }
        if chosen.is_empty() {
            chosen.extend(
                global
                    .iter()
                    .map(|s| s.2)
                    .filter(|&i| eligible(i))
                    .take(need),
            );
        }
        if chosen.len() < need {
            return Err(DrawError::NotEnoughInspectors {
                unit: unit.to_string(),
                eligible: (0..staff.len()).filter(|&i| eligible(i)).count(),
                needed: need,
            });
        }
        for &i in &chosen {
            let old = (load[i], staff[i].key, i);
            load[i] += 1;
            let new = (load[i], staff[i].key, i);
            global.remove(&old);
            global.insert(new);
            if let Some(set) = by_district.get_mut(staff[i].district) {
                set.remove(&old);
                set.insert(new);
            }
        }
        out.push(chosen);
    }
    Ok(out)
}

/// How many inspector re-assignments a draw allows: `floor(drawn × cap / 100)` of
/// the distinct inspectors drawn (调整比例不得超过抽取人员总数的15%, seed 003).
/// `None` cap: the plan sets no limit.
pub fn reassignment_allowance(cap_percent: Option<u32>, drawn_inspectors: usize) -> usize {
    match cap_percent {
        Some(cap) => drawn_inspectors * cap as usize / 100,
        None => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{CheckPoint, Checklist, DrawRow, Item, Quota};

    fn quota(percent: Option<u32>, count: Option<u32>, remainder: bool) -> Quota {
        Quota {
            percent,
            count,
            remainder,
            note: None,
        }
    }

    fn plan(rows: Vec<DrawRow>) -> Plan {
        Plan {
            id: "p".into(),
            seed: Some("s".into()),
            year: 2025,
            title: "t".into(),
            authority: "a".into(),
            document_number: None,
            reassignment_cap_percent: Some(15),
            correction_days: None,
            deadlines: vec![],
            categories: vec![],
            services: vec![],
            campaigns: vec![crate::plan::Campaign {
                code: "c2023".into(),
                name: "专项".into(),
                year: 2023,
                checklist: Some("medical".into()),
            }],
            checklists: vec![Checklist {
                code: "medical".into(),
                name: "附表1".into(),
                title: "t".into(),
                note: None,
                rows,
                items: vec![Item {
                    number: "1".into(),
                    title: "x".into(),
                    text: "x".into(),
                    applies_to: vec![],
                    except: vec![],
                    points: vec![CheckPoint {
                        code: "p.1".into(),
                        text: "x".into(),
                        feeds: vec![],
                        applies_to: vec![],
                        except: vec![],
                        basis: None,
                    }],
                }],
            }],
            summaries: vec![],
        }
    }

    fn row(cats: &[&str], national: Option<Quota>, city: Option<Quota>) -> DrawRow {
        DrawRow {
            number: "1".into(),
            label: "x".into(),
            categories: cats.iter().map(|c| CategoryCode::from(*c)).collect(),
            services: vec![],
            national,
            city,
        }
    }

    fn uid(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn inputs(rows: Vec<DrawRow>, counts: &[(&str, usize)], inspectors: usize) -> DrawInputs {
        let mut units = Vec::new();
        let mut n = 1u128;
        for (cat, count) in counts {
            for _ in 0..*count {
                units.push(DrawUnit {
                    id: uid(n),
                    category: CategoryCode::from(*cat),
                    district: "城区".into(),
                    key: Some(format!("91140100MA{n:08}")),
                    services: vec![],
                });
                n += 1;
            }
        }
        let inspectors = (0..inspectors)
            .map(|i| DrawInspector {
                id: uid(1_000_000 + i as u128),
                district: "城区".into(),
                conflicts: vec![],
                previous: vec![],
                badge: Some(format!("晋执{i:04}")),
            })
            .collect();
        DrawInputs {
            plan: plan(rows),
            units,
            inspectors,
            penalised: vec![],
            team_size: 2,
        }
    }

    #[test]
    fn ratio_rounds_up_and_never_yields_zero() {
        assert_eq!(ratio_count(0, 10), 0);
        assert_eq!(ratio_count(1, 10), 1);
        assert_eq!(ratio_count(3, 5), 1);
        assert_eq!(ratio_count(10, 10), 1);
        assert_eq!(ratio_count(11, 10), 2);
        assert_eq!(ratio_count(200, 5), 10);
        assert_eq!(ratio_count(7, 100), 7);
    }

    #[test]
    fn national_and_city_are_disjoint_and_remainder_takes_the_rest() {
        let i = inputs(
            vec![row(
                &["hospital", "clinic"],
                Some(quota(Some(30), None, false)),
                Some(quota(None, None, true)),
            )],
            &[("hospital", 10), ("clinic", 7)],
            6,
        );
        let r = draw("seed-1", &i).expect("draw");
        let national: Vec<_> = r
            .tasks
            .iter()
            .filter(|t| t.kind == DrawKind::National)
            .collect();
        let city: Vec<_> = r
            .tasks
            .iter()
            .filter(|t| t.kind == DrawKind::City)
            .collect();
        // ceil(10×30%) = 3 hospitals, ceil(7×30%) = 3 clinics.
        assert_eq!(national.len(), 6);
        assert_eq!(
            national
                .iter()
                .filter(|t| t.category.as_str() == "hospital")
                .count(),
            3
        );
        assert_eq!(city.len(), 17 - 6, "remainder: all not drawn nationally");
        let n: HashSet<Uuid> = national.iter().map(|t| t.unit_id).collect();
        assert!(city.iter().all(|t| !n.contains(&t.unit_id)), "disjoint");
    }

    #[test]
    fn fixed_counts_take_from_the_whole_row() {
        let i = inputs(
            vec![row(
                &["hospital", "clinic"],
                Some(quota(None, Some(3), false)),
                Some(quota(None, Some(100), false)),
            )],
            &[("hospital", 2), ("clinic", 2)],
            4,
        );
        let r = draw("x", &i).expect("draw");
        assert_eq!(
            r.tasks
                .iter()
                .filter(|t| t.kind == DrawKind::National)
                .count(),
            3
        );
        assert_eq!(
            r.tasks.iter().filter(|t| t.kind == DrawKind::City).count(),
            1,
            "count capped by what the national draw left"
        );
    }

    #[test]
    fn same_seed_same_draw_other_seed_other_draw() {
        let i = inputs(
            vec![row(&["clinic"], Some(quota(Some(10), None, false)), None)],
            &[("clinic", 200)],
            30,
        );
        let a = draw("2025-签名种子", &i).expect("a");
        let b = draw("2025-签名种子", &i).expect("b");
        let c = draw("另一个种子", &i).expect("c");
        assert_eq!(a, b);
        assert_eq!(a.tasks.len(), 20);
        assert_ne!(a.tasks_hash(), c.tasks_hash());
        // Input order does not matter.
        let mut shuffled = i.clone();
        shuffled.units.reverse();
        shuffled.inspectors.reverse();
        assert_eq!(draw("2025-签名种子", &shuffled).expect("s"), a);
        assert_eq!(shuffled.hash(), i.hash());
    }

    /// Pins algorithm version 1: if this fails, the draw changed and old draws can
    /// no longer be verified. Bump [`ALGORITHM_VERSION`] instead.
    #[test]
    fn algorithm_v1_is_stable() {
        let i = inputs(
            vec![row(&["clinic"], Some(quota(Some(50), None, false)), None)],
            &[("clinic", 4)],
            3,
        );
        let r = draw_v1("pinned", &i).expect("draw");
        let picked: Vec<u128> = r.tasks.iter().map(|t| t.unit_id.as_u128()).collect();
        let mut expected: Vec<(String, u128)> = (1..=4u128)
            .map(|n| {
                let k = key(&["pinned", "unit", "medical", "clinic", &uid(n).to_string()]);
                (hex(&k), n)
            })
            .collect();
        expected.sort();
        assert_eq!(
            picked,
            expected.iter().take(2).map(|e| e.1).collect::<Vec<_>>()
        );
        // The SHA-256 of a known string, so a platform difference would show here.
        assert_eq!(
            hex(&key(&["a", "b"])),
            hex(&Sha256::digest(b"a\x1fb")),
            "parts are joined with 0x1F"
        );
    }

    #[test]
    fn inspectors_two_distinct_never_conflicted_or_repeat_and_balanced() {
        let mut i = inputs(
            vec![row(&["clinic"], Some(quota(Some(100), None, false)), None)],
            &[("clinic", 40)],
            8,
        );
        // Inspector 0 declared a conflict with unit 1; inspector 1 inspected unit 2 last year.
        i.inspectors[0].conflicts.push(uid(1));
        i.inspectors[1].previous.push(uid(2));
        let r = draw("s", &i).expect("draw");
        let mut load: HashMap<Uuid, usize> = HashMap::new();
        for t in &r.tasks {
            assert_eq!(t.inspectors.len(), 2);
            assert_ne!(t.inspectors[0], t.inspectors[1]);
            if t.unit_id == uid(1) {
                assert!(!t.inspectors.contains(&i.inspectors[0].id));
            }
            if t.unit_id == uid(2) {
                assert!(!t.inspectors.contains(&i.inspectors[1].id));
            }
            for p in &t.inspectors {
                *load.entry(*p).or_default() += 1;
            }
        }
        // 40 tasks × 2 = 80 slots over 8 inspectors: 10 each.
        assert!(load.values().all(|&l| l == 10), "{load:?}");
    }

    #[test]
    fn too_few_eligible_inspectors_is_an_error() {
        let mut i = inputs(
            vec![row(&["clinic"], Some(quota(None, Some(1), false)), None)],
            &[("clinic", 1)],
            2,
        );
        i.inspectors[0].conflicts.push(uid(1));
        let e = draw("s", &i).expect_err("one eligible inspector");
        assert_eq!(e.code(), "not_enough_inspectors");
    }

    #[test]
    fn penalised_units_get_followup_tasks() {
        let mut i = inputs(
            vec![row(&["clinic"], Some(quota(None, Some(1), false)), None)],
            &[("clinic", 5)],
            4,
        );
        i.penalised.push(PenalisedUnit {
            campaign: "c2023".into(),
            unit_id: uid(3),
        });
        i.penalised.push(PenalisedUnit {
            campaign: "not-followed".into(),
            unit_id: uid(4),
        });
        let r = draw("s", &i).expect("draw");
        let f: Vec<_> = r
            .tasks
            .iter()
            .filter(|t| t.kind == DrawKind::FollowUp)
            .collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].unit_id, uid(3));
        assert_eq!(f[0].followup.as_deref(), Some("c2023"));
    }

    #[test]
    fn reassignment_allowance_is_floor_of_cap() {
        assert_eq!(reassignment_allowance(Some(15), 20), 3);
        assert_eq!(reassignment_allowance(Some(15), 6), 0);
        assert_eq!(reassignment_allowance(Some(15), 7), 1);
        assert_eq!(reassignment_allowance(None, 7), usize::MAX);
    }

    /// 003 附表3 row 3: one population of 30 + 10 + 4 units at 3% draws
    /// ceil(44 × 3%) = 2, not one per category (3).
    #[test]
    fn v2_rounds_per_row_not_per_category() {
        let i = inputs(
            vec![row(
                &["tcm_clinic", "integrated_clinic", "tcm_outpatient"],
                Some(quota(Some(3), None, false)),
                None,
            )],
            &[
                ("tcm_clinic", 30),
                ("integrated_clinic", 10),
                ("tcm_outpatient", 4),
            ],
            6,
        );
        assert_eq!(draw("s", &i).expect("v2").tasks.len(), 2);
        assert_eq!(draw_v1("s", &i).expect("v1").tasks.len(), 3, "v1 unchanged");
    }

    /// Generated registries: every row draws exactly ceil(N_row × p%), a unit is in
    /// at most one row of a table, national and city never overlap.
    #[test]
    fn v2_counts_are_ceil_of_row_population_on_generated_registries() {
        for case in 0..40u32 {
            let h = Sha256::digest(case.to_be_bytes());
            let n = |b: usize, m: u8| (h[b] % m) as usize;
            let (p1, p2, p3) = (
                1 + n(0, 60) as u32,
                1 + n(1, 99) as u32,
                1 + n(2, 30) as u32,
            );
            let rows = vec![
                row(
                    &["hospital", "mch"],
                    Some(quota(Some(p1), None, false)),
                    None,
                ),
                DrawRow {
                    services: vec!["cosmetic_medicine".into()],
                    ..row(&[], Some(quota(Some(p2), None, false)), None)
                },
                row(
                    &["clinic", "tcm_clinic"],
                    Some(quota(Some(p3), None, false)),
                    Some(quota(None, None, true)),
                ),
            ];
            let counts = [
                ("hospital", n(3, 20)),
                ("mch", n(4, 5)),
                ("clinic", n(5, 90)),
                ("tcm_clinic", n(6, 30)),
            ];
            let mut i = inputs(rows, &counts, 12);
            // Every third clinic and every second hospital offers 医疗美容.
            let mut with_service = [0usize; 2];
            for (k, u) in i.units.iter_mut().enumerate() {
                let c = u.category.as_str().to_owned();
                if (c == "clinic" && k % 3 == 0) || (c == "hospital" && k % 2 == 0) {
                    u.services.push("cosmetic_medicine".into());
                    with_service[usize::from(c == "clinic")] += 1;
                }
            }
            let r = draw(&format!("seed-{case}"), &i).expect("draw");
            let count = |kind: DrawKind, cats: &[&str], service: Option<bool>| {
                r.tasks
                    .iter()
                    .filter(|t| t.kind == kind && cats.contains(&t.category.as_str()))
                    .filter(|t| {
                        let u = i.units.iter().find(|u| u.id == t.unit_id).expect("unit");
                        service.is_none_or(|s| s != u.services.is_empty())
                    })
                    .count()
            };
            let row1 = counts[0].1 + counts[1].1;
            let row2 = with_service[1]; // hospitals with the service are in row 1
            let row3 = counts[2].1 + counts[3].1 - with_service[1];
            assert_eq!(
                count(DrawKind::National, &["hospital", "mch"], None),
                ratio_count(row1, p1)
            );
            assert_eq!(
                count(DrawKind::National, &["clinic"], Some(true)),
                ratio_count(row2, p2)
            );
            let row3_national = ratio_count(row3, p3);
            assert_eq!(
                count(DrawKind::National, &["clinic", "tcm_clinic"], None)
                    - count(DrawKind::National, &["clinic"], Some(true)),
                row3_national
            );
            assert_eq!(
                count(DrawKind::City, &["clinic", "tcm_clinic"], None),
                row3 - row3_national,
                "remainder of row 3"
            );
            let mut seen = HashSet::new();
            assert!(
                r.tasks.iter().all(|t| seen.insert(t.unit_id)),
                "one row each"
            );
        }
    }

    /// The same registry with other internal ids (another database) gives the same
    /// draw, by key; the published inputs alone recompute it.
    #[test]
    fn v2_depends_on_public_keys_only() {
        let mut i = inputs(
            vec![row(&["clinic"], Some(quota(Some(30), None, false)), None)],
            &[("clinic", 50)],
            9,
        );
        i.inspectors[0].conflicts.push(uid(7));
        let a = draw("摇号 07 15 23", &i).expect("a");
        let mut other = i.clone();
        let remap = |id: Uuid| Uuid::from_u128(id.as_u128() ^ 0x00ab_cdef_0000_0000);
        for u in &mut other.units {
            u.id = remap(u.id);
        }
        for p in &mut other.inspectors {
            p.id = remap(p.id);
            p.conflicts = p.conflicts.iter().map(|c| remap(*c)).collect();
        }
        let b = draw("摇号 07 15 23", &other).expect("b");
        assert_eq!(a.inputs_hash, b.inputs_hash);
        let keyed = |r: &DrawResult, inp: &DrawInputs| -> Vec<(String, Vec<String>)> {
            r.tasks
                .iter()
                .map(|t| {
                    let u = inp.units.iter().find(|u| u.id == t.unit_id).expect("u");
                    let who = t
                        .inspectors
                        .iter()
                        .map(|p| {
                            let p = inp.inspectors.iter().find(|x| x.id == *p).expect("p");
                            p.badge.clone().expect("badge")
                        })
                        .collect();
                    (u.key.clone().expect("key"), who)
                })
                .collect()
        };
        assert_eq!(keyed(&a, &i), keyed(&b, &other));
        let public = draw_public("摇号 07 15 23", &i.public().expect("public")).expect("p");
        assert_eq!(public.inputs_hash, a.inputs_hash);
        assert_eq!(
            public
                .tasks
                .iter()
                .map(|t| (t.unit.clone(), t.inspectors.clone()))
                .collect::<Vec<_>>(),
            keyed(&a, &i)
        );
        // The conflict travels by key: inspector 0 is never on unit 7.
        let k7 = i.units[6].key.clone().expect("k");
        assert!(
            public
                .tasks
                .iter()
                .all(|t| t.unit != k7 || !t.inspectors.contains(&"晋执0000".to_owned()))
        );
        // A serialized published file recomputes identically.
        let file = serde_json::to_string_pretty(&i.public().expect("p")).expect("json");
        let back: PublicInputs = serde_json::from_str(&file).expect("read");
        assert_eq!(draw_public("摇号 07 15 23", &back).expect("r"), public);
    }

    /// Every penalised unit of a followed-up campaign gets one task on the campaign's
    /// checklist, even when no row of any table takes its category (a beauty salon).
    #[test]
    fn v2_followup_uses_the_campaign_checklist_for_every_unit() {
        let mut i = inputs(
            vec![row(&["clinic"], Some(quota(None, Some(1), false)), None)],
            &[("clinic", 3), ("non_medical", 2)],
            4,
        );
        for n in [4u128, 5] {
            i.penalised.push(PenalisedUnit {
                campaign: "c2023".into(),
                unit_id: uid(n),
            });
        }
        let r = draw("s", &i).expect("draw");
        let f: Vec<_> = r
            .tasks
            .iter()
            .filter(|t| t.kind == DrawKind::FollowUp)
            .collect();
        assert_eq!(f.len(), 2, "both salons followed up");
        assert!(
            f.iter()
                .all(|t| t.checklist == "medical" && t.category.as_str() == "non_medical")
        );
        assert_eq!(
            draw_v1("s", &i).expect("v1").tasks.len(),
            1,
            "v1 skipped them"
        );
        // A campaign without a checklist is an error, not a silent skip.
        i.plan.campaigns[0].checklist = None;
        assert_eq!(
            draw("s", &i).expect_err("no checklist").code(),
            "invalid_draw_inputs"
        );
    }

    #[test]
    fn units_without_keys_and_masked_identities() {
        let mut i = inputs(
            vec![row(&["clinic"], Some(quota(None, Some(1), false)), None)],
            &[("clinic", 2)],
            2,
        );
        i.units[0].key = None;
        assert_eq!(
            draw("s", &i).expect_err("no key").code(),
            "invalid_draw_inputs"
        );
        assert_eq!(mask_id("140105199001011234"), "1401**********1234");
        assert_eq!(mask_id("1234"), "****");
        assert_eq!(
            masked_identity("某某美容店", "迎泽区新建路1号", Some("140105199001011234")),
            "某某美容店|迎泽区新建路1号|1401**********1234"
        );
        let key = masked_identity("某某美容店", "迎泽区新建路1号", Some("140105199001011234"));
        assert!(is_masked_identity(&key));
        assert_eq!(credit_code_label(&key), "无（证件号码 1401**********1234）");
        assert_eq!(
            credit_code_label(&masked_identity("某店", "某路", None)),
            "无"
        );
        assert!(!is_masked_identity("91140106MA0K8C2X3Q"));
        assert_eq!(
            credit_code_label("91140106MA0K8C2X3Q"),
            "91140106MA0K8C2X3Q"
        );
    }
}
