//! Institution categories (机构类别).
//!
//! The catalogue itself is data (`templates/categories.toml`): the union of the
//! categories the seed plans name, at the finest grain any of them needs. A plan row
//! such as "医院（含中医院、妇幼保健院）" is a *set* of these codes, so one registry
//! entry can be matched by rows of different plans that group categories differently.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable ASCII code of an institution category, e.g. `village_clinic` for
/// 村卫生室（所）. Codes never change once published; names may be reworded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct CategoryCode(pub String);

impl CategoryCode {
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for CategoryCode {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Broad kind of a category: decides, for example, whether a unit counts under
/// "医疗机构" or "非医疗机构" in a 回头看 summary row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 医疗机构 (medical institution, including 中医 and 医疗美容).
    Medical,
    /// 采供血机构 (blood collection and supply).
    Blood,
    /// 非医疗机构 (e.g. a beauty salon caught offering medical cosmetology).
    NonMedical,
}

/// One entry of the category catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: CategoryCode,
    /// Official Chinese name as written in the seeds, e.g. "村卫生室（所）".
    pub name: String,
    pub kind: CategoryKind,
    /// Optional longer description (what the seeds put in brackets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Services every unit of this category offers by definition (e.g.
    /// 内设医疗美容科室的医疗机构 → `cosmetic_medicine`), added to what the registry
    /// declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

/// A service or registered subject (服务项目/备案科目) a unit may offer besides its
/// category, e.g. 医疗美容, 母婴保健技术服务 and its kinds, 临床用血, 互联网诊疗. A unit
/// has one category and any number of services; plan rows draw by either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Stable ASCII code, e.g. `cosmetic_medicine`.
    pub code: String,
    /// Name as the registries write it, e.g. 医疗美容.
    pub name: String,
    /// The broader service this one is a kind of (产前筛查 → 母婴保健技术服务): a
    /// unit offering it offers the broader one too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
}
