//! Plans (抽查计划) and their tables, as data.
//!
//! A [`Plan`] is one seed document: the yearly random supervision plan (随机监督抽查计划)
//! issued by an authority. It holds
//! - [`Checklist`]s: the 工作计划表 (work-plan tables, e.g. 附表1): which institution
//!   categories are drawn at which ratio or count ([`DrawRow`]), and the 检查内容 as
//!   [`Item`]s with their [`CheckPoint`]s (the level at which an inspector answers
//!   符合 / 不符合 / 合理缺项);
//! - [`SummaryTable`]s: the 汇总表 (e.g. 附表2): rows of unit categories, columns of
//!   non-compliant-unit counts per indicator and penalty figures, in the seed's order.
//!
//! Each check point names the indicator columns it feeds (`feeds`), so the summary
//! arithmetic needs no knowledge of any particular plan. Templates are TOML files in
//! `templates/`; [`Plan::parse`] reads one and [`Plan::validate`] checks it against the
//! category catalogue. Every problem is reported as a [`TemplateError`] naming the
//! file, the entry and what is wrong, in Chinese, because bureau staff edit these.

use crate::category::{Category, CategoryCode, Service};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

/// The plan format this build reads and writes. A later format (a plan feature this
/// build would misread) carries a higher number: a tablet refuses it with 请更新应用.
pub const PLAN_FORMAT: u32 = 1;

/// Days to correct when the plan names none (a common 责令限期改正 period; policy,
/// not law: a plan sets its own with `correction_days`).
pub const DEFAULT_CORRECTION_DAYS: u32 = 15;

/// One yearly plan, as issued in one seed document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Stable ASCII id, e.g. `shanxi-2025`.
    pub id: String,
    /// The seed document this plan was transcribed from (file stem in shared/seeds);
    /// a bureau's own plan has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    pub year: i32,
    pub title: String,
    /// Issuing authority (发文机关), e.g. 山西省卫生健康委员会.
    pub authority: String,
    /// The issuing document's number (文号), e.g. 晋卫应急函〔2025〕23号, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// Cap on re-assigning drawn inspectors, in percent of those drawn (调整比例原则上
    /// 不得超过抽取人员总数的15%, seed 003 组织实施（三）). `None`: the plan sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassignment_cap_percent: Option<u32>,
    /// Days a 卫生监督意见书 gives to correct (改正期限) unless the inspector picks
    /// another date; `None`: [`DEFAULT_CORRECTION_DAYS`]. No seed fixes it; a bureau's
    /// plan may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_days: Option<u32>,
    #[serde(default)]
    pub deadlines: Vec<Deadline>,
    /// Earlier campaigns whose penalised units get a 回头看 (follow-up) inspection.
    #[serde(default)]
    pub campaigns: Vec<Campaign>,
    /// Categories this plan adds to the catalogue (e.g. 养老机构内设医疗机构): a new
    /// object type a bureau's plan draws, declared with the plan. A code the catalogue
    /// already has must keep its name and kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// Services (服务项目) this plan adds to the catalogue, as `categories` above.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    pub checklists: Vec<Checklist>,
    #[serde(default)]
    pub summaries: Vec<SummaryTable>,
}

/// A reporting deadline (报送时限).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// Written `2025-06-20` (a TOML date) or `"2025-06-20"` (a string): both are read.
    #[serde(deserialize_with = "date_or_string")]
    pub date: NaiveDate,
    /// What is due, e.g. 阶段性工作总结.
    pub what: String,
}

/// An earlier campaign (专项检查/随机抽查) whose penalised units are followed up
/// (回头看) by this plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub code: String,
    /// e.g. 医疗机构依法执业专项监督检查.
    pub name: String,
    pub year: i32,
    /// The checklist (工作计划表) every penalised unit of this campaign is followed up
    /// on, whatever its category (a beauty salon of 打击非法医疗美容 on the medical
    /// table). Required by validation; absent only in plans stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<String>,
}

/// A 工作计划表: draw rows and check contents (检查内容).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    /// Stable ASCII code within the plan, e.g. `medical`.
    pub code: String,
    /// The seed's own name for the table, e.g. 附件1 附表1.
    pub name: String,
    pub title: String,
    /// The 备注 column, e.g. 根据各医疗机构业务开展情况，检查内容可合理缺项。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub rows: Vec<DrawRow>,
    pub items: Vec<Item>,
}

/// One row of a work-plan table: a group of categories and how many are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DrawRow {
    /// 序号 as printed (may be empty for a row the seed leaves unnumbered).
    pub number: String,
    /// 监督检查对象 as printed, e.g. 医院（含妇幼保健院、精神卫生院）.
    pub label: String,
    /// Units of these categories belong to the row (with `services`: only those
    /// that also offer one of the services).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoryCode>,
    /// Units offering one of these services (服务项目) belong to the row, e.g.
    /// 内设医疗美容科室的医疗机构 = any unit offering 医疗美容.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// 国家双随机 share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national: Option<Quota>,
    /// 市级双随机 share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<Quota>,
}

/// How many units of a row one draw takes: exactly one of `percent`, `count`,
/// `remainder` is set (checked by [`Plan::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Share of the row's units, in percent (抽检比例).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    /// Fixed number of units (seed 001: 医院1家).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// All units the earlier draw did not take (seed 000: 国家双随机未抽取的剩余单位).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remainder: bool,
    /// The seed's wording when it says more than the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The rule a [`Quota`] stands for, once validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRule {
    Percent(u32),
    Count(u32),
    Remainder,
}

impl Quota {
    /// The quota's rule; `None` only for an invalid quota (validation rejects those).
    pub fn rule(&self) -> Option<QuotaRule> {
        match (self.percent, self.count, self.remainder) {
            (Some(p), None, false) => Some(QuotaRule::Percent(p)),
            (None, Some(c), false) => Some(QuotaRule::Count(c)),
            (None, None, true) => Some(QuotaRule::Remainder),
            _ => None,
        }
    }
}

/// A numbered check item (检查内容 1., 2., …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Number as printed, e.g. "5".
    pub number: String,
    /// Short title, e.g. 医疗文书管理情况.
    pub title: String,
    /// Full text as in the seed.
    pub text: String,
    /// Categories the item applies to; empty means every category of the table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<CategoryCode>,
    /// Categories the item does not apply to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<CategoryCode>,
    pub points: Vec<CheckPoint>,
}

/// What an inspector answers: one check point of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckPoint {
    /// ASCII code unique within the plan, e.g. `med.5.1`.
    pub code: String,
    /// e.g. 处方管理.
    pub text: String,
    /// Indicator columns a 不符合 answer counts under: `SUMMARY/COLUMN`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<CategoryCode>,
    /// e.g. 村卫生室仅抽查处方管理情况: 病历 and 医学证明文件 list `village_clinic` here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<CategoryCode>,
    /// Legal basis (法律依据) a 不符合 answer breaks, e.g. 《处方管理办法》: drafted
    /// into the 卫生监督意见书, where the inspector may complete or change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// A 汇总表.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SummaryTable {
    /// Stable ASCII code within the plan, e.g. `medical-summary`.
    pub code: String,
    /// The seed's own name, e.g. 附件1 附表2.
    pub name: String,
    pub title: String,
    /// Codes of the checklists whose approved inspections feed this table.
    pub sources: Vec<String>,
    /// Header of the row-label column, e.g. 单位类别.
    pub row_header: String,
    /// Label of the total row (合计); `None` when the seed's table has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_label: Option<String>,
    pub rows: Vec<SummaryRow>,
    pub columns: Vec<SummaryColumn>,
    /// Footnote printed under the table (注：…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A row of a summary table: which inspected units it counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SummaryRow {
    /// Outer label of a two-level row header (seed 003 附表4: 医院 › 中医医院).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub label: String,
    /// Categories counted in this row; empty: any category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<CategoryCode>,
    /// Only units offering one of these services (服务项目); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Only follow-up (回头看) inspections of this campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup: Option<String>,
}

impl SummaryRow {
    /// The label as one string: "group › label" or "label".
    pub fn full_label(&self) -> String {
        match &self.group {
            Some(g) => format!("{g} › {}", self.label),
            None => self.label.clone(),
        }
    }
}

/// A column of a summary table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SummaryColumn {
    /// ASCII code unique within the table, e.g. `prescription`.
    pub code: String,
    /// Leaf header as printed, e.g. 处方管理不符合要求单位数.
    pub label: String,
    /// Grouping headers above the leaf, outermost first, e.g.
    /// ["不合格情况", "医疗文书管理"]. Adjacent columns with the same prefix share
    /// merged header cells in the XLSX export.
    #[serde(default)]
    pub header: Vec<String>,
    pub kind: ColumnKind,
}

/// What a summary column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Number of units with at least one 不符合 on a point feeding this column.
    Indicator,
    /// Units in the row's population, given by the registry: 辖区内单位总数, or
    /// 被处罚单位数 for a 回头看 row.
    Population,
    /// 检查单位数: units inspected (approved inspections in the row).
    Inspected,
    /// 查处案件数: sum of cases.
    Cases,
    /// 罚没款金额（万元）: sum of fines, shown in 万元.
    FineWan,
    /// 吊销《医疗机构执业许可证》单位数.
    RevokedLicence,
    /// 吊销诊疗科目单位数.
    RevokedSubjects,
    /// 吊销人员（医师）资格证单位数.
    RevokedPersonnel,
    /// 注销或者撤销备案证单位数.
    CancelledFiling,
}

/// A problem in a template file: which file, which entry, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("模板文件 {file}：{entry}：{problem}")]
pub struct TemplateError {
    pub file: String,
    pub entry: String,
    pub problem: String,
}

/// Reads a date written either as a TOML date (`2025-06-20`) or as a string
/// (`"2025-06-20"`, which is also how JSON carries it).
fn date_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match Raw::deserialize(d)? {
        Raw::Text(t) => t,
        Raw::Toml(dt) => match (dt.date, dt.time) {
            (Some(date), None) => date.to_string(),
            _ => return Err(serde::de::Error::custom("日期应写作 2025-06-20，不带时间")),
        },
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| serde::de::Error::custom(format!("“{text}”不是有效日期，应写作 2025-06-20")))
}

/// Turns a TOML error into a [`TemplateError`]: the entry is the line (and column)
/// where the problem is, and the problem is said in Chinese where we recognise it.
fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> TemplateError {
    let entry = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before
                .rsplit('\n')
                .next()
                .map(|l| l.chars().count() + 1)
                .unwrap_or(1);
            format!("第 {line} 行第 {col} 列")
        }
        None => "（文件格式）".to_owned(),
    };
    let message = e.message();
    let quoted = |prefix: &str| -> Option<String> {
        let rest = message.strip_prefix(prefix)?;
        Some(rest.split('`').nth(1).unwrap_or(rest).to_owned())
    };
    let problem = if let Some(f) = quoted("missing field") {
        format!("缺少必填字段“{f}”")
    } else if let Some(f) = quoted("unknown field") {
        format!("未知字段“{f}”（可能拼写有误）")
    } else if let Some(f) = quoted("duplicate key") {
        format!("字段“{f}”重复")
    } else if let Some(v) = quoted("unknown variant") {
        format!("取值“{v}”无效")
    } else {
        format!("文件格式有误：{message}")
    };
    TemplateError {
        file: file.to_owned(),
        entry,
        problem: format!("{problem}（{}）", message.trim()),
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        })
}

/// The category catalogue, parsed from `categories.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub categories: Vec<Category>,
    /// Services (服务项目/备案科目) registries may list and plan rows may select by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
}

impl Catalogue {
    pub fn parse(file: &str, text: &str) -> Result<Catalogue, TemplateError> {
        let cat: Catalogue = toml::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        let mut seen = HashSet::new();
        for c in &cat.categories {
            let err = |problem: String| TemplateError {
                file: file.to_owned(),
                entry: format!("categories[{}]", c.code),
                problem,
            };
            if !is_code(c.code.as_str()) {
                return Err(err("类别代码只能由小写字母、数字和 . - _ 组成".into()));
            }
            if !seen.insert(c.code.clone()) {
                return Err(err("类别代码重复".into()));
            }
            if c.name.trim().is_empty() {
                return Err(err("类别名称为空".into()));
            }
            if let Some(s) = c.services.iter().find(|s| cat.service(s).is_none()) {
                return Err(err(format!("未知的服务项目“{s}”")));
            }
        }
        let mut seen = HashSet::new();
        for s in &cat.services {
            let err = |problem: &str| TemplateError {
                file: file.to_owned(),
                entry: format!("services[{}]", s.code),
                problem: problem.to_owned(),
            };
            if !is_code(&s.code) || !seen.insert(s.code.as_str()) {
                return Err(err("服务项目代码无效或重复"));
            }
            if s.name.trim().is_empty() {
                return Err(err("服务项目名称为空"));
            }
            if let Some(parent) = &s.part_of
                && (cat.service(parent).is_none() || parent == &s.code)
            {
                return Err(err("part_of 指向不存在的服务项目"));
            }
        }
        Ok(cat)
    }

    pub fn get(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.iter().find(|c| &c.code == code)
    }

    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// A service by its code or its name as a registry writes it (医疗美容).
    pub fn service_named(&self, text: &str) -> Option<&Service> {
        let t = text.trim();
        self.services.iter().find(|s| s.code == t || s.name == t)
    }

    /// The services a unit of `category` offers: those declared for it, those its
    /// category implies, and every broader service they are a kind of. Sorted.
    pub fn effective_services(&self, category: &CategoryCode, declared: &[String]) -> Vec<String> {
        let mut out: BTreeSet<String> = declared.iter().cloned().collect();
        if let Some(c) = self.get(category) {
            out.extend(c.services.iter().cloned());
        }
        let mut todo: Vec<String> = out.iter().cloned().collect();
        while let Some(s) = todo.pop() {
            if let Some(parent) = self.service(&s).and_then(|s| s.part_of.clone())
                && out.insert(parent.clone())
            {
                todo.push(parent);
            }
        }
        out.into_iter().collect()
    }
}

/// Where an indicator column lives: (summary index, column index).
pub type ColumnRef = (usize, usize);

impl Plan {
    /// Parses a plan template. `file` names the file in error messages.
    pub fn parse(file: &str, text: &str) -> Result<Plan, TemplateError> {
        toml::from_str(text).map_err(|e| syntax_error(file, text, &e))
    }

    /// Parses and validates.
    pub fn load(file: &str, text: &str, catalogue: &Catalogue) -> Result<Plan, TemplateError> {
        let plan = Self::parse(file, text)?;
        plan.validate(file, catalogue)?;
        Ok(plan)
    }

    /// Days a 意见书 gives to correct (改正期限), the plan's or the default.
    pub fn correction_days(&self) -> u32 {
        self.correction_days.unwrap_or(DEFAULT_CORRECTION_DAYS)
    }

    pub fn checklist(&self, code: &str) -> Option<&Checklist> {
        self.checklists.iter().find(|c| c.code == code)
    }

    pub fn summary(&self, code: &str) -> Option<&SummaryTable> {
        self.summaries.iter().find(|s| s.code == code)
    }

    /// Finds a check point anywhere in the plan: (checklist, item, point).
    pub fn point(&self, code: &str) -> Option<(&Checklist, &Item, &CheckPoint)> {
        self.checklists.iter().find_map(|c| {
            c.items
                .iter()
                .find_map(|i| i.points.iter().find(|p| p.code == code).map(|p| (c, i, p)))
        })
    }

    /// Resolves a `SUMMARY/COLUMN` reference to indices.
    pub fn resolve_feed(&self, feed: &str) -> Option<ColumnRef> {
        let (table, column) = feed.split_once('/')?;
        let ti = self.summaries.iter().position(|s| s.code == table)?;
        let ci = self.summaries[ti]
            .columns
            .iter()
            .position(|c| c.code == column)?;
        Some((ti, ci))
    }

    /// Checks everything a running system relies on; the first problem found.
    pub fn validate(&self, file: &str, catalogue: &Catalogue) -> Result<(), TemplateError> {
        match self.problems(file, catalogue).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The catalogue this plan reads: the given one plus the plan's own categories.
    pub fn catalogue(&self, base: &Catalogue) -> Catalogue {
        let mut out = base.clone();
        for c in &self.categories {
            if out.get(&c.code).is_none() {
                out.categories.push(c.clone());
            }
        }
        for s in &self.services {
            if out.service(&s.code).is_none() {
                out.services.push(s.clone());
            }
        }
        out
    }

    /// Every problem that stops a running system from relying on the plan, in the
    /// order of the file, each naming the file, the entry and what is wrong. Empty:
    /// the plan is valid.
    pub fn problems(&self, file: &str, catalogue: &Catalogue) -> Vec<TemplateError> {
        let mut out: Vec<TemplateError> = Vec::new();
        let mut fail = |entry: String, problem: &str| {
            out.push(TemplateError {
                file: file.to_owned(),
                entry,
                problem: problem.to_owned(),
            })
        };
        if !is_code(&self.id) {
            fail("id".into(), "计划代码只能由小写字母、数字和 . - _ 组成");
        }
        for (field, value) in [("title", &self.title), ("authority", &self.authority)] {
            if value.trim().is_empty() {
                fail(field.into(), "不能为空");
            }
        }
        if self.seed.as_deref().is_some_and(|s| s.trim().is_empty()) {
            fail(
                "seed".into(),
                "不能为空（不是从样本文件转录的计划不填此项）",
            );
        }
        if !(2000..=2100).contains(&self.year) {
            fail("year".into(), "年度不在 2000–2100 之间");
        }
        if let Some(cap) = self.reassignment_cap_percent
            && !(1..=100).contains(&cap)
        {
            fail("reassignment_cap_percent".into(), "调整比例应在 1–100 之间");
        }
        if let Some(days) = self.correction_days
            && !(1..=365).contains(&days)
        {
            fail("correction_days".into(), "改正期限天数应在 1–365 之间");
        }
        // The plan's own categories, beside the catalogue's.
        let mut own = HashSet::new();
        for c in &self.categories {
            let at = format!("categories[{}]", c.code);
            if !is_code(c.code.as_str()) {
                fail(at, "类别代码只能由小写字母、数字和 . - _ 组成");
            } else if !own.insert(c.code.clone()) {
                fail(at, "类别代码重复");
            } else if c.name.trim().is_empty() {
                fail(at, "类别名称为空");
            } else if let Some(known) = catalogue.get(&c.code)
                && (known.name != c.name || known.kind != c.kind)
            {
                fail(
                    at,
                    &format!("类别代码已用于“{}”：新类别请另取代码", known.name),
                );
            }
        }
        let mut own = HashSet::new();
        for s in &self.services {
            let at = format!("services[{}]", s.code);
            if !is_code(&s.code) || !own.insert(s.code.as_str()) {
                fail(at, "服务项目代码无效或重复");
            } else if s.name.trim().is_empty() {
                fail(at, "服务项目名称为空");
            } else if let Some(known) = catalogue.service(&s.code)
                && known.name != s.name
            {
                fail(
                    at,
                    &format!("服务项目代码已用于“{}”：新服务项目请另取代码", known.name),
                );
            }
        }
        let catalogue = self.catalogue(catalogue);
        let mut campaign_codes = HashSet::new();
        for c in &self.campaigns {
            let at = format!("campaigns[{}]", c.code);
            if !is_code(&c.code) || !campaign_codes.insert(c.code.as_str()) {
                fail(at.clone(), "专项代码无效或重复");
            }
            match &c.checklist {
                None => fail(
                    at,
                    "未指定回头看使用的工作计划表（checklist）：该专项每个被处罚单位都要在这张表上检查",
                ),
                Some(t) if self.checklist(t).is_none() => {
                    fail(at, &format!("checklist 指向不存在的工作计划表“{t}”"))
                }
                Some(_) => {}
            }
        }
        if self.checklists.is_empty() {
            fail("checklists".into(), "计划至少要有一张工作计划表");
        }
        let mut checklist_codes = HashSet::new();
        let mut point_codes = HashSet::new();
        let mut fed: HashSet<ColumnRef> = HashSet::new();
        for cl in &self.checklists {
            let at = |rest: &str| format!("checklists[{}]{rest}", cl.code);
            if !is_code(&cl.code) {
                fail(at(""), "表代码只能由小写字母、数字和 . - _ 组成");
            } else if !checklist_codes.insert(cl.code.as_str()) {
                fail(at(""), "表代码重复");
            }
            if cl.rows.is_empty() {
                fail(at(".rows"), "没有抽查对象行");
            }
            let mut table_categories: BTreeSet<&CategoryCode> = BTreeSet::new();
            for (ri, row) in cl.rows.iter().enumerate() {
                let rat = at(&format!(".rows[{}]（{}）", ri + 1, row.label));
                if row.categories.is_empty() && row.services.is_empty() {
                    fail(rat.clone(), "未指定机构类别或服务项目");
                }
                for s in &row.services {
                    if catalogue.service(s).is_none() {
                        fail(rat.clone(), &format!("未知的服务项目“{s}”"));
                    }
                }
                for c in &row.categories {
                    if catalogue.get(c).is_none() {
                        fail(rat.clone(), &format!("未知的机构类别“{c}”"));
                    } else if row.services.is_empty() && !table_categories.insert(c) {
                        // Rows by service may overlap the others: a unit is drawn in
                        // the first row that takes it.
                        fail(rat.clone(), &format!("机构类别“{c}”在本表中出现在多行"));
                    }
                }
                if row.national.is_none() && row.city.is_none() {
                    fail(rat.clone(), "没有抽检比例或数量（national / city）");
                }
                for (which, q) in [("national", &row.national), ("city", &row.city)] {
                    let Some(q) = q else { continue };
                    let qat = format!("{rat}.{which}");
                    match q.rule() {
                        None => fail(qat, "percent、count、remainder 必须且只能填一项"),
                        Some(QuotaRule::Percent(p)) if !(1..=100).contains(&p) => {
                            fail(qat, "比例应在 1–100 之间")
                        }
                        Some(QuotaRule::Count(0)) => fail(qat, "数量不能为 0"),
                        Some(QuotaRule::Remainder) if which == "national" => {
                            fail(qat, "“剩余单位”只能用于市级双随机")
                        }
                        _ => {}
                    }
                }
            }
            if cl.items.is_empty() {
                fail(at(".items"), "没有检查内容");
            }
            let mut item_numbers = HashSet::new();
            // Categories items may name: those of the rows, or any when a row draws
            // by service alone (any unit offering it may be on this table).
            let mut scope: BTreeSet<&CategoryCode> =
                cl.rows.iter().flat_map(|r| &r.categories).collect();
            if cl
                .rows
                .iter()
                .any(|r| r.categories.is_empty() && !r.services.is_empty())
            {
                scope.extend(catalogue.categories.iter().map(|c| &c.code));
            }
            for item in &cl.items {
                let iat = at(&format!(".items[{}]", item.number));
                if item.number.trim().is_empty() || !item_numbers.insert(item.number.as_str()) {
                    fail(iat.clone(), "检查内容序号为空或重复");
                }
                if item.title.trim().is_empty() || item.text.trim().is_empty() {
                    fail(iat.clone(), "检查内容标题或原文为空");
                }
                if let Err(p) = check_scope(&item.applies_to, &item.except, &scope) {
                    fail(iat.clone(), &p);
                }
                if item.points.is_empty() {
                    fail(iat.clone(), "没有检查要点（points）");
                }
                for p in &item.points {
                    let pat = format!("{iat}.points[{}]", p.code);
                    if !is_code(&p.code) {
                        fail(pat.clone(), "要点代码只能由小写字母、数字和 . - _ 组成");
                    } else if !point_codes.insert(p.code.as_str()) {
                        fail(pat.clone(), "要点代码在计划内重复");
                    }
                    if p.text.trim().is_empty() {
                        fail(pat.clone(), "要点内容为空");
                    }
                    if p.basis.as_deref().is_some_and(|b| b.trim().is_empty()) {
                        fail(
                            pat.clone(),
                            "basis（法律依据）不能为空（没有依据时不填此项）",
                        );
                    }
                    if let Err(e) = check_scope(&p.applies_to, &p.except, &scope) {
                        fail(pat.clone(), &e);
                    }
                    for f in &p.feeds {
                        let Some((ti, ci)) = self.resolve_feed(f) else {
                            fail(pat.clone(), &format!("feeds 指向不存在的汇总表栏目“{f}”"));
                            continue;
                        };
                        let table = &self.summaries[ti];
                        if table.columns[ci].kind != ColumnKind::Indicator {
                            fail(pat.clone(), &format!("feeds 指向的“{f}”不是不合格指标栏目"));
                        } else if !table.sources.iter().any(|s| s == &cl.code) {
                            fail(
                                pat.clone(),
                                &format!("汇总表“{}”的 sources 未包含本表", table.code),
                            );
                        } else {
                            fed.insert((ti, ci));
                        }
                    }
                }
            }
        }
        let mut summary_codes = HashSet::new();
        for (ti, st) in self.summaries.iter().enumerate() {
            let at = |rest: &str| format!("summaries[{}]{rest}", st.code);
            if !is_code(&st.code) || !summary_codes.insert(st.code.as_str()) {
                fail(at(""), "汇总表代码无效或重复");
            }
            if st.sources.is_empty() {
                fail(at(".sources"), "未指定数据来源的工作计划表");
            }
            for s in &st.sources {
                if self.checklist(s).is_none() {
                    fail(
                        at(".sources"),
                        &format!("数据来源“{s}”不是本计划的工作计划表"),
                    );
                }
            }
            if st.rows.is_empty() || st.columns.is_empty() {
                fail(at(""), "汇总表没有行或没有栏目");
            }
            let mut labels = HashSet::new();
            for row in &st.rows {
                let rat = at(&format!(".rows[{}]", row.full_label()));
                if !labels.insert(row.full_label()) {
                    fail(rat.clone(), "行标签重复");
                }
                for c in &row.categories {
                    if catalogue.get(c).is_none() {
                        fail(rat.clone(), &format!("未知的机构类别“{c}”"));
                    }
                }
                for s in &row.services {
                    if catalogue.service(s).is_none() {
                        fail(rat.clone(), &format!("未知的服务项目“{s}”"));
                    }
                }
                if let Some(f) = &row.followup
                    && !campaign_codes.contains(f.as_str())
                {
                    fail(rat, &format!("回头看专项“{f}”未在 campaigns 中定义"));
                }
            }
            let mut col_codes = HashSet::new();
            let mut singletons: HashMap<ColumnKind, &str> = HashMap::new();
            for (ci, col) in st.columns.iter().enumerate() {
                let cat = at(&format!(".columns[{}]", col.code));
                if !is_code(&col.code) || !col_codes.insert(col.code.as_str()) {
                    fail(cat.clone(), "栏目代码无效或重复");
                }
                if col.label.trim().is_empty() {
                    fail(cat.clone(), "栏目名称为空");
                }
                if col.kind == ColumnKind::Indicator {
                    if !fed.contains(&(ti, ci)) {
                        fail(cat, "没有任何检查要点对应此不合格指标（feeds）");
                    }
                } else if let Some(other) = singletons.insert(col.kind, &col.code) {
                    fail(cat, &format!("与栏目“{other}”统计的内容相同"));
                }
            }
        }
        out
    }
}

fn check_scope(
    applies_to: &[CategoryCode],
    except: &[CategoryCode],
    table: &BTreeSet<&CategoryCode>,
) -> Result<(), String> {
    if !applies_to.is_empty() && !except.is_empty() {
        return Err("applies_to 与 except 不能同时填写".into());
    }
    for c in applies_to.iter().chain(except) {
        if !table.contains(c) {
            return Err(format!("机构类别“{c}”不在本表的抽查对象中"));
        }
    }
    Ok(())
}

/// Does a row with these selectors take a unit of `category` offering `services`?
/// Categories and services both given: the unit must match both; one given: that one.
fn selects(
    categories: &[CategoryCode],
    row_services: &[String],
    category: &CategoryCode,
    services: &[String],
) -> bool {
    (categories.is_empty() || categories.contains(category))
        && (row_services.is_empty() || row_services.iter().any(|s| services.contains(s)))
}

impl DrawRow {
    /// Does this row take a unit of `category` offering `services` (effective
    /// services, see [`Catalogue::effective_services`])?
    pub fn matches(&self, category: &CategoryCode, services: &[String]) -> bool {
        selects(&self.categories, &self.services, category, services)
    }
}

impl Checklist {
    /// The draw row a category belongs to in this table.
    pub fn row_for(&self, category: &CategoryCode) -> Option<&DrawRow> {
        self.rows.iter().find(|r| r.categories.contains(category))
    }

    /// The row a unit is drawn in: the first, in table order, that takes it.
    pub fn row_for_unit(&self, category: &CategoryCode, services: &[String]) -> Option<&DrawRow> {
        self.rows.iter().find(|r| r.matches(category, services))
    }

    /// Can a task of a unit of `category` be on this table at all? In a category
    /// row, or the table has a row drawn by service (the unit's services are the
    /// registry's, not the tablet's, business).
    pub fn may_hold(&self, category: &CategoryCode) -> bool {
        self.rows
            .iter()
            .any(|r| r.categories.contains(category) || !r.services.is_empty())
    }

    /// The check points an inspection of a unit of `category` must answer, in order,
    /// with their item. Points outside the unit's scope are left out (they are shown
    /// as not applicable, never counted).
    pub fn applicable_points<'a>(
        &'a self,
        category: &'a CategoryCode,
    ) -> impl Iterator<Item = (&'a Item, &'a CheckPoint)> + 'a {
        self.items
            .iter()
            .filter(move |i| in_scope(&i.applies_to, &i.except, category))
            .flat_map(move |i| {
                i.points
                    .iter()
                    .filter(move |p| in_scope(&p.applies_to, &p.except, category))
                    .map(move |p| (i, p))
            })
    }

    pub fn point_count(&self) -> usize {
        self.items.iter().map(|i| i.points.len()).sum()
    }
}

fn in_scope(applies_to: &[CategoryCode], except: &[CategoryCode], c: &CategoryCode) -> bool {
    (applies_to.is_empty() || applies_to.contains(c)) && !except.contains(c)
}

impl SummaryTable {
    /// Does this row count a unit of `category`, inspected as a follow-up of
    /// `followup` (None for an ordinary inspection)?
    pub fn row_matches(row: &SummaryRow, category: &CategoryCode, followup: Option<&str>) -> bool {
        Self::row_matches_unit(row, category, &[], followup)
    }

    /// [`Self::row_matches`] for a unit offering `services` (effective services).
    pub fn row_matches_unit(
        row: &SummaryRow,
        category: &CategoryCode,
        services: &[String],
        followup: Option<&str>,
    ) -> bool {
        selects(&row.categories, &row.services, category, services)
            && match &row.followup {
                Some(f) => followup == Some(f.as_str()),
                None => true,
            }
    }

    /// Header depth: the longest grouping path plus the leaf row.
    pub fn header_depth(&self) -> usize {
        self.columns
            .iter()
            .map(|c| c.header.len())
            .max()
            .unwrap_or(0)
            + 1
    }
}

impl fmt::Display for QuotaRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaRule::Percent(p) => write!(f, "{p}%"),
            QuotaRule::Count(c) => write!(f, "{c}家"),
            QuotaRule::Remainder => f.write_str("剩余全部"),
        }
    }
}
