//! Reports: the 汇总表 (summary tables, CSV and XLSX with the seeds' grouped
//! headers), the public result list (一公开: four categories) and progress per
//! category against the plan's deadlines.
//!
//! The arithmetic is `jiandu_core::summary::compute`; this module only gathers
//! approved inspections and the registry populations, and lays out the files.

use crate::error::ApiError;
use crate::store::{Institution, ServerStore, StoredTask};
use chrono::NaiveDate;
use jiandu_core::inspection::InspectionStatus;
use jiandu_core::plan::{SummaryRow, SummaryTable};
use jiandu_core::summary::{self, SummaryReport, UnitResult};
use jiandu_core::{CategoryCode, Plan, PublicCategory};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Tasks of a plan, their inspections and the registry, loaded once.
struct PlanData {
    tasks: Vec<StoredTask>,
    inspections: HashMap<Uuid, jiandu_core::Inspection>,
    institutions: HashMap<Uuid, Institution>,
}

async fn load(store: &dyn ServerStore, plan: &Plan) -> Result<PlanData, ApiError> {
    let tasks = store.tasks_for(Some(&plan.id), None).await?;
    let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
    let inspections = store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .map(|i| (i.inspection.task_id, i.inspection))
        .collect();
    let institutions = store
        .list_institutions()
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    Ok(PlanData {
        tasks,
        inspections,
        institutions,
    })
}

/// Computes one summary table of a plan from its approved inspections.
pub async fn summary_table(
    store: &dyn ServerStore,
    plan: &Plan,
    table_code: &str,
) -> Result<(SummaryTable, SummaryReport), ApiError> {
    let table = plan.summary(table_code).ok_or_else(|| {
        let known: Vec<&str> = plan.summaries.iter().map(|s| s.code.as_str()).collect();
        ApiError::not_found(format!(
            "计划“{}”没有汇总表“{table_code}”（可选：{}）",
            plan.id,
            known.join("、")
        ))
    })?;
    // The few bytes each approved inspection contributes (inspection_results).
    let units: Vec<UnitResult> = store.approved_results(&plan.id).await?;
    let counts: HashMap<CategoryCode, u64> =
        store.institution_counts().await?.into_iter().collect();
    // 回头看 rows count the penalised units of their campaign: only those tables
    // need the registry itself.
    let followup_rows = table.rows.iter().any(|r| r.followup.is_some());
    let (penalised, institutions) = if followup_rows {
        (store.penalised().await?, store.list_institutions().await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let by_code: HashMap<&str, &Institution> = institutions
        .iter()
        .map(|i| (i.credit_code.as_str(), i))
        .collect();
    let population = |row: &SummaryRow| -> u64 {
        match &row.followup {
            // 被处罚单位数: units penalised in that campaign.
            Some(campaign) => penalised
                .iter()
                .filter(|p| &p.campaign == campaign)
                .filter(|p| {
                    by_code.get(p.credit_code.as_str()).is_some_and(|i| {
                        row.categories.is_empty() || row.categories.contains(&i.category)
                    })
                })
                .count() as u64,
            // 辖区内单位总数: the registry.
            None => counts
                .iter()
                .filter(|(c, _)| row.categories.is_empty() || row.categories.contains(c))
                .map(|(_, n)| n)
                .sum(),
        }
    };
    let report = summary::compute(plan, table, &units, &population);
    Ok((table.clone(), report))
}

/// Whether any row has a two-level label (group › label).
fn grouped_rows(table: &SummaryTable) -> bool {
    table.rows.iter().any(|r| r.group.is_some())
}

/// The header text of column `col` at header level `level` (0 = top), and whether
/// this cell starts a new merged run (false: it continues the cell to its left).
fn header_cell(table: &SummaryTable, col: usize, level: usize) -> Option<String> {
    let c = &table.columns[col];
    if level < c.header.len() {
        Some(c.header[level].clone())
    } else if level == c.header.len() {
        Some(c.label.clone())
    } else {
        None
    }
}

/// CSV: one header line per header level, the grouping text written once at the
/// start of each run (as a merged cell would show it); then the rows.
pub fn to_csv(table: &SummaryTable, report: &SummaryReport) -> String {
    let depth = table.header_depth();
    let grouped = grouped_rows(table);
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    for level in 0..depth {
        let mut line: Vec<String> = Vec::new();
        if grouped {
            line.push(if level == 0 {
                table.row_header.clone()
            } else {
                String::new()
            });
            line.push(String::new());
        } else {
            line.push(if level == 0 {
                table.row_header.clone()
            } else {
                String::new()
            });
        }
        for col in 0..table.columns.len() {
            let text = header_cell(table, col, level).unwrap_or_default();
            let continues = col > 0
                && level < table.columns[col].header.len()
                && level < table.columns[col - 1].header.len()
                && table.columns[col].header[..=level] == table.columns[col - 1].header[..=level];
            line.push(if continues { String::new() } else { text });
        }
        let _ = w.write_record(&line);
    }
    for row in &report.rows {
        let mut line: Vec<String> = Vec::new();
        if grouped {
            line.push(row.group.clone().unwrap_or_default());
        }
        line.push(row.label.clone());
        line.extend(row.cells.iter().map(|c| c.text()));
        let _ = w.write_record(&line);
    }
    let bytes = w.into_inner().unwrap_or_default();
    // Excel opens UTF-8 CSV correctly only with a BOM.
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// XLSX with the seed's layout: a title row, the grouped multi-row header with
/// merged cells (horizontally for shared groups, vertically for short paths), the
/// rows (two-level row labels merged), and the footnote.
pub fn to_xlsx(table: &SummaryTable, report: &SummaryReport) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| ApiError::internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let name: String = table
        .name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if !name.is_empty() {
        sheet.set_name(&name).map_err(x)?;
    }
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin);
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let label = Format::new().set_border(FormatBorder::Thin);
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let grouped = grouped_rows(table);
    let label_cols: u16 = if grouped { 2 } else { 1 };
    let ncols = table.columns.len() as u16;
    let last_col = label_cols + ncols - 1;
    let depth = table.header_depth() as u32;

    sheet
        .merge_range(
            0,
            0,
            0,
            last_col,
            &format!("{} {}", table.name, table.title),
            &title,
        )
        .map_err(x)?;
    let top = 1u32;
    // Row-label header: merged over every header row (and both label columns).
    if depth > 1 || label_cols > 1 {
        sheet
            .merge_range(
                top,
                0,
                top + depth - 1,
                label_cols - 1,
                &table.row_header,
                &head,
            )
            .map_err(x)?;
    } else {
        sheet
            .write_string_with_format(top, 0, &table.row_header, &head)
            .map_err(x)?;
    }
    // Grouping headers: merge runs of adjacent columns sharing the same path prefix.
    for level in 0..depth as usize {
        let mut col = 0usize;
        while col < table.columns.len() {
            let c = &table.columns[col];
            let r = top + level as u32;
            let xc = label_cols + col as u16;
            if level < c.header.len() {
                let prefix = &c.header[..=level];
                let mut end = col;
                while end + 1 < table.columns.len()
                    && table.columns[end + 1].header.len() > level
                    && table.columns[end + 1].header[..=level] == *prefix
                {
                    end += 1;
                }
                if end > col {
                    sheet
                        .merge_range(r, xc, r, label_cols + end as u16, &c.header[level], &head)
                        .map_err(x)?;
                } else {
                    sheet
                        .write_string_with_format(r, xc, &c.header[level], &head)
                        .map_err(x)?;
                }
                col = end + 1;
            } else {
                if level == c.header.len() {
                    // The leaf spans down to the last header row.
                    let bottom = top + depth - 1;
                    if bottom > r {
                        sheet
                            .merge_range(r, xc, bottom, xc, &c.label, &head)
                            .map_err(x)?;
                    } else {
                        sheet
                            .write_string_with_format(r, xc, &c.label, &head)
                            .map_err(x)?;
                    }
                }
                col += 1;
            }
        }
    }
    let first_data = top + depth;
    let mut r = first_data;
    let mut i = 0usize;
    while i < report.rows.len() {
        let row = &report.rows[i];
        if grouped {
            match &row.group {
                Some(g) => {
                    let mut end = i;
                    while end + 1 < report.rows.len()
                        && report.rows[end + 1].group.as_ref() == Some(g)
                    {
                        end += 1;
                    }
                    let bottom = r + (end - i) as u32;
                    if bottom > r {
                        sheet.merge_range(r, 0, bottom, 0, g, &label).map_err(x)?;
                    } else {
                        sheet.write_string_with_format(r, 0, g, &label).map_err(x)?;
                    }
                    for (k, row) in report.rows[i..=end].iter().enumerate() {
                        write_row(sheet, r + k as u32, 1, row, &label, &cell).map_err(x)?;
                    }
                    r = bottom + 1;
                    i = end + 1;
                    continue;
                }
                None => {
                    sheet
                        .merge_range(r, 0, r, 1, &row.label, &label)
                        .map_err(x)?;
                    write_cells(sheet, r, 2, row, &cell).map_err(x)?;
                }
            }
        } else {
            write_row(sheet, r, 0, row, &label, &cell).map_err(x)?;
        }
        r += 1;
        i += 1;
    }
    if let Some(note) = &table.note {
        sheet
            .merge_range(
                r + 1,
                0,
                r + 1,
                last_col,
                note,
                &Format::new().set_text_wrap(),
            )
            .map_err(x)?;
    }
    sheet.set_column_width(0, 22).map_err(x)?;
    for c in label_cols..=last_col {
        sheet.set_column_width(c, 12).map_err(x)?;
    }
    book.save_to_buffer().map_err(x)
}

fn write_row(
    sheet: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    label_col: u16,
    row: &jiandu_core::summary::ReportRow,
    label: &rust_xlsxwriter::Format,
    cell: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    sheet.write_string_with_format(r, label_col, &row.label, label)?;
    write_cells(sheet, r, label_col + 1, row, cell)
}

fn write_cells(
    sheet: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    first: u16,
    row: &jiandu_core::summary::ReportRow,
    cell: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (k, c) in row.cells.iter().enumerate() {
        let col = first + k as u16;
        match c {
            // Counts as numbers so totals can be checked in the spreadsheet.
            summary::Cell::Count(n) => sheet.write_number_with_format(r, col, *n as f64, cell)?,
            // Fines as the exact text in 万元 (no float rounding).
            summary::Cell::Fine(_) => sheet.write_string_with_format(r, col, c.text(), cell)?,
        };
    }
    Ok(())
}

/// One line of the public result list (一公开).
#[derive(Debug, Clone, Serialize)]
pub struct PublicEntry {
    pub institution: String,
    pub credit_code: String,
    pub address: String,
    pub category: String,
    /// One of 抽查未发现问题 / 发现问题已责令改正 / 行政处罚 / 无法联系.
    pub result: &'static str,
    pub result_code: &'static str,
    /// Penalty figures for 行政处罚: cases and fine in 元.
    pub penalty: Option<String>,
}

/// The public result list: approved inspections of a plan, by unit.
pub async fn public_list(
    store: &dyn ServerStore,
    plan: &Plan,
    catalogue: &jiandu_core::plan::Catalogue,
) -> Result<Vec<PublicEntry>, ApiError> {
    let data = load(store, plan).await?;
    let mut out = Vec::new();
    for t in &data.tasks {
        let Some(i) = data.inspections.get(&t.id) else {
            continue;
        };
        let (true, Some(outcome), Some(inst)) = (
            i.status == InspectionStatus::Approved,
            i.outcome.as_ref(),
            data.institutions.get(&t.institution_id),
        ) else {
            continue;
        };
        out.push(PublicEntry {
            institution: inst.name.clone(),
            credit_code: inst.credit_code.clone(),
            address: inst.address.clone(),
            category: catalogue
                .get(&t.category)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| t.category.to_string()),
            result: outcome.category.label(),
            result_code: outcome.category.as_str(),
            penalty: match (outcome.category, &outcome.penalty) {
                (PublicCategory::Penalised, Some(p)) => {
                    Some(format!("查处案件 {} 件，罚没款 {}", p.cases, p.fine))
                }
                _ => None,
            },
        });
    }
    out.sort_by(|a, b| (a.result_code, &a.credit_code).cmp(&(b.result_code, &b.credit_code)));
    Ok(out)
}

/// Progress of one category (per checklist).
#[derive(Debug, Clone, Serialize)]
pub struct ProgressRow {
    pub checklist: String,
    pub category: String,
    pub category_name: String,
    pub drawn: usize,
    /// Inspected (submitted, unreachable, returned, resubmitted or approved).
    pub done: usize,
    pub approved: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub plan_id: String,
    pub rows: Vec<ProgressRow>,
    pub deadlines: Vec<DeadlineStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineStatus {
    pub date: NaiveDate,
    pub what: String,
    /// Days from `today` (negative: passed).
    pub days_left: i64,
}

pub async fn progress(
    store: &dyn ServerStore,
    plan: &Plan,
    catalogue: &jiandu_core::plan::Catalogue,
    today: NaiveDate,
) -> Result<Progress, ApiError> {
    let data = load(store, plan).await?;
    let mut rows: Vec<ProgressRow> = Vec::new();
    for t in &data.tasks {
        let idx = match rows
            .iter()
            .position(|r| r.checklist == t.checklist && r.category == t.category.as_str())
        {
            Some(i) => i,
            None => {
                rows.push(ProgressRow {
                    checklist: t.checklist.clone(),
                    category: t.category.to_string(),
                    category_name: catalogue
                        .get(&t.category)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    drawn: 0,
                    done: 0,
                    approved: 0,
                });
                rows.len() - 1
            }
        };
        let r = &mut rows[idx];
        r.drawn += 1;
        if let Some(i) = data.inspections.get(&t.id) {
            use InspectionStatus::*;
            if matches!(
                i.status,
                Submitted | Unreachable | Returned | Resubmitted | Approved
            ) {
                r.done += 1;
            }
            if i.status == Approved {
                r.approved += 1;
            }
        }
    }
    Ok(Progress {
        plan_id: plan.id.clone(),
        rows,
        deadlines: plan
            .deadlines
            .iter()
            .map(|d| DeadlineStatus {
                date: d.date,
                what: d.what.clone(),
                days_left: (d.date - today).num_days(),
            })
            .collect(),
    })
}

pub fn render_public(list: &[PublicEntry]) -> String {
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

pub fn render_progress(p: &Progress) -> String {
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
