//! Authentication at `connection_init`: the token in its payload.
//!
//! Browsers cannot set headers on a WebSocket upgrade, so clients put the
//! bearer value in the init payload instead, in one of a few shapes (the
//! contract names them): `{"authorization": ..}`, `{"Authorization": ..}`,
//! or `{"headers": {"Authorization": ..}}` as Apollo's and urql's
//! `connectionParams` often carry it.

use serde_json::Value;

use crate::auth::{Grant, Tokens};
use crate::http::auth_header::bearer_token;

/// What a connection_init payload's token grants, or `None` when it
/// carries no token or one that does not verify. The socket is closed with
/// 4403 when the grant runs out.
pub fn authenticate(tokens: &Tokens, payload: Option<&Value>) -> Option<Grant> {
    let Some(value) = authorization(payload) else {
        tracing::debug!("connection_init without an authorization value");
        return None;
    };
    let token = bearer_token(value)?;
    match tokens.verify(token) {
        Ok(grant) => Some(grant),
        Err(error) => {
            tracing::debug!(%error, "refused connection_init token");
            None
        }
    }
}

/// The `Authorization` value of a payload, from any of the accepted shapes.
fn authorization(payload: Option<&Value>) -> Option<&str> {
    let payload = payload?.as_object()?;
    either_case(payload).or_else(|| either_case(payload.get("headers")?.as_object()?))
}

/// The string under `authorization` or `Authorization`.
fn either_case(object: &serde_json::Map<String, Value>) -> Option<&str> {
    object
        .get("authorization")
        .or_else(|| object.get("Authorization"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::domain::{SessionId, UserId};

    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(b"init payload test secret", Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn every_accepted_shape_yields_the_value() {
        for payload in [
            json!({ "authorization": "Bearer t" }),
            json!({ "Authorization": "Bearer t" }),
            json!({ "headers": { "Authorization": "Bearer t" } }),
            json!({ "headers": { "authorization": "Bearer t" } }),
        ] {
            assert_eq!(authorization(Some(&payload)), Some("Bearer t"), "{payload}");
        }
    }

    #[test]
    fn other_shapes_yield_nothing() {
        for payload in [
            json!(null),
            json!("Bearer t"),
            json!({ "token": "Bearer t" }),
            json!({ "authorization": 42 }),
            json!({ "headers": "Bearer t" }),
        ] {
            assert_eq!(authorization(Some(&payload)), None, "{payload}");
        }
        assert_eq!(authorization(None), None);
    }

    #[test]
    fn a_valid_token_gives_its_user_and_expiry() {
        let user = UserId::generate();
        let token = tokens().issue(&user, &SessionId::generate()).unwrap().token;
        let payload = json!({ "authorization": format!("Bearer {token}") });
        let grant = authenticate(&tokens(), Some(&payload)).unwrap();
        assert_eq!(grant.user, user);
        assert!(grant.remaining(crate::store::now_ms()).is_some());
    }

    #[test]
    fn a_token_without_the_bearer_scheme_or_forged_is_refused() {
        let token = tokens()
            .issue(&UserId::generate(), &SessionId::generate())
            .unwrap()
            .token;
        let bare = json!({ "authorization": token });
        assert_eq!(authenticate(&tokens(), Some(&bare)), None);
        let forged = json!({ "authorization": "Bearer not.a.jwt" });
        assert_eq!(authenticate(&tokens(), Some(&forged)), None);
    }
}
