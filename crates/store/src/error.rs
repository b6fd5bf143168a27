//! Errors of the device store.
//!
//! Every variant has a stable [`StoreError::code`] for machines (the UI matches codes,
//! never strings) and a Chinese `Display` for the person holding the tablet. Rule
//! violations from jiandu-core pass through unchanged, with their own codes
//! (`locked`, `wrong_state`, `unknown_point`, …).

use jiandu_core::RuleViolation;
use std::path::PathBuf;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the change (nothing was written).
    #[error(transparent)]
    Rule(#[from] RuleViolation),

    /// The database was created by a newer app version; opening it with this one
    /// could misread or damage it.
    #[error(
        "该数据库由更新版本的监督 App 创建（版本 {found}），当前版本只支持到 {supported}，请升级 App"
    )]
    NewerDatabase { found: i64, supported: i64 },

    /// The file is damaged (truncated, overwritten, not a database). It is left
    /// exactly as it was, so it can still be rescued.
    #[error("{}", corrupt_message(path, detail))]
    Corrupt { path: PathBuf, detail: String },

    /// A valid SQLite file, but not one of ours.
    #[error("该文件不是监督 App 的数据库（{}），未做任何修改", path.display())]
    ForeignDatabase { path: PathBuf },

    /// No such record.
    #[error("未找到{what}（{id}）")]
    NotFound { what: &'static str, id: String },

    /// The task names a plan version this device does not have (not received
    /// yet), or one it cannot read (an app too old for it): `why` says which.
    #[error("{why}")]
    UnknownPlan { plan: String, why: String },

    /// The task names a checklist its plan does not have.
    #[error("检查计划“{plan}”中没有检查表“{checklist}”")]
    UnknownChecklist { plan: String, checklist: String },

    /// The institution's category is not in the category catalogue.
    #[error("未知的机构类别“{0}”")]
    UnknownCategory(String),

    /// The institution's category is not one the checklist inspects.
    #[error("机构类别“{category}”不在检查表“{checklist}”的抽查对象中")]
    CategoryNotInChecklist { category: String, checklist: String },

    /// A file (photo, signature) is larger than the app accepts.
    #[error("文件过大（{size} 字节），最多 {max} 字节，请降低拍摄分辨率后重拍")]
    TooLarge { size: u64, max: u64 },

    /// A file or value is not what it claims to be (not a PNG, empty photo, bad
    /// coordinates, unknown media type, …).
    #[error("{0}")]
    Invalid(String),

    /// The photo or signature was already voided.
    #[error("该照片已作废，不能再次作废")]
    AlreadyVoided,

    /// SQLite failed (disk full, I/O error, …).
    #[error("本地数据库出错：{0}")]
    Sqlite(rusqlite::Error),

    /// A file operation failed.
    #[error("读写文件出错（{}）：{source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The data is encrypted and the key given does not open it (or none was
    /// given): nothing was read or changed.
    #[error("本机数据已加密，无法用当前密钥打开")]
    KeyMismatch,

    /// A key was given but the database is still plain (the PIN was set and the
    /// encryption did not finish): the app encrypts it first.
    #[error("本机数据库尚未加密，请先设置 PIN 码完成加密")]
    NotEncrypted,

    /// A stored value could not be read back (a defect or outside tampering).
    #[error("本地数据格式错误：{0}")]
    Data(String),
}

impl StoreError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rule(r) => r.code(),
            Self::NewerDatabase { .. } => "db_newer",
            Self::Corrupt { .. } => "db_corrupt",
            Self::ForeignDatabase { .. } => "db_foreign",
            Self::NotFound { .. } => "not_found",
            Self::UnknownPlan { .. } => "unknown_plan",
            Self::UnknownChecklist { .. } => "unknown_checklist",
            Self::UnknownCategory(_) => "unknown_category",
            Self::CategoryNotInChecklist { .. } => "category_not_in_checklist",
            Self::TooLarge { .. } => "too_large",
            Self::Invalid(_) => "invalid",
            Self::AlreadyVoided => "already_voided",
            Self::Sqlite(_) => "storage",
            Self::Io { .. } => "io",
            Self::Data(_) => "data",
            Self::KeyMismatch => "key_mismatch",
            Self::NotEncrypted => "db_not_encrypted",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }
}

fn corrupt_message(path: &std::path::Path, detail: &str) -> String {
    if path.as_os_str().is_empty() {
        // Found while working (not at open): the file is in use, so it is not
        // "left untouched" in the same sense; say what matters to the person.
        format!("本地数据文件已损坏，请停止录入并联系管理员恢复。详情：{detail}")
    } else {
        format!(
            "本地数据文件已损坏，无法打开（{}）。文件已原样保留，未做任何修改，请联系管理员恢复。详情：{detail}",
            path.display()
        )
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match e.sqlite_error_code() {
            // A damaged file discovered after opening: same code as at open.
            Some(DatabaseCorrupt | NotADatabase) => Self::Corrupt {
                path: PathBuf::new(),
                detail: e.to_string(),
            },
            _ => Self::Sqlite(e),
        }
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
