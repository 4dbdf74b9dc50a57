//! Which sessions have ended, as every server process must know it.
//!
//! Access tokens are verified without a store read: an ended session is
//! looked up in a small in-process set ([`Revocations`]), kept current by
//! the store's notices (Redis pub/sub) and re-read whole from the store
//! whenever the notices may have been missed. While it is not known to be
//! current, each check asks the store instead, and refuses when the store
//! cannot answer. Open sockets learn of endings from the same set and
//! close themselves.

mod revocations;

pub use revocations::Revocations;
