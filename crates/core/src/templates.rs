//! The built-in templates: the category catalogue and one plan per seed document,
//! compiled into the binary so that a device with no signal has them. The server may
//! also load a directory of its own (same format, same validation).

use crate::plan::{Catalogue, Plan, TemplateError};
use std::collections::BTreeMap;

/// (file name, contents) of every built-in template, catalogue first.
pub const BUILTIN_CATALOGUE: (&str, &str) = (
    "categories.toml",
    include_str!("../../../templates/categories.toml"),
);

/// (file name, contents) of the built-in plans, one per seed document.
pub const BUILTIN_PLANS: &[(&str, &str)] = &[
    (
        "county-2024.toml",
        include_str!("../../../templates/county-2024.toml"),
    ),
    (
        "cq-district-2022.toml",
        include_str!("../../../templates/cq-district-2022.toml"),
    ),
    (
        "shanxi-2025.toml",
        include_str!("../../../templates/shanxi-2025.toml"),
    ),
];

/// Every plan known here, validated, with the catalogue: the built-in plans
/// (version 1 of their ids) and, on a tablet, the plan versions the platform sent
/// (`add_version`). Lookups by (id, version) prefer what the platform sent.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    pub catalogue: Catalogue,
    pub plans: Vec<Plan>,
    /// Plan versions received from the platform.
    received: BTreeMap<(String, u32), Plan>,
    /// Plan versions received that this build cannot read, with why (请更新应用).
    unreadable: BTreeMap<(String, u32), String>,
}

impl TemplateSet {
    /// Parses and validates the built-in templates. Called once at start-up; an error
    /// here is a build defect and names the file and entry.
    pub fn builtin() -> Result<TemplateSet, TemplateError> {
        Self::from_sources(BUILTIN_CATALOGUE, BUILTIN_PLANS.iter().copied())
    }

    /// Parses and validates a catalogue and plans given as (file name, text).
    pub fn from_sources<'a>(
        catalogue: (&str, &str),
        plans: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TemplateSet, TemplateError> {
        let catalogue = Catalogue::parse(catalogue.0, catalogue.1)?;
        let mut out: Vec<Plan> = Vec::new();
        for (file, text) in plans {
            let plan = Plan::load(file, text, &catalogue)?;
            if out.iter().any(|p| p.id == plan.id) {
                return Err(TemplateError {
                    file: file.to_owned(),
                    entry: "id".into(),
                    problem: format!("计划代码“{}”与另一个模板文件重复", plan.id),
                });
            }
            out.push(plan);
        }
        Ok(TemplateSet {
            catalogue,
            plans: out,
            received: BTreeMap::new(),
            unreadable: BTreeMap::new(),
        })
    }

    /// A built-in plan by id.
    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    /// A plan version: one the platform sent, or version 1 of a built-in plan.
    pub fn plan_version(&self, id: &str, version: u32) -> Option<&Plan> {
        self.received
            .get(&(id.to_owned(), version))
            .or_else(|| (version == 1).then(|| self.plan(id)).flatten())
    }

    /// Why a plan version the platform sent cannot be used here (an app too old
    /// for it), if so.
    pub fn unreadable(&self, id: &str, version: u32) -> Option<&str> {
        self.unreadable
            .get(&(id.to_owned(), version))
            .map(String::as_str)
    }

    /// Adds a plan version the platform sent; its own categories join the
    /// catalogue.
    pub fn add_version(&mut self, version: u32, plan: Plan) {
        self.catalogue = plan.catalogue(&self.catalogue);
        self.unreadable.remove(&(plan.id.clone(), version));
        self.received.insert((plan.id.clone(), version), plan);
    }

    /// Records a plan version this build cannot read, with the explanation.
    pub fn add_unreadable(&mut self, id: &str, version: u32, why: String) {
        self.unreadable.insert((id.to_owned(), version), why);
    }

    /// The plan versions received from the platform, by id then version.
    pub fn received(&self) -> impl Iterator<Item = (u32, &Plan)> {
        self.received.iter().map(|((_, v), p)| (*v, p))
    }
}
