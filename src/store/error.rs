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
    /// A log position older than the retained log.
    #[error("cursor is older than the retained event log")]
    Expired,
    /// The backend failed (connection lost, unexpected reply, ...).
    #[error("storage backend failed: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
