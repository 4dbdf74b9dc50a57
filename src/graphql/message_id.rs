//! Message ids as clients see them.
//!
//! A message is named by its chat and its position in the log:
//! `<chat id>:<ms>-<seq>`. The chat is part of the id because the mutations
//! that take a message id alone (`editMessage`, `addReaction`, ...) must
//! find its chat without a global index, and because a log position names
//! a message only within its chat once the log is partitioned. Clients
//! treat the text as opaque; a malformed id names nothing (NOT_FOUND).

use async_graphql::ID;

use crate::domain::ChatId;
use crate::store::LogId;

use super::error::{ApiError, ApiResult};

/// A message's chat and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageId {
    pub chat: ChatId,
    pub id: LogId,
}

impl MessageId {
    /// The id clients see for message `id` of `chat`.
    pub fn text(chat: &ChatId, id: LogId) -> ID {
        ID(format!("{chat}:{id}"))
    }

    /// Parses a client's message id; NOT_FOUND when it cannot name one.
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let (chat, id) = raw.split_once(':').ok_or(ApiError::NotFound)?;
        Ok(Self {
            chat: ChatId::parse(chat).ok_or(ApiError::NotFound)?,
            id: id.parse().map_err(|_| ApiError::NotFound)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_names_nothing() {
        let chat = ChatId::generate();
        let id = LogId { ms: 17, seq: 3 };
        let text = MessageId::text(&chat, id);
        assert_eq!(MessageId::parse(&text).unwrap(), MessageId { chat, id });
        for raw in ["", "17-3", "x:17-3", &format!("{}:17", ChatId::generate())] {
            assert!(MessageId::parse(raw).is_err(), "{raw:?}");
        }
    }
}
