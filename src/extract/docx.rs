//! DOCX (being integrated).
use crate::document::{Extracted, Limits};
use crate::error::ExtractError;
pub fn extract_docx(_bytes: &[u8], _limits: &Limits) -> Result<Extracted, ExtractError> {
    Err(ExtractError::Skipped(
        "DOCX extraction not built in yet".into(),
    ))
}
