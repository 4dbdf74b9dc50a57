//! What a rate-limit backend does: check a key against a rate, and reset it.

use async_trait::async_trait;

use super::rate::Rate;
use super::verdict::{Mode, Verdict};

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
