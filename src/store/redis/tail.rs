//! The consumer's blocking reader of the event log.

use std::time::Duration;

use async_trait::async_trait;
use redis::{FromRedisValue, Script, Value};

use crate::store::LogTail;
use crate::store::{Event, LogId, Partition, StoreError, StoreResult};

use super::connection::{Connection, Deployment};
use super::keys::Keys;
use super::log::{backend, new_epoch, read_after};

/// How much longer than its `BLOCK` a read may take before the connection
/// is presumed dead and replaced.
const GRACE: Duration = Duration::from_secs(5);

/// Waits at the end of the log with `XREAD BLOCK` on a connection of its
/// own: a blocking read on the store's shared multiplexed connection would
/// stall every resolver queued behind it.
///
/// `XREAD` serves only as the wake-up: the events themselves are read with
/// `log::read_after`, which checks the trimmed marker in the same `MULTI` as the
/// range, so the tail reports `Expired` exactly when the store would.
///
/// On a cluster it may read from replicas (`replicas`): then it delivers
/// only what a replica already has, which a failover cannot take back.
pub struct RedisTail {
    deployment: Deployment,
    replicas: bool,
    keys: Keys,
    partition: Partition,
    /// Opened on first use, dropped after an error so the next call reconnects.
    conn: Option<Connection>,
    /// `watch_primary.lua`.
    watch: Script,
}

impl RedisTail {
    /// A tail of `partition` that connects lazily to `deployment`, reading
    /// from replicas when `replicas` (on a cluster).
    pub fn new(deployment: Deployment, replicas: bool, keys: Keys, partition: Partition) -> Self {
        Self {
            deployment,
            replicas,
            watch: Script::new(include_str!("scripts/watch_primary.lua")),
            keys,
            partition,
            conn: None,
        }
    }

    async fn connection(&mut self) -> StoreResult<Connection> {
        if let Some(conn) = &self.conn {
            return Ok(conn.clone());
        }
        // No response timeout: a blocking read legitimately answers late.
        // `read` bounds each call itself.
        let conn = self
            .deployment
            .dedicated(self.replicas)
            .await
            .map_err(backend)?;
        self.conn = Some(conn.clone());
        Ok(conn)
    }

    async fn read(
        &mut self,
        after: LogId,
        block: Duration,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        let mut conn = self.connection().await?;
        let events = read_after(&mut conn, &self.keys, self.partition, after, count).await?;
        if !events.is_empty() || block.is_zero() {
            return Ok(events);
        }
        let mut xread = redis::cmd("XREAD");
        xread
            .arg("BLOCK")
            .arg(block_ms(block))
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(self.keys.events(self.partition))
            .arg(after.to_string());
        let woke = tokio::time::timeout(block + GRACE, xread.query_async::<Value>(&mut conn))
            .await
            .map_err(|_| StoreError::backend("XREAD BLOCK did not answer"))?
            .map_err(backend)?;
        if matches!(woke, Value::Nil) {
            return Ok(Vec::new());
        }
        read_after(&mut conn, &self.keys, self.partition, after, count).await
    }
}

impl RedisTail {
    /// See [`LogTail::epoch`]. A single server does not fail over (a
    /// restart without its data loses the epoch key itself), so only a
    /// cluster's primary is watched.
    async fn watch_primary(&mut self) -> StoreResult<String> {
        let mut conn = self.connection().await?;
        let events = self.keys.events(self.partition);
        let primary = match self.deployment.is_cluster() {
            true => {
                let mut info = redis::cmd("INFO");
                info.arg("replication");
                let text = conn.on_node_of(&events, info).await.map_err(backend)?;
                let text = String::from_redis_value(text).map_err(StoreError::backend)?;
                replication_id(&text)
                    .ok_or_else(|| StoreError::backend("INFO replication has no master_replid"))?
                    .to_owned()
            }
            false => String::new(),
        };
        let mut invocation = self.watch.prepare_invoke();
        invocation
            .key(self.keys.primary(self.partition))
            .key(self.keys.epoch(self.partition))
            .arg(primary)
            .arg(new_epoch())
            .arg(if self.replicas { "0" } else { "1" });
        invocation.invoke_async(&mut conn).await.map_err(backend)
    }
}

/// The `master_replid` of an `INFO replication` reply.
fn replication_id(info: &str) -> Option<&str> {
    info.lines()
        .find_map(|line| line.strip_prefix("master_replid:"))
        .map(str::trim)
}

#[async_trait]
impl LogTail for RedisTail {
    async fn epoch(&mut self) -> StoreResult<String> {
        let result = self.watch_primary().await;
        if let Err(StoreError::Backend(_)) = &result {
            self.conn = None;
        }
        result
    }

    async fn read_after(
        &mut self,
        after: LogId,
        block: Duration,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        let result = self.read(after, block, count).await;
        if let Err(StoreError::Backend(_)) = &result {
            self.conn = None;
        }
        result
    }
}

/// `block` in whole milliseconds for `XREAD BLOCK`, rounded up: a zero
/// would mean "wait forever" to Redis.
fn block_ms(block: Duration) -> u64 {
    u64::try_from(block.as_micros().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}
