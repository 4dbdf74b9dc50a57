//! A real-time GraphQL chat server.
//!
//! Mutations write chats and messages and, in the same atomic step, append
//! an event to a log (a Redis Stream, or an in-memory log when no Redis is
//! configured). The log is the only thing the API side and the real-time
//! side share, which is what lets many processes serve one Redis.
//!
//! # Layout
//!
//! The modules form a one-way street, in the direction data flows; a test
//! (`tests/api/module_graph.rs`) fails on any cycle between them.
//!
//! - `app`: the composition root — builds the state from the config,
//!   wires the parts, and serves.
//! - `http`: the router and the shared [`AppState`] — `/graphql` (GraphQL
//!   over HTTP), `/ws` (GraphQL over WebSocket, in `http::ws`: the
//!   protocols and the socket loop), `/health`, `/ready`, `/metrics`, and
//!   which other origins may use them.
//! - `playground`: the embedded web playground (GraphiQL at `/`, a chat
//!   page at `/chat`).
//! - [`graphql`]: the schema, one module per domain; its delivery wing,
//!   [`graphql::live`], runs every socket operation and renders each
//!   subscription event once per selection.
//! - [`realtime`]: the log consumer, the hub, and each subscription's feed.
//! - [`store`]: the storage trait, its `memory` and `redis` backends, and
//!   the log tail the consumer reads.
//! - `metrics`: Prometheus metrics, fed by the others (a leaf).
//! - [`auth`]: argon2id password hashing and HS256 bearer tokens.
//! - [`throttle`]: rate limits on writes and sign-in attempts.
//! - [`domain`]: input newtypes that validate at the boundary.
//! - [`cursor`]: the opaque cursors handed to clients.
//! - [`config`]: flags and environment variables.
//!
//! A message's way from `sendMessage` to a socket frame, each room once:
//! `graphql::message` (the resolver) → `store` (the message and its event,
//! one atomic step) → the log → `realtime::consumer` → `realtime::hub` →
//! `realtime::feed` (the viewer's exactness rule) → `graphql::live` (the
//! feed handed over by the subscription resolver, the event rendered once
//! per selection, a reply) → `http::ws` (the frame).

mod app;
pub mod auth;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod graphql;
mod http;
mod metrics;
mod playground;
pub mod realtime;
pub mod sessions;
pub mod signals;
pub mod store;
pub mod throttle;

pub use app::serve;
pub use config::Config;
pub use http::AppState;
