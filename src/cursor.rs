//! Opaque cursors handed to clients.
//!
//! Three kinds exist: a *log* cursor names a position in the log of one
//! partition (every message's cursor is one, and so is every event's of a
//! subscription to one chat), a *feed* cursor names a position in every
//! partition (the events of an all-chats subscription when the log has
//! more than one partition), and a *chats* cursor names a place in the
//! `chats` listing. Each carries its partitions' epochs, so a cursor minted
//! before a partition's log was lost (Redis restarted without its data, or
//! failed over with loss) is recognised as expired instead of silently
//! pointing into the new log.
//!
//! The text is base64url of `l1:<epoch>:<ms>-<seq>` (followed by
//! `:<partition>` for a partition other than the first),
//! `f1:<fingerprint>~<ms>-<seq>,…` (one entry per partition, in order; the
//! fingerprint is the first 8 digits of the partition's epoch, which keeps
//! the cursor short while telling epochs apart with odds of 1 in 4
//! billion) or `c1:<epoch>:<activity ms>:<chat id>`. Clients must not parse
//! it; the version tag lets the format change without misreading old
//! cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::ChatId;
use crate::store::{LogId, Millis, Partition, Positions};

/// How many leading digits of an epoch a feed cursor keeps.
const FINGERPRINT: usize = 8;

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// A position in the log of one partition.
    Log {
        epoch: String,
        partition: u16,
        id: LogId,
    },
    /// A position in every partition, with each one's epoch fingerprint.
    Feed { parts: Vec<(String, LogId)> },
    /// A place in the `chats` order (activity, then id, both descending).
    Chats {
        epoch: String,
        activity: Millis,
        chat: ChatId,
    },
}

/// A string that is not a cursor this server makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedCursor;

impl Cursor {
    /// A position in the log of `partition`. The first partition's
    /// cursors read exactly as they did before the log had partitions.
    pub fn log(epoch: &str, partition: Partition, id: LogId) -> String {
        match partition.number() {
            0 => URL_SAFE_NO_PAD.encode(format!("l1:{epoch}:{id}")),
            n => URL_SAFE_NO_PAD.encode(format!("l1:{epoch}:{id}:{n}")),
        }
    }

    pub fn chats(epoch: &str, activity: Millis, chat: &ChatId) -> String {
        URL_SAFE_NO_PAD.encode(format!("c1:{epoch}:{activity}:{chat}"))
    }

    /// A feed cursor: `positions` in partition order, with `epochs` (the
    /// same length).
    pub fn feed(epochs: &[impl AsRef<str>], positions: &Positions) -> String {
        let parts: Vec<String> = epochs
            .iter()
            .zip(positions.iter())
            .map(|(epoch, id)| format!("{}~{id}", fingerprint(epoch.as_ref())))
            .collect();
        URL_SAFE_NO_PAD.encode(format!("f1:{}", parts.join(",")))
    }

    pub fn decode(text: &str) -> Result<Cursor, MalformedCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| MalformedCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| MalformedCursor)?;
        if let Some(parts) = text.strip_prefix("f1:") {
            return decode_feed(parts);
        }
        let mut parts = text.split(':');
        let (kind, epoch) = (parts.next(), parts.next());
        let epoch = epoch
            .filter(|e| is_epoch(e))
            .ok_or(MalformedCursor)?
            .to_owned();
        let cursor = match (kind, parts.next(), parts.next()) {
            (Some("l1"), Some(id), partition) => Cursor::Log {
                epoch,
                partition: match partition {
                    None => 0,
                    Some(n) => parse_partition(n)?,
                },
                id: id.parse().map_err(|_| MalformedCursor)?,
            },
            (Some("c1"), Some(activity), Some(chat)) => Cursor::Chats {
                epoch,
                activity: activity.parse().map_err(|_| MalformedCursor)?,
                chat: ChatId::parse(chat).ok_or(MalformedCursor)?,
            },
            _ => return Err(MalformedCursor),
        };
        if parts.next().is_some() {
            return Err(MalformedCursor);
        }
        Ok(cursor)
    }
}

/// A partition number as cursors print it: digits, no sign, no leading
/// zero, below the most partitions there can be.
fn parse_partition(text: &str) -> Result<u16, MalformedCursor> {
    let canonical = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    match text.parse::<u16>() {
        Ok(n) if canonical && n < crate::store::MAX_PARTITIONS => Ok(n),
        _ => Err(MalformedCursor),
    }
}

/// Whether `epoch` is the one `fingerprint` was taken from (as far as a
/// fingerprint tells).
pub fn matches_fingerprint(epoch: &str, fingerprint_text: &str) -> bool {
    fingerprint(epoch) == fingerprint_text
}

fn fingerprint(epoch: &str) -> &str {
    epoch.get(..FINGERPRINT).unwrap_or(epoch)
}

/// The entries of a feed cursor after its `f1:` tag.
fn decode_feed(text: &str) -> Result<Cursor, MalformedCursor> {
    let mut parts = Vec::new();
    for entry in text.split(',') {
        let (fingerprint, id) = entry.split_once('~').ok_or(MalformedCursor)?;
        let hex =
            fingerprint.len() == FINGERPRINT && fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || parts.len() >= usize::from(crate::store::MAX_PARTITIONS) {
            return Err(MalformedCursor);
        }
        let id = id.parse().map_err(|_| MalformedCursor)?;
        parts.push((fingerprint.to_owned(), id));
    }
    Ok(Cursor::Feed { parts })
}

/// Epochs are 32 lowercase hex digits (a random UUID).
fn is_epoch(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPOCH: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn log_cursors_round_trip() {
        let id = LogId {
            ms: 1_700_000_000_000,
            seq: 3,
        };
        for partition in [0, 7] {
            let text = Cursor::log(EPOCH, Partition::for_number(partition), id);
            assert_eq!(
                Cursor::decode(&text),
                Ok(Cursor::Log {
                    epoch: EPOCH.into(),
                    partition,
                    id
                })
            );
        }
    }

    #[test]
    fn chats_cursors_round_trip() {
        let chat = ChatId::generate();
        let text = Cursor::chats(EPOCH, 42, &chat);
        assert_eq!(
            Cursor::decode(&text),
            Ok(Cursor::Chats {
                epoch: EPOCH.into(),
                activity: 42,
                chat
            })
        );
    }

    #[test]
    fn feed_cursors_round_trip_with_fingerprints() {
        let other = "fedcba9876543210fedcba9876543210";
        let positions = Positions::from_vec(vec![LogId { ms: 5, seq: 1 }, LogId::ZERO]);
        let text = Cursor::feed(&[EPOCH, other], &positions);
        let Ok(Cursor::Feed { parts }) = Cursor::decode(&text) else {
            panic!("not a feed cursor: {text}");
        };
        assert_eq!(parts.len(), 2);
        assert!(matches_fingerprint(EPOCH, &parts[0].0));
        assert!(matches_fingerprint(other, &parts[1].0));
        assert!(!matches_fingerprint(other, &parts[0].0));
        assert_eq!(
            (parts[0].1, parts[1].1),
            (LogId { ms: 5, seq: 1 }, LogId::ZERO)
        );
    }

    #[test]
    fn foreign_strings_are_malformed() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for text in [
            String::new(),
            "not base64 !".into(),
            enc("l1:short:1-0"),
            enc(&format!("l2:{EPOCH}:1-0")),
            enc(&format!("l1:{EPOCH}:1")),
            enc(&format!("l1:{EPOCH}:1-0:extra")),
            enc(&format!("l1:{EPOCH}:1-0:0")),
            enc(&format!("l1:{EPOCH}:1-0:07")),
            enc(&format!("l1:{EPOCH}:1-0:64")),
            enc(&format!("l1:{EPOCH}:1-0:3:4")),
            enc(&format!("c1:{EPOCH}:x:{}", ChatId::generate())),
            enc(&format!("c1:{EPOCH}:1:not-a-chat")),
            enc("f1:"),
            enc("f1:01234567~1"),
            enc("f1:0123456~1-0"),
            enc("f1:01234567~1-0,"),
            enc(&format!("f1:{}", vec!["01234567~1-0"; 65].join(","))),
        ] {
            assert_eq!(Cursor::decode(&text), Err(MalformedCursor), "{text:?}");
        }
    }
}
