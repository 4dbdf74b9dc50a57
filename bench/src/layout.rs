//! Who is in which chat, which connection belongs to which user, and the
//! message bodies that carry what a subscriber needs to check a delivery.

use std::time::{SystemTime, UNIX_EPOCH};

/// The shape of one scenario's population.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub users: usize,
    pub chats: usize,
    /// Members per chat (the creator included).
    pub members: usize,
    /// WebSocket connections, each with one subscription, spread evenly
    /// over the users.
    pub subscribers: usize,
}

impl Layout {
    /// The users of `chat`, creator first: consecutive users modulo the
    /// user count, so memberships spread evenly and never repeat in a chat.
    pub fn chat_members(&self, chat: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.members).map(move |k| (chat * self.members + k) % self.users)
    }

    /// Every user's chats, by user index.
    pub fn user_chats(&self) -> Vec<Vec<usize>> {
        let mut chats = vec![Vec::new(); self.users];
        for chat in 0..self.chats {
            for user in self.chat_members(chat) {
                chats[user].push(chat);
            }
        }
        chats
    }

    /// The user a subscriber connects as.
    pub fn subscriber_user(&self, subscriber: usize) -> usize {
        subscriber % self.users
    }

    /// The user who sends the `n`-th message of `chat`: members take turns,
    /// so every member sends and no single user is the only writer.
    pub fn sender(&self, chat: usize, n: usize) -> usize {
        (chat * self.members + n % self.members) % self.users
    }

    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.users > 0 && self.chats > 0,
            "users and chats must be positive"
        );
        anyhow::ensure!(
            (1..=self.users).contains(&self.members),
            "a chat needs 1..=users members"
        );
        anyhow::ensure!(
            self.members <= 1000,
            "createChat takes at most 1,000 members"
        );
        Ok(())
    }
}

/// Whether a message is one of the measured ones or a warm-up that proves a
/// subscription is live before measuring starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Warmup,
    Measured,
}

/// What the generator writes into each message body, so that each delivery
/// can be checked without any shared state: its sequence number (unique per
/// kind), the chat index it was sent to, and the send instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Body {
    pub kind: Kind,
    pub seq: u64,
    pub chat: usize,
    /// Wall-clock nanoseconds since the Unix epoch when the send began.
    pub sent_ns: u64,
}

impl Body {
    pub fn encode(&self) -> String {
        let kind = match self.kind {
            Kind::Warmup => 'w',
            Kind::Measured => 'm',
        };
        format!("{kind} {} {} {}", self.seq, self.chat, self.sent_ns)
    }

    pub fn decode(text: &str) -> Option<Body> {
        let mut parts = text.split(' ');
        let kind = match parts.next()? {
            "w" => Kind::Warmup,
            "m" => Kind::Measured,
            _ => return None,
        };
        let body = Body {
            kind,
            seq: parts.next()?.parse().ok()?,
            chat: parts.next()?.parse().ok()?,
            sent_ns: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(body)
    }
}

/// Wall-clock nanoseconds since the Unix epoch. The wall clock (rather than
/// an `Instant`) lets several generator processes share one time base.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip() {
        let body = Body {
            kind: Kind::Measured,
            seq: 42,
            chat: 7,
            sent_ns: 1_700_000_000_000_000_000,
        };
        assert_eq!(Body::decode(&body.encode()), Some(body));
        assert_eq!(Body::decode("m 1 2"), None);
        assert_eq!(Body::decode("hello"), None);
    }

    #[test]
    fn every_chat_has_distinct_members_and_users_are_spread() {
        let layout = Layout {
            users: 200,
            chats: 50,
            members: 10,
            subscribers: 2000,
        };
        for chat in 0..layout.chats {
            let mut members: Vec<_> = layout.chat_members(chat).collect();
            members.sort_unstable();
            members.dedup();
            assert_eq!(members.len(), 10);
            assert!(members.contains(&layout.sender(chat, 3)));
        }
        let per_user = layout.user_chats();
        assert!(per_user.iter().all(|chats| (2..=3).contains(&chats.len())));
    }
}
