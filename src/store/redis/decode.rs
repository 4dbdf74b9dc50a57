//! Turning what Redis returns into the store's types.
//!
//! Everything read here was written by this module's scripts, so a missing
//! field or a malformed id means the data was changed behind our back: it is
//! reported as a `Backend` error, never a panic.

use std::collections::HashMap;

use crate::domain::{ChatId, UserId};
use crate::store::{
    Chat, Event, EventKind, LogId, Message, Partition, ReadPosition, StoreError, StoreResult, User,
};

/// A hash or a stream entry's fields.
pub type Fields = HashMap<String, String>;

/// A stream entry: its id and its fields.
pub type Entry = (String, Fields);

/// What every write script replies: a status word, an id (or empty) and
/// fields (or none). See `scripts/append_event.lua`.
pub type Reply = (String, String, Fields);

/// What `send_message.lua` replies: a [`Reply`], the first message's change
/// (for a duplicate) and the log's epoch.
pub type SentReply = (String, String, Fields, Option<String>, String);

/// What the message-changing scripts reply: a status, the message's id,
/// its stream fields and its change (see `message_state.lua`).
pub type MessageReply = (String, String, Fields, Option<String>, Option<String>);

/// A stream entry with its change, as `read_messages.lua` gives it.
pub type ChangedEntry = (String, Fields, Option<String>);

/// One reaction group as `reactions.lua` gives it: emoji, count, whether
/// the viewer is in it (1 or 0), and the first users.
pub type GroupReply = (String, usize, u8, Vec<String>);

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
    /// A message's body was changed.
    pub const MESSAGE_EDITED: &str = "MessageEdited";
    /// A message became a tombstone.
    pub const MESSAGE_DELETED: &str = "MessageDeleted";
    /// A reaction was added.
    pub const REACTION_ADDED: &str = "ReactionAdded";
    /// A reaction was removed.
    pub const REACTION_REMOVED: &str = "ReactionRemoved";
    /// A member's read position moved.
    pub const CHAT_READ: &str = "ChatRead";
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

/// A message as it was sent, from its entry's id and fields (`sender`,
/// `body`, optional `cmid` and `re`): the same fields in a chat's messages
/// stream and in a `MessageCreated` event.
pub fn message(chat: &ChatId, id: &str, fields: &Fields) -> StoreResult<Message> {
    Ok(Message {
        id: log_id(id)?,
        chat_id: chat.clone(),
        sender: UserId::from_stored(field(fields, "sender")?),
        body: field(fields, "body")?.to_owned(),
        client_message_id: fields.get("cmid").cloned(),
        reply_to: fields.get("re").map(|re| log_id(re)).transpose()?,
        edited_at: None,
        deleted_at: None,
    })
}

/// A message as it is now: its entry read through its change
/// (`<edited at>|<deleted at>|<body now>`, see `message_state.lua`).
pub fn current_message(
    chat: &ChatId,
    id: &str,
    fields: &Fields,
    change: Option<&str>,
) -> StoreResult<Message> {
    let mut message = message(chat, id, fields)?;
    if let Some(change) = change {
        let malformed = || StoreError::backend(format!("malformed message change {change:?}"));
        let mut parts = change.splitn(3, '|');
        let mut time = || -> StoreResult<Option<u64>> {
            match parts.next().ok_or_else(malformed)? {
                "" => Ok(None),
                ms => ms.parse().map(Some).map_err(|_| malformed()),
            }
        };
        message.edited_at = time()?;
        message.deleted_at = time()?;
        message.body = parts.next().ok_or_else(malformed)?.to_owned();
    }
    Ok(message)
}

/// An entry of the events stream.
pub fn event(partition: Partition, (id, fields): &Entry) -> StoreResult<Event> {
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
        kind::MESSAGE_EDITED => EventKind::MessageEdited {
            message: log_id(field(fields, "msg")?)?,
        },
        kind::MESSAGE_DELETED => EventKind::MessageDeleted {
            message: log_id(field(fields, "msg")?)?,
        },
        kind::REACTION_ADDED => EventKind::ReactionAdded {
            message: log_id(field(fields, "msg")?)?,
            emoji: field(fields, "emoji")?.to_owned(),
            user: user("user")?,
        },
        kind::REACTION_REMOVED => EventKind::ReactionRemoved {
            message: log_id(field(fields, "msg")?)?,
            emoji: field(fields, "emoji")?.to_owned(),
            user: user("user")?,
        },
        kind::CHAT_READ => EventKind::ChatRead {
            user: user("user")?,
            message: log_id(field(fields, "msg")?)?,
        },
        other => {
            return Err(StoreError::backend(format!("unknown event type {other:?}")));
        }
    };
    Ok(Event {
        partition,
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

/// A read position from its stored parts (`read_state.lua`): `None` while
/// it is at the join (both parts empty).
pub fn read_position(message: &str, at: &str) -> StoreResult<Option<ReadPosition>> {
    if message.is_empty() {
        return Ok(None);
    }
    let at = at
        .parse()
        .map_err(|_| StoreError::backend(format!("malformed read time {at:?}")))?;
    Ok(Some(ReadPosition {
        message: log_id(message)?,
        at,
    }))
}

/// A read position as the reads hash stores it, `<ordinal>|<message>|<at>`.
pub fn stored_read_position(stored: &str) -> StoreResult<Option<ReadPosition>> {
    let mut parts = stored.splitn(3, '|').skip(1);
    match (parts.next(), parts.next()) {
        (Some(message), Some(at)) => read_position(message, at),
        _ => Err(StoreError::backend(format!(
            "malformed read position {stored:?}"
        ))),
    }
}
