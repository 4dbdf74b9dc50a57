//! Reads of the event log, shared by the store and its tail.

use redis::aio::ConnectionLike;

use crate::store::{Event, LogId, Partition, StoreError, StoreResult};

use super::decode::{self, Entry};
use super::keys::Keys;

/// Up to `limit` events of `partition` strictly after `after`, in log order; `Expired`
/// when an event after `after` was trimmed away. The trimmed marker and the
/// range are read in one `MULTI`, so they describe the same moment.
/// A log that does not exist yet is empty.
pub async fn read_after(
    conn: &mut impl ConnectionLike,
    keys: &Keys,
    partition: Partition,
    after: LogId,
    limit: usize,
) -> StoreResult<Vec<Event>> {
    let (trimmed, entries): (Option<String>, Vec<Entry>) = match successor(after) {
        Some(start) => redis::pipe()
            .atomic()
            .cmd("GET")
            .arg(keys.trimmed(partition))
            .cmd("XRANGE")
            .arg(keys.events(partition))
            .arg(start.to_string())
            .arg("+")
            .arg("COUNT")
            .arg(limit.max(1))
            .query_async(conn)
            .await
            .map_err(backend)?,
        // Nothing can follow the largest id; only the expiry check remains.
        None => (
            redis::cmd("GET")
                .arg(keys.trimmed(partition))
                .query_async(conn)
                .await
                .map_err(backend)?,
            Vec::new(),
        ),
    };
    if let Some(trimmed) = trimmed
        && after < decode::log_id(&trimmed)?
    {
        return Err(StoreError::Expired);
    }
    entries
        .iter()
        .take(limit)
        .map(|entry| decode::event(partition, entry))
        .collect()
}

/// The newest entry's id in a stream (`LogId::ZERO` when empty or missing).
pub async fn last_id(conn: &mut impl ConnectionLike, stream: &str) -> StoreResult<LogId> {
    let newest: Vec<Entry> = newest_entry(stream)
        .query_async(conn)
        .await
        .map_err(backend)?;
    newest_id(&newest)
}

/// `XREVRANGE stream + - COUNT 1`: the newest entry of a stream, as a
/// one-element (or, for an empty stream, empty) list of entries.
pub fn newest_entry(stream: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("XREVRANGE");
    cmd.arg(stream).arg("+").arg("-").arg("COUNT").arg(1);
    cmd
}

/// The id of the entry [`newest_entry`] returned; `LogId::ZERO` when the
/// stream is empty or missing.
pub fn newest_id(newest: &[Entry]) -> StoreResult<LogId> {
    match newest.first() {
        Some((id, _)) => decode::log_id(id),
        None => Ok(LogId::ZERO),
    }
}

/// The smallest id after `id`, so an exclusive bound can be given as an
/// inclusive one; `None` after the largest possible id.
pub fn successor(id: LogId) -> Option<LogId> {
    match (id.ms, id.seq) {
        (ms, seq) if seq < u64::MAX => Some(LogId { ms, seq: seq + 1 }),
        (ms, _) if ms < u64::MAX => Some(LogId { ms: ms + 1, seq: 0 }),
        _ => None,
    }
}

/// The largest id before `id`; `None` before `0-0`.
pub fn predecessor(id: LogId) -> Option<LogId> {
    match (id.ms, id.seq) {
        (ms, seq) if seq > 0 => Some(LogId { ms, seq: seq - 1 }),
        (ms, _) if ms > 0 => Some(LogId {
            ms: ms - 1,
            seq: u64::MAX,
        }),
        _ => None,
    }
}

/// A fresh epoch: offered to every script that may find a partition's log
/// without one (appends, the tail's `watch_primary.lua`), used only then.
pub fn new_epoch() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A Redis failure as a store error.
pub fn backend(error: redis::RedisError) -> StoreError {
    StoreError::backend(error)
}
