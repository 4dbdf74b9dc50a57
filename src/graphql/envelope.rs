//! An event as subscriptions carry it: the event with the log epoch its
//! cursor is printed with. The subscription resolvers make them
//! (`events`), and the delivery wing (`live`) renders them.

use std::sync::Arc;

use async_graphql::ID;

use crate::cursor::Cursor;
use crate::store::{Event, LogId};

use super::scalars::DateTime;

/// An event from the log with the epoch its cursor is printed with.
#[derive(Clone)]
pub struct Envelope {
    pub(super) event: Arc<Event>,
    /// The log's epoch, printed into the cursor.
    pub(super) epoch: Arc<str>,
    /// Delivered as it happened, not replayed after a client's cursor: only
    /// such renderings are shared (see `live::rendition`).
    pub(super) live: bool,
}

impl Envelope {
    /// The event's position in the log.
    pub fn log_id(&self) -> LogId {
        self.event.id
    }

    pub(super) fn cursor(&self) -> String {
        Cursor::log(&self.epoch, self.event.id)
    }

    pub(super) fn chat_id(&self) -> ID {
        ID(self.event.chat_id.to_string())
    }

    pub(super) fn at(&self) -> DateTime {
        DateTime(self.event.at())
    }
}
