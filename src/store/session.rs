//! Sessions as the store keeps them: who a session belongs to and the hash
//! of its current refresh token; and which sessions have ended, until when
//! their access tokens could still be presented.

use async_trait::async_trait;

use crate::domain::{SessionId, UserId};

use super::{Millis, StoreResult};

/// A refresh token to store: its hash, and until when it may be used.
#[derive(Debug, Clone, Copy)]
pub struct RefreshHash<'a> {
    pub hash: &'a str,
    pub expires_at: Millis,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was the session's current token, unexpired: the next one is
    /// stored and this one is used up.
    Rotated { user: UserId },
    /// It was one the session had already used: taken as theft, the whole
    /// session has ended.
    Reused,
    /// Unknown, expired, or of an ended session.
    Refused,
}

/// An ended session: its access tokens are refused until `until` (the
/// latest `exp` any of them can have), after which none is left to refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub session: SessionId,
    pub until: Millis,
}

/// Notices of sessions ending, as they happen, for one process's watcher.
#[async_trait]
pub trait SessionNotices: Send {
    /// The next session that ended. An error means notices may have been
    /// missed (the connection dropped, the reader fell behind): the caller
    /// re-reads the ended sessions and opens new notices.
    async fn next(&mut self) -> StoreResult<Ended>;
}
