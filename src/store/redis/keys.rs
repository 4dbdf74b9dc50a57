//! Every Redis key the store uses, built in one place.
//!
//! All keys share a configurable prefix, so several deployments (or test
//! runs) can share one Redis without seeing each other's data.

use crate::domain::{ChatId, ClientMessageId, SessionId, UserId};
use crate::store::LogId;
use crate::store::signals::Signal;

/// Builds the store's key names under one prefix (e.g. `chat:` gives
/// `chat:user:{id}`).
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix`, used verbatim (include any separator you want).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Hash of an account: `username`, `password_hash`, `created_at`.
    pub fn user(&self, id: &UserId) -> String {
        format!("{}user:{id}", self.prefix)
    }

    /// String holding the id of the user with this canonical (lowercased)
    /// name; `SET NX` on it is what makes names unique ignoring case.
    pub fn username(&self, canonical: &str) -> String {
        format!("{}username:{canonical}", self.prefix)
    }

    /// Set of the ids of the chats a user is a member of.
    pub fn user_chats(&self, id: &UserId) -> String {
        format!("{}user:{id}:chats", self.prefix)
    }

    /// Hash of a chat: `title`, `created_by`, `created_at`,
    /// `last_activity`, and the counters `join_seq`, `msg_count` (messages
    /// sent: the ordinal of the newest) and `reaction_seq`.
    pub fn chat(&self, id: &ChatId) -> String {
        format!("{}chat:{id}", self.prefix)
    }

    /// Sorted set of a chat's members, scored by join order.
    pub fn members(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:members", self.prefix)
    }

    /// Stream of a chat's messages, each with its event's id.
    pub fn messages(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:messages", self.prefix)
    }

    /// Hash of each member's read position: `<ordinal>|<message id>|<at>`,
    /// the last two empty while the position is at the join.
    pub fn reads(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:reads", self.prefix)
    }

    /// Sorted set of the chat's deleted messages (by id), scored by their
    /// ordinal: `ZCOUNT` after a read position is the deleted part of
    /// what would otherwise be unread.
    pub fn deleted(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:deleted", self.prefix)
    }

    /// Hash of what changed in messages since they were sent, by message
    /// id: `<edited at>|<deleted at>|<body now>` (times empty when never).
    /// Stream entries cannot change, so this is read over them.
    pub fn changes(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:changes", self.prefix)
    }

    /// Sorted set of the emoji a message was reacted with, scored by each
    /// group's earliest reaction. Each emoji's reactors are the sorted set
    /// at this key followed by `:` and the emoji (the scripts derive it,
    /// so the two always share this key's hash tag).
    pub fn reactions(&self, id: &ChatId, message: LogId) -> String {
        format!("{}chat:{id}:reactions:{message}", self.prefix)
    }

    /// Hash of the chat's typists: member id to `<order>|<until>` (the
    /// order they started in, from the counter field `#`; a deadline in ms
    /// on Redis's clock). It expires with its last typist's lapse.
    pub fn typing(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:typing", self.prefix)
    }

    /// Hash of a user's presence: `h:<process>` to the time until which
    /// that process holds the user present (renewed by its heartbeats),
    /// and `seen`: when the user last went offline.
    pub fn presence(&self, id: &UserId) -> String {
        format!("{}user:{id}:presence", self.prefix)
    }

    /// The pub/sub channel announcing that a signal's state changed. It is
    /// named like the key holding that state (the scripts publish on their
    /// key's name), so on a cluster both hash to the same slot.
    pub fn channel(&self, signal: &Signal) -> String {
        match signal {
            Signal::Typing(chat) => self.typing(chat),
            Signal::Presence(user) => self.presence(user),
        }
    }

    /// The signal a channel announces (the inverse of [`Keys::channel`]).
    pub fn signal(&self, channel: &str) -> Option<Signal> {
        let name = channel.strip_prefix(&self.prefix)?;
        if let Some(chat) = name.strip_prefix("chat:") {
            let chat = chat.strip_suffix(":typing")?;
            return ChatId::parse(chat).map(Signal::Typing);
        }
        let user = name.strip_prefix("user:")?.strip_suffix(":presence")?;
        UserId::parse(user).map(Signal::Presence)
    }

    /// Hash of a session (`user`, `refresh`: its current refresh token's
    /// hash, `expires`); it expires with that token. `session_state.lua`
    /// builds the same name, and `<this>:used`, from the prefix.
    pub fn session(&self, id: &SessionId) -> String {
        format!("{}session:{id}", self.prefix)
    }

    /// Set of the refresh-token hashes a session has used up.
    pub fn session_used(&self, id: &SessionId) -> String {
        format!("{}session:{id}:used", self.prefix)
    }

    /// Set of the ids of a user's sessions.
    pub fn user_sessions(&self, id: &UserId) -> String {
        format!("{}user:{id}:sessions", self.prefix)
    }

    /// Sorted set of ended sessions, scored by the time until which their
    /// access tokens could still be presented.
    pub fn ended_sessions(&self) -> String {
        format!("{}sessions:ended", self.prefix)
    }

    /// The pub/sub channel announcing ended sessions (`<id> <until>`).
    pub fn sessions_channel(&self) -> String {
        format!("{}sessions:ended", self.prefix)
    }

    /// The event log: a stream trimmed to the configured retention.
    pub fn events(&self) -> String {
        format!("{}events", self.prefix)
    }

    /// The log's epoch: a random string set when the log is (re)created.
    pub fn epoch(&self) -> String {
        format!("{}log:epoch", self.prefix)
    }

    /// The id of the newest event trimmed from the log (absent until the
    /// first trim). A read after an older position is `Expired`.
    pub fn trimmed(&self) -> String {
        format!("{}log:trimmed", self.prefix)
    }

    /// String holding the id of the first message a sender sent in a chat
    /// with a client message id; it expires after the idempotency window.
    /// Chat and user ids are fixed-width hex, so the client id (which may
    /// contain `:`) cannot make two different triples collide.
    pub fn idempotency(&self, chat: &ChatId, sender: &UserId, client: &ClientMessageId) -> String {
        format!("{}idem:{chat}:{sender}:{}", self.prefix, client.as_str())
    }
}
