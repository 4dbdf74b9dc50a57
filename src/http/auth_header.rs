//! Reading the viewer from an `Authorization: Bearer` value.

use crate::auth::{Tokens, Viewer};

/// The viewer a header value (or a WebSocket payload field) establishes.
/// A value that is present but not a valid bearer token is `Invalid`, so
/// resolvers can tell "log in" from "your token is bad".
pub fn viewer_from_authorization(tokens: &Tokens, value: Option<&str>) -> Viewer {
    let Some(value) = value else {
        return Viewer::Anonymous;
    };
    match bearer_token(value).map(|t| tokens.verify(t)) {
        Some(Ok(grant)) => Viewer::User(grant.user),
        Some(Err(error)) => {
            tracing::debug!(%error, "refused bearer token");
            Viewer::Invalid
        }
        None => Viewer::Invalid,
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
