//! The registry (名录库): import from CSV (名录库导入) and reading it.
//!
//! One file holds one kind of list, recognised by its header row (Chinese headers as
//! a bureau's spreadsheet has them, or the English field names):
//!
//! | kind | columns |
//! | --- | --- |
//! | institutions (检查对象名录库) | 名称, 统一社会信用代码, 执业许可证登记号, 类别, 区县, 地址, 法定代表人, 联系电话, 服务项目 (optional: names or codes of the catalogue's services, separated as 回避单位 below) |
//! | staff (执法检查人员名录库) | 姓名, 执法证号, 科室, 区县, 回避单位 (credit codes separated by `;`, `；`, `、` or spaces), 用户名 (optional) |
//! | penalised units (回头看名单) | 专项代码, 统一社会信用代码, 备注 (optional); for a unit without a credit code (an unlicensed place or a person, 000: 单位和个人) instead 名称, 地址, 类别, 区县 and optionally 证件号码, 法定代表人, 联系电话 |
//!
//! A penalised unit without a credit code is written to the registry keyed by its
//! masked identity (`名称|地址|证件号`, [`jiandu_core::draw::masked_identity`]): the
//! full ID number is never stored, so no output can show it.
//!
//! Every row is checked first; any bad row makes the whole import fail with the list
//! of problems ("第 N 行：…", the header being line 1), and nothing is written. A good
//! file is written in one transaction. `类别` is a category code of
//! `templates/categories.toml` or its Chinese name.

use super::{Actor, ErrorCode, Platform, ServiceError, ServiceResult};
use crate::credit_code;
use crate::model::{ImportCounts, Institution, PenalisedEntry, RegistryImport, StaffEntry};
use chrono::{DateTime, Utc};
use jiandu_core::Role;
use jiandu_core::plan::Catalogue;
use std::collections::HashMap;
use std::fmt;
use uuid::Uuid;

/// Longest accepted text field, in characters.
const MAX_FIELD_CHARS: usize = 500;

/// A problem with one row (or the file, row 0 / 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the file (header = 1).
    pub row: usize,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "第 {} 行：{}", self.row, self.message)
        }
    }
}

/// What kind of list a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Institutions,
    Staff,
    Penalised,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Field {
    Name,
    CreditCode,
    LicenceNo,
    Category,
    District,
    Address,
    LegalRep,
    Phone,
    PersonName,
    BadgeNo,
    Team,
    Conflicts,
    Username,
    Campaign,
    Note,
    Services,
    IdNumber,
}

pub(super) fn is_header(cell: &str) -> bool {
    field_for(cell).is_some()
}

fn field_for(header: &str) -> Option<Field> {
    use Field::*;
    let h = header.trim().trim_start_matches('\u{feff}');
    Some(match h {
        "名称" | "单位名称" | "机构名称" | "name" => Name,
        "统一社会信用代码" | "credit_code" => CreditCode,
        "执业许可证登记号" | "登记号" | "licence_no" => LicenceNo,
        "类别" | "机构类别" | "单位类别" | "category" => Category,
        "区县" | "所属区县" | "辖区" | "district" => District,
        "地址" | "address" => Address,
        "法定代表人" | "法定代表人/负责人" | "负责人" | "legal_representative" => {
            LegalRep
        }
        "联系电话" | "电话" | "phone" => Phone,
        "姓名" | "person_name" => PersonName,
        "执法证号" | "badge_no" => BadgeNo,
        "科室" | "检查组" | "科室/组" | "team" => Team,
        "回避单位" | "利害关系单位" | "conflicts" => Conflicts,
        "用户名" | "username" => Username,
        "专项代码" | "专项" | "campaign" => Campaign,
        "备注" | "note" => Note,
        "证件号码" | "证件号" | "身份证号" | "身份证号码" | "id_number" => IdNumber,
        "服务项目" | "备案科目" | "服务项目/备案科目" | "诊疗科目" | "services" => {
            Services
        }
        _ => return None,
    })
}

/// Parses and validates a CSV file. `Err` lists every problem found.
pub fn parse_csv(
    bytes: &[u8],
    catalogue: &Catalogue,
) -> Result<(ListKind, RegistryImport), Vec<RowError>> {
    let file_err = |m: &str| {
        vec![RowError {
            row: 0,
            message: m.to_owned(),
        }]
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| file_err("文件不是 UTF-8 编码：请在表格软件中另存为“CSV UTF-8”"))?;
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| file_err(&format!("无法读取表头：{e}")))?
        .clone();
    let mut columns: HashMap<Field, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match field_for(h) {
            Some(f) => {
                if columns.insert(f, i).is_some() {
                    errors.push(RowError {
                        row: 1,
                        message: format!("表头“{h}”重复"),
                    });
                }
            }
            None if h.trim().is_empty() => {}
            None => errors.push(RowError {
                row: 1,
                message: format!("无法识别的表头“{h}”"),
            }),
        }
    }
    let kind = if columns.contains_key(&Field::BadgeNo) {
        ListKind::Staff
    } else if columns.contains_key(&Field::Campaign) {
        ListKind::Penalised
    } else if columns.contains_key(&Field::CreditCode) {
        ListKind::Institutions
    } else {
        return Err(file_err(
            "无法判断名录类型：表头应包含“统一社会信用代码”（检查对象）、“执法证号”（执法人员）或“专项代码”（回头看名单）",
        ));
    };
    use Field::*;
    let (required, optional): (&[Field], &[Field]) = match kind {
        ListKind::Institutions => (
            &[
                Name, CreditCode, LicenceNo, Category, District, Address, LegalRep, Phone,
            ],
            &[Services],
        ),
        ListKind::Staff => (
            &[PersonName, BadgeNo, Team, District],
            &[Conflicts, Username],
        ),
        ListKind::Penalised => (
            &[Campaign],
            &[
                CreditCode, Note, Name, Address, Category, District, IdNumber, LegalRep, Phone,
            ],
        ),
    };
    for f in required {
        if !columns.contains_key(f) {
            errors.push(RowError {
                row: 1,
                message: format!("缺少必需的列“{}”", label(*f)),
            });
        }
    }
    for (f, _) in columns.iter() {
        if !required.contains(f) && !optional.contains(f) {
            errors.push(RowError {
                row: 1,
                message: format!("列“{}”不属于此类名录", label(*f)),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut import = RegistryImport::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut seen_user: HashMap<String, usize> = HashMap::new();
    let mut rows = 0usize;
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    row,
                    message: format!("无法解析：{e}"),
                });
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let mut row_errors: Vec<String> = Vec::new();
        let mut get = |f: Field, required: bool| -> String {
            let v = columns
                .get(&f)
                .and_then(|&c| record.get(c))
                .unwrap_or("")
                .trim()
                .to_owned();
            if required && v.is_empty() {
                row_errors.push(format!("“{}”不能为空", label(f)));
            } else if v.chars().count() > MAX_FIELD_CHARS {
                row_errors.push(format!("“{}”超过 {MAX_FIELD_CHARS} 个字符", label(f)));
            } else if v.chars().any(|c| c.is_control()) {
                row_errors.push(format!("“{}”含有控制字符", label(f)));
            }
            v
        };
        match kind {
            ListKind::Institutions => {
                let name = get(Name, true);
                let code_text = get(CreditCode, true);
                let licence_no = get(LicenceNo, true);
                let category_text = get(Category, true);
                let district = get(District, true);
                let address = get(Address, true);
                let legal_representative = get(LegalRep, true);
                let phone = get(Phone, true);
                let services_text = get(Services, false);
                let code = check_code(&code_text, &mut row_errors);
                let mut services: Vec<String> = Vec::new();
                for part in split_list(&services_text) {
                    match catalogue.service_named(part) {
                        Some(s) => services.push(s.code.clone()),
                        None => row_errors.push(format!(
                            "未知的服务项目“{part}”（应为 categories.toml 中服务项目的代码或名称，如“医疗美容”“母婴保健技术服务”“临床用血”）"
                        )),
                    }
                }
                services.sort();
                services.dedup();
                let category = find_category(catalogue, &category_text, &mut row_errors);
                if !phone.is_empty() && !valid_phone(&phone) {
                    row_errors.push(format!("联系电话“{phone}”格式不正确"));
                }
                if let Some(code) = &code
                    && let Some(first) = seen.insert(code.clone(), row)
                {
                    row_errors.push(format!("统一社会信用代码 {code} 与第 {first} 行重复"));
                }
                if let (Some(credit_code), Some(category), true) =
                    (code, category, row_errors.is_empty())
                {
                    if columns.contains_key(&Services) {
                        import.services.insert(credit_code.clone(), services);
                    }
                    import.institutions.push(Institution {
                        id: Uuid::now_v7(),
                        name,
                        credit_code,
                        licence_no,
                        category,
                        district,
                        address,
                        legal_representative,
                        phone,
                    });
                }
            }
            ListKind::Staff => {
                let name = get(PersonName, true);
                let badge_no = get(BadgeNo, true);
                let team = get(Team, true);
                let district = get(District, true);
                let conflicts_text = get(Conflicts, false);
                let username = get(Username, false);
                if !badge_no.is_empty()
                    && !badge_no
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    row_errors.push(format!("执法证号“{badge_no}”只能包含字母、数字和连字符"));
                }
                let mut conflicts = Vec::new();
                for part in split_list(&conflicts_text) {
                    match credit_code::parse(part) {
                        Ok(c) => conflicts.push(c),
                        Err(e) => row_errors.push(format!("回避单位“{part}”：{e}")),
                    }
                }
                if let Some(first) = seen.insert(badge_no.clone(), row) {
                    row_errors.push(format!("执法证号 {badge_no} 与第 {first} 行重复"));
                }
                let username = if username.is_empty() {
                    badge_no.clone()
                } else {
                    username
                };
                if let Some(first) = seen_user.insert(username.clone(), row) {
                    row_errors.push(format!("用户名 {username} 与第 {first} 行重复"));
                }
                if row_errors.is_empty() {
                    import.staff.push(StaffEntry {
                        name,
                        badge_no,
                        team,
                        district,
                        username,
                        conflicts,
                    });
                }
            }
            ListKind::Penalised => {
                let entry = PenalisedRow {
                    campaign: get(Campaign, true),
                    code: get(CreditCode, false),
                    note: get(Note, false),
                    name: get(Name, false),
                    address: get(Address, false),
                    category: get(Category, false),
                    district: get(District, false),
                    id_number: get(IdNumber, false),
                    legal_representative: get(LegalRep, false),
                    phone: get(Phone, false),
                };
                entry.add_to(&mut import, catalogue, &mut seen, row, &mut row_errors);
            }
        }
        errors.extend(
            row_errors
                .into_iter()
                .map(|message| RowError { row, message }),
        );
    }
    if rows == 0 && errors.is_empty() {
        errors.push(RowError {
            row: 0,
            message: "文件中没有数据行".into(),
        });
    }
    if errors.is_empty() {
        Ok((kind, import))
    } else {
        Err(errors)
    }
}

/// The parts of a multi-valued cell: separated by `;`, `；`, `、`, `,`, `，` or spaces.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        c == ';' || c == '；' || c == '、' || c == ',' || c == '，' || c.is_whitespace()
    })
    .filter(|s| !s.is_empty())
}

/// A category of the catalogue by code or Chinese name (empty text: none, no error).
fn find_category(
    catalogue: &Catalogue,
    text: &str,
    errors: &mut Vec<String>,
) -> Option<jiandu_core::category::CategoryCode> {
    let found = catalogue
        .categories
        .iter()
        .find(|c| c.code.as_str() == text || c.name == text)
        .map(|c| c.code.clone());
    if found.is_none() && !text.is_empty() {
        errors.push(format!(
            "未知的机构类别“{text}”（应为 categories.toml 中的代码或名称）"
        ));
    }
    found
}

/// One row of the 回头看名单, as read.
struct PenalisedRow {
    campaign: String,
    code: String,
    note: String,
    name: String,
    address: String,
    category: String,
    district: String,
    id_number: String,
    legal_representative: String,
    phone: String,
}

impl PenalisedRow {
    /// Checks the row and adds it to `import`: by credit code (the unit must be in the
    /// registry when the plan is drawn), or, without one, as a unit of its own keyed by
    /// its masked identity, written to the registry with the list. `seen`: keys of
    /// units this file adds, with their first row.
    fn add_to(
        self,
        import: &mut RegistryImport,
        catalogue: &Catalogue,
        seen: &mut HashMap<String, usize>,
        row: usize,
        errors: &mut Vec<String>,
    ) {
        let key = if !self.code.is_empty() {
            check_code(&self.code, errors)
        } else {
            self.unlicensed_unit(import, catalogue, seen, row, errors)
        };
        if let Some(credit_code) = key
            && errors.is_empty()
        {
            import.penalised.push(PenalisedEntry {
                campaign: self.campaign,
                credit_code,
                note: self.note,
            });
            import.penalised_rows.push(row);
        }
    }

    /// A unit without a 统一社会信用代码 (an unlicensed place, or a person).
    fn unlicensed_unit(
        &self,
        import: &mut RegistryImport,
        catalogue: &Catalogue,
        seen: &mut HashMap<String, usize>,
        row: usize,
        errors: &mut Vec<String>,
    ) -> Option<String> {
        let before = errors.len();
        for (value, what) in [
            (&self.name, "名称"),
            (&self.address, "地址"),
            (&self.category, "类别"),
            (&self.district, "区县"),
        ] {
            if value.is_empty() {
                errors.push(format!(
                    "没有统一社会信用代码的单位或个人须填写“{what}”（或填写统一社会信用代码）"
                ));
            } else if value.contains('|') {
                errors.push(format!("“{what}”不能含有“|”"));
            }
        }
        let id = self.id_number.to_uppercase();
        if !id.is_empty()
            && (!(6..=30).contains(&id.len()) || !id.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            errors.push("证件号码只能是 6 至 30 位字母或数字".to_owned());
        }
        if !self.phone.is_empty() && !valid_phone(&self.phone) {
            errors.push(format!("联系电话“{}”格式不正确", self.phone));
        }
        let category = find_category(catalogue, &self.category, errors);
        if errors.len() > before {
            return None;
        }
        let key = jiandu_core::draw::masked_identity(
            &self.name,
            &self.address,
            (!id.is_empty()).then_some(id.as_str()),
        );
        if seen.insert(key.clone(), row).is_none() {
            import.institutions.push(Institution {
                id: Uuid::now_v7(),
                name: self.name.clone(),
                credit_code: key.clone(),
                licence_no: String::new(),
                category: category?,
                district: self.district.clone(),
                address: self.address.clone(),
                legal_representative: self.legal_representative.clone(),
                phone: self.phone.clone(),
            });
        }
        Some(key)
    }
}

fn check_code(text: &str, errors: &mut Vec<String>) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    match credit_code::parse(text) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.push(format!("“{text}”：{e}"));
            None
        }
    }
}

fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&digits)
        && p.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')' | '（' | '）' | '转')
        })
}

fn label(f: Field) -> &'static str {
    use Field::*;
    match f {
        Name => "名称",
        CreditCode => "统一社会信用代码",
        LicenceNo => "执业许可证登记号",
        Category => "类别",
        District => "区县",
        Address => "地址",
        LegalRep => "法定代表人",
        Phone => "联系电话",
        PersonName => "姓名",
        BadgeNo => "执法证号",
        Team => "科室",
        Conflicts => "回避单位",
        Username => "用户名",
        Campaign => "专项代码",
        Note => "备注",
        Services => "服务项目",
        IdNumber => "证件号码",
    }
}

/// What an import wrote, and which list it was.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub kind: ListKindName,
    pub counts: ImportCounts,
}

/// Which list a file held, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListKindName {
    /// 检查对象名录.
    Institutions,
    /// 执法检查人员名录.
    Staff,
    /// 回头看名单.
    Penalised,
}

impl ListKind {
    pub fn name(self) -> ListKindName {
        match self {
            ListKind::Institutions => ListKindName::Institutions,
            ListKind::Staff => ListKindName::Staff,
            ListKind::Penalised => ListKindName::Penalised,
        }
    }

    /// 检查对象名录 / 执法检查人员名录 / 回头看名单.
    pub fn label(self) -> &'static str {
        match self {
            ListKind::Institutions => "检查对象名录",
            ListKind::Staff => "执法检查人员名录",
            ListKind::Penalised => "回头看名单",
        }
    }
}

/// Parses a registry file as bureaus have them (.xlsx / .xls / .ods, CSV in UTF-8
/// or GB18030; title rows skipped): problems carry the file's own row numbers.
pub fn parse_file(
    bytes: &[u8],
    catalogue: &Catalogue,
) -> Result<(ListKind, RegistryImport), Vec<RowError>> {
    let sheet = super::spreadsheet::read(bytes)?;
    let (csv, numbers) = sheet.as_csv()?;
    let (kind, mut import) = parse_csv(csv.as_bytes(), catalogue)
        .map_err(|e| super::spreadsheet::renumber(e, &numbers))?;
    for row in &mut import.penalised_rows {
        *row = numbers.get(*row - 1).copied().unwrap_or(*row);
    }
    Ok((kind, import))
}

/// Penalised entries (回头看名单) whose unit is neither in the registry nor in the
/// file: each a problem with its row, never a unit silently left without its
/// follow-up.
async fn unplaced(p: &Platform, import: &RegistryImport) -> ServiceResult<Vec<RowError>> {
    if import.penalised.is_empty() {
        return Ok(Vec::new());
    }
    let known: std::collections::HashSet<String> = p
        .store
        .list_institutions()
        .await?
        .into_iter()
        .map(|i| i.credit_code)
        .chain(import.institutions.iter().map(|i| i.credit_code.clone()))
        .collect();
    Ok(import
        .penalised
        .iter()
        .zip(&import.penalised_rows)
        .filter(|(e, _)| !known.contains(&e.credit_code))
        .map(|(e, &row)| RowError {
            row,
            message: format!(
                "统一社会信用代码 {} 不在名录库中：请先导入该单位；无证经营者或个人不填统一社会信用代码，填写名称、地址、类别、区县",
                e.credit_code
            ),
        })
        .collect())
}

/// One problem of a file, for the console's preview.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The row as the spreadsheet numbers it (0: the file as a whole).
    pub row: usize,
    pub message: String,
}

/// One row of the preview.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PreviewRow {
    /// The row as the spreadsheet numbers it.
    pub row: usize,
    pub cells: Vec<String>,
}

/// What an import would do, before anything is written (`POST /registry/preview`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// Which list the file holds (None: not recognised).
    pub kind: Option<ListKindName>,
    /// The header row as found (title rows above it are skipped).
    pub header: Vec<String>,
    /// The rows under the header (at most 500).
    pub rows: Vec<PreviewRow>,
    /// Rows under the header, in all.
    pub total_rows: usize,
    /// Every problem with its row: the import writes nothing while there is one.
    pub problems: Vec<Problem>,
}

/// Reads a registry file and reports every problem, writing nothing
/// (administrators only).
pub async fn preview(p: &Platform, actor: &Actor, bytes: &[u8]) -> ServiceResult<Preview> {
    actor.require(&[Role::Admin])?;
    if bytes.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::InvalidFile,
            "请上传名录文件（.xlsx、.xls、.ods 或 CSV）",
        ));
    }
    let catalogue = super::plans::catalogue(p).await?;
    let problems = |errors: Vec<RowError>| {
        errors
            .into_iter()
            .map(|e| Problem {
                row: e.row,
                message: e.message,
            })
            .collect::<Vec<_>>()
    };
    let sheet = match super::spreadsheet::read(bytes) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Preview {
                kind: None,
                header: Vec::new(),
                rows: Vec::new(),
                total_rows: 0,
                problems: problems(e),
            });
        }
    };
    let (header, body) = match sheet.as_csv() {
        Ok((_, numbers)) => {
            let start = sheet
                .rows
                .iter()
                .position(|(n, _)| Some(n) == numbers.first())
                .unwrap_or(0);
            (
                sheet.rows[start].1.clone(),
                sheet.rows[start + 1..]
                    .iter()
                    .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
                    .collect::<Vec<_>>(),
            )
        }
        Err(_) => (Vec::new(), Vec::new()),
    };
    let (kind, found) = match parse_file(bytes, &catalogue) {
        Ok((kind, import)) => (Some(kind.name()), problems(unplaced(p, &import).await?)),
        Err(e) => (None, problems(e)),
    };
    Ok(Preview {
        kind,
        header,
        total_rows: body.len(),
        rows: body
            .iter()
            .take(500)
            .map(|(n, cells)| PreviewRow {
                row: *n,
                cells: cells.clone(),
            })
            .collect(),
        problems: found,
    })
}

/// A refused import: every problem, with its row; nothing was written.
pub fn refused(errors: &[RowError]) -> ServiceError {
    let mut message = format!("导入失败，未写入任何数据。发现 {} 个问题：", errors.len());
    for e in errors {
        message.push_str("\n  ");
        message.push_str(&e.to_string());
    }
    let mut e = ServiceError::new(ErrorCode::InvalidFile, message);
    e.details = errors.iter().map(|e| e.to_string()).collect();
    e
}

/// Imports a registry file (administrators only): checked whole first, written in
/// one transaction or not at all.
pub async fn import(
    p: &Platform,
    actor: &Actor,
    now: DateTime<Utc>,
    bytes: &[u8],
) -> ServiceResult<Imported> {
    actor.require(&[Role::Admin])?;
    let catalogue = super::plans::catalogue(p).await?;
    let (kind, import) = parse_file(bytes, &catalogue).map_err(|e| refused(&e))?;
    let unplaced = unplaced(p, &import).await?;
    if !unplaced.is_empty() {
        return Err(refused(&unplaced));
    }
    let counts = p.store.import_registry(&actor.stamp(now), import).await?;
    Ok(Imported {
        kind: kind.name(),
        counts,
    })
}

/// The registry (检查对象名录库): every district for an administrator, a team
/// lead's own district; inspectors see theirs through their tasks.
pub async fn list_institutions(p: &Platform, actor: &Actor) -> ServiceResult<Vec<Institution>> {
    actor.require(&[Role::Admin, Role::TeamLead])?;
    let all = p.store.list_institutions().await?;
    Ok(match &actor.user {
        Some(u) if u.role != Role::Admin => all
            .into_iter()
            .filter(|i| i.district == u.district)
            .collect(),
        _ => all,
    })
}

/// One inspection campaign of an institution (名录库's history).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub plan_id: String,
    pub plan_version: u32,
    pub task_id: uuid::Uuid,
    pub checklist: String,
    /// None: drawn, not started.
    pub status: Option<jiandu_core::inspection::InspectionStatus>,
    /// The public result (抽查未发现问题 / 发现问题已责令改正 / 行政处罚 / 无法联系).
    pub result: Option<String>,
    pub inspected_on: Option<chrono::NaiveDate>,
    /// Inspectors' names.
    pub inspectors: Vec<String>,
}

/// An institution and every time it was drawn (`GET /institutions/{id}`).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InstitutionHistory {
    pub institution: Institution,
    pub history: Vec<HistoryEntry>,
}

/// An institution with its inspection history, if the actor may see it
/// (administrators; a team lead in their district).
pub async fn history(
    p: &Platform,
    actor: &Actor,
    id: uuid::Uuid,
) -> ServiceResult<InstitutionHistory> {
    let institution = list_institutions(p, actor)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| ServiceError::not_found(format!("单位 {id} 不存在")))?;
    let tasks: Vec<crate::model::StoredTask> = p
        .store
        .tasks_for(None, None)
        .await?
        .into_iter()
        .filter(|t| t.institution_id == id)
        .collect();
    let ids: Vec<uuid::Uuid> = tasks.iter().map(|t| t.id).collect();
    let inspections: HashMap<uuid::Uuid, jiandu_core::Inspection> = p
        .store
        .inspections_of_tasks(&ids)
        .await?
        .into_iter()
        .map(|i| (i.inspection.task_id, i.inspection))
        .collect();
    let user_ids: Vec<uuid::Uuid> = tasks.iter().flat_map(|t| t.inspectors.clone()).collect();
    let names: HashMap<uuid::Uuid, String> = p
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let history = tasks
        .iter()
        .map(|t| {
            let i = inspections.get(&t.id);
            HistoryEntry {
                plan_id: t.plan_id.clone(),
                plan_version: t.plan_version,
                task_id: t.id,
                checklist: t.checklist.clone(),
                status: i.map(|i| i.status),
                result: i
                    .filter(|i| i.status == jiandu_core::inspection::InspectionStatus::Approved)
                    .and_then(|i| i.outcome.as_ref())
                    .map(|o| o.category.label().to_owned()),
                inspected_on: i.and_then(|i| i.ended_at).map(|t| t.date_naive()),
                inspectors: t
                    .inspectors
                    .iter()
                    .filter_map(|u| names.get(u).cloned())
                    .collect(),
            }
        })
        .collect();
    Ok(InstitutionHistory {
        institution,
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> Catalogue {
        jiandu_core::templates::TemplateSet::builtin()
            .expect("builtin templates")
            .catalogue
    }

    const HEADER: &str =
        "名称,统一社会信用代码,执业许可证登记号,类别,区县,地址,法定代表人,联系电话\n";

    #[test]
    fn imports_good_institutions_with_bom_and_names() {
        let csv = format!(
            "\u{feff}{HEADER}太原市第一人民医院,12140000MB1234567{},PDY00001,hospital,小店区,太原市小店区某路1号,张三,0351-1234567\n\
             杏花岭社区诊所,91330100716105852f,PDY00002,诊所,杏花岭区,某街2号,李四,13800138000\n",
            credit_code::check_char("12140000MB1234567").expect("check char")
        );
        let (kind, import) = parse_csv(csv.as_bytes(), &catalogue()).expect("valid file");
        assert_eq!(kind, ListKind::Institutions);
        assert_eq!(import.institutions.len(), 2);
        assert_eq!(import.institutions[1].category.as_str(), "clinic");
        assert_eq!(import.institutions[1].credit_code, "91330100716105852F");
    }

    #[test]
    fn reports_every_bad_row_with_its_number() {
        let csv = format!(
            "{HEADER}好医院,914403001922038216,P1,hospital,小店区,地址,张三,0351-1234567\n\
             坏代码,914403001922038217,P2,hospital,小店区,地址,张三,0351-1234567\n\
             ,91330100716105852F,P3,不存在的类别,小店区,地址,张三,电话\n\
             重复,914403001922038216,P4,clinic,小店区,地址,张三,0351-1234567\n"
        );
        let errors = parse_csv(csv.as_bytes(), &catalogue()).expect_err("bad rows");
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|e| e.starts_with("第 3 行") && e.contains("校验位")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("第 4 行") && e.contains("名称")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("第 4 行") && e.contains("不存在的类别")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("第 4 行") && e.contains("联系电话")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("第 5 行") && e.contains("与第 2 行重复")),
            "{text:?}"
        );
        assert!(!text.iter().any(|e| e.starts_with("第 2 行")), "{text:?}");
    }

    #[test]
    fn staff_and_penalised_lists() {
        let csv = "姓名,执法证号,科室,区县,回避单位\n王五,SX-0001,监督一科,小店区,914403001922038216；91330100716105852F\n赵六,SX-0002,监督一科,小店区,\n";
        let (kind, import) = parse_csv(csv.as_bytes(), &catalogue()).expect("staff");
        assert_eq!(kind, ListKind::Staff);
        assert_eq!(import.staff[0].conflicts.len(), 2);
        assert_eq!(import.staff[1].username, "SX-0002");
        let bad = "姓名,执法证号,科室,区县,回避单位\n王五,SX 0001,监督一科,小店区,123\n";
        let errors = parse_csv(bad.as_bytes(), &catalogue()).expect_err("bad staff");
        assert_eq!(errors.len(), 2, "{errors:?}");
        let p = "专项代码,统一社会信用代码,备注\nmed-2023,914403001922038216,罚款\n";
        let (kind, import) = parse_csv(p.as_bytes(), &catalogue()).expect("penalised");
        assert_eq!(kind, ListKind::Penalised);
        assert_eq!(import.penalised.len(), 1);
    }

    #[test]
    fn penalised_units_without_a_credit_code_join_the_registry_masked() {
        let p = "专项代码,统一社会信用代码,名称,地址,类别,区县,证件号码,备注\n\
                 beauty-2023,,丽人美容店,迎泽区新建路1号,非医疗机构,迎泽区,140105199001011234,非法医疗美容\n\
                 beauty-2023,,无名美容工作室,小店区亲贤街2号,non_medical,小店区,,\n\
                 med-2023,914403001922038216,,,,,,罚款\n";
        let (kind, import) = parse_csv(p.as_bytes(), &catalogue()).expect("penalised");
        assert_eq!(kind, ListKind::Penalised);
        assert_eq!(import.penalised.len(), 3, "{:?}", import.penalised);
        assert_eq!(import.institutions.len(), 2);
        let first = &import.institutions[0];
        assert_eq!(
            first.credit_code,
            "丽人美容店|迎泽区新建路1号|1401**********1234"
        );
        assert_eq!(first.category.as_str(), "non_medical");
        assert_eq!(
            import.institutions[1].credit_code,
            "无名美容工作室|小店区亲贤街2号|"
        );
        assert_eq!(import.penalised[0].credit_code, first.credit_code);
        // The full ID number is nowhere in what would be written.
        assert!(!format!("{import:?}").contains("199001011234"));
        // A row with neither a credit code nor name, address, category and district.
        let bad = "专项代码,统一社会信用代码,名称,地址\nbeauty-2023,,丽人美容店,\n";
        let errors = parse_csv(bad.as_bytes(), &catalogue()).expect_err("incomplete");
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter()
                .any(|e| e.starts_with("第 2 行：") && e.contains("“地址”")),
            "{text:?}"
        );
        assert!(text.iter().any(|e| e.contains("“类别”")), "{text:?}");
    }

    #[test]
    fn rejects_unknown_headers_non_utf8_and_empty_files() {
        assert!(parse_csv("foo,bar\n1,2\n".as_bytes(), &catalogue()).is_err());
        assert!(parse_csv(&[0xff, 0xfe, 0x00], &catalogue()).is_err());
        assert!(parse_csv(HEADER.as_bytes(), &catalogue()).is_err());
        let missing = "名称,统一社会信用代码\n甲,914403001922038216\n";
        let e = parse_csv(missing.as_bytes(), &catalogue()).expect_err("missing columns");
        assert!(
            e.iter().any(|e| e.message.contains("执业许可证登记号")),
            "{e:?}"
        );
    }
}
