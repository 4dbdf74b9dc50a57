//! The memory store's typing sets and presence holds, and its channel of
//! notices: the same rules as the Redis scripts (`typing_state.lua`,
//! `presence_state.lua`), kept in the store's state so that sending a
//! message or leaving a chat ends the sender's typing under the same lock.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::domain::{ChatId, UserId};

use super::signals::{Presence, Signal, SignalControl, SignalNotices, TYPING_LAPSE, Typing};
use super::{Millis, StoreError, StoreResult};

/// Notices a slow listener may fall behind by before it must re-read.
const NOTICE_BUFFER: usize = 1024;

pub(super) struct SignalBoard {
    /// Per chat, its typists in start order: (user, started, until).
    typing: HashMap<ChatId, Vec<(UserId, Millis, Millis)>>,
    presence: HashMap<UserId, Holds>,
    notices: broadcast::Sender<Signal>,
}

/// One user's presence: each holder's deadline, and when it was last
/// seen (folded in from holds that ended or lapsed).
#[derive(Default)]
struct Holds {
    until: HashMap<String, Millis>,
    last_seen: Option<Millis>,
}

impl Holds {
    /// Drops lapsed holds, remembering the latest as a last sighting;
    /// answers the latest live deadline.
    fn prune(&mut self, now: Millis) -> Option<Millis> {
        let lapsed = self.until.values().filter(|&&until| until <= now).max();
        if let Some(&lapsed) = lapsed {
            self.last_seen = self.last_seen.max(Some(lapsed));
        }
        self.until.retain(|_, until| *until > now);
        self.until.values().max().copied()
    }
}

impl Default for SignalBoard {
    fn default() -> Self {
        Self {
            typing: HashMap::new(),
            presence: HashMap::new(),
            notices: broadcast::channel(NOTICE_BUFFER).0,
        }
    }
}

impl SignalBoard {
    /// The live typists of `chat`, lapsed ones dropped.
    fn typists(&mut self, chat: &ChatId, now: Millis) -> &mut Vec<(UserId, Millis, Millis)> {
        let typists = self.typing.entry(chat.clone()).or_default();
        typists.retain(|(_, _, until)| *until > now);
        typists
    }

    pub(super) fn set_typing(&mut self, chat: &ChatId, user: &UserId, typing: bool, now: Millis) {
        let lapse = TYPING_LAPSE.as_millis() as Millis;
        let typists = self.typists(chat, now);
        let at = typists.iter().position(|(u, _, _)| u == user);
        let changed = match (at, typing) {
            (Some(at), true) => {
                typists[at].2 = now + lapse;
                false
            }
            (None, true) => {
                typists.push((user.clone(), now, now + lapse));
                true
            }
            (Some(at), false) => {
                typists.remove(at);
                true
            }
            (None, false) => false,
        };
        if typists.is_empty() {
            self.typing.remove(chat);
        }
        if changed {
            self.announce(Signal::Typing(chat.clone()));
        }
    }

    pub(super) fn typing(&mut self, chat: &ChatId, now: Millis) -> Typing {
        let typists = self.typists(chat, now);
        let typing = Typing {
            users: typists.iter().map(|(user, _, _)| user.clone()).collect(),
            holds_for: typists
                .iter()
                .map(|(_, _, until)| until)
                .min()
                .map(|until| Duration::from_millis(until - now)),
        };
        if typists.is_empty() {
            self.typing.remove(chat);
        }
        typing
    }

    pub(super) fn hold(&mut self, holder: &str, users: &[UserId], ttl: Duration, now: Millis) {
        for user in users {
            let holds = self.presence.entry(user.clone()).or_default();
            let was_online = holds.prune(now).is_some();
            holds
                .until
                .insert(holder.to_owned(), now + ttl.as_millis() as Millis);
            if !was_online {
                self.announce(Signal::Presence(user.clone()));
            }
        }
    }

    pub(super) fn release(&mut self, holder: &str, users: &[UserId], now: Millis) {
        for user in users {
            let Some(holds) = self.presence.get_mut(user) else {
                continue;
            };
            let was_online = holds.prune(now).is_some();
            holds.until.remove(holder);
            if was_online && holds.until.is_empty() {
                holds.last_seen = Some(now);
                self.announce(Signal::Presence(user.clone()));
            }
        }
    }

    pub(super) fn presence(&mut self, user: &UserId, now: Millis) -> Presence {
        let Some(holds) = self.presence.get_mut(user) else {
            return Presence::default();
        };
        match holds.prune(now) {
            Some(until) => Presence {
                online: true,
                last_seen: None,
                holds_for: Some(Duration::from_millis(until - now)),
            },
            None => Presence {
                online: false,
                last_seen: holds.last_seen,
                holds_for: None,
            },
        }
    }

    fn announce(&self, signal: Signal) {
        let _ = self.notices.send(signal);
    }

    /// A listener hearing only what its control adds.
    pub(super) fn listen(&self) -> (Box<dyn SignalControl>, Box<dyn SignalNotices>) {
        let heard = Arc::new(Mutex::new(HashSet::new()));
        (
            Box::new(BoardControl(heard.clone())),
            Box::new(BoardNotices {
                heard,
                notices: self.notices.subscribe(),
            }),
        )
    }
}

type Heard = Arc<Mutex<HashSet<Signal>>>;

fn heard(heard: &Heard) -> std::sync::MutexGuard<'_, HashSet<Signal>> {
    heard.lock().unwrap_or_else(|e| e.into_inner())
}

struct BoardControl(Heard);

#[async_trait]
impl SignalControl for BoardControl {
    async fn add(&mut self, signal: &Signal) -> StoreResult<()> {
        heard(&self.0).insert(signal.clone());
        Ok(())
    }

    async fn remove(&mut self, signal: &Signal) -> StoreResult<()> {
        heard(&self.0).remove(signal);
        Ok(())
    }
}

struct BoardNotices {
    heard: Heard,
    notices: broadcast::Receiver<Signal>,
}

#[async_trait]
impl SignalNotices for BoardNotices {
    async fn next(&mut self) -> StoreResult<Signal> {
        loop {
            let signal = self
                .notices
                .recv()
                .await
                .map_err(|error| StoreError::backend(format!("signal notices: {error}")))?;
            if heard(&self.heard).contains(&signal) {
                return Ok(signal);
            }
        }
    }
}
