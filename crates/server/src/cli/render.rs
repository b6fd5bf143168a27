//! What the command line prints for people: Chinese text, one function per kind of
//! answer. `--json` prints the service's answers as they are instead.

use crate::model::{PlanSource, PlanState};
use crate::service::draws::DrawView;
use crate::service::plans::PlanSummary;
use crate::service::reports::{Progress, PublicEntry};
use jiandu_core::Plan;
use jiandu_core::inspection::DrawKind;
use jiandu_core::plan::Catalogue;
use std::fmt::Write;

/// Human-readable listing of a draw (the `draw` command's output).
pub fn draw(view: &DrawView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "抽取记录 {}{}\n计划：{}  种子：{}  算法：{}\n输入哈希：{}\n结果哈希：{}\n执行人：{}  时间：{}\n共 {} 项任务",
        view.id,
        if view.recorded {
            ""
        } else {
            "（试算，未保存）"
        },
        view.plan_id,
        view.seed,
        view.algorithm,
        view.inputs_hash,
        view.tasks_hash,
        view.created_by,
        view.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        view.tasks.len()
    );
    for t in &view.tasks {
        let kind = kind_label(t.kind);
        let people: Vec<String> = t
            .inspectors
            .iter()
            .map(|p| format!("{}（{}）", p.name, p.badge_no))
            .collect();
        let _ = writeln!(
            out,
            "{:>4}  {}  {}  {}  {}  {}  检查人员：{}",
            t.position + 1,
            kind,
            t.checklist,
            t.institution.name,
            t.institution.credit_code,
            t.category,
            people.join("、")
        );
    }
    out
}

pub fn public(list: &[PublicEntry]) -> String {
    let mut s = String::new();
    for e in list {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}{}\n",
            e.institution,
            e.credit_code,
            e.category,
            e.result,
            e.penalty
                .as_deref()
                .map(|p| format!("（{p}）"))
                .unwrap_or_default()
        ));
    }
    s
}

pub fn progress(p: &Progress) -> String {
    let mut s = format!("计划 {} 进度\n", p.plan_id);
    s.push_str("工作计划表\t类别\t抽取\t已检查\t已审核通过\n");
    for r in &p.rows {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r.checklist, r.category_name, r.drawn, r.done, r.approved
        ));
    }
    for d in &p.deadlines {
        let when = if d.days_left >= 0 {
            format!("还有 {} 天", d.days_left)
        } else {
            format!("已过期 {} 天", -d.days_left)
        };
        s.push_str(&format!("报送时限 {}（{}）：{}\n", d.date, when, d.what));
    }
    s
}

pub fn plan_list(plans: &[PlanSummary]) -> String {
    let mut out = String::new();
    for p in plans {
        let state = match p.state {
            PlanState::Draft => "待发布",
            PlanState::Published => "已发布",
        };
        let source = match p.source {
            PlanSource::Builtin => "内置",
            PlanSource::Imported => "导入",
        };
        let _ = writeln!(
            out,
            "{}\t第{}版\t{}年\t{}\t{}\t{}\t{}",
            p.id,
            p.version,
            p.year,
            p.title,
            p.document_number.as_deref().unwrap_or(&p.authority),
            source,
            state
        );
    }
    out
}

pub fn plan(summary: &PlanSummary, plan: &Plan, catalogue: &Catalogue) -> String {
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
    let _ = writeln!(
        out,
        "年度：{}  版本：第 {} 版（{}）{}",
        plan.year,
        summary.version,
        match summary.state {
            PlanState::Draft => "待发布",
            PlanState::Published => "已发布",
        },
        plan.seed
            .as_deref()
            .map(|s| format!("  样本：{s}"))
            .unwrap_or_default()
    );
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

/// A draw recomputed from its published inputs: the hashes, then one line per task.
pub fn public_draw(r: &jiandu_core::draw::PublicResult) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "算法：{}", r.algorithm);
    let _ = writeln!(out, "输入哈希：{}", r.inputs_hash);
    let _ = writeln!(out, "结果哈希：{}", r.tasks_hash());
    let _ = writeln!(out, "任务：{} 项", r.tasks.len());
    for (i, t) in r.tasks.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}",
            i + 1,
            t.checklist,
            kind_label(t.kind),
            t.unit,
            t.category,
            t.inspectors.join("、")
        );
    }
    out
}

fn kind_label(k: DrawKind) -> &'static str {
    match k {
        DrawKind::National => "国家双随机",
        DrawKind::City => "市级双随机",
        DrawKind::FollowUp => "回头看",
    }
}
