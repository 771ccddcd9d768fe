//! HTML (being integrated).
use crate::document::{Extracted, Limits};
use crate::error::ExtractError;
pub fn extract_html(text: &str, _limits: &Limits) -> Extracted {
    super::text::extract_text(text.as_bytes(), 0, 1, true)
}
pub fn extract_xml(text: &str, _limits: &Limits) -> Result<Extracted, ExtractError> {
    Ok(super::text::extract_text(text.as_bytes(), 0, 1, true))
}
