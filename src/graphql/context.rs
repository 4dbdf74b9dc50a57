//! What resolvers take from the request context.

use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::Context;

use crate::auth::{Tokens, Viewer};
use crate::cursor::{Cursor, matches_fingerprint};
use crate::domain::{ChatId, SessionId, UserId};
use crate::metrics::Metrics;
use crate::realtime::feed::After;
use crate::sessions::Revocations;
use crate::signals::rooms::Rooms;
use crate::store::{LogId, Partition, Partitions, Positions, Store};
use crate::throttle::Policy;

use super::error::{ApiError, ApiResult};

/// The address a request came from, put into the request's data by the
/// transport; sign-in attempts are limited per address.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

/// The cursor a reconnecting SSE client last received (its
/// `Last-Event-ID`), put into the request's data by the transport: a
/// subscription that can resume resumes after it, whatever its `after`
/// argument says.
#[derive(Debug, Clone)]
pub struct LastEventId(pub String);

/// The session of the token a request came with, put into the request's
/// data by the transport (absent for a token without one).
#[derive(Debug, Clone)]
pub struct CallerSession(pub SessionId);

/// The session the request's token belongs to.
pub fn caller_session<'a>(ctx: &Context<'a>) -> Option<&'a SessionId> {
    ctx.data_opt::<CallerSession>().map(|session| &session.0)
}

/// The ended-session set injected into the schema.
pub fn revocations<'a>(ctx: &Context<'a>) -> ApiResult<&'a Revocations> {
    ctx.data::<Revocations>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The store injected into the schema.
pub fn store<'a>(ctx: &Context<'a>) -> ApiResult<&'a Arc<dyn Store>> {
    ctx.data::<Arc<dyn Store>>()
        .map_err(|e| ApiError::internal(e.message))
}

/// This process's typing and presence rooms, injected into the schema.
pub fn rooms<'a>(ctx: &Context<'a>) -> ApiResult<&'a Rooms> {
    ctx.data::<Rooms>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The metrics injected into the schema.
pub fn metrics<'a>(ctx: &Context<'a>) -> ApiResult<&'a Metrics> {
    ctx.data::<Metrics>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The token service injected into the schema.
pub fn tokens<'a>(ctx: &Context<'a>) -> ApiResult<&'a Tokens> {
    ctx.data::<Tokens>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The rate limits injected into the schema.
pub fn policy<'a>(ctx: &Context<'a>) -> ApiResult<&'a Policy> {
    ctx.data::<Policy>()
        .map_err(|e| ApiError::internal(e.message))
}

/// The client's address, as the transport put it into the request (absent
/// when it cannot tell).
pub fn client_address(ctx: &Context<'_>) -> Option<IpAddr> {
    ctx.data_opt::<ClientAddress>().map(|address| address.0)
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
        Some(Viewer::Unchecked) => Err(ApiError::internal(
            "the token's session cannot be checked now",
        )),
    }
}

/// Parses a client's cursor of a message or event of `chat`: malformed or
/// a chats cursor is BAD_USER_INPUT, one from another epoch of the chat's
/// partition CURSOR_EXPIRED. A feed cursor (from an all-chats subscription)
/// is taken at its position in the chat's partition. (A message cursor
/// names its own partition, so one of another chat still works, as in v1.)
pub async fn log_position(ctx: &Context<'_>, chat: &ChatId, cursor: &str) -> ApiResult<LogId> {
    chat_position(ctx, chat, Cursor::decode(cursor)?).await
}

/// [`log_position`] of an already decoded cursor.
pub async fn chat_position(ctx: &Context<'_>, chat: &ChatId, cursor: Cursor) -> ApiResult<LogId> {
    let store = store(ctx)?;
    match cursor {
        // A message cursor of another chat's partition is a position all
        // the same: positions are times, and compare across chats.
        Cursor::Log {
            epoch,
            partition,
            id,
        } => {
            let partition = store
                .partitions()
                .get(usize::from(partition))
                .ok_or(ApiError::CursorExpired)?;
            ensure_epoch(store.as_ref(), partition, &epoch).await?;
            Ok(id)
        }
        Cursor::Feed { parts } => {
            let partition = store.partition_of(chat);
            let (fingerprint, id) = feed_parts(store.partitions(), &parts)?
                .get(partition.index())
                .ok_or(ApiError::CursorExpired)?;
            let epoch = store.epoch(partition).await?;
            match matches_fingerprint(&epoch, fingerprint) {
                true => Ok(*id),
                false => Err(ApiError::CursorExpired),
            }
        }
        Cursor::Chats { .. } => Err(chats_cursor_here()),
    }
}

/// The place an all-chats subscription resumes after, from a decoded
/// cursor and every partition's current `epochs`. With one partition any
/// message or event cursor does (v1's rule). With more, it must be a cursor
/// such a subscription delivered (a position in every partition); a single
/// chat's cursor cannot resume every chat exactly and is BAD_USER_INPUT. A
/// partition whose epoch changed makes it CURSOR_EXPIRED.
pub fn feed_position(
    partitions: Partitions,
    cursor: Cursor,
    epochs: &[String],
) -> ApiResult<After> {
    match cursor {
        Cursor::Log { epoch, id, .. } if partitions.count() == 1 => {
            match epochs.first() == Some(&epoch) {
                true => Ok(After::Chat(id)),
                false => Err(ApiError::CursorExpired),
            }
        }
        Cursor::Log { .. } => Err(ApiError::BadUserInput(
            "this cursor names a place in one chat; resume a subscription to all chats with a cursor it delivered, or pass chatId".to_owned(),
        )),
        Cursor::Feed { parts } => {
            let parts = feed_parts(partitions, &parts)?;
            let current = parts
                .iter()
                .zip(epochs)
                .all(|((fingerprint, _), epoch)| matches_fingerprint(epoch, fingerprint));
            match current {
                true => Ok(After::Feed(Positions::from_vec(
                    parts.iter().map(|(_, id)| *id).collect(),
                ))),
                false => Err(ApiError::CursorExpired),
            }
        }
        Cursor::Chats { .. } => Err(chats_cursor_here()),
    }
}

/// A chats cursor given where a message or event cursor is needed.
fn chats_cursor_here() -> ApiError {
    ApiError::BadUserInput(
        "this is a chats cursor; a message or event cursor is needed here".to_owned(),
    )
}

/// A feed cursor's parts, CURSOR_EXPIRED when it was made for another
/// number of partitions (the log was re-partitioned since).
fn feed_parts(partitions: Partitions, parts: &[(String, LogId)]) -> ApiResult<&[(String, LogId)]> {
    match parts.len() == partitions.count() {
        true => Ok(parts),
        false => Err(ApiError::CursorExpired),
    }
}

/// CURSOR_EXPIRED unless `epoch` is the current one of `chat`'s partition.
pub async fn ensure_current_epoch(ctx: &Context<'_>, chat: &ChatId, epoch: &str) -> ApiResult<()> {
    let store = store(ctx)?;
    ensure_epoch(store.as_ref(), store.partition_of(chat), epoch).await
}

/// CURSOR_EXPIRED unless `epoch` is `partition`'s current one.
async fn ensure_epoch(store: &dyn Store, partition: Partition, epoch: &str) -> ApiResult<()> {
    match store.epoch(partition).await? == epoch {
        true => Ok(()),
        false => Err(ApiError::CursorExpired),
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
