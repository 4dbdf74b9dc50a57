//! The `extensions.code` of every error the server sends, and the one
//! `extensions.reason` it uses: written here once, read everywhere else
//! through these names.

/// The contract's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// No token, a refused token, or wrong credentials.
    Unauthenticated,
    /// Nothing the viewer may see has this id.
    NotFound,
    /// The input breaks a rule, or the document does not parse, validate
    /// or fit the query limits.
    BadUserInput,
    /// The viewer may see the object but may not do this to it (editing
    /// or deleting another member's message).
    Forbidden,
    /// The username is taken, or the message was deleted.
    Conflict,
    /// Over a configured rate or bound.
    RateLimited,
    /// The cursor is older than the retained log, or from a lost log.
    CursorExpired,
    /// A persisted query's hash is not in this process's cache: the client
    /// sends the query text with it (Apollo's automatic persisted queries).
    PersistedQueryNotFound,
    /// A failure on the server's side.
    Internal,
}

impl Code {
    /// The code as clients see it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::NotFound => "NOT_FOUND",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Forbidden => "FORBIDDEN",
            Code::Conflict => "CONFLICT",
            Code::RateLimited => "RATE_LIMITED",
            Code::CursorExpired => "CURSOR_EXPIRED",
            Code::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::Internal => "INTERNAL",
        }
    }
}

/// The `extensions.reason` of a BAD_USER_INPUT refused by a query limit
/// (depth, complexity, aliases, directives): it tells those apart from
/// other invalid input.
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
