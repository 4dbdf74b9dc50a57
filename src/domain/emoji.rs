//! Reaction emoji.

use super::invalid_input::InvalidInput;

/// The longest emoji accepted, in UTF-8 bytes: room for the longest ZWJ
/// sequences (family emoji with skin tones) and for `:shortcode:` names.
pub const MAX_EMOJI_BYTES: usize = 64;

/// A reaction's emoji: 1–64 UTF-8 bytes with no Unicode White_Space and no
/// control character (Cc). It is any such string, not only a pictograph
/// (`:+1:` is fine), and is compared byte for byte: `👍` and `:+1:` are
/// different reactions, and no normalisation is applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Emoji(String);

impl Emoji {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > MAX_EMOJI_BYTES {
            return Err(InvalidInput::new(format!(
                "emoji must be 1–{MAX_EMOJI_BYTES} bytes of UTF-8 (got {})",
                raw.len()
            )));
        }
        // `char::is_whitespace` is Unicode White_Space; `is_control` is Cc.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidInput::new(
                "emoji must not contain whitespace or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Wraps an emoji read back from storage, which we validated on write.
    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_count_bytes() {
        assert!(Emoji::parse("").is_err());
        assert!(Emoji::parse(&"x".repeat(64)).is_ok());
        assert!(Emoji::parse(&"x".repeat(65)).is_err());
        // 16 four-byte emoji are 64 bytes; a 17th is past the bound.
        assert!(Emoji::parse(&"😀".repeat(16)).is_ok());
        assert!(Emoji::parse(&"😀".repeat(17)).is_err());
    }

    #[test]
    fn whitespace_and_controls_are_refused() {
        for raw in ["a b", "\u{a0}", "👍\n", "\u{7}", "\u{3000}"] {
            assert!(Emoji::parse(raw).is_err(), "{raw:?}");
        }
        // ZWJ sequences and shortcodes are fine.
        assert!(Emoji::parse("👩\u{200d}💻").is_ok());
        assert!(Emoji::parse(":+1:").is_ok());
    }
}
