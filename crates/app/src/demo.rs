//! 演示模式: a believable day of work on a device with no server.
//!
//! Eight units of the built-in county plan (county-2024) across its four tables, one
//! 回头看, deadlines from overdue to three weeks out; a team lead additionally gets two
//! inspections already submitted, so the review queue has something to review. Units
//! and people are invented; credit codes have the right shape (18 characters) but are
//! not real.

use crate::dto::{Profile, RoleCode};
use crate::{AppError, AppResult, IdSource};
use chrono::{DateTime, Days, NaiveDate, Utc};
use jiandu_core::inspection::{AssignedInspector, DrawKind, Institution, Task};
use jiandu_core::templates::TemplateSet;
use jiandu_core::{Actor, CategoryCode, Outcome, PublicCategory, Role, Verdict};
use jiandu_store::{Answer, Store};

/// The built-in plan the demo draws from, when present (otherwise the first plan).
pub const DEMO_PLAN: &str = "county-2024";

/// A demo profile for `username`: a team lead when the name says so (`lead`, 组长),
/// otherwise an inspector.
pub fn profile(username: &str, ids: &dyn IdSource) -> Profile {
    let lead = username.eq_ignore_ascii_case("lead") || username.contains("组长");
    Profile {
        user_id: ids.new_id().to_string(),
        username: username.to_owned(),
        display_name: if lead { "王建国" } else { "张伟" }.to_owned(),
        role: if lead {
            RoleCode::TeamLead
        } else {
            RoleCode::Inspector
        },
        badge_no: if lead { "" } else { "14010020240001" }.to_owned(),
        server_url: "demo".to_owned(),
        demo: true,
    }
}

/// (name, category, draw, deadline in days from today, address, person). Each unit is
/// inspected with the demo plan's first table whose draw rows list its category; a
/// unit whose category the plan does not draw is left out.
#[rustfmt::skip]
const UNITS: &[(&str, &str, DrawKind, i64, &str, &str)] = &[
    ("县人民医院", "hospital", DrawKind::National, 5, "县城人民路88号", "刘志强"),
    ("城关镇卫生院", "township_hc", DrawKind::National, 12, "城关镇府前街12号", "陈秀英"),
    ("东关村卫生室", "village_clinic", DrawKind::City, 20, "城关镇东关村村委会东侧", "赵丽"),
    ("仁和诊所", "clinic", DrawKind::City, -2, "县城建设路156号", "孙海"),
    ("康宁中医诊所", "tcm_clinic", DrawKind::FollowUp, 9, "县城文化街23号", "周德明"),
    ("美丽人生医疗美容诊所", "cosmetology", DrawKind::National, 15, "县城新华路7号二层", "吴倩"),
    ("县中心血站", "blood_general", DrawKind::National, 21, "县城健康路3号", "郑国华"),
    ("县妇幼保健院", "mch", DrawKind::City, 7, "县城育英路45号", "何静"),
];

/// Inputs of the demo data: who signs in, when, with which templates and ids.
pub struct Seed<'a> {
    pub profile: &'a Profile,
    pub templates: &'a TemplateSet,
    pub ids: &'a dyn IdSource,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
}

impl std::fmt::Debug for Seed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seed")
            .field("user", &self.profile.username)
            .field("today", &self.today)
            .finish_non_exhaustive()
    }
}

/// Tasks a lead's demo carries to 待审核, each with the inspector who does it.
pub type ToComplete = Vec<(Task, Actor)>;

impl Seed<'_> {
    /// The demo tasks, and (for a lead) the tasks to carry to 待审核 with their
    /// inspector, see [`complete`].
    pub fn build(&self) -> AppResult<(Vec<Task>, ToComplete)> {
        let me = AssignedInspector {
            user_id: self
                .profile
                .user_id
                .parse()
                .map_err(|_| AppError::invalid("用户编号无效"))?,
            name: self.profile.display_name.clone(),
            badge_no: self.profile.badge_no.clone(),
        };
        let colleague = AssignedInspector {
            user_id: self.ids.new_id(),
            name: "李娜".to_owned(),
            badge_no: "14010020240002".to_owned(),
        };
        // A lead's device holds the team's work: the tasks are someone else's.
        let first = if self.profile.role == RoleCode::TeamLead {
            AssignedInspector {
                user_id: self.ids.new_id(),
                name: "张伟".to_owned(),
                badge_no: "14010020240001".to_owned(),
            }
        } else {
            me
        };
        let plan = self
            .templates
            .plan(DEMO_PLAN)
            .or_else(|| self.templates.plans.first())
            .ok_or_else(|| AppError::not_found("演示用的检查计划"))?;
        let mut tasks = Vec::new();
        for (n, (name, category, draw, days, address, person)) in UNITS.iter().enumerate() {
            let category = CategoryCode::new(*category);
            let Some(checklist) = plan
                .checklists
                .iter()
                .find(|c| c.row_for(&category).is_some())
            else {
                continue;
            };
            let followup = match (draw, plan.campaigns.first()) {
                (DrawKind::FollowUp, Some(c)) => Some(c.code.clone()),
                (DrawKind::FollowUp, None) => continue,
                _ => None,
            };
            let deadline = if *days >= 0 {
                self.today.checked_add_days(Days::new(days.unsigned_abs()))
            } else {
                self.today.checked_sub_days(Days::new(days.unsigned_abs()))
            };
            tasks.push(Task {
                id: self.ids.new_id(),
                plan_id: plan.id.clone(),
                plan_version: 1,
                checklist: checklist.code.clone(),
                draw_kind: *draw,
                followup,
                institution: Institution {
                    id: self.ids.new_id(),
                    name: (*name).to_owned(),
                    credit_code: format!("12140100MB{:07}X", 1000 + n),
                    licence_no: format!("PDY{:06}-140100-D2112", 4000 + n),
                    category,
                    district: "城关镇".to_owned(),
                    address: (*address).to_owned(),
                    legal_representative: (*person).to_owned(),
                    phone: format!("0351-66{:05}", 10000 + n * 37),
                },
                inspectors: vec![first.clone(), colleague.clone()],
                deadline,
            });
        }
        let mut completed = Vec::new();
        if self.profile.role == RoleCode::TeamLead {
            let actor = Actor {
                user_id: first.user_id,
                name: first.name.clone(),
                role: Role::Inspector,
            };
            // The two units after the first (in the county plan a township health
            // centre and a village clinic, which gets one 不符合).
            for task in tasks.iter().skip(1).take(2) {
                completed.push((task.clone(), actor.clone()));
            }
        }
        Ok((tasks, completed))
    }
}

/// Carries a demo inspection through the store to 待审核 as its inspector would:
/// 亮证, every applicable point 符合 (a village clinic gets one 不符合 with its
/// observation, ordered to correct it), outcome, submission.
pub fn complete(
    store: &mut Store,
    templates: &TemplateSet,
    task: &Task,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let plan = templates
        .plan(&task.plan_id)
        .ok_or_else(|| AppError::not_found("演示计划"))?;
    let checklist = plan
        .checklist(&task.checklist)
        .ok_or_else(|| AppError::not_found("演示检查表"))?;
    let flagged = task.institution.category.as_str() == "village_clinic";
    let id = store
        .start_inspection(task.id, &task.institution.address, actor, now)?
        .inspection_id;
    let points: Vec<String> = checklist
        .applicable_points(&task.institution.category)
        .map(|(_, p)| p.code.clone())
        .collect();
    let answers: Vec<Answer<'_>> = points
        .iter()
        .enumerate()
        .map(|(i, point)| {
            let bad = flagged && i == 0;
            Answer {
                point,
                verdict: if bad {
                    Verdict::NonCompliant
                } else {
                    Verdict::Compliant
                },
                observation: if bad {
                    "现场未能出示有效的《医疗机构执业许可证》正本。"
                } else {
                    ""
                },
            }
        })
        .collect();
    store.record_findings(templates, id, &answers, actor, now)?;
    let outcome = Outcome {
        category: if flagged {
            PublicCategory::Corrected
        } else {
            PublicCategory::NoProblem
        },
        penalty: None,
        opinion: flagged.then(|| "责令立即改正，将执业许可证正本悬挂于醒目位置。".to_owned()),
        unreachable_reason: None,
    };
    store.set_outcome(id, &outcome, actor, now)?;
    store.submit(templates, id, actor, now)?;
    Ok(())
}
