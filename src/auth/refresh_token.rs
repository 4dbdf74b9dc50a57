//! Refresh tokens: random secrets that a session exchanges, once each, for
//! a new token pair.
//!
//! A refresh token is `r1.<session id>.<secret>`: the session it belongs to,
//! so it can be looked up without a scan, and 32 random bytes (base64url).
//! Only the secret's SHA-256 is stored. A fast hash is enough here, unlike
//! for passwords: the secret has 256 bits of entropy, so there is nothing
//! to guess from a leaked hash. The token never appears in logs: its
//! `Debug` shows the session only.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::{InvalidInput, SessionId};

/// The longest text accepted as a refresh token: anything longer is not
/// one of ours, and is refused before any parsing.
const MAX_LENGTH: usize = 256;

/// A refresh token, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub session: SessionId,
    secret: String,
}

/// A presented string that is not a refresh token (UNAUTHENTICATED), or is
/// too long to be one (BAD_USER_INPUT).
#[derive(Debug, PartialEq, Eq)]
pub enum BadRefreshToken {
    Malformed,
    TooLong(InvalidInput),
}

impl RefreshToken {
    /// A new token for `session`, with a fresh random secret.
    pub fn generate(session: &SessionId) -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self {
            session: session.clone(),
            secret: URL_SAFE_NO_PAD.encode(bytes),
        })
    }

    /// Parses a presented token.
    pub fn parse(text: &str) -> Result<Self, BadRefreshToken> {
        if text.len() > MAX_LENGTH {
            return Err(BadRefreshToken::TooLong(InvalidInput::new(format!(
                "a refresh token is at most {MAX_LENGTH} bytes"
            ))));
        }
        let mut parts = text.split('.');
        let (Some("r1"), Some(session), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadRefreshToken::Malformed);
        };
        let session = SessionId::parse(session).ok_or(BadRefreshToken::Malformed)?;
        let decoded = URL_SAFE_NO_PAD
            .decode(secret)
            .map_err(|_| BadRefreshToken::Malformed)?;
        if decoded.len() != 32 {
            return Err(BadRefreshToken::Malformed);
        }
        Ok(Self {
            session,
            secret: secret.to_owned(),
        })
    }

    /// What the store keeps: the secret's SHA-256, hex.
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.secret.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text handed to the client.
    pub fn text(&self) -> String {
        format!("r1.{}.{}", self.session, self.secret)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RefreshToken(session {}, secret redacted)", self.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_secret() {
        let session = SessionId::generate();
        let token = RefreshToken::generate(&session).unwrap();
        let parsed = RefreshToken::parse(&token.text()).unwrap();
        assert_eq!(parsed, token);
        assert_eq!(parsed.hash(), token.hash());
        assert_eq!(token.hash().len(), 64);
        assert!(!format!("{token:?}").contains(&token.secret));
        let other = RefreshToken::generate(&session).unwrap();
        assert_ne!(other.hash(), token.hash());
    }

    #[test]
    fn refuses_what_is_not_one() {
        let good = RefreshToken::generate(&SessionId::generate())
            .unwrap()
            .text();
        let truncated = &good[..good.len() - 1];
        let cases = [
            "",
            "r1",
            truncated,
            &good.replacen("r1", "r2", 1),
            &format!("{good}.x"),
            "r1.nothex.AAAA",
        ];
        for case in cases {
            assert_eq!(
                RefreshToken::parse(case),
                Err(BadRefreshToken::Malformed),
                "{case:?}"
            );
        }
        assert!(matches!(
            RefreshToken::parse(&"r".repeat(257)),
            Err(BadRefreshToken::TooLong(_))
        ));
    }
}
