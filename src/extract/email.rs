//! E-mail (being integrated).
use crate::document::{Extracted, Limits};
use crate::error::ExtractError;
pub fn extract_email(
    _bytes: &[u8],
    _limits: &Limits,
    _depth: u32,
) -> Result<Extracted, ExtractError> {
    Err(ExtractError::Skipped(
        "e-mail extraction not built in yet".into(),
    ))
}
pub fn extract_mbox(
    _bytes: &[u8],
    _limits: &Limits,
    _depth: u32,
) -> Result<Extracted, ExtractError> {
    Err(ExtractError::Skipped(
        "mbox extraction not built in yet".into(),
    ))
}
