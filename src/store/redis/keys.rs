//! Every Redis key the store uses, built in one place.
//!
//! All keys share a configurable prefix, so several deployments (or test
//! runs) can share one Redis without seeing each other's data.
//!
//! # Hash tags
//!
//! On a cluster (or with more than one partition) the keys are *tagged*:
//! every key a write to a chat touches carries its partition's hash tag,
//! `{p<N>}`, right after the prefix, so they all hash to one slot and the
//! write stays one script on one node. That includes the partition's log
//! (`{p<N>}events`, its epoch and trimmed marker), the chat's idempotency
//! keys and typing set, and each member's index of their chats *in that
//! partition* (`{p<N>}user:<id>:chats`): a user's chats are the union of
//! one such set per partition. Accounts and sessions, whose scripts span a
//! user's keys and the shared set of ended sessions, share the tag `{a}`.
//! Presence (one key per script) carries no tag and spreads over the
//! cluster. With one partition on a single Redis the names are untagged,
//! as they were before partitions existed, so existing data stays valid.

use crate::domain::{ChatId, ClientMessageId, SessionId, UserId};
use crate::store::signals::Signal;
use crate::store::{LogId, Partition, Partitions};

/// Builds the store's key names under one prefix (e.g. `chat:` gives
/// `chat:user:{id}`).
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
    /// The prefix of account and session keys: `prefix` plus `{a}` when
    /// tagged.
    accounts: String,
    /// Each partition's prefix: `prefix` plus `{p<N>}` when tagged.
    parts: Vec<String>,
    partitions: Partitions,
}

impl Keys {
    /// Untagged keys under `prefix`, used verbatim (include any separator
    /// you want), for one partition on a single Redis.
    pub fn new(prefix: &str) -> Self {
        Self::with(prefix, Partitions::default(), false)
    }

    /// Keys under `prefix` for `partitions`, with hash tags when `tagged`
    /// (on a cluster) or when there is more than one partition.
    pub fn with(prefix: &str, partitions: Partitions, tagged: bool) -> Self {
        let tagged = tagged || partitions.count() > 1;
        let tag = |name: &str| match tagged {
            true => format!("{prefix}{{{name}}}"),
            false => prefix.to_owned(),
        };
        Self {
            prefix: prefix.to_owned(),
            accounts: tag("a"),
            parts: partitions.all().map(|p| tag(&format!("p{p}"))).collect(),
            partitions,
        }
    }

    /// The prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The prefix of account and session keys (the session scripts build
    /// some names from it).
    pub fn account_prefix(&self) -> &str {
        &self.accounts
    }

    /// The prefix of a partition's keys.
    fn part(&self, partition: Partition) -> &str {
        self.parts
            .get(partition.index())
            .map_or(&self.prefix, String::as_str)
    }

    /// The prefix of the keys of `chat`'s partition.
    fn of(&self, chat: &ChatId) -> &str {
        self.part(self.partitions.of(chat))
    }

    /// Hash of an account: `username`, `password_hash`, `created_at`.
    pub fn user(&self, id: &UserId) -> String {
        format!("{}user:{id}", self.accounts)
    }

    /// String holding the id of the user with this canonical (lowercased)
    /// name; `SET NX` on it is what makes names unique ignoring case.
    pub fn username(&self, canonical: &str) -> String {
        format!("{}username:{canonical}", self.accounts)
    }

    /// Set of the ids of the chats in `partition` that a user is a member
    /// of.
    pub fn user_chats(&self, id: &UserId, partition: Partition) -> String {
        format!("{}user:{id}:chats", self.part(partition))
    }

    /// Hash of a chat: `title`, `created_by`, `created_at`,
    /// `last_activity`, and the counters `join_seq`, `msg_count` (messages
    /// sent: the ordinal of the newest) and `reaction_seq`.
    pub fn chat(&self, id: &ChatId) -> String {
        format!("{}chat:{id}", self.of(id))
    }

    /// Sorted set of a chat's members, scored by join order.
    pub fn members(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:members", self.of(id))
    }

    /// Stream of a chat's messages, each with its event's id.
    pub fn messages(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:messages", self.of(id))
    }

    /// Hash of each member's read position: `<ordinal>|<message id>|<at>`,
    /// the last two empty while the position is at the join.
    pub fn reads(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:reads", self.of(id))
    }

    /// Sorted set of the chat's deleted messages (by id), scored by their
    /// ordinal: `ZCOUNT` after a read position is the deleted part of
    /// what would otherwise be unread.
    pub fn deleted(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:deleted", self.of(id))
    }

    /// Hash of what changed in messages since they were sent, by message
    /// id: `<edited at>|<deleted at>|<body now>` (times empty when never).
    /// Stream entries cannot change, so this is read over them.
    pub fn changes(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:changes", self.of(id))
    }

    /// Sorted set of the emoji a message was reacted with, scored by each
    /// group's earliest reaction. Each emoji's reactors are the sorted set
    /// at this key followed by `:` and the emoji (the scripts derive it,
    /// so the two always share this key's hash tag).
    pub fn reactions(&self, id: &ChatId, message: LogId) -> String {
        format!("{}chat:{id}:reactions:{message}", self.of(id))
    }

    /// Hash of the chat's typists: member id to `<order>|<until>` (the
    /// order they started in, from the counter field `#`; a deadline in ms
    /// on Redis's clock). It expires with its last typist's lapse.
    pub fn typing(&self, id: &ChatId) -> String {
        format!("{}chat:{id}:typing", self.of(id))
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
        // A typing channel carries its chat's partition tag.
        let name = match name.strip_prefix('{') {
            Some(tagged) => tagged.split_once('}')?.1,
            None => name,
        };
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
        format!("{}session:{id}", self.accounts)
    }

    /// Set of the refresh-token hashes a session has used up.
    pub fn session_used(&self, id: &SessionId) -> String {
        format!("{}session:{id}:used", self.accounts)
    }

    /// Set of the ids of a user's sessions.
    pub fn user_sessions(&self, id: &UserId) -> String {
        format!("{}user:{id}:sessions", self.accounts)
    }

    /// Sorted set of ended sessions, scored by the time until which their
    /// access tokens could still be presented.
    pub fn ended_sessions(&self) -> String {
        format!("{}sessions:ended", self.accounts)
    }

    /// The pub/sub channel announcing ended sessions (`<id> <until>`).
    pub fn sessions_channel(&self) -> String {
        format!("{}sessions:ended", self.accounts)
    }

    /// A partition's event log: a stream trimmed to the configured
    /// retention.
    pub fn events(&self, partition: Partition) -> String {
        format!("{}events", self.part(partition))
    }

    /// A partition's epoch: a random string set when its log is
    /// (re)created.
    pub fn epoch(&self, partition: Partition) -> String {
        format!("{}log:epoch", self.part(partition))
    }

    /// The replication id of the primary that last served a partition's
    /// slot, as its log tails saw it (see `watch_primary.lua`).
    pub fn primary(&self, partition: Partition) -> String {
        format!("{}log:primary", self.part(partition))
    }

    /// The id of the newest event trimmed from a partition's log (absent
    /// until the first trim). A read after an older position is `Expired`.
    pub fn trimmed(&self, partition: Partition) -> String {
        format!("{}log:trimmed", self.part(partition))
    }

    /// String holding the id of the first message a sender sent in a chat
    /// with a client message id; it expires after the idempotency window.
    /// Chat and user ids are fixed-width hex, so the client id (which may
    /// contain `:`) cannot make two different triples collide.
    pub fn idempotency(&self, chat: &ChatId, sender: &UserId, client: &ClientMessageId) -> String {
        format!("{}idem:{chat}:{sender}:{}", self.of(chat), client.as_str())
    }
}
