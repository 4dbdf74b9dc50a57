//! One subscription's events: replay from the log, then live from the hub,
//! with no gap, no duplicate, and exactly the events the viewer may see.
//!
//! How the seams are closed:
//! 1. Register with the hub *first*, then take a membership snapshot together
//!    with the log head (`head`) in one atomic read. Every event after
//!    `head` is published after the registration, so the route gets it if
//!    the viewer may see it (the hub routes by the snapshot, corrected by
//!    the membership events it has published since `head`); anything the
//!    route yields at or before `position` is skipped.
//! 2. With `after`, memberships are rewound from `head` to `after` by
//!    undoing the viewer's own membership events in between, then events
//!    `(after, head]` are replayed from the log through the same filter.
//! 3. A receiver that lags behind the hub's buffer is backfilled from the
//!    log from `position` to the end, then goes back to the receiver.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::Stream;

use crate::domain::{ChatId, UserId};
use crate::store::{Event, LogId, Store, StoreError, StoreResult};

use super::hub::{Hub, Received, Route};
use super::visibility::{Verdict, Visibility};

/// Events read from the log per round trip while replaying.
const PAGE: usize = 500;

/// Where the feed takes its next events from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The log, up to and including this position, then the hub.
    LogUntil(LogId),
    /// The log, until it has nothing more, then the hub (lag backfill).
    LogToEnd,
    /// The hub.
    Hub,
}

/// An event a feed delivers, and how it got it.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub event: Arc<Event>,
    /// Delivered as it happened: from the hub, or caught up from the log
    /// after the subscriber fell behind the hub; not replayed after a
    /// client's cursor. Such events reach every subscriber within moments
    /// of each other, which is what lets their renderings be shared.
    pub live: bool,
}

/// The events one subscription delivers, in log order.
pub struct Feed {
    store: Arc<dyn Store>,
    /// This subscription's queue in the hub: only events of the viewer's
    /// chats (and its own membership changes) reach it.
    route: Route,
    visibility: Visibility,
    /// The last log position taken into account (delivered or skipped).
    position: LogId,
    source: Source,
    ready: VecDeque<FeedEvent>,
    ended: bool,
}

impl Feed {
    /// Opens a feed for `viewer`, optionally limited to chat `only` (which
    /// the viewer must be a member of now: `NotFound` otherwise) and
    /// resuming after log position `after` (`Expired` when the log no longer
    /// holds what follows it).
    #[tracing::instrument(level = "debug", skip_all, fields(%viewer, chat = ?only, ?after))]
    pub async fn open(
        store: Arc<dyn Store>,
        hub: &Hub,
        viewer: UserId,
        only: Option<ChatId>,
        after: Option<LogId>,
    ) -> StoreResult<Feed> {
        let route = hub.route(viewer.clone(), only.clone());
        let (chats, head) = store.membership_snapshot(&viewer).await?;
        route.set_chats(chats.iter().cloned(), head);
        let mut visibility = Visibility::new(viewer, chats, only.clone());
        if let Some(chat) = &only
            && !visibility.is_member(chat)
        {
            return Err(StoreError::NotFound);
        }
        let (position, source) = match after {
            Some(after) if after < head => {
                rewind(store.as_ref(), &mut visibility, after, head).await?;
                (after, Source::LogUntil(head))
            }
            _ => (head, Source::Hub),
        };
        Ok(Feed {
            store,
            route,
            visibility,
            position,
            source,
            ready: VecDeque::new(),
            ended: false,
        })
    }

    /// The next event to deliver; `None` when the feed has ended.
    pub async fn next(&mut self) -> Option<StoreResult<FeedEvent>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            let step = match self.source {
                Source::LogUntil(until) => self.replay(Some(until)).await,
                Source::LogToEnd => self.replay(None).await,
                Source::Hub => {
                    self.listen().await;
                    Ok(())
                }
            };
            if let Err(error) = step {
                self.ended = true;
                return Some(Err(error));
            }
        }
    }

    /// The feed as a stream, for the GraphQL layer.
    pub fn into_stream(self) -> impl Stream<Item = StoreResult<FeedEvent>> + Send {
        futures_util::stream::unfold(self, |mut feed| async move {
            feed.next().await.map(|item| (item, feed))
        })
    }

    /// Reads one page of the log after `position`, then switches to the hub
    /// when the page reaches `until` or the end of the log.
    async fn replay(&mut self, until: Option<LogId>) -> StoreResult<()> {
        let page = self.store.read_log(self.position, PAGE).await?;
        let mut done = page.len() < PAGE;
        for event in page {
            if until.is_some_and(|until| event.id > until) {
                done = true;
                break;
            }
            // Catching up after lag (`until` is `None`) continues the live
            // flow; replaying up to the head serves a client's cursor.
            self.take(Arc::new(event), until.is_none());
            if self.ended {
                return Ok(());
            }
        }
        if done {
            self.source = Source::Hub;
        }
        Ok(())
    }

    /// Waits for the hub's next event.
    async fn listen(&mut self) {
        match self.route.recv().await {
            Received::Event(event) if event.id > self.position => self.take(event, true),
            Received::Event(_) => {}
            Received::Lagged => {
                tracing::debug!(position = %self.position, "subscription lagged; backfilling from the log");
                self.source = Source::LogToEnd;
            }
            Received::Closed => self.ended = true,
        }
    }

    fn take(&mut self, event: Arc<Event>, live: bool) {
        self.position = event.id;
        let verdict = self.visibility.apply(&event);
        match verdict {
            Verdict::Skip => {}
            Verdict::Deliver | Verdict::DeliverAndEnd => {
                self.ready.push_back(FeedEvent { event, live });
                self.ended = verdict == Verdict::DeliverAndEnd;
            }
        }
    }
}

/// Turns `visibility` from the memberships at `head` into those at `after`
/// by undoing, newest first, the viewer's membership events in between.
async fn rewind(
    store: &dyn Store,
    visibility: &mut Visibility,
    after: LogId,
    head: LogId,
) -> StoreResult<()> {
    let mut changes = Vec::new();
    let mut position = after;
    while position < head {
        let page = store.read_log(position, PAGE).await?;
        let Some(last) = page.last().map(|e| e.id) else {
            break;
        };
        for event in page.into_iter().take_while(|e| e.id <= head) {
            if visibility.concerns_membership(&event) {
                changes.push(event);
            }
        }
        position = last;
    }
    for event in changes.iter().rev() {
        visibility.unapply(event);
    }
    Ok(())
}
