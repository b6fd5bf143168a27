//! Plans (抽查计划): the random-inspection plans the platform carries out, with their
//! checklists, draw ratios, summary tables and deadlines. Today the plans are the
//! templates compiled into `jiandu_core` (`TemplateSet::builtin`).

use super::{Platform, ServiceError, ServiceResult};
use jiandu_core::Plan;
use serde::Serialize;

/// One line of the plan list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanSummary {
    pub id: String,
    pub year: i32,
    pub title: String,
    pub authority: String,
    pub document_number: Option<String>,
    pub seed: String,
    pub checklists: usize,
    pub summaries: usize,
}

impl PlanSummary {
    pub fn of(plan: &Plan) -> PlanSummary {
        PlanSummary {
            id: plan.id.clone(),
            year: plan.year,
            title: plan.title.clone(),
            authority: plan.authority.clone(),
            document_number: plan.document_number.clone(),
            seed: plan.seed.clone(),
            checklists: plan.checklists.len(),
            summaries: plan.summaries.len(),
        }
    }
}

pub fn list(p: &Platform) -> Vec<PlanSummary> {
    p.plans.plans.iter().map(PlanSummary::of).collect()
}

/// A plan by id; a missing one is a clear error naming it.
pub fn get<'a>(p: &'a Platform, id: &str) -> ServiceResult<&'a Plan> {
    p.plans
        .plan(id)
        .ok_or_else(|| ServiceError::not_found(format!("计划“{id}”不存在")))
}
