//! Errors of the storage layer.

/// Why a store operation failed. The GraphQL edge turns each variant into a
/// stable `extensions.code`; `Backend` details are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The username is already taken (ignoring case).
    #[error("username is taken")]
    UsernameTaken,
    /// A chat or user the caller may see does not exist; a chat the caller
    /// is not a member of is reported the same way.
    #[error("not found")]
    NotFound,
    /// The caller may see the message but may not change it (only its
    /// sender may edit or delete it).
    #[error("only the sender may change this message")]
    Forbidden,
    /// The message was deleted, so it can no longer be edited or reacted to.
    #[error("the message was deleted")]
    Deleted,
    /// A message already has reactions with the most distinct emoji allowed.
    #[error("a message takes at most {0} distinct emoji")]
    TooManyEmoji(usize),
    /// A position given to `markRead` is not a message of the chat.
    #[error("the cursor names no message of this chat")]
    NotAMessage,
    /// A log position older than the retained log.
    #[error("cursor is older than the retained event log")]
    Expired,
    /// The backend failed (connection lost, unexpected reply, a record
    /// not as written, ...). The cause keeps its own sources for the log.
    #[error("storage backend failed: {0}")]
    Backend(#[source] BackendError),
}

/// What made a backend fail: a client library's error, or our own words
/// for a reply or record that is not what was written.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

impl StoreError {
    /// A backend failure caused by `cause`.
    pub fn backend(cause: impl Into<BackendError>) -> Self {
        StoreError::Backend(cause.into())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
