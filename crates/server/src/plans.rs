//! Plans (抽查计划) for people: `plan list` and `plan show`. The plans themselves are
//! the templates compiled into `jiandu_core` (`TemplateSet::builtin`); `--json`
//! prints them as they are.

use jiandu_core::Plan;
use jiandu_core::plan::Catalogue;
use serde::Serialize;
use std::fmt::Write;

/// One line of `plan list --json`.
#[derive(Debug, Clone, Serialize)]
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

pub fn summary(plan: &Plan) -> PlanSummary {
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

pub fn render_list(plans: &[Plan]) -> String {
    let mut out = String::new();
    for p in plans {
        let _ = writeln!(
            out,
            "{}\t{}年\t{}\t{}",
            p.id,
            p.year,
            p.title,
            p.document_number.as_deref().unwrap_or(&p.authority)
        );
    }
    out
}

pub fn render_show(plan: &Plan, catalogue: &Catalogue) -> String {
    let name = |c: &jiandu_core::CategoryCode| {
        catalogue
            .get(c)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| c.to_string())
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}（{}）", plan.title, plan.id);
    let _ = writeln!(
        out,
        "发文机关：{}{}",
        plan.authority,
        plan.document_number
            .as_deref()
            .map(|d| format!("  文号：{d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "年度：{}  来源：{}", plan.year, plan.seed);
    if let Some(cap) = plan.reassignment_cap_percent {
        let _ = writeln!(out, "调整检查人员上限：抽取人员总数的 {cap}%");
    }
    for d in &plan.deadlines {
        let _ = writeln!(out, "报送时限：{}  {}", d.date, d.what);
    }
    for c in &plan.campaigns {
        let _ = writeln!(out, "回头看：{}年 {}（{}）", c.year, c.name, c.code);
    }
    for cl in &plan.checklists {
        let _ = writeln!(out, "\n{} {}（{}）", cl.name, cl.title, cl.code);
        for r in &cl.rows {
            let cats: Vec<String> = r.categories.iter().map(name).collect();
            let q = |q: &Option<jiandu_core::plan::Quota>| {
                q.as_ref()
                    .and_then(|q| q.rule())
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "—".into())
            };
            let _ = writeln!(
                out,
                "  {} {}：国家双随机 {}，市级双随机 {}（{}）",
                r.number,
                r.label,
                q(&r.national),
                q(&r.city),
                cats.join("、")
            );
        }
        let _ = writeln!(
            out,
            "  检查内容 {} 项，检查要点 {} 个",
            cl.items.len(),
            cl.point_count()
        );
        for i in &cl.items {
            let _ = writeln!(out, "    {}. {}", i.number, i.title);
        }
    }
    if !plan.summaries.is_empty() {
        let _ = writeln!(out, "\n汇总表：");
        for s in &plan.summaries {
            let _ = writeln!(
                out,
                "  {} {}（{}，{} 行 × {} 栏）",
                s.name,
                s.title,
                s.code,
                s.rows.len(),
                s.columns.len()
            );
        }
    }
    out
}
