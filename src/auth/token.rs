//! Access tokens: HS256 JWTs with `sub` (the user id), `exp`, and `sid`
//! (the session, absent from tokens minted elsewhere with the shared
//! secret, which have no session to end).
//!
//! A token is valid while the clock is before its `exp`, to the
//! millisecond, with no leeway: [`Grant::remaining`] is that one predicate,
//! and HTTP, `connection_init` and the timer that closes an open socket all
//! ask it, so a client that is refused on one path is refused on every
//! path. (A leeway on one path only let a token closed out of its socket
//! with 4403 still answer over HTTP and be acknowledged again at once.)
//! Processes sharing a secret are expected to keep their clocks in sync,
//! as NTP does to well under a second.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{SessionId, UserId};
use crate::store::{Millis, now_ms};

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// [`STREAM_AUDIENCE`] on stream tokens; absent on access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// The audience of stream tokens: they open GET event streams and do
/// nothing else, and access tokens do not open streams from a URL.
const STREAM_AUDIENCE: &str = "stream";

/// Refresh tokens' lifetime unless set: thirty days.
const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// A token just issued, with its expiry.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    /// The token's `exp`, in milliseconds since the Unix epoch.
    pub expires_at: Millis,
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

/// A genuine, unexpired token: whose it is and until when it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user: UserId,
    /// The token's `exp`, in milliseconds since the Unix epoch.
    pub expires_at: Millis,
    /// The session the token belongs to; `None` for a token minted by
    /// another service sharing the secret.
    pub session: Option<SessionId>,
}

impl Grant {
    /// How long the token stays valid after `now` (milliseconds since the
    /// Unix epoch); `None` once `now` has reached its `exp`. The only test
    /// of a token's age anywhere.
    pub fn remaining(&self, now: Millis) -> Option<Duration> {
        let left = self.expires_at.checked_sub(now)?;
        (left > 0).then(|| Duration::from_millis(left))
    }
}

/// Issues and verifies tokens with one shared secret.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    /// Lifetime of each refresh token, from its issue.
    refresh_ttl: Duration,
}

impl Tokens {
    /// Refuses a secret the JWT library cannot use (such as an empty one).
    pub fn new(secret: &[u8], ttl: Duration) -> Result<Self, TokenError> {
        // Only HS256 is accepted: `Validation::new` pins the algorithm, so
        // `alg: none` or an asymmetric algorithm in the header is refused.
        // `exp` is required here but checked by `Grant::remaining`, to the
        // millisecond, rather than by the library in whole seconds.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // The audience is told apart by `verify` and `verify_stream`.
        validation.validate_aud = false;
        let bad_key = |e: jsonwebtoken::errors::Error| TokenError::Invalid(e.to_string());
        Ok(Self {
            encoding: EncodingKey::from_secret(secret).map_err(bad_key)?,
            decoding: DecodingKey::from_secret(secret).map_err(bad_key)?,
            validation,
            ttl,
            refresh_ttl: DEFAULT_REFRESH_LIFETIME,
        })
    }

    /// The same, with refresh tokens living `ttl` from their issue.
    pub fn with_refresh_lifetime(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// How long a refresh token issued now may be used.
    pub fn refresh_lifetime(&self) -> Duration {
        self.refresh_ttl
    }

    /// A token for `user` in `session`, valid for the configured lifetime.
    pub fn issue(&self, user: &UserId, session: &SessionId) -> Result<Issued, TokenError> {
        self.sign(user, Some(session), self.ttl, None)
    }

    /// A stream token: it authenticates GET event streams only (passed in
    /// the URL, where a browser's `EventSource` can put it), for `ttl` (at
    /// most an access token's lifetime, so an ended session's stream
    /// tokens are refused as long as its access tokens are).
    pub fn issue_stream(
        &self,
        user: &UserId,
        session: Option<&SessionId>,
        ttl: Duration,
    ) -> Result<Issued, TokenError> {
        self.sign(user, session, ttl.min(self.ttl), Some(STREAM_AUDIENCE))
    }

    fn sign(
        &self,
        user: &UserId,
        session: Option<&SessionId>,
        ttl: Duration,
        audience: Option<&str>,
    ) -> Result<Issued, TokenError> {
        let now = now_ms();
        // `exp` is in whole seconds: rounded up, so a token lives at least
        // its configured lifetime (rounded down, a 3 s token lived 2–3 s).
        let exp = (now + ttl.as_millis() as u64).div_ceil(1000);
        let claims = Claims {
            sub: user.to_string(),
            iat: now / 1000,
            exp,
            sid: session.map(ToString::to_string),
            aud: audience.map(str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        Ok(Issued {
            token,
            expires_at: exp * 1000,
        })
    }

    /// How long a token issued now stays valid: the longest an ended
    /// session's tokens must go on being refused.
    pub fn lifetime(&self) -> Duration {
        self.ttl
    }

    /// What an access token grants now, when it is genuine and unexpired.
    pub fn verify(&self, token: &str) -> Result<Grant, TokenError> {
        self.verify_at(token, now_ms(), None)
    }

    /// What a stream token grants now, when it is genuine and unexpired.
    pub fn verify_stream(&self, token: &str) -> Result<Grant, TokenError> {
        self.verify_at(token, now_ms(), Some(STREAM_AUDIENCE))
    }

    /// A token of `audience` (`None`: an access token) as of `now`
    /// (milliseconds since the Unix epoch).
    fn verify_at(
        &self,
        token: &str,
        now: Millis,
        audience: Option<&str>,
    ) -> Result<Grant, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        if data.claims.aud.as_deref() != audience {
            return Err(TokenError::Invalid("a token for another use".into()));
        }
        let user = UserId::parse(&data.claims.sub)
            .ok_or_else(|| TokenError::Invalid("sub is not a user id".into()))?;
        let session = match data.claims.sid {
            Some(sid) => Some(
                SessionId::parse(&sid)
                    .ok_or_else(|| TokenError::Invalid("sid is not a session id".into()))?,
            ),
            None => None,
        };
        let grant = Grant {
            user,
            expires_at: data.claims.exp.saturating_mul(1000),
            session,
        };
        match grant.remaining(now) {
            Some(_) => Ok(grant),
            None => Err(TokenError::Expired),
        }
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
        let (user, session) = (UserId::generate(), SessionId::generate());
        let issued = tokens().issue(&user, &session).unwrap();
        let grant = tokens().verify(&issued.token).unwrap();
        assert_eq!(grant.user, user);
        assert_eq!(grant.session, Some(session));
        assert_eq!(grant.expires_at, issued.expires_at);
        let lifetime = issued.expires_at - now_ms();
        assert!(
            (59_990..61_000).contains(&lifetime),
            "{lifetime} ms: at least the lifetime, under a second more"
        );
    }

    #[test]
    fn another_secret_is_refused() {
        let token = tokens()
            .issue(&UserId::generate(), &SessionId::generate())
            .unwrap()
            .token;
        let other = Tokens::new(b"other secret", Duration::from_secs(60)).unwrap();
        assert!(matches!(other.verify(&token), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn stream_tokens_and_access_tokens_do_not_stand_in_for_each_other() {
        let (user, session) = (UserId::generate(), SessionId::generate());
        let stream = tokens()
            .issue_stream(&user, Some(&session), Duration::from_secs(30))
            .unwrap();
        let access = tokens().issue(&user, &session).unwrap();

        let granted = tokens().verify_stream(&stream.token).unwrap();
        assert_eq!(granted.user, user);
        assert_eq!(granted.session, Some(session));
        assert!(matches!(
            tokens().verify(&stream.token),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            tokens().verify_stream(&access.token),
            Err(TokenError::Invalid(_))
        ));
    }

    /// A token expiring at `exp` (seconds).
    fn token_expiring(exp: u64) -> String {
        let claims = Claims {
            sub: UserId::generate().to_string(),
            iat: 0,
            exp,
            sid: None,
            aud: None,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"test secret").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_token_is_valid_until_the_millisecond_of_its_exp_and_no_longer() {
        let exp = now_ms() / 1000 + 100;
        let token = token_expiring(exp);
        let at = |ms: Millis| tokens().verify_at(&token, ms, None);

        let before = at(exp * 1000 - 1).unwrap();
        assert_eq!(
            before.remaining(exp * 1000 - 1),
            Some(Duration::from_millis(1))
        );
        assert_eq!(at(exp * 1000), Err(TokenError::Expired));
        assert_eq!(at(exp * 1000 + 1), Err(TokenError::Expired));
        assert_eq!(at(exp * 1000 + 60_000), Err(TokenError::Expired));
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
