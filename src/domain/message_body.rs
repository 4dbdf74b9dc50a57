//! Message bodies.

use super::invalid_input::{InvalidInput, check_length};

/// A message body: 1–4,000 characters, not only whitespace, kept exactly as
/// sent (no trimming: leading spaces may be meaningful, e.g. in code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        check_length("body", raw, 1, 4000)?;
        if raw.chars().all(char::is_whitespace) {
            return Err(InvalidInput::new("body must not be only whitespace"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_body_exactly() {
        assert_eq!(MessageBody::parse("  hi\n").unwrap().as_str(), "  hi\n");
    }

    #[test]
    fn bounds_and_whitespace() {
        assert!(MessageBody::parse("").is_err());
        assert!(MessageBody::parse(" \u{2003}\n").is_err());
        assert!(MessageBody::parse(&"😀".repeat(4000)).is_ok());
        assert!(MessageBody::parse(&"a".repeat(4001)).is_err());
    }
}
