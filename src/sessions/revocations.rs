//! The in-process set of ended sessions and the task that keeps it current.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::Grant;
use crate::domain::SessionId;
use crate::store::{Ended, Millis, Store, StoreResult, now_ms};

/// Endings queued for the sockets of one process before a slow socket
/// must look the set up instead (it then checks its own session).
const SOCKET_NOTICES: usize = 1024;

/// Wait before opening the notices again after they failed.
const RETRY: Duration = Duration::from_millis(200);

/// Ended sessions, until when their tokens could still be presented.
#[derive(Default)]
struct EndedSet {
    until: HashMap<SessionId, Millis>,
    /// The size at which lapsed endings are next dropped: twice the live
    /// ones after the last sweep, so sweeping costs O(1) per ending.
    sweep_at: usize,
}

impl EndedSet {
    fn sweep(&mut self, now: Millis) {
        self.until.retain(|_, until| *until > now);
        self.sweep_at = (self.until.len() * 2).max(256);
    }
}

/// The sessions whose access tokens this process refuses; cheap to clone.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    ended: Mutex<EndedSet>,
    /// The set holds every ending the store knows of: the notices are open
    /// and were opened before the set was last read whole.
    current: AtomicBool,
    /// Each ending as this process learns it, for its open sockets.
    sockets: broadcast::Sender<SessionId>,
}

impl Revocations {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                ended: Mutex::new(EndedSet::default()),
                current: AtomicBool::new(false),
                sockets: broadcast::Sender::new(SOCKET_NOTICES),
            }),
        }
    }

    /// Whether `grant` must be refused because its session ended; an
    /// error when that cannot be told (the set is not current and the
    /// store does not answer). A token minted elsewhere has no session, so
    /// nothing can end it but its `exp`.
    pub async fn refuses(&self, grant: &Grant) -> StoreResult<bool> {
        let Some(session) = &grant.session else {
            return Ok(false);
        };
        let now = now_ms();
        if self.inner.current.load(Ordering::Acquire) {
            let set = self.lock();
            return Ok(set.until.get(session).is_some_and(|until| *until > now));
        }
        self.inner.store.session_ended(session, now).await
    }

    /// Endings from now on, for an open socket to close itself on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionId> {
        self.inner.sockets.subscribe()
    }

    /// Records an ending this process caused, at once, so the process that
    /// ran the mutation refuses the session before the mutation returns,
    /// whatever the notices' latency.
    pub fn ended_here(&self, ended: Ended) {
        self.learn(ended);
    }

    /// Keeps the set current until `shutdown`: opens the store's notices,
    /// then reads the ended sessions whole, then applies each notice; after
    /// any failure, starts over (the set is not trusted meanwhile).
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.follow() => {}
            }
            self.inner.current.store(false, Ordering::Release);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RETRY) => {}
            }
        }
    }

    /// One spell of following the notices, until they fail.
    async fn follow(&self) {
        let store = &self.inner.store;
        let mut notices = match store.session_notices().await {
            Ok(notices) => notices,
            Err(error) => {
                tracing::warn!(%error, "cannot open session notices");
                return;
            }
        };
        match store.ended_sessions(now_ms()).await {
            Ok(all) => {
                for ended in all {
                    self.learn(ended);
                }
                self.inner.current.store(true, Ordering::Release);
                tracing::debug!("ended sessions in sync");
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the ended sessions");
                return;
            }
        }
        loop {
            match notices.next().await {
                Ok(ended) => self.learn(ended),
                Err(error) => {
                    tracing::warn!(%error, "session notices interrupted; re-reading");
                    return;
                }
            }
        }
    }

    /// Adds an ending, and tells the sockets when it is news.
    fn learn(&self, ended: Ended) {
        let news = {
            let mut set = self.lock();
            let until = set.until.entry(ended.session.clone()).or_insert(0);
            let news = *until == 0;
            *until = (*until).max(ended.until);
            if set.until.len() >= set.sweep_at {
                set.sweep(now_ms());
            }
            news
        };
        if news {
            let _ = self.inner.sockets.send(ended.session);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EndedSet> {
        self.inner
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
