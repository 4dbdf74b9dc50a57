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
//! - `backend`: the [`Throttle`] trait the two backends implement.
//! - [`memory`] and [`redis`]: the two [`Throttle`] backends.
//! - [`policy`]: which limits apply to which operation, used by resolvers.

mod backend;
pub mod gcra;
pub mod memory;
pub mod policy;
pub mod rate;
pub mod redis;
mod verdict;

pub use backend::{Throttle, ThrottleError};
pub use policy::{Action, Policy};
pub use rate::Rate;
pub use verdict::{Mode, Verdict};
