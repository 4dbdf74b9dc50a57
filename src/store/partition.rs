//! Partitions of the event log.
//!
//! With `LOG_PARTITIONS` = P, every chat belongs to one of P partitions,
//! chosen by a hash of its id; everything a write to the chat touches
//! (on Redis: every key, including each member's index entry for it) is
//! kept with its partition, so a write stays one atomic step on one node
//! of a cluster. Each partition has its own log: its own positions, its
//! own epoch, its own retention. Order is total within a partition (and so
//! within a chat); events of different partitions are not ordered.

use std::fmt;

use crate::domain::ChatId;
use crate::store::LogId;

/// Most partitions a deployment may have. A cursor of an all-chats
/// subscription holds one position per partition, so the bound keeps it
/// short.
pub const MAX_PARTITIONS: u16 = 64;

/// One partition of the log, numbered from 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition(u16);

impl Partition {
    /// The first partition (the only one, unless the log is partitioned).
    pub const FIRST: Partition = Partition(0);

    /// The partition numbered `number` (below [`MAX_PARTITIONS`]); whether
    /// a deployment has it is [`Partitions::get`]'s question.
    pub fn for_number(number: u16) -> Partition {
        Partition(number.min(MAX_PARTITIONS - 1))
    }

    /// The partition's number, as it appears in key names and metrics.
    pub fn number(self) -> u16 {
        self.0
    }

    /// The partition's place in per-partition lists.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How the log is split: the count, and which partition a chat is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partitions {
    count: u16,
}

impl Default for Partitions {
    fn default() -> Self {
        Self::new(1)
    }
}

impl Partitions {
    /// `count` partitions, at least 1 and at most [`MAX_PARTITIONS`].
    pub fn new(count: u16) -> Self {
        Self {
            count: count.clamp(1, MAX_PARTITIONS),
        }
    }

    /// How many partitions there are.
    pub fn count(self) -> usize {
        usize::from(self.count)
    }

    /// Every partition, in order.
    pub fn all(self) -> impl Iterator<Item = Partition> {
        (0..self.count).map(Partition)
    }

    /// The partition numbered `number`, if there is one.
    pub fn get(self, number: usize) -> Option<Partition> {
        u16::try_from(number)
            .ok()
            .filter(|n| *n < self.count)
            .map(Partition)
    }

    /// The partition of a chat. The hash (FNV-1a over the id's text) is
    /// fixed by this code, not by a library's version or a process's random
    /// seed: every process, and every release, must agree on it, or a
    /// chat's keys would move.
    pub fn of(self, chat: &ChatId) -> Partition {
        if self.count == 1 {
            return Partition(0);
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in chat.as_str().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // The remainder is below `count`, which is a u16.
        Partition((hash % u64::from(self.count)) as u16)
    }
}

/// A position in every partition of the log: where an all-chats feed is.
/// With one partition it is a single log position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Positions(Vec<LogId>);

impl Positions {
    /// The start of every partition.
    pub fn zero(partitions: Partitions) -> Self {
        Self(vec![LogId::ZERO; partitions.count()])
    }

    /// Positions from one per partition, in partition order.
    pub fn from_vec(ids: Vec<LogId>) -> Self {
        Self(ids)
    }

    /// The position in `partition` (`LogId::ZERO` when out of range).
    pub fn get(&self, partition: Partition) -> LogId {
        self.0.get(partition.index()).copied().unwrap_or_default()
    }

    /// Moves the position in `partition` to `id`.
    pub fn set(&mut self, partition: Partition, id: LogId) {
        if let Some(slot) = self.0.get_mut(partition.index()) {
            *slot = id;
        }
    }

    /// How many partitions this covers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether this covers no partition (never, for a real log).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each partition's position, in partition order.
    pub fn iter(&self) -> impl Iterator<Item = LogId> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_partition_holds_every_chat() {
        let one = Partitions::new(1);
        for _ in 0..100 {
            assert_eq!(one.of(&ChatId::generate()), Partition(0));
        }
    }

    #[test]
    fn chats_spread_over_partitions_and_stay_put() {
        let sixteen = Partitions::new(16);
        let mut seen = [0usize; 16];
        for _ in 0..1600 {
            let chat = ChatId::generate();
            let partition = sixteen.of(&chat);
            assert_eq!(sixteen.of(&chat), partition);
            seen[partition.index()] += 1;
        }
        // Uniform would be 100 each; a broken hash puts most in a few.
        assert!(seen.iter().all(|n| (50..=160).contains(n)), "{seen:?}");
    }

    #[test]
    fn the_hash_is_fixed() {
        // Key names depend on it: this value must never change.
        let chat = ChatId::parse("0123456789abcdef0123456789abcdef").expect("a chat id");
        assert_eq!(Partitions::new(16).of(&chat), Partition(FIXED));
    }

    /// FNV-1a 64 of the id above, modulo 16 (checked against an independent
    /// implementation).
    const FIXED: u16 = 5;

    #[test]
    fn counts_are_bounded() {
        assert_eq!(Partitions::new(0).count(), 1);
        assert_eq!(Partitions::new(1000).count(), usize::from(MAX_PARTITIONS));
        assert_eq!(Partitions::new(3).get(2), Some(Partition(2)));
        assert_eq!(Partitions::new(3).get(3), None);
    }
}
