//! What a check does to a key's allowance, and what it decides.

use std::time::Duration;

/// The outcome of a throttle check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the rate; the same request is allowed again after this long.
    Limited(Duration),
}

/// What a check does to the key's allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Uses one event of the allowance when allowed.
    Count,
    /// Only answers whether one more event would be allowed.
    Peek,
}
