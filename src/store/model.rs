//! What the store holds and returns.

use crate::domain::{ChatId, UserId};

use super::{LogId, Partition};

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

/// A stored message as it is now. Its `id` is also its event's position in
/// the log. A deleted message is a tombstone: `body` is empty and
/// `deleted_at` set, and it keeps its place, id, sender and `reply_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: LogId,
    pub chat_id: ChatId,
    pub sender: UserId,
    pub body: String,
    pub client_message_id: Option<String>,
    /// The message of the same chat this one answers.
    pub reply_to: Option<LogId>,
    /// When `editMessage` last changed the body.
    pub edited_at: Option<Millis>,
    /// When the message was deleted.
    pub deleted_at: Option<Millis>,
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

/// The result of a change that may be a no-op (an edit to the same body, a
/// reaction already made, deleting a tombstone): the message as it is
/// after the call, whether anything (and so an event) was written, and the
/// log's epoch, read in the same step so the caller can print the
/// message's cursor without a second round trip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub message: Message,
    pub written: bool,
    pub epoch: String,
}

/// The users who reacted to a message with one emoji.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionGroup {
    pub emoji: String,
    pub count: usize,
    /// Whether the user the reactions were read for is among them.
    pub includes_viewer: bool,
    /// The earliest reactors first, at most [`MAX_REACTION_USERS`] of them.
    pub users: Vec<UserId>,
}

/// Most users a [`ReactionGroup`] lists (the largest `users(first:)`).
pub const MAX_REACTION_USERS: usize = 100;

/// A member's read position when it is at a message: the newest message
/// they read or sent since joining, and when they got there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPosition {
    pub message: LogId,
    pub at: Millis,
}

/// A member's read state in one chat (the default for a non-member).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadState {
    /// Messages after the read position that are not deleted.
    pub unread: u64,
    /// `None` until the member has read or sent a message since joining.
    pub position: Option<ReadPosition>,
}

/// Something that happened, as recorded in the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The partition whose log holds it: `id` is a position in that log.
    pub partition: Partition,
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

impl EventKind {
    /// The users this event makes members of its chat, and the one it
    /// removes; nobody for events that change no membership.
    pub fn membership(&self) -> (&[UserId], Option<&UserId>) {
        match self {
            EventKind::ChatCreated { members } => (members.as_slice(), None),
            EventKind::MemberJoined { user, .. } => (std::slice::from_ref(user), None),
            EventKind::MemberLeft { user } => (&[], Some(user)),
            EventKind::MessageCreated(_)
            | EventKind::MessageEdited { .. }
            | EventKind::MessageDeleted { .. }
            | EventKind::ReactionAdded { .. }
            | EventKind::ReactionRemoved { .. }
            | EventKind::ChatRead { .. } => (&[], None),
        }
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
    /// The message's body was changed by its sender.
    MessageEdited {
        message: LogId,
    },
    /// The message became a tombstone.
    MessageDeleted {
        message: LogId,
    },
    ReactionAdded {
        message: LogId,
        emoji: String,
        user: UserId,
    },
    ReactionRemoved {
        message: LogId,
        emoji: String,
        user: UserId,
    },
    /// A member's read position moved forward to `message` (by `markRead`;
    /// sending moves the sender's without this event).
    ChatRead {
        user: UserId,
        message: LogId,
    },
}
