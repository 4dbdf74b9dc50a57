//! What resolvers take from the request context.

use std::sync::Arc;

use async_graphql::Context;

use crate::auth::{Tokens, Viewer};
use crate::cursor::Cursor;
use crate::domain::UserId;
use crate::store::{LogId, Store};

use super::error::{ApiError, ApiResult};

/// The store injected into the schema.
pub fn store<'a>(ctx: &Context<'a>) -> ApiResult<&'a Arc<dyn Store>> {
    ctx.data::<Arc<dyn Store>>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The token service injected into the schema.
pub fn tokens<'a>(ctx: &Context<'a>) -> ApiResult<&'a Tokens> {
    ctx.data::<Tokens>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The authenticated user, or UNAUTHENTICATED.
pub fn viewer(ctx: &Context<'_>) -> ApiResult<UserId> {
    match ctx.data_opt::<Viewer>() {
        Some(Viewer::User(id)) => Ok(id.clone()),
        Some(Viewer::Invalid) => Err(ApiError::Unauthenticated(
            "the bearer token is invalid or expired",
        )),
        Some(Viewer::Anonymous) | None => Err(ApiError::Unauthenticated(
            "authentication required: send a bearer token",
        )),
    }
}

/// Parses a client's log cursor: malformed or of the other kind is
/// BAD_USER_INPUT, one from another epoch CURSOR_EXPIRED.
pub async fn log_position(ctx: &Context<'_>, cursor: &str) -> ApiResult<LogId> {
    match Cursor::decode(cursor)? {
        Cursor::Log { epoch, id } => {
            ensure_current_epoch(ctx, &epoch).await?;
            Ok(id)
        }
        Cursor::Chats { .. } => Err(ApiError::BadUserInput(
            "this is a chats cursor; a message or event cursor is needed here".to_owned(),
        )),
    }
}

/// CURSOR_EXPIRED unless `epoch` is the current log's.
pub async fn ensure_current_epoch(ctx: &Context<'_>, epoch: &str) -> ApiResult<()> {
    if store(ctx)?.epoch().await? == epoch {
        Ok(())
    } else {
        Err(ApiError::CursorExpired)
    }
}

/// Records `error` against the current field and resolves the field to
/// null. async-graphql would otherwise drop an erroring nullable field from
/// `data` altogether, where the GraphQL spec wants it present as null.
pub fn null_with_error<T>(ctx: &Context<'_>, error: ApiError) -> Option<T> {
    let error = async_graphql::Error::from(error).into_server_error(ctx.item.pos);
    ctx.add_error(ctx.set_error_path(error));
    None
}
