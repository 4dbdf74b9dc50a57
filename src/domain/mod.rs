//! Domain newtypes that parse and validate input at the boundary.
//!
//! A value of one of these types is valid by construction, so the store and
//! the resolvers never re-check lengths or character sets. The rules are the
//! ones in the contract's SEMANTICS.md; lengths count Unicode code points.

mod chat_title;
mod client_message_id;
mod ids;
mod message_body;
mod page_size;
mod password;
mod username;

pub use chat_title::ChatTitle;
pub use client_message_id::ClientMessageId;
pub use ids::{ChatId, UserId};
pub use message_body::MessageBody;
pub use page_size::PageSize;
pub use password::Password;
pub use username::Username;

/// Why an input was refused; shown to the client as a BAD_USER_INPUT message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Checks that `value` has between `min` and `max` code points.
fn check_length(field: &str, value: &str, min: usize, max: usize) -> Result<(), InvalidInput> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(InvalidInput::new(format!(
            "{field} must be {min}–{max} characters long (got {len})"
        )));
    }
    Ok(())
}
