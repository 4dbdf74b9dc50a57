//! Ephemeral signals — typing and presence — as the backends keep them:
//! state with expiry, plus a notice on a channel when it changes.
//!
//! None of this is in the event log. The state is read whole (the set of
//! typists, a user's presence) and the notices only say *which* state
//! changed, never how: a listener re-reads on a notice, so a notice that
//! raced its subscription, or one that was lost while a connection was
//! down, can never leave anyone with a stale picture for longer than the
//! next read.
//!
//! Lapses need nobody to announce them: every read answers as of the
//! backend's clock and says how long its answer holds (`holds_for`), and
//! whoever watches reads again then.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{ChatId, UserId};

use super::{Millis, StoreResult};

/// How long a `setTyping(chat, true)` lasts unless renewed.
pub const TYPING_LAPSE: Duration = Duration::from_secs(6);

/// A state a process can listen to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Signal {
    /// A chat's typing set.
    Typing(ChatId),
    /// A user's presence.
    Presence(UserId),
}

/// A chat's typing set as read at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Typing {
    /// Members typing, in the order they started.
    pub users: Vec<UserId>,
    /// Until the first of them lapses; `None` when nobody types.
    pub holds_for: Option<Duration>,
}

/// A user's presence as read at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Presence {
    pub online: bool,
    /// When the user went offline; `None` while online or if never seen.
    pub last_seen: Option<Millis>,
    /// While online: until the heartbeats of its connections lapse (the
    /// user goes offline then unless one is renewed). `None` when offline.
    pub holds_for: Option<Duration>,
}

/// The ephemeral-signal half of a backend. The `Store` requires it, so one
/// backend keeps both (sending a message and leaving a chat end the
/// sender's typing in the same atomic step).
#[async_trait]
pub trait Signals: Send + Sync + 'static {
    /// Puts `user` in (or takes it out of) `chat`'s typing set; putting
    /// renews the lapse. `NotFound` when the user is not a member.
    /// Announces `Signal::Typing(chat)` when the set's members change.
    async fn set_typing(&self, chat: &ChatId, user: &UserId, typing: bool) -> StoreResult<()>;

    async fn typing(&self, chat: &ChatId) -> StoreResult<Typing>;

    /// Marks `users` present through `holder` (one server process) for
    /// `ttl`: a first hold, or a heartbeat renewing it. Announces
    /// `Signal::Presence` for each user this brings online.
    async fn hold_presence(&self, holder: &str, users: &[UserId], ttl: Duration)
    -> StoreResult<()>;

    /// Ends `holder`'s hold of `users`; each left with no live hold goes
    /// offline now, and is announced.
    async fn release_presence(&self, holder: &str, users: &[UserId]) -> StoreResult<()>;

    async fn presence(&self, user: &UserId) -> StoreResult<Presence>;

    /// Whether `a` and `b` are members of at least one chat in common.
    async fn share_a_chat(&self, a: &UserId, b: &UserId) -> StoreResult<bool>;

    /// A listening connection: the control to choose what it hears, and
    /// the notices it hears.
    async fn listen(&self) -> StoreResult<(Box<dyn SignalControl>, Box<dyn SignalNotices>)>;
}

/// Chooses what a listening connection hears.
#[async_trait]
pub trait SignalControl: Send {
    /// Returns once notices for `signal` will be heard.
    async fn add(&mut self, signal: &Signal) -> StoreResult<()>;
    async fn remove(&mut self, signal: &Signal) -> StoreResult<()>;
}

/// What a listening connection hears.
#[async_trait]
pub trait SignalNotices: Send {
    /// The next signal whose state changed. An error means notices may
    /// have been missed (the connection dropped, the reader fell behind):
    /// the caller opens a new connection and re-reads what it watches.
    async fn next(&mut self) -> StoreResult<Signal>;
}
