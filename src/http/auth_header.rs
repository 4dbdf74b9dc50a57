//! Reading the viewer from an `Authorization: Bearer` value.

use crate::auth::{Grant, Tokens, Viewer};
use crate::sessions::Revocations;

/// The grant an `Authorization` header value establishes, as the viewer
/// it makes: `Anonymous` without a value; `Invalid` for a value that is not
/// a valid bearer token or whose session ended, so resolvers can tell "log
/// in" from "your token is bad"; `Unchecked` when whether its session ended
/// cannot be told now.
pub async fn authorize(
    tokens: &Tokens,
    revocations: &Revocations,
    value: Option<&str>,
) -> (Viewer, Option<Grant>) {
    let Some(value) = value else {
        return (Viewer::Anonymous, None);
    };
    match bearer_token(value).map(|t| tokens.verify(t)) {
        Some(Ok(grant)) => match revocations.refuses(&grant).await {
            Ok(false) => (Viewer::User(grant.user.clone()), Some(grant)),
            Ok(true) => {
                tracing::debug!("refused a token of an ended session");
                (Viewer::Invalid, None)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot tell whether the token's session ended");
                (Viewer::Unchecked, None)
            }
        },
        Some(Err(error)) => {
            tracing::debug!(%error, "refused bearer token");
            (Viewer::Invalid, None)
        }
        None => (Viewer::Invalid, None),
    }
}

/// The token of a `Bearer <token>` value, wherever it came from (the HTTP
/// header or a WebSocket connection_init payload).
pub fn bearer_token(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}
