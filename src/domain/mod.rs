//! Domain newtypes that parse and validate input at the boundary.
//!
//! A value of one of these types is valid by construction, so the store and
//! the resolvers never re-check lengths or character sets. The rules are the
//! ones in the contract's SEMANTICS.md; lengths count Unicode code points.

mod chat_title;
mod client_message_id;
mod emoji;
mod ids;
mod invalid_input;
mod message_body;
mod page_size;
mod password;
mod username;

pub use chat_title::ChatTitle;
pub use client_message_id::ClientMessageId;
pub use emoji::{Emoji, MAX_EMOJI_BYTES};
pub use ids::{ChatId, SessionId, UserId};
pub use invalid_input::InvalidInput;
pub use message_body::MessageBody;
pub use page_size::PageSize;
pub use password::Password;
pub use username::Username;
