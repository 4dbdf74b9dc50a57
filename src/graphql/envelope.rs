//! An event as subscriptions carry it: the event with the log epochs its
//! cursor is printed with. The subscription resolvers make them
//! (`events`), and the delivery wing (`live`) renders them.

use std::sync::Arc;

use async_graphql::ID;

use crate::cursor::Cursor;
use crate::store::{Event, LogId, Positions};

use super::scalars::DateTime;

/// Every partition's epoch when a subscription opened, in partition order:
/// what its events' cursors are printed with.
pub type Epochs = Arc<[String]>;

/// An event from the log with what its cursor is printed with.
#[derive(Clone)]
pub struct Envelope {
    pub(super) event: Arc<Event>,
    pub(super) epochs: Epochs,
    /// Delivered as it happened, not replayed after a client's cursor: only
    /// such renderings are shared (see `live::rendition`).
    pub(super) live: bool,
    /// For an all-chats subscription over a partitioned log: the feed's
    /// position in every partition after this event, which its cursor
    /// holds instead of the event's own position.
    pub(super) resume: Option<Positions>,
}

impl Envelope {
    /// The event's position in its partition's log.
    pub fn log_id(&self) -> LogId {
        self.event.id
    }

    /// Where the event leaves its subscription, for transports that print
    /// the resuming cursor themselves (SSE's `id:`).
    pub fn position(&self) -> LogPosition {
        LogPosition {
            epochs: self.epochs.clone(),
            event: self.event.clone(),
            resume: self.resume.clone(),
        }
    }

    /// The epoch of the event's partition.
    pub(super) fn epoch(&self) -> &str {
        epoch_of(&self.epochs, &self.event)
    }

    /// The cursor that resumes the subscription right after this event.
    pub(super) fn cursor(&self) -> String {
        print(&self.epochs, &self.event, self.resume.as_ref())
    }

    /// The feed cursor, when the event carries one (see `resume`).
    pub(super) fn feed_cursor(&self) -> Option<String> {
        self.resume
            .as_ref()
            .map(|positions| Cursor::feed(&self.epochs, positions))
    }

    pub(super) fn chat_id(&self) -> ID {
        ID(self.event.chat_id.to_string())
    }

    pub(super) fn at(&self) -> DateTime {
        DateTime(self.event.at())
    }
}

/// A place in the log a delivered event left its subscription at. Kept as
/// parts, so only a transport that prints the cursor pays for it.
#[derive(Debug, Clone)]
pub struct LogPosition {
    epochs: Epochs,
    event: Arc<Event>,
    resume: Option<Positions>,
}

impl LogPosition {
    /// The cursor that resumes right after the event.
    pub fn cursor(&self) -> String {
        print(&self.epochs, &self.event, self.resume.as_ref())
    }
}

fn epoch_of<'a>(epochs: &'a [String], event: &Event) -> &'a str {
    epochs
        .get(event.partition.index())
        .map_or("", String::as_str)
}

fn print(epochs: &[String], event: &Event, resume: Option<&Positions>) -> String {
    match resume {
        Some(positions) => Cursor::feed(epochs, positions),
        None => Cursor::log(epoch_of(epochs, event), event.partition, event.id),
    }
}
