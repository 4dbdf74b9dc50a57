//! The in-process fan-out of events from the log consumer to subscriptions,
//! routed by chat so that an event wakes only the subscriptions that may
//! deliver it (ARCHITECTURE decision 8: cost follows interest).
//!
//! How routing stays exact: the hub follows each subscription's
//! memberships itself, in log order, inside [`Hub::publish`] — a
//! `ChatCreated` or `MemberJoined` naming the viewer adds the chat to its
//! routes *before* the event is handed out, a `MemberLeft` removes it
//! *after*. Routing only has to be a superset of what the viewer may see:
//! the subscription's own [`Visibility`](super::visibility::Visibility)
//! still decides every delivery.
//!
//! A new subscription does not know its chats until its membership
//! snapshot is read, so it starts *pending*: it receives every event, and
//! the hub keeps the viewer's membership events meanwhile. When
//! [`Route::set_chats`] hands over the snapshot and its log position, the
//! kept events after that position are applied on top, and routing by chat
//! begins.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, mpsc, watch};

use crate::domain::{ChatId, UserId};
use crate::store::{Event, EventKind, MAX_PARTITIONS, Partition, Positions};

/// Routes every consumed event to the subscriptions of this process that
/// may deliver it. Events are shared as `Arc`s, so fan-out copies a pointer,
/// not the event.
///
/// Each subscription has its own queue of `buffer` events. A subscription
/// that falls that far behind is told it lagged ([`Received::Lagged`]) and
/// misses events until it has read that; it backfills them from the log
/// (see `feed`), so the buffer bounds memory, never correctness.
#[derive(Clone)]
pub struct Hub {
    /// A std mutex, not a tokio one: it is held only for in-memory work
    /// that never awaits (routing an event is a few map lookups and
    /// non-blocking queue pushes).
    routes: Arc<Mutex<Routes>>,
    /// Every event, for observers that want them all ([`Hub::subscribe`]).
    tap: broadcast::Sender<Arc<Event>>,
    buffer: usize,
    /// How many times a subscription fell a whole queue behind and had to
    /// backfill from the log, for `/metrics`.
    backfills: Arc<AtomicU64>,
    /// How many times each partition's log was renewed (see
    /// [`Hub::reset`]), by partition number.
    resets: watch::Sender<Vec<u64>>,
}

/// Who gets what; changed only under the hub's lock.
#[derive(Default)]
struct Routes {
    next_id: u64,
    subscriptions: HashMap<u64, Subscriber>,
    /// Subscriptions by the chats they are routed.
    by_chat: HashMap<ChatId, HashSet<u64>>,
    /// Subscriptions by viewer, to follow their membership events.
    by_user: HashMap<UserId, HashSet<u64>>,
    /// Subscriptions that get every event until their chats are known.
    pending: HashSet<u64>,
    /// Watchers of one user's membership events ([`Hub::memberships`]).
    memberships: HashMap<UserId, HashMap<u64, mpsc::UnboundedSender<Arc<Event>>>>,
}

/// The hub's side of one subscription.
struct Subscriber {
    viewer: UserId,
    /// The one chat the subscription is filtered to, if any: no other chat
    /// is ever routed to it.
    only: Option<ChatId>,
    chats: HashSet<ChatId>,
    /// While pending: the viewer's membership events handed out so far.
    kept: Option<Vec<Arc<Event>>>,
    queue: mpsc::Sender<Item>,
    /// Set from the moment the queue is full until the subscription reads
    /// the lag marker: events are dropped meanwhile.
    lagged: Arc<AtomicBool>,
}

/// What a subscription's queue holds.
enum Item {
    Event(Arc<Event>),
    /// The queue filled up and later events were dropped.
    Lagged,
}

impl Subscriber {
    fn routes(&self, chat: &ChatId) -> bool {
        self.only.as_ref().is_none_or(|only| only == chat)
    }
}

/// What [`Route::recv`] yields.
#[derive(Debug)]
pub enum Received {
    Event(Arc<Event>),
    /// Events were dropped because the queue was full: read the log.
    Lagged,
    /// These partitions' logs were renewed since the route was made or
    /// last told (see [`Hub::reset`]).
    Reset(Vec<Partition>),
    /// The hub is gone.
    Closed,
}

/// One subscription's queue in the hub. Dropping it unregisters it.
pub struct Route {
    id: u64,
    routes: Arc<Mutex<Routes>>,
    queue: mpsc::Receiver<Item>,
    lagged: Arc<AtomicBool>,
    backfills: Arc<AtomicU64>,
    resets: watch::Receiver<Vec<u64>>,
    /// The reset counts last told.
    seen_resets: Vec<u64>,
}

impl Hub {
    /// A hub whose subscriptions may fall up to `buffer` events behind
    /// before they must backfill.
    pub fn new(buffer: usize) -> Self {
        let buffer = buffer.max(1);
        let (tap, _) = broadcast::channel(buffer);
        Self {
            routes: Arc::default(),
            tap,
            buffer,
            backfills: Arc::default(),
            resets: watch::Sender::new(vec![0; usize::from(MAX_PARTITIONS)]),
        }
    }

    /// The count of backfills since start (shared, read at scrape time).
    pub fn backfills(&self) -> Arc<AtomicU64> {
        self.backfills.clone()
    }

    /// Registers a subscription of `viewer` (limited to chat `only`, if
    /// given). It receives every event until [`Route::set_chats`] is called.
    pub fn route(&self, viewer: UserId, only: Option<ChatId>) -> Route {
        // One slot more than the buffer, for the lag marker.
        let (queue, receiver) = mpsc::channel(self.buffer + 1);
        let lagged = Arc::new(AtomicBool::new(false));
        let mut routes = lock(&self.routes);
        let id = routes.next_id;
        routes.next_id += 1;
        routes.by_user.entry(viewer.clone()).or_default().insert(id);
        routes.pending.insert(id);
        routes.subscriptions.insert(
            id,
            Subscriber {
                viewer,
                only,
                chats: HashSet::new(),
                kept: Some(Vec::new()),
                queue,
                lagged: lagged.clone(),
            },
        );
        let mut resets = self.resets.subscribe();
        let seen_resets = resets.borrow_and_update().clone();
        Route {
            id,
            routes: self.routes.clone(),
            queue: receiver,
            lagged,
            backfills: self.backfills.clone(),
            seen_resets,
            resets,
        }
    }

    /// Receives `user`'s membership events (joins, leaves) published from
    /// now on: for subscriptions that follow membership but deliver no
    /// event of the log (typing). The queue is unbounded because a user's
    /// membership changes are few and each watcher reads them at once.
    pub fn memberships(&self, user: UserId) -> Memberships {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut routes = lock(&self.routes);
        let id = routes.next_id;
        routes.next_id += 1;
        routes
            .memberships
            .entry(user.clone())
            .or_default()
            .insert(id, sender);
        Memberships {
            id,
            user,
            routes: self.routes.clone(),
            queue: receiver,
        }
    }

    /// Tells every subscription that `partition`'s log was renewed: the
    /// events it delivered from that partition may be gone from the log,
    /// so each reading it must end (see `feed`).
    pub fn reset(&self, partition: Partition) {
        self.resets.send_modify(|counts| {
            if let Some(count) = counts.get_mut(partition.index()) {
                *count += 1;
            }
        });
    }

    /// Receives every event published from now on, whoever it concerns
    /// (for tests and observers; subscriptions use [`Hub::route`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tap.subscribe()
    }

    /// Hands one event to the subscriptions that may deliver it. Events
    /// must be published in log order within each partition, which the
    /// one consumer per partition per process guarantees; partitions may
    /// interleave in any way, as no chat spans two.
    pub fn publish(&self, event: Arc<Event>) {
        if self.tap.receiver_count() > 0 {
            let _ = self.tap.send(event.clone());
        }
        let mut routes = lock(&self.routes);
        let routes = &mut *routes;
        let chat = &event.chat_id;
        // Joins take effect before the event is handed out, so the viewer
        // sees its own join; a leave after, so it sees its own leave.
        let (joined, left) = event.kind.membership();
        for user in joined.iter().chain(left) {
            if let Some(watchers) = routes.memberships.get(user) {
                for watcher in watchers.values() {
                    let _ = watcher.send(event.clone());
                }
            }
        }
        for user in joined {
            routes.change(user, &event, |routes, id| routes.join(id, chat));
        }
        if let Some(ids) = routes.by_chat.get(chat) {
            for id in ids {
                if let Some(subscriber) = routes.subscriptions.get(id) {
                    offer(subscriber, &event);
                }
            }
        }
        for id in &routes.pending {
            if let Some(subscriber) = routes.subscriptions.get(id) {
                offer(subscriber, &event);
            }
        }
        if let Some(user) = left {
            routes.change(user, &event, |routes, id| routes.leave(id, chat));
        }
    }
}

impl Routes {
    /// Applies a membership change of `user` to each of its routed
    /// subscriptions, and keeps the event for its pending ones.
    fn change(&mut self, user: &UserId, event: &Arc<Event>, apply: impl Fn(&mut Routes, u64)) {
        let Some(ids) = self.by_user.get(user) else {
            return;
        };
        let mut routed = Vec::new();
        for id in ids {
            match self.subscriptions.get_mut(id).map(|s| &mut s.kept) {
                Some(Some(kept)) => kept.push(event.clone()),
                Some(None) => routed.push(*id),
                None => {}
            }
        }
        for id in routed {
            apply(self, id);
        }
    }

    fn join(&mut self, id: u64, chat: &ChatId) {
        if let Some(subscriber) = self.subscriptions.get_mut(&id)
            && subscriber.routes(chat)
            && subscriber.chats.insert(chat.clone())
        {
            self.by_chat.entry(chat.clone()).or_default().insert(id);
        }
    }

    fn leave(&mut self, id: u64, chat: &ChatId) {
        if let Some(subscriber) = self.subscriptions.get_mut(&id)
            && subscriber.chats.remove(chat)
        {
            unindex(&mut self.by_chat, chat, id);
        }
    }

    fn remove(&mut self, id: u64) {
        let Some(subscriber) = self.subscriptions.remove(&id) else {
            return;
        };
        self.pending.remove(&id);
        for chat in &subscriber.chats {
            unindex(&mut self.by_chat, chat, id);
        }
        unindex(&mut self.by_user, &subscriber.viewer, id);
    }
}

/// Takes subscription `id` out of `key`'s entry of an index, dropping the
/// entry once it is empty so the index holds only live keys.
fn unindex<K: Eq + std::hash::Hash>(index: &mut HashMap<K, HashSet<u64>>, key: &K, id: u64) {
    if let Some(ids) = index.get_mut(key) {
        ids.remove(&id);
        if ids.is_empty() {
            index.remove(key);
        }
    }
}

impl Route {
    /// Starts routing by chat: `chats` are the viewer's memberships at log
    /// positions `at` (one per partition). Membership events after `at`
    /// (in their partition) that the hub has already
    /// handed out are applied on top, so the routes match the hub's
    /// position, whichever of the two is ahead.
    pub fn set_chats(&self, chats: impl IntoIterator<Item = ChatId>, at: &Positions) {
        let mut routes = lock(&self.routes);
        let Some(kept) = routes
            .subscriptions
            .get_mut(&self.id)
            .and_then(|s| s.kept.take())
        else {
            return;
        };
        for chat in chats {
            routes.join(self.id, &chat);
        }
        for event in kept.iter().filter(|e| e.id > at.get(e.partition)) {
            match &event.kind {
                EventKind::MemberLeft { .. } => routes.leave(self.id, &event.chat_id),
                _ => routes.join(self.id, &event.chat_id),
            }
        }
        routes.pending.remove(&self.id);
    }

    /// The next event routed here, or news that some were dropped or
    /// that a partition's log was renewed. The queue comes first: waiting
    /// on the renewals registers with a notifier every route shares, so it
    /// is done only when the queue is empty (a cheap version check covers
    /// the rest), not once per event.
    pub async fn recv(&mut self) -> Received {
        if self.resets.has_changed().unwrap_or(false) {
            return self.renewed();
        }
        let item = tokio::select! {
            biased;
            item = self.queue.recv() => item,
            Ok(()) = self.resets.changed() => return self.renewed(),
        };
        match item {
            Some(Item::Event(event)) => Received::Event(event),
            Some(Item::Lagged) => {
                // Events dropped before this point are in the log, which
                // the caller reads next; later ones are queued again.
                self.lagged.store(false, Ordering::Release);
                self.backfills.fetch_add(1, Ordering::Relaxed);
                Received::Lagged
            }
            None => Received::Closed,
        }
    }
}

impl Route {
    /// The partitions renewed since last told, marking them told.
    fn renewed(&mut self) -> Received {
        let counts = self.resets.borrow_and_update().clone();
        let renewed = counts
            .iter()
            .zip(&self.seen_resets)
            .enumerate()
            .filter(|(_, (now, seen))| now != seen)
            .filter_map(|(number, _)| u16::try_from(number).ok().map(Partition::for_number))
            .collect();
        self.seen_resets = counts;
        Received::Reset(renewed)
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        lock(&self.routes).remove(self.id);
    }
}

/// One user's membership events; dropping it unregisters it.
pub struct Memberships {
    id: u64,
    user: UserId,
    routes: Arc<Mutex<Routes>>,
    queue: mpsc::UnboundedReceiver<Arc<Event>>,
}

impl Memberships {
    /// The next membership event of the user; `None` when the hub is gone.
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.queue.recv().await
    }
}

impl Drop for Memberships {
    fn drop(&mut self) {
        let mut routes = lock(&self.routes);
        if let Some(watchers) = routes.memberships.get_mut(&self.user) {
            watchers.remove(&self.id);
            if watchers.is_empty() {
                routes.memberships.remove(&self.user);
            }
        }
    }
}

/// Queues `event` for one subscriber without waiting. When the queue has
/// one slot left, that slot takes a lag marker instead, and events are
/// dropped until the subscriber has read the marker: it then backfills
/// from the log, which already holds every dropped event.
fn offer(subscriber: &Subscriber, event: &Arc<Event>) {
    if subscriber.lagged.load(Ordering::Acquire) {
        return;
    }
    // Only the publisher (under the hub's lock) sends, so the free slots
    // seen here can only grow before the send.
    let item = if subscriber.queue.capacity() > 1 {
        Item::Event(event.clone())
    } else {
        subscriber.lagged.store(true, Ordering::Release);
        Item::Lagged
    };
    let _ = subscriber.queue.try_send(item);
}

/// The routes stay consistent across a panic elsewhere (every change is
/// complete before the lock is released), so a poisoned lock is usable.
fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
