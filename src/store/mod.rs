//! Storage: accounts, chats, messages and the event log, behind one trait.
//!
//! Two implementations share every behavioural test: [`memory::MemoryStore`]
//! (the default, so `cargo run` works on a bare machine) and
//! [`redis::RedisStore`] (many processes sharing one Redis). Every write that
//! changes a chat appends its event to the log in the same atomic step, so the
//! log never misses a change nor records one that did not happen.

mod error;
mod log_id;
mod log_tail;
pub mod memory;
mod model;
mod part_log;
mod partition;
pub mod redis;
mod session;
mod session_book;
mod signal_board;
pub mod signals;

use async_trait::async_trait;

use crate::domain::{
    ChatId, ChatTitle, ClientMessageId, Emoji, MessageBody, SessionId, UserId, Username,
};

pub use error::{StoreError, StoreResult};
pub use log_id::{BadLogId, LogId};
pub use log_tail::LogTail;
pub use model::{
    Changed, Chat, Event, EventKind, MAX_REACTION_USERS, Message, MessagePage, Millis,
    ReactionGroup, ReadPosition, ReadState, Sent, User,
};
pub use partition::{MAX_PARTITIONS, Partition, Partitions, Positions};
pub use session::{Ended, RefreshHash, Rotation, SessionNotices};
pub use signals::Signals;

/// How long an idempotency key keeps pointing at its first message.
pub const IDEMPOTENCY_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// Most distinct emoji one message's reactions may use.
pub const MAX_DISTINCT_EMOJI: usize = 20;

/// A message to send: its body, the client's idempotency key, and the
/// message it answers.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    pub body: &'a MessageBody,
    pub client_message_id: Option<&'a ClientMessageId>,
    pub reply_to: Option<LogId>,
}

/// The storage operations the API needs, with the ephemeral signals
/// ([`Signals`]) kept by the same backend. Membership checks that decide
/// visibility happen inside the atomic write, so a concurrent `leaveChat`
/// cannot slip between a check and the write it guards.
#[async_trait]
pub trait Store: Signals {
    /// How the log is partitioned.
    fn partitions(&self) -> Partitions;

    /// The partition a chat's events and state are kept in.
    fn partition_of(&self, chat: &ChatId) -> Partition {
        self.partitions().of(chat)
    }

    /// The current epoch of a partition's log: a random value the log got
    /// when it was created. Cursors carry it, so a cursor from a lost log
    /// is recognised.
    async fn epoch(&self, partition: Partition) -> StoreResult<String>;

    /// The epoch of the partition holding `chat`.
    async fn epoch_of(&self, chat: &ChatId) -> StoreResult<String> {
        self.epoch(self.partition_of(chat)).await
    }

    /// Every partition's epoch, in partition order (read all at once).
    async fn epochs(&self) -> StoreResult<Vec<String>> {
        futures_util::future::try_join_all(self.partitions().all().map(|p| self.epoch(p))).await
    }

    /// Checks that the backend answers (for readiness).
    async fn ping(&self) -> StoreResult<()>;

    /// Creates an account; `UsernameTaken` when the name exists ignoring case.
    async fn create_user(&self, username: &Username, password_hash: &str) -> StoreResult<User>;

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>>;

    /// Looks a user up by name, ignoring case.
    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>>;

    /// The stored argon2 hash (PHC string) of a user's password.
    async fn password_hash(&self, id: &UserId) -> StoreResult<Option<String>>;

    /// Creates a chat whose members are `creator` then `others` (already
    /// de-duplicated, without the creator) and appends `ChatCreated`.
    /// `NotFound`, writing nothing, when one of `others` does not exist.
    async fn create_chat(
        &self,
        creator: &UserId,
        title: &ChatTitle,
        others: &[UserId],
    ) -> StoreResult<Chat>;

    /// Adds `user` to the chat on behalf of member `by` and appends
    /// `MemberJoined`; a no-op (no event) when `user` is already a member.
    /// `NotFound` when `by` is not a member or `user` does not exist.
    async fn add_member(&self, chat: &ChatId, by: &UserId, user: &UserId) -> StoreResult<Chat>;

    /// Removes a member and appends `MemberLeft`; `NotFound` for a non-member.
    async fn leave_chat(&self, chat: &ChatId, user: &UserId) -> StoreResult<()>;

    /// The chat when `viewer` is a member of it, `None` otherwise.
    async fn chat_for_member(&self, chat: &ChatId, viewer: &UserId) -> StoreResult<Option<Chat>>;

    /// Current members in join order.
    async fn members(&self, chat: &ChatId) -> StoreResult<Vec<UserId>>;

    /// Every chat `user` is a member of, in no particular order.
    async fn chats_of(&self, user: &UserId) -> StoreResult<Vec<Chat>>;

    /// Appends a message and its `MessageCreated` event, and moves the
    /// sender's read position to it. With a client message id seen from
    /// this sender in this chat within [`IDEMPOTENCY_TTL_MS`], returns the
    /// first message as it is now and writes nothing. `NotFound` when the
    /// sender is not a member (checked first) or `reply_to` is not a
    /// message of the chat.
    async fn send_message(
        &self,
        chat: &ChatId,
        sender: &UserId,
        message: NewMessage<'_>,
    ) -> StoreResult<Sent>;

    /// One message as it is now; `None` when the chat has no such message.
    async fn message(&self, chat: &ChatId, id: LogId) -> StoreResult<Option<Message>>;

    /// The sender replaces a message's body, sets `edited_at` and appends
    /// `MessageEdited`; the same body again writes nothing. `NotFound` for
    /// a non-member or no such message, then `Forbidden` for anyone but
    /// the sender, then `Deleted` for a tombstone.
    async fn edit_message(
        &self,
        chat: &ChatId,
        editor: &UserId,
        id: LogId,
        body: &MessageBody,
    ) -> StoreResult<Changed>;

    /// The sender turns a message into a tombstone (empty body, no
    /// reactions) and appends `MessageDeleted`; a tombstone is returned
    /// unchanged. `NotFound`, then `Forbidden`, as for edits.
    async fn delete_message(&self, chat: &ChatId, by: &UserId, id: LogId) -> StoreResult<Changed>;

    /// Adds `user`'s reaction and appends `ReactionAdded`; one already
    /// made writes nothing. `NotFound` for a non-member or no such message,
    /// `Deleted` for a tombstone, `TooManyEmoji` for a new emoji past
    /// [`MAX_DISTINCT_EMOJI`].
    async fn add_reaction(
        &self,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
        emoji: &Emoji,
    ) -> StoreResult<Changed>;

    /// Removes `user`'s reaction and appends `ReactionRemoved`; one not
    /// made (or a tombstone) writes nothing. `NotFound` as for adding.
    async fn remove_reaction(
        &self,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
        emoji: &Emoji,
    ) -> StoreResult<Changed>;

    /// A message's reactions, one group per emoji ordered by each group's
    /// earliest current reaction, as `viewer` sees them.
    async fn reactions(
        &self,
        chat: &ChatId,
        id: LogId,
        viewer: &UserId,
    ) -> StoreResult<Vec<ReactionGroup>>;

    /// Moves `user`'s read position forward to the message `id` and appends
    /// `ChatRead`; a message at or before the position writes nothing.
    /// `NotFound` for a non-member, `NotAMessage` when the chat has no
    /// message `id`. Returns the chat.
    async fn mark_read(&self, chat: &ChatId, user: &UserId, id: LogId) -> StoreResult<Chat>;

    /// A member's unread count and read position, in a few index look-ups
    /// whatever the length of the chat's history.
    async fn read_state(&self, chat: &ChatId, user: &UserId) -> StoreResult<ReadState>;

    /// Every current member whose read position is at a message, in join
    /// order, with that position.
    async fn read_receipts(&self, chat: &ChatId) -> StoreResult<Vec<(UserId, ReadPosition)>>;

    /// Up to `limit` messages older than `before` (or the newest when
    /// `None`), returned oldest first.
    async fn messages(
        &self,
        chat: &ChatId,
        before: Option<LogId>,
        limit: usize,
    ) -> StoreResult<MessagePage>;

    async fn last_message(&self, chat: &ChatId) -> StoreResult<Option<Message>>;

    /// Up to `limit` events of `partition` strictly after `after`, in log
    /// order. `Expired` when events after `after` were already trimmed
    /// away.
    async fn read_log(
        &self,
        partition: Partition,
        after: LogId,
        limit: usize,
    ) -> StoreResult<Vec<Event>>;

    /// The position of a partition's newest event (`LogId::ZERO` for an
    /// empty log).
    async fn log_head(&self, partition: Partition) -> StoreResult<LogId>;

    /// Every partition's newest position (read all at once).
    async fn log_heads(&self) -> StoreResult<Positions> {
        let heads =
            futures_util::future::try_join_all(self.partitions().all().map(|p| self.log_head(p)))
                .await?;
        Ok(Positions::from_vec(heads))
    }

    /// A chat by id, without a membership check: for resolving an event's
    /// chat at delivery time, after the event itself was found visible.
    async fn chat(&self, chat: &ChatId) -> StoreResult<Option<Chat>>;

    /// The chats `user` belongs to with every partition's head: the
    /// chats of each partition are read in one atomic step with that
    /// partition's head, so they are exactly the memberships at that
    /// position. Subscriptions start from this.
    async fn membership_snapshot(&self, user: &UserId) -> StoreResult<(Vec<ChatId>, Positions)>;

    /// A reader that waits at the end of one partition's log, for this
    /// process's consumer of it. It holds its own connection where the
    /// backend has them.
    fn log_tail(&self, partition: Partition) -> Box<dyn LogTail>;

    /// Starts `session` for `user` with its first refresh token.
    async fn start_session(
        &self,
        user: &UserId,
        session: &SessionId,
        refresh: RefreshHash<'_>,
    ) -> StoreResult<()>;

    /// Exchanges the session's current refresh token, `presented` (a hash),
    /// for `next`, in one atomic step, so two requests racing with one
    /// token cannot both rotate: the second finds it used, which ends the
    /// session. An ended session's access tokens are refused until
    /// `tokens_until`.
    async fn rotate_session(
        &self,
        session: &SessionId,
        presented: &str,
        next: RefreshHash<'_>,
        now: Millis,
        tokens_until: Millis,
    ) -> StoreResult<Rotation>;

    /// Ends one session of `user` (nothing when it is not theirs or has
    /// ended), announcing it to every process; returns what it ended.
    async fn end_session(
        &self,
        user: &UserId,
        session: &SessionId,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>>;

    /// Ends every session of `user`, announcing each.
    async fn end_sessions(&self, user: &UserId, tokens_until: Millis) -> StoreResult<Vec<Ended>>;

    /// Sets a new password hash and ends every session of `user`, in one
    /// atomic step.
    async fn change_password(
        &self,
        user: &UserId,
        password_hash: &str,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>>;

    /// The sessions whose access tokens must still be refused at `now`.
    async fn ended_sessions(&self, now: Millis) -> StoreResult<Vec<Ended>>;

    /// Whether `session`'s access tokens must be refused at `now`: one
    /// look-up, for a process that cannot trust its notices right now.
    async fn session_ended(&self, session: &SessionId, now: Millis) -> StoreResult<bool>;

    /// Notices of sessions ending from now on. Open them before reading
    /// [`Store::ended_sessions`], so nothing ends unseen in between.
    async fn session_notices(&self) -> StoreResult<Box<dyn SessionNotices>>;
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
