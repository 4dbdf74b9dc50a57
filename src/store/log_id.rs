//! Positions in the event log.

use std::fmt;
use std::str::FromStr;

/// A position in the event log, shaped like a Redis Stream id
/// (`<milliseconds>-<sequence>`), so one total order serves both backends.
///
/// Ordering is numeric on (ms, seq), which is the log's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId {
    pub ms: u64,
    pub seq: u64,
}

impl LogId {
    /// The position before every event.
    pub const ZERO: LogId = LogId { ms: 0, seq: 0 };

    /// The id the log gives to the next event appended at wall-clock `now_ms`
    /// after `self`: time when time moved on, otherwise the next sequence
    /// number. This is Redis' own rule for `XADD *`.
    pub fn next_at(self, now_ms: u64) -> LogId {
        if now_ms > self.ms {
            LogId { ms: now_ms, seq: 0 }
        } else {
            LogId {
                ms: self.ms,
                seq: self.seq + 1,
            }
        }
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// A string that is not a `<ms>-<seq>` log id.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLogId;

impl FromStr for LogId {
    type Err = BadLogId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(BadLogId)?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(BadLogId);
        }
        Ok(LogId {
            ms: ms.parse().map_err(|_| BadLogId)?,
            seq: seq.parse().map_err(|_| BadLogId)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = LogId {
            ms: 1_700_000_000_123,
            seq: 7,
        };
        assert_eq!(id.to_string().parse::<LogId>(), Ok(id));
    }

    #[test]
    fn rejects_malformed_text() {
        for s in [
            "",
            "1",
            "1-",
            "-1",
            "a-1",
            "1-2-3",
            "+1-2",
            "99999999999999999999-0",
        ] {
            assert_eq!(s.parse::<LogId>(), Err(BadLogId), "{s:?}");
        }
    }

    #[test]
    fn next_follows_redis_rules() {
        let id = LogId { ms: 10, seq: 4 };
        assert_eq!(id.next_at(11), LogId { ms: 11, seq: 0 });
        assert_eq!(id.next_at(10), LogId { ms: 10, seq: 5 });
        // A clock that went backwards never moves the log backwards.
        assert_eq!(id.next_at(3), LogId { ms: 10, seq: 5 });
    }
}
