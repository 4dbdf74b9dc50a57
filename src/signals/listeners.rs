//! The process's one listening connection to the backend's signal
//! channels, shared by every watcher, so a process holds each channel once
//! however many of its sockets watch it, and none that nobody watches.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::store::signals::{Signal, SignalControl, SignalNotices};
use crate::store::{Store, StoreResult};

/// Longest wait between attempts to reopen a lost connection.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Hands out registrations; the task started by [`Listeners::run`] keeps
/// the backend's subscriptions matching them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Listeners {
    commands: mpsc::UnboundedSender<Command>,
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Taken by [`Listeners::run`].
    commands: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Command>>>,
    next_id: AtomicU64,
    /// Channels subscribed at the backend now, for `/metrics`.
    held: AtomicUsize,
}

#[derive(Debug)]
enum Command {
    /// Listen for `signal`, waking `wake` at each notice (and after a
    /// reconnect, when notices may have been missed); `ready` answers once
    /// the backend confirmed the subscription.
    Add {
        signal: Signal,
        id: u64,
        wake: Arc<Notify>,
        ready: oneshot::Sender<()>,
    },
    /// Registration `id` for `signal` ended.
    Remove { signal: Signal, id: u64 },
}

/// One watcher's registration; dropping it stops the listening.
pub struct Listening {
    wake: Arc<Notify>,
    signal: Signal,
    id: u64,
    commands: mpsc::UnboundedSender<Command>,
}

impl Listening {
    /// Resolves at the next notice for the signal (one that came while
    /// nobody waited is kept, so none falls between two waits).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Remove {
            signal: self.signal.clone(),
            id: self.id,
        });
    }
}

impl Default for Listeners {
    fn default() -> Self {
        Self::new()
    }
}

impl Listeners {
    pub fn new() -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        Self {
            commands,
            inner: Arc::new(Inner {
                commands: std::sync::Mutex::new(Some(receiver)),
                next_id: AtomicU64::new(0),
                held: AtomicUsize::new(0),
            }),
        }
    }

    /// Listens for `signal`; returns once the backend will deliver its
    /// notices, so a read made after this misses no change. One watcher
    /// per signal and process is expected (see `rooms`).
    pub async fn listen(&self, signal: Signal) -> Listening {
        let (ready, confirmed) = oneshot::channel();
        let listening = Listening {
            wake: Arc::new(Notify::new()),
            signal: signal.clone(),
            id: self.inner.next_id.fetch_add(1, Ordering::Relaxed),
            commands: self.commands.clone(),
        };
        let _ = self.commands.send(Command::Add {
            signal,
            id: listening.id,
            wake: listening.wake.clone(),
            ready,
        });
        // Dropped unanswered only when the task is gone (shutdown).
        let _ = confirmed.await;
        listening
    }

    /// How many channels this process holds at the backend.
    pub fn held(&self) -> usize {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// Keeps the backend's subscriptions matching the registrations until
    /// `shutdown`, reconnecting with backoff when the connection is lost
    /// (every watcher is then woken to read again). Called once.
    pub async fn run(self, store: Arc<dyn Store>, shutdown: CancellationToken) {
        let Some(mut commands) = self
            .inner
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let mut watchers: HashMap<Signal, (u64, Arc<Notify>)> = HashMap::new();
        let mut backoff = Duration::from_millis(100);
        loop {
            let connected = tokio::select! {
                connected = store.listen() => connected,
                () = shutdown.cancelled() => return,
            };
            let outcome = match connected {
                Ok((control, notices)) => {
                    let session = Session {
                        control,
                        notices,
                        held: &self.inner.held,
                    };
                    session
                        .serve(&mut watchers, &mut commands, &shutdown, &mut backoff)
                        .await
                }
                Err(error) => Err(error),
            };
            self.inner.held.store(0, Ordering::Relaxed);
            match outcome {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "signal notices lost; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => return,
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// One listening connection's life.
struct Session<'a> {
    control: Box<dyn SignalControl>,
    notices: Box<dyn SignalNotices>,
    held: &'a AtomicUsize,
}

impl Session<'_> {
    /// Subscribes everything watched, wakes every watcher (notices may
    /// have been missed while there was no connection), then follows
    /// commands and notices. `Ok` at shutdown; `Err` when the connection
    /// failed.
    async fn serve(
        mut self,
        watchers: &mut HashMap<Signal, (u64, Arc<Notify>)>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        shutdown: &CancellationToken,
        backoff: &mut Duration,
    ) -> StoreResult<()> {
        for (signal, (_, wake)) in watchers.iter() {
            self.control.add(signal).await?;
            self.held.fetch_add(1, Ordering::Relaxed);
            wake.notify_one();
        }
        *backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                notice = self.notices.next() => {
                    if let Some((_, wake)) = watchers.get(&notice?) {
                        wake.notify_one();
                    }
                }
                command = commands.recv() => match command {
                    Some(command) => self.apply(command, watchers).await?,
                    None => return Ok(()),
                },
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    async fn apply(
        &mut self,
        command: Command,
        watchers: &mut HashMap<Signal, (u64, Arc<Notify>)>,
    ) -> StoreResult<()> {
        match command {
            Command::Add {
                signal,
                id,
                wake,
                ready,
            } => {
                let fresh = watchers.insert(signal.clone(), (id, wake)).is_none();
                if fresh {
                    // Recorded first: if this fails, the reconnect
                    // subscribes it, and only then is it confirmed.
                    self.control.add(&signal).await?;
                    self.held.fetch_add(1, Ordering::Relaxed);
                }
                let _ = ready.send(());
            }
            Command::Remove { signal, id } => {
                if watchers
                    .get(&signal)
                    .is_some_and(|(current, _)| *current == id)
                {
                    watchers.remove(&signal);
                    self.held.fetch_sub(1, Ordering::Relaxed);
                    self.control.remove(&signal).await?;
                }
            }
        }
        Ok(())
    }
}
