//! Errors of document rendering.

/// Why a document could not be rendered. Bad content (missing photos, characters the
/// font lacks, huge texts) is never an error: it is drawn as a visible mark.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The PDF writer failed; a defect, not bad input.
    #[error("生成PDF失败：{0}")]
    Pdf(String),
    /// The input is inconsistent in a way no rendering can fix.
    #[error("文书内容不完整：{0}")]
    Invalid(String),
}

impl DocError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DocError::Pdf(_) => "pdf_failed",
            DocError::Invalid(_) => "invalid_document",
        }
    }
}
