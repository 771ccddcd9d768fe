//! PDF (being integrated).
use crate::document::{Extracted, Limits};
use crate::error::ExtractError;
pub fn extract_pdf(_bytes: &[u8], _limits: &Limits) -> Result<Extracted, ExtractError> {
    Err(ExtractError::Skipped(
        "PDF extraction not built in yet".into(),
    ))
}
