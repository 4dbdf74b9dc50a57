//! The API's error type and its stable `extensions.code`s.

use std::time::Duration;

use async_graphql::ErrorExtensions;

use crate::cursor::MalformedCursor;
use crate::domain::InvalidInput;
use crate::store::StoreError;
use crate::throttle::policy::Refusal;

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
    /// CONFLICT: the username is taken.
    Conflict(String),
    /// RATE_LIMITED: over a configured rate; the same request is allowed
    /// again after this long (sent as `extensions.retryAfterMs`).
    RateLimited(Duration),
    /// CURSOR_EXPIRED: the cursor is older than the retained log, or comes
    /// from a log that was lost.
    CursorExpired,
    /// INTERNAL: a failure on our side; the cause is logged, not sent.
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::NotFound => "NOT_FOUND",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::RateLimited(_) => "RATE_LIMITED",
            ApiError::CursorExpired => "CURSOR_EXPIRED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(why) => (*why).to_owned(),
            ApiError::NotFound => "not found".to_owned(),
            ApiError::BadUserInput(why) | ApiError::Conflict(why) => why.clone(),
            ApiError::RateLimited(wait) => format!(
                "too many requests: try again in {} ms",
                wait.as_millis()
            ),
            ApiError::CursorExpired => {
                "cursor expired: it is older than the retained event log; reload and resume from a fresh cursor".to_owned()
            }
            ApiError::Internal(_) => "internal server error".to_owned(),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        if let ApiError::Internal(cause) = &error {
            tracing::error!(%cause, "internal error");
        }
        let code = error.code();
        let retry_after = match &error {
            ApiError::RateLimited(wait) => {
                Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
            }
            _ => None,
        };
        async_graphql::Error::new(error.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(ms) = retry_after {
                ext.set("retryAfterMs", ms);
            }
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UsernameTaken => ApiError::Conflict("username is taken".to_owned()),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Expired => ApiError::CursorExpired,
            StoreError::Backend(cause) => ApiError::Internal(cause),
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
