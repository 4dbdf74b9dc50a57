//! The log consumers: one task per partition per process, tailing that
//! partition's log into the hub.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::store::{LogId, Partition, Partitions, StoreResult, now_ms};

use super::hub::Hub;
use crate::store::LogTail;

/// How long one blocking read waits before returning empty-handed. Short
/// enough that shutdown and health changes are noticed promptly.
const BLOCK: Duration = Duration::from_millis(1000);
/// How often each consumer reads its partition's epoch when no read fails.
const EPOCH_CHECK: Duration = Duration::from_secs(1);
/// Most events taken in one read.
const BATCH: usize = 512;
/// Backoff after a failed read: doubling from the first to the last value.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// What one partition's consumer reports to readiness checks and metrics.
#[derive(Debug, Default)]
pub struct ConsumerStatus {
    partition: Partition,
    healthy: AtomicBool,
    consumed: AtomicU64,
    errors: AtomicU64,
    /// Age of the newest event at the last read, in ms (0: it read none).
    lag_ms: AtomicU64,
}

impl ConsumerStatus {
    /// The status of `partition`'s consumer: healthy until its first
    /// failed read.
    pub fn new(partition: Partition) -> Arc<Self> {
        let status = Self {
            partition,
            ..Self::default()
        };
        status.healthy.store(true, Ordering::Relaxed);
        Arc::new(status)
    }

    /// The partition whose log this consumer reads.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// Whether the last read from the log succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Events handed to the hub since start.
    pub fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// Failed reads since start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// How far behind the log the consumer runs: the age of the newest
    /// event its last read brought (ids carry their append time), zero when
    /// that read found nothing new.
    pub fn lag(&self) -> Duration {
        Duration::from_millis(self.lag_ms.load(Ordering::Relaxed))
    }
}

/// The statuses of a process's consumers, one per partition.
#[derive(Debug, Clone)]
pub struct Consumers(Arc<[Arc<ConsumerStatus>]>);

impl Consumers {
    /// Healthy statuses for every partition.
    pub fn new(partitions: Partitions) -> Self {
        Self(partitions.all().map(ConsumerStatus::new).collect())
    }

    /// Whether every consumer's last read succeeded.
    pub fn is_healthy(&self) -> bool {
        self.0.iter().all(|status| status.is_healthy())
    }

    /// Each partition's status, in partition order.
    pub fn statuses(&self) -> impl Iterator<Item = &Arc<ConsumerStatus>> {
        self.0.iter()
    }
}

/// Tails one partition's log from a position and publishes every event, in
/// order, once.
pub struct Consumer {
    tail: Box<dyn LogTail>,
    hub: Hub,
    /// The last id published: the next read starts after it, so a failure
    /// and reconnect neither skips nor repeats an event.
    last: LogId,
    status: Arc<ConsumerStatus>,
    /// The partition's epoch as last read.
    known_epoch: Option<String>,
    /// When to read the epoch again, before the next read of events: at
    /// the start, after a failed read, and every [`EPOCH_CHECK`] (the
    /// cluster client may ride through a failover by itself, retrying on
    /// the new primary, so a failover need not show as a failed read).
    check_at: Instant,
}

impl Consumer {
    /// A consumer that publishes the events after `start`.
    pub fn new(
        tail: Box<dyn LogTail>,
        hub: Hub,
        start: LogId,
        status: Arc<ConsumerStatus>,
    ) -> Self {
        Self {
            tail,
            hub,
            last: start,
            status,
            known_epoch: None,
            check_at: Instant::now(),
        }
    }

    /// The last id published.
    pub fn position(&self) -> LogId {
        self.last
    }

    /// One blocking read and the publication of what it brought; returns how
    /// many events were published. Tests drive the consumer with this.
    #[tracing::instrument(level = "debug", skip_all, fields(partition = %self.status.partition, after = ?self.last))]
    pub async fn poll_once(&mut self) -> StoreResult<usize> {
        let events = match Instant::now() < self.check_at {
            true => self.tail.read_after(self.last, BLOCK, BATCH).await,
            false => match self.check_epoch().await {
                Ok(()) => self.tail.read_after(self.last, BLOCK, BATCH).await,
                Err(error) => Err(error),
            },
        };
        let events = match events {
            Ok(events) => events,
            Err(error) => {
                self.status.healthy.store(false, Ordering::Relaxed);
                self.status.errors.fetch_add(1, Ordering::Relaxed);
                self.check_at = Instant::now();
                return Err(error);
            }
        };
        self.status.healthy.store(true, Ordering::Relaxed);
        let lag = events
            .last()
            .map_or(0, |newest| now_ms().saturating_sub(newest.id.ms));
        self.status.lag_ms.store(lag, Ordering::Relaxed);
        let mut published = 0;
        for event in events {
            // The read is "after last", so this never triggers; it guards the
            // ordering invariant the hub and every subscription rely on.
            if event.id <= self.last {
                continue;
            }
            self.last = event.id;
            self.hub.publish(Arc::new(event));
            published += 1;
        }
        self.status
            .consumed
            .fetch_add(published as u64, Ordering::Relaxed);
        Ok(published)
    }

    /// Reads the partition's epoch; when it changed since the last read,
    /// the log may have lost events this process already delivered (a
    /// failover without replica confirmations, or a Redis that lost its
    /// data), so the hub ends every subscription reading the partition
    /// with CURSOR_EXPIRED rather than let them go on past a silent gap.
    async fn check_epoch(&mut self) -> StoreResult<()> {
        let epoch = self.tail.epoch().await?;
        if let Some(known) = self.known_epoch.replace(epoch.clone())
            && known != epoch
        {
            tracing::warn!(partition = %self.status.partition, "the partition's log was renewed (failover or data loss); ending its subscriptions with CURSOR_EXPIRED");
            self.hub.reset(self.status.partition);
        }
        self.check_at = Instant::now() + EPOCH_CHECK;
        Ok(())
    }

    /// Polls until `shutdown`, backing off after errors. Reconnection is the
    /// tail's job; the position is kept here, so it resumes exactly.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = BACKOFF_FIRST;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                result = self.poll_once() => match result {
                    Ok(_) => backoff = BACKOFF_FIRST,
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?backoff, partition = %self.status.partition, position = %self.last, "event log read failed");
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                },
            }
        }
        tracing::info!(partition = %self.status.partition, position = %self.last, "log consumer stopped");
    }
}
