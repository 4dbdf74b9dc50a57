//! `createStreamToken`: a short-lived token a browser puts in the URL of
//! an `EventSource`, which cannot send an `Authorization` header.
//!
//! Why not the access token itself: a URL ends up in places a header does
//! not (browser history, proxy logs), so what it carries is made to be
//! worth less there — it opens GET event streams and nothing else (no
//! mutation, no query over `/graphql`), it lives minutes, and it belongs
//! to the caller's session, so signing out ends it too.

use std::time::Duration;

use async_graphql::{Context, Object, SimpleObject};

use super::context::{caller_session, tokens, viewer};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;

/// How long stream tokens live, injected into the schema.
#[derive(Debug, Clone, Copy)]
pub struct StreamTokenLifetime(pub Duration);

/// A token for `GET /graphql/stream?token=…`.
#[derive(SimpleObject)]
pub struct StreamToken {
    /// Pass as the `token` query parameter of a GET event stream; it authenticates nothing else.
    token: String,
    /// When `token` stops opening streams; a stream opened with it ends then too.
    expires_at: DateTime,
}

#[derive(Default)]
pub struct StreamTokenMutation;

#[Object]
impl StreamTokenMutation {
    /// A short-lived token that opens GET event streams (for a browser's EventSource, which cannot send headers).
    async fn create_stream_token(&self, ctx: &Context<'_>) -> ApiResult<StreamToken> {
        let user = viewer(ctx)?;
        let lifetime = ctx
            .data::<StreamTokenLifetime>()
            .map_err(|e| ApiError::internal(e.message))?;
        let issued = tokens(ctx)?
            .issue_stream(&user, caller_session(ctx), lifetime.0)
            .map_err(ApiError::internal)?;
        Ok(StreamToken {
            token: issued.token,
            expires_at: DateTime(issued.expires_at),
        })
    }
}
