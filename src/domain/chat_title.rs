//! Chat titles.

use super::invalid_input::{InvalidInput, check_length};

/// A chat title: stored trimmed, 1–200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTitle(String);

impl ChatTitle {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        // `str::trim` strips Unicode White_Space, as the contract asks.
        let trimmed = raw.trim();
        check_length("title", trimmed, 1, 200)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_measures_after_trimming() {
        assert_eq!(ChatTitle::parse("  hi \u{3000}").unwrap().as_str(), "hi");
        assert!(ChatTitle::parse(&format!("  {}  ", "x".repeat(200))).is_ok());
        assert!(ChatTitle::parse(&"x".repeat(201)).is_err());
        assert!(ChatTitle::parse(" \t\n\u{a0}").is_err());
    }
}
