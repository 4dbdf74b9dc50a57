//! Account names.

use super::invalid_input::{InvalidInput, check_length};

/// A username: 3–32 characters of `A–Z a–z 0–9 _ . -`, shown as typed and
/// compared ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        check_length("username", raw, 3, 32)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if !raw.chars().all(allowed) {
            return Err(InvalidInput::new(
                "username may only contain letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The name as the user typed it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups. Usernames are ASCII, so
    /// ASCII lowercasing is the whole of "ignoring case".
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet_at_both_length_bounds() {
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert_eq!(Username::parse("Ann_B.c-9").unwrap().as_str(), "Ann_B.c-9");
    }

    #[test]
    fn rejects_bad_lengths_and_characters() {
        for raw in ["ab", &"a".repeat(33), "has space", "émile", "a@b", ""] {
            assert!(Username::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn canonical_form_ignores_case() {
        assert_eq!(Username::parse("AlIcE").unwrap().canonical(), "alice");
    }
}
