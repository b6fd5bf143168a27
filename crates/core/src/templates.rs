//! The built-in templates: the category catalogue and one plan per seed document,
//! compiled into the binary so that a device with no signal has them. The server may
//! also load a directory of its own (same format, same validation).

use crate::plan::{Catalogue, Plan, TemplateError};

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

/// Every plan known to this build, validated, with the catalogue.
#[derive(Debug, Clone)]
pub struct TemplateSet {
    pub catalogue: Catalogue,
    pub plans: Vec<Plan>,
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
        })
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }
}
