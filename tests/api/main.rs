//! Integration tests: one binary, real HTTP, real Redis.
//!
//! Each test starts its own server on port 0 (and, on the Redis backend,
//! its own redis-server), makes its own users and chats, and so runs in
//! parallel with every other, in any order. `TEST_LOG=1` shows server logs.

mod accounts;
mod bad_input;
mod binary;
mod chats;
mod consumer;
mod cors;
mod helpers;
mod http;
mod message_changes;
mod messages;
mod metrics;
mod module_graph;
mod null_propagation;
mod persisted_queries;
mod playground;
mod query_limits;
mod rate_limits;
mod reactions;
mod read_state;
mod redis_cluster;
mod redis_server;
mod scale_out;
mod schema;
mod sessions;
mod shape;
mod signals;
mod sse;
mod store_model;
mod subscriptions;
mod token_clock;
mod ws_client;
mod ws_limits;
mod ws_operations;
mod ws_protocol;
