//! The double-random draw (双随机抽取): which units are inspected, and by whom.
//!
//! Pure and deterministic: [`draw`] takes a plan, a seed text and a snapshot of the
//! registry and staff directory ([`DrawInputs`]) and always returns the same tasks for
//! the same inputs, on every platform and with every version of every crate, because
//! the only source of "randomness" is SHA-256 (a fixed standard), never a PRNG whose
//! output could change with a library upgrade. That is what lets `draw verify`
//! recompute a years-old draw from its record.
//!
//! # Algorithm `jiandu-draw/1` ([`ALGORITHM_VERSION`])
//!
//! 1. **Order.** Each unit gets the key `SHA-256(seed ␟ "unit" ␟ checklist ␟ category
//!    ␟ unit id)` (␟ = byte 0x1F, ids as lower-case hyphenated UUIDs). Within a draw
//!    row, units are taken in ascending key order (a uniform random permutation once
//!    the seed is unknown in advance).
//! 2. **National draw (国家双随机)**, per row of each checklist, in template order:
//!    - `percent = p`: per category of the row, `ceil(n × p / 100)` of its `n` units
//!      (**rounding up**: a ratio of a non-empty category never yields zero);
//!    - `count = c`: the first `min(c, n)` units of the whole row.
//! 3. **City draw (市级双随机)** from the units the national draw did not take, so
//!    the two draws never pick the same unit of a row: `percent` as above (of the
//!    category's full population, capped at what is left), `count` as above,
//!    `remainder` = every unit not taken by the national draw.
//! 4. **回头看 (follow-up)**: one task per unit listed as penalised in a campaign the
//!    plan follows up, on the first checklist whose rows contain its category.
//! 5. **Inspectors.** Tasks are staffed in the order above, each with
//!    [`DrawInputs::team_size`] (≥ 2, 《行政处罚法》第42条) distinct inspectors. An
//!    inspector is eligible for a unit unless they declared a conflict of interest
//!    with it (回避) or inspected it in the previous campaign. Among the eligible,
//!    the least-loaded are taken first (balancing workload), ties broken by the key
//!    `SHA-256(seed ␟ "inspector" ␟ inspector id)`; inspectors of the unit's own
//!    district are preferred when there are enough of them.
//!
//! Changing any rule above changes the draw: that needs a new algorithm version,
//! and [`draw`] must keep computing the old versions for `draw verify`.

use crate::category::CategoryCode;
use crate::inspection::DrawKind;
use crate::plan::{Plan, QuotaRule};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// Version of the draw algorithm; recorded with every draw.
pub const ALGORITHM_VERSION: &str = "jiandu-draw/1";

/// Fewest inspectors per task (《行政处罚法》第42条: 执法人员不得少于两人).
pub const MIN_TEAM_SIZE: usize = 2;

/// A unit of the registry (检查对象名录库) as the draw sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrawUnit {
    pub id: Uuid,
    pub category: CategoryCode,
    pub district: String,
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

    /// SHA-256 (hex) of the normalized inputs in canonical JSON; the seed is recorded
    /// beside it, not in it.
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
        "单位 {unit_id} 可选的检查人员只有 {eligible} 名（需要 {needed} 名）：请补充执法人员名录，或核对回避声明"
    )]
    NotEnoughInspectors {
        unit_id: Uuid,
        eligible: usize,
        needed: usize,
    },
}

impl DrawError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptySeed => "empty_seed",
            Self::TeamTooSmall(_) => "team_too_small",
            Self::UnknownAlgorithm(_) => "unknown_algorithm",
            Self::NotEnoughInspectors { .. } => "not_enough_inspectors",
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

/// Runs a recorded algorithm version (only [`ALGORITHM_VERSION`] exists so far).
pub fn draw_versioned(
    algorithm: &str,
    seed: &str,
    inputs: &DrawInputs,
) -> Result<DrawResult, DrawError> {
    if algorithm != ALGORITHM_VERSION {
        return Err(DrawError::UnknownAlgorithm(algorithm.to_owned()));
    }
    draw(seed, inputs)
}

/// Draws units and inspectors (see the module documentation for the exact rules).
pub fn draw(seed: &str, inputs: &DrawInputs) -> Result<DrawResult, DrawError> {
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
        algorithm: ALGORITHM_VERSION.to_owned(),
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
    let keys: Vec<[u8; 32]> = people
        .iter()
        .map(|p| key(&[seed, "inspector", &p.id.to_string()]))
        .collect();
    let excluded: Vec<HashSet<Uuid>> = people
        .iter()
        .map(|p| p.conflicts.iter().chain(&p.previous).copied().collect())
        .collect();
    let mut load = vec![0u32; people.len()];
    let mut global: BTreeSet<Slot> = (0..people.len()).map(|i| (0, keys[i], i)).collect();
    let mut by_district: BTreeMap<&str, BTreeSet<Slot>> = BTreeMap::new();
    for (i, p) in people.iter().enumerate() {
        by_district
            .entry(p.district.as_str())
            .or_default()
            .insert((0, keys[i], i));
    }
    let need = inputs.team_size;
    for task in tasks.iter_mut() {
        let district = units
            .get(&task.unit_id)
            .map(|u| u.district.as_str())
            .unwrap_or("");
        let eligible = |i: usize| !excluded[i].contains(&task.unit_id);
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
                unit_id: task.unit_id,
                eligible: (0..people.len()).filter(|&i| eligible(i)).count(),
                needed: need,
            });
        }
        for &i in &chosen {
            let old = (load[i], keys[i], i);
            load[i] += 1;
            let new = (load[i], keys[i], i);
            global.remove(&old);
            global.insert(new);
            if let Some(set) = by_district.get_mut(people[i].district.as_str()) {
                set.remove(&old);
                set.insert(new);
            }
        }
        task.inspectors = chosen.iter().map(|&i| people[i].id).collect();
    }
    Ok(())
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
            deadlines: vec![],
            categories: vec![],
            campaigns: vec![crate::plan::Campaign {
                code: "c2023".into(),
                name: "专项".into(),
                year: 2023,
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
        let r = draw("pinned", &i).expect("draw");
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
}
