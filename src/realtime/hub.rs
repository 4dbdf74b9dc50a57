//! The in-process fan-out of events from the log consumer to subscriptions.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::store::Event;

/// Broadcasts every consumed event to every live subscription of this
/// process. Events are shared as `Arc`s, so fan-out copies a pointer, not
/// the event.
///
/// A subscription that falls more than the buffer behind gets `Lagged` from
/// its receiver and backfills from the log (see `feed`), so the buffer size
/// bounds memory, never correctness.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Hub {
    /// A hub whose receivers may fall up to `buffer` events behind before
    /// they must backfill.
    pub fn new(buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        Self { sender }
    }

    /// Receives every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Hands one event to every receiver. Events must be published in log
    /// order, which the single consumer per process guarantees.
    pub fn publish(&self, event: Arc<Event>) {
        // An error only means nobody is subscribed right now.
        let _ = self.sender.send(event);
    }

    /// How many subscriptions are listening.
    pub fn receivers(&self) -> usize {
        self.sender.receiver_count()
    }
}
