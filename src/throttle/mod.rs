//! Rate limits on writes and sign-in attempts.
//!
//! Each limit is a [`Rate`] ("30 per 10 s") enforced per key (a user, an
//! account name, a client address) with the generic cell rate algorithm
//! ([`gcra`]): one timestamp per key, bursts up to the rate's count, then
//! one event per interval. The state lives in the store's backend — in
//! Redis it is shared by every server process, so a user cannot multiply
//! their allowance by spreading requests over processes.
//!
//! # Layout
//!
//! - [`rate`]: the configured rates and how they are written.
//! - [`gcra`]: the algorithm, as a pure function.
//! - [`memory`] and [`redis`]: the two [`Throttle`] backends.
//! - [`policy`]: which limits apply to which operation, used by resolvers.

pub mod gcra;
pub mod memory;
pub mod policy;
pub mod rate;
pub mod redis;

use std::time::Duration;

use async_trait::async_trait;

pub use policy::{Action, Policy};
pub use rate::Rate;

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

/// The throttle backend failed (Redis unreachable).
#[derive(Debug, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct ThrottleError(pub String);

/// Rate-limit state, keyed by strings the [`policy`] builds.
#[async_trait]
pub trait Throttle: Send + Sync + 'static {
    /// Checks one event of `key` against `rate`.
    async fn check(&self, key: &str, rate: Rate, mode: Mode) -> Result<Verdict, ThrottleError>;

    /// Forgets `key`'s history (a successful sign-in clears its failures).
    async fn reset(&self, key: &str) -> Result<(), ThrottleError>;
}
