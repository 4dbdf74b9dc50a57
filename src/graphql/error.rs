//! The API's error type, and the one conversion that gives every error
//! sent to a client its `extensions.code`.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{ErrorExtensions, ServerError};

use crate::cursor::MalformedCursor;
use crate::domain::InvalidInput;
use crate::store::StoreError;
use crate::throttle::policy::Refusal;

use super::code::{Code, QUERY_TOO_COMPLEX};

/// A cause of an internal error, kept whole for the log.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// Every way an operation can fail, as the client sees it. Each variant is
/// one `extensions.code` of the contract; nothing internal is ever sent.
///
/// It deliberately does not implement `Display`: that keeps async-graphql's
/// blanket `From<impl Display>` (which would drop the code) from applying, so
/// the only way into a GraphQL error is the conversion below.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// UNAUTHENTICATED: no token, a refused token, or wrong credentials.
    Unauthenticated(&'static str),
    /// NOT_FOUND: nothing the viewer may see has this id.
    NotFound,
    /// BAD_USER_INPUT: the input breaks a rule; the message says which.
    BadUserInput(String),
    /// FORBIDDEN: the viewer may see the object but may not do this to it.
    Forbidden(&'static str),
    /// CONFLICT: the username is taken, or the message was deleted.
    Conflict(String),
    /// BAD_USER_INPUT with reason QUERY_TOO_COMPLEX: the operation's
    /// `limit` (depth, complexity, ...) is `actual`, over the `max`.
    QueryTooComplex {
        limit: &'static str,
        max: usize,
        actual: usize,
    },
    /// BAD_USER_INPUT: introspection asked for while it is turned off.
    IntrospectionOff,
    /// RATE_LIMITED: over a configured rate; the same request is allowed
    /// again after this long (sent as `extensions.retryAfterMs`).
    RateLimited(Duration),
    /// RATE_LIMITED: over a bound that frees up when the client lets go of
    /// something (operations on one socket); the message says which.
    OverBound(String),
    /// CURSOR_EXPIRED: the cursor is older than the retained log, or comes
    /// from a log that was lost.
    CursorExpired,
    /// PERSISTED_QUERY_NOT_FOUND: the hash of a persisted query is not
    /// cached here, so the client must send the text with it.
    PersistedQueryNotFound,
    /// INTERNAL: a failure on our side; the cause (with its sources) is
    /// logged, not sent.
    Internal(Cause),
}

impl ApiError {
    pub fn code(&self) -> Code {
        match self {
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::NotFound => Code::NotFound,
            ApiError::BadUserInput(_)
            | ApiError::QueryTooComplex { .. }
            | ApiError::IntrospectionOff => Code::BadUserInput,
            ApiError::Forbidden(_) => Code::Forbidden,
            ApiError::Conflict(_) => Code::Conflict,
            ApiError::RateLimited(_) | ApiError::OverBound(_) => Code::RateLimited,
            ApiError::CursorExpired => Code::CursorExpired,
            ApiError::PersistedQueryNotFound => Code::PersistedQueryNotFound,
            ApiError::Internal(_) => Code::Internal,
        }
    }

    /// An internal error described by a message (the cause is ours, not a
    /// library's error).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let message: Box<dyn std::error::Error + Send + Sync> = cause.to_string().into();
        ApiError::Internal(Arc::from(message))
    }

    /// The error as a client receives it, pointing at no field: for errors
    /// raised outside a resolver (the HTTP and socket layers, the limits).
    pub fn into_server_error(self) -> ServerError {
        let mut error =
            async_graphql::Error::from(self).into_server_error(async_graphql::Pos::default());
        error.locations.clear();
        error
    }

    fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(why) | ApiError::Forbidden(why) => (*why).to_owned(),
            ApiError::NotFound => "not found".to_owned(),
            ApiError::BadUserInput(why) | ApiError::Conflict(why) | ApiError::OverBound(why) => {
                why.clone()
            }
            ApiError::QueryTooComplex { limit, max, actual } => {
                format!("the operation's {limit} is {actual}, over this server's limit of {max}")
            }
            ApiError::IntrospectionOff => "introspection is turned off on this server".to_owned(),
            ApiError::RateLimited(wait) => format!(
                "too many requests: try again in {} ms",
                wait.as_millis()
            ),
            ApiError::CursorExpired => {
                "cursor expired: it is older than the retained event log; reload and resume from a fresh cursor".to_owned()
            }
            // The exact text Apollo's clients look for (besides the code).
            ApiError::PersistedQueryNotFound => "PersistedQueryNotFound".to_owned(),
            ApiError::Internal(_) => "internal server error".to_owned(),
        }
    }
}

/// The one place an [`ApiError`] becomes what the client sees: the message
/// and `extensions.code`, plus `retryAfterMs` for a rate and the
/// `reason`, `limit`, `max` and `actual` of a query limit.
impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        if let ApiError::Internal(cause) = &error {
            tracing::error!(cause = %Chain(cause.as_ref()), "internal error");
        }
        let message = error.message();
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", error.code().as_str());
            match &error {
                ApiError::RateLimited(wait) => {
                    ext.set(
                        "retryAfterMs",
                        u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    );
                }
                ApiError::QueryTooComplex { limit, max, actual } => {
                    ext.set("reason", QUERY_TOO_COMPLEX);
                    ext.set("limit", *limit);
                    ext.set("max", *max);
                    ext.set("actual", *actual);
                }
                _ => {}
            }
        })
    }
}

/// An error and its sources, `: `-separated, for the log.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UsernameTaken => ApiError::Conflict("username is taken".to_owned()),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Forbidden => {
                ApiError::Forbidden("only the sender may edit or delete a message")
            }
            StoreError::Deleted => ApiError::Conflict("the message was deleted".to_owned()),
            StoreError::TooManyEmoji(max) => ApiError::BadUserInput(format!(
                "a message takes reactions with at most {max} distinct emoji"
            )),
            StoreError::NotAMessage => ApiError::BadUserInput(
                "the cursor is not the cursor of a message of this chat".to_owned(),
            ),
            StoreError::Expired => ApiError::CursorExpired,
            StoreError::Backend(cause) => ApiError::Internal(Arc::from(cause)),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Limited(wait) => ApiError::RateLimited(wait),
            Refusal::Unavailable(cause) => ApiError::internal(cause),
        }
    }
}

impl From<InvalidInput> for ApiError {
    fn from(error: InvalidInput) -> Self {
        ApiError::BadUserInput(error.0)
    }
}

impl From<MalformedCursor> for ApiError {
    fn from(_: MalformedCursor) -> Self {
        ApiError::BadUserInput("not a cursor issued by this server".to_owned())
    }
}

/// Result of resolvers.
pub type ApiResult<T> = Result<T, ApiError>;
