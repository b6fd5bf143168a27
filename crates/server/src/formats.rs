//! The 汇总表 (summary tables) as files: CSV and XLSX with the seeds' grouped
//! headers, exactly as the plans lay them out. Shared by the HTTP API and the
//! command line.

use crate::error::ServiceError;
use jiandu_core::plan::SummaryTable;
use jiandu_core::summary::{self, SummaryReport};

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

/// CSV: the title line as the XLSX prints it, one header line per header level
/// (the grouping text written once at the start of each run, as a merged cell would
/// show it), the rows, and the table's 注 when it has one.
pub fn to_csv(table: &SummaryTable, report: &SummaryReport) -> String {
    let depth = table.header_depth();
    let grouped = grouped_rows(table);
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let _ = w.write_record([format!("{} {}", table.name, table.title)]);
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
    if let Some(note) = &table.note {
        let _ = w.write_record([note]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    // Excel opens UTF-8 CSV correctly only with a BOM.
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// XLSX with the seed's layout: a title row, the grouped multi-row header with
/// merged cells (horizontally for shared groups, vertically for short paths), the
/// rows (two-level row labels merged), and the footnote.
pub fn to_xlsx(table: &SummaryTable, report: &SummaryReport) -> Result<Vec<u8>, ServiceError> {
    use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| ServiceError::internal(format!("xlsx: {e}"));
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

/// A plain list as an XLSX file: a title row, a header row, the rows (the draw's
/// task list).
pub fn task_list_xlsx(
    title: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    ws.write_string_with_format(0, 0, title, &bold)?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(1, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 2, c as u16, v)?;
        }
    }
    ws.autofit();
    wb.save_to_buffer()
}
