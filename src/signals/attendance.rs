//! Who is connected to this process, held as presence at the backend.
//!
//! Every authenticated connection takes a [`Present`] for its user. A
//! user's first one here makes the process hold the user present; its last
//! one ending releases the hold at once (so a clean close shows offline
//! within moments). Holds carry a deadline that the process renews every
//! heartbeat: a process that dies stops renewing, and its users go offline
//! when their deadlines pass, with no one left to say so.
//!
//! Connections only count; one task ([`Attendance::run`]) talks to the
//! backend, so a storm of connects costs a map update each, and a backend
//! outage delays holds instead of failing connections.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::UserId;
use crate::store::Store;

/// How often, and for how long, this process holds presence.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    /// Between renewals.
    pub every: Duration,
    /// How long each hold lasts unless renewed: how long a dead process's
    /// users stay online.
    pub expiry: Duration,
}

/// This process's connections by user. Cheap to clone.
#[derive(Clone)]
pub struct Attendance(Arc<Inner>);

struct Inner {
    /// Names this process's holds at the backend.
    holder: String,
    heartbeat: Heartbeat,
    book: Mutex<Book>,
    wake: Notify,
}

#[derive(Default)]
struct Book {
    /// Open connections per user (only users with at least one).
    open: HashMap<UserId, usize>,
    /// Users whose first connection opened or last one closed since the
    /// task last looked.
    changed: HashSet<UserId>,
}

/// One connection's part in its user's presence; dropping it ends it.
pub struct Present {
    attendance: Arc<Inner>,
    user: UserId,
}

impl Attendance {
    pub fn new(heartbeat: Heartbeat) -> Self {
        Self(Arc::new(Inner {
            holder: uuid::Uuid::new_v4().simple().to_string(),
            heartbeat,
            book: Mutex::default(),
            wake: Notify::new(),
        }))
    }

    /// Counts a connection of `user` until the returned value drops.
    pub fn arrive(&self, user: &UserId) -> Present {
        let mut book = self.0.book();
        let open = book.open.entry(user.clone()).or_insert(0);
        *open += 1;
        if *open == 1 {
            book.changed.insert(user.clone());
            self.0.wake.notify_one();
        }
        Present {
            attendance: self.0.clone(),
            user: user.clone(),
        }
    }

    /// Holds and releases presence at `store` as connections come and go,
    /// renewing the holds every heartbeat, until `shutdown`; then releases
    /// every hold (a clean stop shows this process's users offline at
    /// once, unless connected elsewhere). Called once.
    pub async fn run(self, store: Arc<dyn Store>, shutdown: CancellationToken) {
        let inner = &self.0;
        let mut held: HashSet<UserId> = HashSet::new();
        let mut heartbeat = tokio::time::interval(inner.heartbeat.every);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Users the last attempt could not hold or release: tried again.
        let mut retry: HashSet<UserId> = HashSet::new();
        loop {
            let renew = tokio::select! {
                () = inner.wake.notified() => false,
                _ = heartbeat.tick() => true,
                () = shutdown.cancelled() => break,
            };
            let mut due = std::mem::take(&mut inner.book().changed);
            due.extend(retry.drain());
            let (arrived, left): (Vec<UserId>, Vec<UserId>) = {
                let book = inner.book();
                due.into_iter()
                    .partition(|user| book.open.contains_key(user))
            };
            let arrived: Vec<UserId> = arrived.into_iter().filter(|u| !held.contains(u)).collect();
            let left: Vec<UserId> = left.into_iter().filter(|u| held.contains(u)).collect();
            if !arrived.is_empty() {
                match store
                    .hold_presence(&inner.holder, &arrived, inner.heartbeat.expiry)
                    .await
                {
                    Ok(()) => held.extend(arrived),
                    Err(error) => {
                        tracing::warn!(%error, "cannot hold presence; retrying at the next heartbeat");
                        retry.extend(arrived);
                    }
                }
            }
            if !left.is_empty() {
                match store.release_presence(&inner.holder, &left).await {
                    Ok(()) => {
                        for user in &left {
                            held.remove(user);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot release presence; retrying at the next heartbeat");
                        retry.extend(left);
                    }
                }
            }
            if renew && !held.is_empty() {
                let users: Vec<UserId> = held.iter().cloned().collect();
                if let Err(error) = store
                    .hold_presence(&inner.holder, &users, inner.heartbeat.expiry)
                    .await
                {
                    tracing::warn!(%error, "cannot renew presence");
                }
            }
        }
        let users: Vec<UserId> = held.into_iter().collect();
        if !users.is_empty()
            && let Err(error) = store.release_presence(&inner.holder, &users).await
        {
            tracing::warn!(%error, "cannot release presence at shutdown; it lapses by itself");
        }
    }
}

impl Inner {
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Present {
    fn drop(&mut self) {
        let mut book = self.attendance.book();
        if let Some(open) = book.open.get_mut(&self.user) {
            *open -= 1;
            if *open == 0 {
                book.open.remove(&self.user);
                book.changed.insert(self.user.clone());
                self.attendance.wake.notify_one();
            }
        }
    }
}
