//! Bearer tokens: HS256 JWTs with `sub` (the user id) and `exp`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::UserId;
use crate::store::now_ms;

/// Clock skew tolerated between processes when checking `exp`.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
}

/// Why a token was refused. All variants mean UNAUTHENTICATED to clients;
/// the distinction is for logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("token invalid: {0}")]
    Invalid(String),
}

/// Issues and verifies tokens with one shared secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl Tokens {
    /// Refuses a secret the JWT library cannot use (such as an empty one).
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self, TokenError> {
        // Only HS256 is accepted: `Validation::new` pins the algorithm, so
        // `alg: none` or an asymmetric algorithm in the header is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let bad_key = |e: jsonwebtoken::errors::Error| TokenError::Invalid(e.to_string());
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(bad_key)?,
            decoding: DecodingKey::from_secret(secret).map_err(bad_key)?,
            validation,
            ttl,
        })
    }

    /// A token for `user`, valid for the configured lifetime.
    pub fn issue(&self, user: &UserId) -> Result<String, TokenError> {
        let now = now_ms() / 1000;
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// The user a token names, with the token's expiry (seconds since the
    /// Unix epoch), when it is genuine and unexpired.
    pub fn verify(&self, token: &str) -> Result<(UserId, u64), TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })?;
        let user = UserId::parse(&data.claims.sub)
            .ok_or_else(|| TokenError::Invalid("sub is not a user id".into()))?;
        Ok((user, data.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(b"test secret", Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn issued_tokens_verify() {
        let user = UserId::generate();
        let token = tokens().issue(&user).unwrap();
        assert_eq!(tokens().verify(&token).unwrap().0, user);
    }

    #[test]
    fn another_secret_is_refused() {
        let token = tokens().issue(&UserId::generate()).unwrap();
        let other = Tokens::new(b"other secret", Duration::from_secs(60)).unwrap();
        assert!(matches!(other.verify(&token), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn expired_tokens_are_refused_beyond_the_leeway() {
        let claims = Claims {
            sub: UserId::generate().to_string(),
            iat: 0,
            exp: now_ms() / 1000 - LEEWAY_SECS - 2,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"test secret").unwrap(),
        )
        .unwrap();
        assert_eq!(tokens().verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_without_exp_or_with_another_hmac_is_refused() {
        let key = EncodingKey::from_secret(b"test secret").unwrap();
        let sub = UserId::generate().to_string();
        let no_exp = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({ "sub": sub }),
            &key,
        )
        .unwrap();
        assert!(tokens().verify(&no_exp).is_err());
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &serde_json::json!({ "sub": sub, "exp": now_ms() / 1000 + 600 }),
            &key,
        )
        .unwrap();
        assert!(tokens().verify(&hs512).is_err());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        // {"alg":"none","typ":"JWT"} . {"sub":..., "exp": far future} . (empty)
        let sub = UserId::generate();
        let b64 = |s: String| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        let token = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#.into()),
            b64(format!(r#"{{"sub":"{sub}","exp":9999999999}}"#))
        );
        assert!(tokens().verify(&token).is_err());
    }
}
