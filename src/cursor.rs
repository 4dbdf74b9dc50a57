//! Opaque cursors handed to clients.
//!
//! Two kinds exist: a *log* cursor names a position in the event log (every
//! message's cursor is one, and so is every event's), and a *chats* cursor
//! names a place in the `chats` listing. Both carry the log's epoch, so a
//! cursor minted before the log was lost (Redis restarted without its data)
//! is recognised as expired instead of silently pointing into the new log.
//!
//! The text is base64url of `l1:<epoch>:<ms>-<seq>` or
//! `c1:<epoch>:<activity ms>:<chat id>`. Clients must not parse it; the
//! version tag lets the format change without misreading old cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::ChatId;
use crate::store::{LogId, Millis};

/// A decoded cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// A position in the event log.
    Log { epoch: String, id: LogId },
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
    pub fn log(epoch: &str, id: LogId) -> String {
        URL_SAFE_NO_PAD.encode(format!("l1:{epoch}:{id}"))
    }

    pub fn chats(epoch: &str, activity: Millis, chat: &ChatId) -> String {
        URL_SAFE_NO_PAD.encode(format!("c1:{epoch}:{activity}:{chat}"))
    }

    pub fn decode(text: &str) -> Result<Cursor, MalformedCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| MalformedCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| MalformedCursor)?;
        let mut parts = text.split(':');
        let (kind, epoch) = (parts.next(), parts.next());
        let epoch = epoch
            .filter(|e| is_epoch(e))
            .ok_or(MalformedCursor)?
            .to_owned();
        let cursor = match (kind, parts.next(), parts.next()) {
            (Some("l1"), Some(id), None) => Cursor::Log {
                epoch,
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

    /// The epoch of the log the cursor was made from.
    pub fn epoch(&self) -> &str {
        match self {
            Cursor::Log { epoch, .. } | Cursor::Chats { epoch, .. } => epoch,
        }
    }
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
        let text = Cursor::log(EPOCH, id);
        assert_eq!(
            Cursor::decode(&text),
            Ok(Cursor::Log {
                epoch: EPOCH.into(),
                id
            })
        );
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
    fn foreign_strings_are_malformed() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for text in [
            String::new(),
            "not base64 !".into(),
            enc("l1:short:1-0"),
            enc(&format!("l2:{EPOCH}:1-0")),
            enc(&format!("l1:{EPOCH}:1")),
            enc(&format!("l1:{EPOCH}:1-0:extra")),
            enc(&format!("c1:{EPOCH}:x:{}", ChatId::generate())),
            enc(&format!("c1:{EPOCH}:1:not-a-chat")),
        ] {
            assert_eq!(Cursor::decode(&text), Err(MalformedCursor), "{text:?}");
        }
    }
}
