//! Registry files as bureaus have them: spreadsheets (.xlsx from WPS or Excel, .xls,
//! .ods, read with calamine) and CSV in UTF-8 or GB18030 (what Excel saves on a
//! Chinese Windows). Title rows above the header (e.g. “2026年检查对象名录”) are
//! skipped; every row keeps the number the spreadsheet shows, so a problem names
//! the row a person can find.

use super::registry::{self, RowError};
use calamine::{Data, Reader};
use std::io::Cursor;

/// The rows of a file, each with its number in the file (1-based).
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub rows: Vec<(usize, Vec<String>)>,
}

fn file_error(message: impl Into<String>) -> Vec<RowError> {
    vec![RowError {
        row: 0,
        message: message.into(),
    }]
}

/// Reads a spreadsheet or a CSV file.
pub fn read(bytes: &[u8]) -> Result<Sheet, Vec<RowError>> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        read_workbook(bytes)
    } else {
        read_csv(bytes)
    }
}

fn read_workbook(bytes: &[u8]) -> Result<Sheet, Vec<RowError>> {
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| file_error(format!("无法读取表格文件（应为 .xlsx、.xls 或 .ods）：{e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| file_error("表格文件中没有工作表"))?
        .map_err(|e| file_error(format!("无法读取第一个工作表：{e}")))?;
    let first = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut out = vec![String::new(); first_col];
            out.extend(cells.iter().map(cell_text));
            (first + i + 1, out)
        })
        .collect();
    Ok(Sheet { rows })
}

/// A cell as text: credit codes and badge numbers typed as numbers keep their
/// digits (no `.0`, no exponent).
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(_) => d.to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, Vec<RowError>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').to_owned(),
        Err(_) => {
            let (t, _, bad) = encoding_rs::GB18030.decode(bytes);
            if bad {
                return Err(file_error(
                    "文件既不是 UTF-8 也不是 GB18030（GBK）编码的 CSV，也不是 .xlsx / .xls / .ods 表格",
                ));
            }
            t.into_owned()
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| file_error(format!("无法解析 CSV：{e}")))?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        rows.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(Sheet { rows })
}

impl Sheet {
    /// The index of the header row: the first row with a column the registry knows.
    fn header(&self) -> Option<usize> {
        self.rows
            .iter()
            .position(|(_, cells)| cells.iter().any(|c| registry::is_header(c.trim())))
    }

    /// The rows from the header on as CSV text (one line per row) for the registry's
    /// parser, with the file's row number of each line.
    pub fn as_csv(&self) -> Result<(String, Vec<usize>), Vec<RowError>> {
        let start = self.header().ok_or_else(|| {
            file_error(
                "找不到表头行：表头应包含“统一社会信用代码”（检查对象）、“执法证号”（执法人员）或“专项代码”（回头看名单）",
            )
        })?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut numbers = Vec::new();
        for (n, cells) in &self.rows[start..] {
            let cells: Vec<String> = cells.iter().map(|c| c.replace(['\r', '\n'], " ")).collect();
            w.write_record(&cells)
                .map_err(|e| file_error(format!("无法整理表格内容：{e}")))?;
            numbers.push(*n);
        }
        let bytes = w
            .into_inner()
            .map_err(|e| file_error(format!("无法整理表格内容：{e}")))?;
        Ok((String::from_utf8_lossy(&bytes).into_owned(), numbers))
    }
}

/// Problems renumbered from the parser's lines to the file's rows.
pub fn renumber(errors: Vec<RowError>, numbers: &[usize]) -> Vec<RowError> {
    errors
        .into_iter()
        .map(|e| RowError {
            row: if e.row == 0 {
                0
            } else {
                numbers.get(e.row - 1).copied().unwrap_or(e.row)
            },
            message: e.message,
        })
        .collect()
}
