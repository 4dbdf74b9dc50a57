//! Why an input was refused, and the length rule most inputs share.

/// Why an input was refused; shown to the client as a BAD_USER_INPUT message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Checks that `value` has between `min` and `max` code points.
pub(super) fn check_length(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), InvalidInput> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(InvalidInput::new(format!(
            "{field} must be {min}–{max} characters long (got {len})"
        )));
    }
    Ok(())
}
