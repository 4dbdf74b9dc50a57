//! One subscription's events: replay from the log, then live from the hub,
//! with no gap, no duplicate, and exactly the events the viewer may see.
//!
//! How the seams are closed:
//! 1. Register with the hub *first*, then take a membership snapshot together
//!    with each partition's head (`heads`), each partition's part in one
//!    atomic read. Every event after its partition's head is published
//!    after the registration, so the route gets it if the viewer may see it
//!    (the hub routes by the snapshot, corrected by the membership events
//!    it has published since); anything the route yields at or before the
//!    feed's position in the event's partition is skipped.
//! 2. With `after`, memberships are rewound from `heads` to `after` by
//!    undoing the viewer's own membership events in between, then events
//!    `(after, heads]` are replayed from the log through the same filter.
//! 3. A receiver that lags behind the hub's buffer is backfilled from the
//!    log from `positions` to the end, then goes back to the receiver.
//!
//! With more than one partition, everything above is done per partition:
//! a chat's events and its membership events are all in its partition's
//! log, so partitions never need to be ordered against each other, and a
//! feed's place is one position per partition ([`Positions`]).

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::Stream;

use crate::domain::{ChatId, UserId};
use crate::store::{Event, LogId, Partition, Positions, Store, StoreError, StoreResult};

use super::hub::{Hub, Received, Route};
use super::visibility::{Verdict, Visibility};

/// Events read from the log per round trip while replaying.
const PAGE: usize = 500;

/// Where a feed resumes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// A position in the log of the feed's one chat (for a feed limited to
    /// a chat).
    Chat(LogId),
    /// A position in every partition (for an all-chats feed).
    Feed(Positions),
}

/// Where the feed takes its next events from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// The log, up to and including these positions, then the hub.
    LogUntil(Positions),
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
    /// For an all-chats feed over more than one partition: the feed's
    /// position in every partition right after this event, which is what
    /// resumes it exactly. `None` where the event's own position does.
    pub resume: Option<Positions>,
}

/// The events one subscription delivers, in log order within each
/// partition.
pub struct Feed {
    store: Arc<dyn Store>,
    /// This subscription's queue in the hub: only events of the viewer's
    /// chats (and its own membership changes) reach it.
    route: Route,
    visibility: Visibility,
    /// The last position taken into account (delivered or skipped), per
    /// partition.
    positions: Positions,
    /// The partitions this feed reads: the chat's for a feed limited to
    /// one, every one otherwise.
    partitions: Vec<Partition>,
    /// The replay under way, while the source is the log.
    replay: Option<Replay>,
    /// Whether each event carries the feed's positions (see
    /// [`FeedEvent::resume`]).
    stamps: bool,
    source: Source,
    ready: VecDeque<FeedEvent>,
    ended: bool,
}

impl Feed {
    /// Opens a feed for `viewer`, optionally limited to chat `only` (which
    /// the viewer must be a member of now: `NotFound` otherwise) and
    /// resuming after `after` (`Expired` when the log no longer holds what
    /// follows it).
    #[tracing::instrument(level = "debug", skip_all, fields(%viewer, chat = ?only, ?after))]
    pub async fn open(
        store: Arc<dyn Store>,
        hub: &Hub,
        viewer: UserId,
        only: Option<ChatId>,
        after: Option<After>,
    ) -> StoreResult<Feed> {
        let route = hub.route(viewer.clone(), only.clone());
        let (chats, heads) = store.membership_snapshot(&viewer).await?;
        route.set_chats(chats.iter().cloned(), &heads);
        let mut visibility = Visibility::new(viewer, chats, only.clone());
        if let Some(chat) = &only
            && !visibility.is_member(chat)
        {
            return Err(StoreError::NotFound);
        }
        let partitions: Vec<Partition> = match &only {
            Some(chat) => vec![store.partition_of(chat)],
            None => store.partitions().all().collect(),
        };
        let start = match (&after, &only) {
            (None, _) => heads.clone(),
            (Some(After::Chat(id)), Some(chat)) => {
                let mut start = heads.clone();
                start.set(store.partition_of(chat), *id);
                start
            }
            // With one partition a chat's position is a feed position.
            (Some(After::Chat(id)), None) if heads.len() == 1 => Positions::from_vec(vec![*id]),
            (Some(After::Feed(positions)), _) if positions.len() == heads.len() => {
                positions.clone()
            }
            // Made for another partitioning of the log: it cannot be
            // resumed exactly (the GraphQL layer refuses these first).
            (Some(_), _) => return Err(StoreError::Expired),
        };
        // A position ahead of the head has nothing to replay.
        let start = Positions::from_vec(
            start
                .iter()
                .zip(heads.iter())
                .map(|(start, head)| start.min(head))
                .collect(),
        );
        let source = match start == heads {
            true => Source::Hub,
            false => {
                for partition in &partitions {
                    let (after, head) = (start.get(*partition), heads.get(*partition));
                    rewind(store.as_ref(), &mut visibility, *partition, after, head).await?;
                }
                Source::LogUntil(heads)
            }
        };
        Ok(Feed {
            stamps: only.is_none() && store.partitions().count() > 1,
            store,
            route,
            visibility,
            positions: start,
            partitions,
            replay: None,
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
            let step = match &self.source {
                Source::LogUntil(until) => self.replay(Some(until.clone())).await,
                Source::LogToEnd => self.replay(None).await,
                Source::Hub => self.listen().await,
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

    /// Takes the oldest event of the partitions being replayed (a k-way
    /// merge by position, so a replay over several partitions comes in
    /// time order, as one partition's does), reading a page of a partition
    /// whenever its part of the merge runs dry; moves to the hub once every
    /// partition reached `until` or the end of its log.
    async fn replay(&mut self, until: Option<Positions>) -> StoreResult<()> {
        let replay = self
            .replay
            .get_or_insert_with(|| Replay::new(&self.partitions, &self.positions));
        for lane in replay
            .lanes
            .iter_mut()
            .filter(|lane| lane.events.is_empty() && !lane.done)
        {
            let limit = until.as_ref().map(|until| until.get(lane.partition));
            if limit.is_some_and(|limit| lane.read_to >= limit) {
                lane.done = true;
                continue;
            }
            let page = self
                .store
                .read_log(lane.partition, lane.read_to, PAGE)
                .await?;
            lane.done = page.len() < PAGE;
            for event in page {
                if limit.is_some_and(|limit| event.id > limit) {
                    lane.done = true;
                    break;
                }
                lane.read_to = event.id;
                lane.events.push_back(event);
            }
        }
        let oldest = replay
            .lanes
            .iter_mut()
            .filter(|lane| !lane.events.is_empty())
            .min_by_key(|lane| lane.events.front().map(|e| (e.id, e.partition)));
        match oldest.and_then(|lane| lane.events.pop_front()) {
            // Catching up after lag (`until` is `None`) continues the live
            // flow; replaying up to the heads serves a client's cursor.
            Some(event) => self.take(Arc::new(event), until.is_none()),
            None => {
                self.replay = None;
                self.source = Source::Hub;
            }
        }
        Ok(())
    }

    /// Waits for the hub's next event.
    async fn listen(&mut self) -> StoreResult<()> {
        match self.route.recv().await {
            Received::Event(event) if event.id > self.positions.get(event.partition) => {
                self.take(event, true)
            }
            Received::Event(_) => {}
            // Events this feed delivered from a renewed partition may be
            // gone from its log: going on would hide that gap.
            Received::Reset(renewed) if renewed.iter().any(|p| self.partitions.contains(p)) => {
                return Err(StoreError::Expired);
            }
            Received::Reset(_) => {}
            Received::Lagged => {
                tracing::debug!("subscription lagged; backfilling from the log");
                self.replay = None;
                self.source = Source::LogToEnd;
            }
            Received::Closed => self.ended = true,
        }
        Ok(())
    }

    fn take(&mut self, event: Arc<Event>, live: bool) {
        self.positions.set(event.partition, event.id);
        let verdict = self.visibility.apply(&event);
        match verdict {
            Verdict::Skip => {}
            Verdict::Deliver | Verdict::DeliverAndEnd => {
                let resume = self.stamps.then(|| self.positions.clone());
                self.ready.push_back(FeedEvent {
                    event,
                    live,
                    resume,
                });
                self.ended = verdict == Verdict::DeliverAndEnd;
            }
        }
    }
}

/// A replay from the log: one lane per partition read.
struct Replay {
    lanes: Vec<Lane>,
}

/// One partition's part of a replay.
struct Lane {
    partition: Partition,
    /// Read from the log, not taken yet.
    events: VecDeque<Event>,
    /// The position the next read starts after.
    read_to: LogId,
    /// Nothing more to read in this replay.
    done: bool,
}

impl Replay {
    fn new(partitions: &[Partition], from: &Positions) -> Self {
        let lanes = partitions
            .iter()
            .map(|partition| Lane {
                partition: *partition,
                events: VecDeque::new(),
                read_to: from.get(*partition),
                done: false,
            })
            .collect();
        Self { lanes }
    }
}

/// Turns `visibility` from the memberships at `head` into those at `after`
/// in one partition, by undoing, newest first, the viewer's membership
/// events in between (a chat's membership events are all in its
/// partition's log).
async fn rewind(
    store: &dyn Store,
    visibility: &mut Visibility,
    partition: Partition,
    after: LogId,
    head: LogId,
) -> StoreResult<()> {
    let mut changes = Vec::new();
    let mut position = after;
    while position < head {
        let page = store.read_log(partition, position, PAGE).await?;
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
