//! Turning what Redis returns into the store's types.
//!
//! Everything read here was written by this module's scripts, so a missing
//! field or a malformed id means the data was changed behind our back: it is
//! reported as a `Backend` error, never a panic.

use std::collections::HashMap;

use crate::domain::{ChatId, UserId};
use crate::store::{Chat, Event, EventKind, LogId, Message, StoreError, StoreResult, User};

/// A hash or a stream entry's fields.
pub type Fields = HashMap<String, String>;

/// A stream entry: its id and its fields.
pub type Entry = (String, Fields);

/// What every write script replies: a status word, an id (or empty) and
/// fields (or none). See `scripts/append_event.lua`.
pub type Reply = (String, String, Fields);

/// What `send_message.lua` replies: a [`Reply`] and the log's epoch.
pub type SentReply = (String, String, Fields, String);

/// Event type names, in the `type` field of the events stream.
pub mod kind {
    /// A chat was created.
    pub const CHAT_CREATED: &str = "ChatCreated";
    /// A member was added.
    pub const MEMBER_JOINED: &str = "MemberJoined";
    /// A member left.
    pub const MEMBER_LEFT: &str = "MemberLeft";
    /// A message was sent.
    pub const MESSAGE_CREATED: &str = "MessageCreated";
}

/// Parses a stream id.
pub fn log_id(raw: &str) -> StoreResult<LogId> {
    raw.parse()
        .map_err(|_| StoreError::backend(format!("malformed stream id {raw:?}")))
}

/// A required field.
fn field<'a>(fields: &'a Fields, name: &str) -> StoreResult<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| StoreError::backend(format!("stored record lacks field {name:?}")))
}

/// A required numeric field.
fn number(fields: &Fields, name: &str) -> StoreResult<u64> {
    let raw = field(fields, name)?;
    raw.parse()
        .map_err(|_| StoreError::backend(format!("field {name:?} is not a number: {raw:?}")))
}

/// A message from its entry's id and fields (`sender`, `body`, optional
/// `cmid`): the same fields in a chat's messages stream and in a
/// `MessageCreated` event.
pub fn message(chat: &ChatId, id: &str, fields: &Fields) -> StoreResult<Message> {
    Ok(Message {
        id: log_id(id)?,
        chat_id: chat.clone(),
        sender: UserId::from_stored(field(fields, "sender")?),
        body: field(fields, "body")?.to_owned(),
        client_message_id: fields.get("cmid").cloned(),
    })
}

/// An entry of the events stream.
pub fn event((id, fields): &Entry) -> StoreResult<Event> {
    let chat_id = ChatId::from_stored(field(fields, "chat")?);
    let user = |name| field(fields, name).map(UserId::from_stored);
    let kind = match field(fields, "type")? {
        kind::CHAT_CREATED => EventKind::ChatCreated {
            members: field(fields, "members")?
                .split(',')
                .map(UserId::from_stored)
                .collect(),
        },
        kind::MEMBER_JOINED => EventKind::MemberJoined {
            user: user("user")?,
            added_by: user("by")?,
        },
        kind::MEMBER_LEFT => EventKind::MemberLeft {
            user: user("user")?,
        },
        kind::MESSAGE_CREATED => EventKind::MessageCreated(message(&chat_id, id, fields)?),
        other => {
            return Err(StoreError::backend(format!("unknown event type {other:?}")));
        }
    };
    Ok(Event {
        id: log_id(id)?,
        chat_id,
        kind,
    })
}

/// A chat from its hash; `None` when the hash is empty (no such chat).
pub fn chat(id: &ChatId, fields: &Fields) -> StoreResult<Option<Chat>> {
    if fields.is_empty() {
        return Ok(None);
    }
    Ok(Some(Chat {
        id: id.clone(),
        title: field(fields, "title")?.to_owned(),
        created_by: UserId::from_stored(field(fields, "created_by")?),
        created_at: number(fields, "created_at")?,
        last_activity: number(fields, "last_activity")?,
    }))
}

/// A user from its hash; `None` when the hash is empty (no such user).
pub fn user(id: &UserId, fields: &Fields) -> StoreResult<Option<User>> {
    if fields.is_empty() {
        return Ok(None);
    }
    Ok(Some(User {
        id: id.clone(),
        username: field(fields, "username")?.to_owned(),
        created_at: number(fields, "created_at")?,
    }))
}
