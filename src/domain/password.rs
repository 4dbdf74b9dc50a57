//! Passwords as received, before hashing.

use super::invalid_input::{InvalidInput, check_length};

/// A password of 8–128 characters. Its `Debug` never prints the secret.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        check_length("password", raw, 8, 128)?;
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_count_code_points() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"é".repeat(129)).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        assert_eq!(
            format!("{:?}", Password::parse("hunter2hunter2").unwrap()),
            "Password(***)"
        );
    }
}
