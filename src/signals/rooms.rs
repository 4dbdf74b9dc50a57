//! One watcher per watched state in this process, shared by every
//! subscription that shows it: a chat's typists, a user's presence.
//!
//! A room listens first, then reads, so no change falls between the two;
//! it reads again at every notice, and when the state it read says it
//! lapses (a typist's six seconds, a presence hold's heartbeat deadline),
//! so a lapse is seen without anyone announcing it. Subscribers get the
//! latest state through a `watch` channel; a state equal to the last one
//! is not sent again. The room ends, and its channel is let go, when its
//! last subscriber drops it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::domain::{ChatId, UserId};
use crate::store::signals::Signal;
use crate::store::{Millis, Store, StoreResult};

use super::listeners::Listeners;

/// How long after a read's deadline the room reads again, so the backend's
/// clock has certainly passed it.
const SLACK: Duration = Duration::from_millis(20);

/// Longest wait between attempts to read a state the backend cannot give.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A user's presence as watchers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    pub online: bool,
    /// When the user went offline; `None` while online or if never seen.
    pub last_seen: Option<Millis>,
}

/// Reads a state and how long it holds.
type Reader<T> = for<'a> fn(&'a dyn Store, &'a Signal) -> BoxFuture<'a, StoreResult<Read<T>>>;

/// A state and how long it holds unless something changes it.
type Read<T> = (T, Option<Duration>);

/// The rooms of one kind of state, by key.
struct Registry<K, T> {
    rooms: Mutex<HashMap<K, Weak<Room<T>>>>,
    read: Reader<T>,
}

/// One watched state. Dropping the last handle stops its watcher.
pub struct Room<T> {
    state: watch::Receiver<Option<Arc<T>>>,
    watcher: JoinHandle<()>,
}

impl<T> Room<T> {
    /// The room's state, `None` until its first read.
    pub fn states(&self) -> watch::Receiver<Option<Arc<T>>> {
        self.state.clone()
    }
}

impl<T> Drop for Room<T> {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Every room of this process. Cheap to clone.
#[derive(Clone)]
pub struct Rooms {
    store: Arc<dyn Store>,
    listeners: Listeners,
    typing: Arc<Registry<ChatId, Vec<UserId>>>,
    presence: Arc<Registry<UserId, Seen>>,
}

impl Rooms {
    pub fn new(store: Arc<dyn Store>, listeners: Listeners) -> Self {
        Self {
            store,
            listeners,
            typing: Arc::new(Registry::new(read_typing)),
            presence: Arc::new(Registry::new(read_presence)),
        }
    }

    /// The room of `chat`'s typists (in start order).
    pub fn typing(&self, chat: &ChatId) -> Arc<Room<Vec<UserId>>> {
        self.typing.enter(
            chat,
            Signal::Typing(chat.clone()),
            &self.store,
            &self.listeners,
        )
    }

    /// The room of `user`'s presence.
    pub fn presence(&self, user: &UserId) -> Arc<Room<Seen>> {
        self.presence.enter(
            user,
            Signal::Presence(user.clone()),
            &self.store,
            &self.listeners,
        )
    }
}

fn read_typing<'a>(
    store: &'a dyn Store,
    signal: &'a Signal,
) -> BoxFuture<'a, StoreResult<Read<Vec<UserId>>>> {
    Box::pin(async move {
        let Signal::Typing(chat) = signal else {
            unreachable!("typing rooms watch typing signals");
        };
        let typing = store.typing(chat).await?;
        Ok((typing.users, typing.holds_for))
    })
}

fn read_presence<'a>(
    store: &'a dyn Store,
    signal: &'a Signal,
) -> BoxFuture<'a, StoreResult<Read<Seen>>> {
    Box::pin(async move {
        let Signal::Presence(user) = signal else {
            unreachable!("presence rooms watch presence signals");
        };
        let presence = store.presence(user).await?;
        let seen = Seen {
            online: presence.online,
            last_seen: presence.last_seen,
        };
        Ok((seen, presence.holds_for))
    })
}

impl<K, T> Registry<K, T>
where
    K: Clone + Eq + Hash,
    T: PartialEq + Send + Sync + 'static,
{
    fn new(read: Reader<T>) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            read,
        }
    }

    /// The live room of `key`, or a new one.
    fn enter(
        &self,
        key: &K,
        signal: Signal,
        store: &Arc<dyn Store>,
        listeners: &Listeners,
    ) -> Arc<Room<T>> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(room) = rooms.get(key).and_then(Weak::upgrade) {
            return room;
        }
        rooms.retain(|_, room| room.strong_count() > 0);
        let (sender, state) = watch::channel(None);
        let watcher = tokio::spawn(watch_state(
            signal,
            store.clone(),
            listeners.clone(),
            self.read,
            sender,
        ));
        let room = Arc::new(Room { state, watcher });
        rooms.insert(key.clone(), Arc::downgrade(&room));
        room
    }
}

/// A room's watcher: listen, then read at start, at each notice and at
/// each deadline, until aborted.
async fn watch_state<T: PartialEq>(
    signal: Signal,
    store: Arc<dyn Store>,
    listeners: Listeners,
    read: Reader<T>,
    state: watch::Sender<Option<Arc<T>>>,
) {
    let listening = listeners.listen(signal.clone()).await;
    let mut backoff = Duration::from_millis(100);
    loop {
        let wait = match read(store.as_ref(), &signal).await {
            Ok((now, holds_for)) => {
                backoff = Duration::from_millis(100);
                state.send_if_modified(|current| {
                    let changed = current.as_deref() != Some(&now);
                    if changed {
                        *current = Some(Arc::new(now));
                    }
                    changed
                });
                holds_for.map(|holds_for| holds_for + SLACK)
            }
            Err(error) => {
                tracing::warn!(%error, ?signal, retry_in = ?backoff, "cannot read a watched signal");
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                Some(wait)
            }
        };
        match wait {
            Some(wait) => {
                tokio::select! {
                    () = listening.changed() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
            None => listening.changed().await,
        }
    }
}
