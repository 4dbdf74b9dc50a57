//! Blocking reads at the end of the event log, for the consumer.

use std::time::Duration;

use async_trait::async_trait;

use crate::store::{Event, LogId, StoreResult};

/// Waits for events after a position. Each backend has one: Redis uses
/// `XREAD BLOCK` on a connection of its own (a blocking read on the shared
/// multiplexed connection would stall every resolver behind it); the memory
/// store waits on an in-process signal.
#[async_trait]
pub trait LogTail: Send {
    /// Up to `count` events after `after`, waiting up to `block` for the
    /// first one; an empty result means nothing arrived in time. After an
    /// error the next call reconnects.
    async fn read_after(
        &mut self,
        after: LogId,
        block: Duration,
        count: usize,
    ) -> StoreResult<Vec<Event>>;

    /// The partition's epoch now, after making it reflect a failover: on a
    /// Redis Cluster the tail records which primary serves the partition,
    /// and when that changed while writes were not confirmed by replicas
    /// (`REDIS_WAIT_REPLICAS=0`), the new primary may lack acknowledged
    /// entries, so the epoch is renewed and older cursors into the
    /// partition become CURSOR_EXPIRED. The consumer asks at its start,
    /// after every failed read, and every second.
    async fn epoch(&mut self) -> StoreResult<String>;
}
