//! Idempotency keys for `sendMessage`.

use super::invalid_input::{InvalidInput, check_length};

/// A client's idempotency key: 1–64 characters, compared exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        check_length("clientMessageId", raw, 1, 64)?;
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
    fn bounds() {
        assert!(ClientMessageId::parse("").is_err());
        assert!(ClientMessageId::parse(&"k".repeat(64)).is_ok());
        assert!(ClientMessageId::parse(&"k".repeat(65)).is_err());
    }
}
