//! The real-time side: from the event log to each subscription.
//!
//! One [`consumer::Consumer`] per process tails the log (through a
//! [`LogTail`](crate::store::LogTail)) into the [`hub::Hub`]; each subscription reads the
//! hub through a [`feed::Feed`], which replays from the log where needed and
//! applies the [`visibility`] rule to every event.

pub mod consumer;
pub mod feed;
pub mod hub;
pub mod visibility;
