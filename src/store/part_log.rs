//! One partition's log in the memory backend.

use std::collections::VecDeque;

use crate::domain::ChatId;
use crate::store::{Event, EventKind, LogId, Partition, StoreError, StoreResult, now_ms};

/// The events of one partition, trimmed to the retention, with what a
/// reader needs to tell an expired position from an old one.
pub(super) struct PartLog {
    partition: Partition,
    events: VecDeque<Event>,
    last_id: LogId,
    /// The newest position trimmed from the log, if any.
    max_trimmed: Option<LogId>,
    retention: usize,
}

impl PartLog {
    pub(super) fn new(partition: Partition, retention: usize) -> Self {
        Self {
            partition,
            events: VecDeque::new(),
            last_id: LogId::ZERO,
            max_trimmed: None,
            retention: retention.max(1),
        }
    }

    /// The newest position (`LogId::ZERO` before the first event).
    pub(super) fn head(&self) -> LogId {
        self.last_id
    }

    /// Appends an event of `chat` at the next position, which `kind` may
    /// use; trims to the retention.
    pub(super) fn append(&mut self, chat: &ChatId, kind: impl FnOnce(LogId) -> EventKind) -> LogId {
        let id = self.last_id.next_at(now_ms());
        self.last_id = id;
        self.events.push_back(Event {
            partition: self.partition,
            id,
            chat_id: chat.clone(),
            kind: kind(id),
        });
        while self.events.len() > self.retention {
            if let Some(old) = self.events.pop_front() {
                self.max_trimmed = Some(old.id);
            }
        }
        id
    }

    /// Up to `limit` events after `after`; `Expired` when one of them was
    /// trimmed.
    pub(super) fn read_after(&self, after: LogId, limit: usize) -> StoreResult<Vec<Event>> {
        if self.max_trimmed.is_some_and(|trimmed| after < trimmed) {
            return Err(StoreError::Expired);
        }
        let start = self.events.partition_point(|e| e.id <= after);
        Ok(self
            .events
            .iter()
            .skip(start)
            .take(limit)
            .cloned()
            .collect())
    }
}
