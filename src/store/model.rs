//! What the store holds and returns.

use crate::domain::{ChatId, UserId};

use super::LogId;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = u64;

/// An account as others see it (no credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub created_at: Millis,
}

/// A chat's own fields; members and messages are read separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub id: ChatId,
    pub title: String,
    pub created_by: UserId,
    pub created_at: Millis,
    /// Time of the newest message, or of creation when there is none: the
    /// sort key of `chats`.
    pub last_activity: Millis,
}

/// A stored message. Its `id` is also its event's position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: LogId,
    pub chat_id: ChatId,
    pub sender: UserId,
    pub body: String,
    pub client_message_id: Option<String>,
}

impl Message {
    /// A message's creation time is its event's time, which is the
    /// millisecond part of its log id.
    pub fn created_at(&self) -> Millis {
        self.id.ms
    }
}

/// One page of a chat's history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// Older messages exist before the first one of the page.
    pub has_older: bool,
    /// Newer messages exist after the last one of the page.
    pub has_newer: bool,
}

/// The result of `send_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message: Message,
    /// False when an idempotent retry returned an earlier message.
    pub created: bool,
    /// The epoch of the log the message is in, for its cursor: read in the
    /// same step as the write, so the mutation needs no second round trip.
    pub epoch: String,
}

/// Something that happened, as recorded in the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: LogId,
    pub chat_id: ChatId,
    pub kind: EventKind,
}

impl Event {
    /// When it happened: the millisecond part of its log position.
    pub fn at(&self) -> Millis {
        self.id.ms
    }
}

/// The kinds of event, with what a subscriber needs to route them without a
/// further read: who is concerned, and for messages the whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A chat was created with these initial members, creator first.
    ChatCreated {
        members: Vec<UserId>,
    },
    MemberJoined {
        user: UserId,
        added_by: UserId,
    },
    MemberLeft {
        user: UserId,
    },
    MessageCreated(Message),
}
