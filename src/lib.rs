//! A real-time GraphQL chat server.
//!
//! Mutations write chats and messages and, in the same atomic step, append
//! an event to a log (a Redis Stream, or an in-memory log when no Redis is
//! configured). The log is the only thing the API side and the real-time
//! side share, which is what lets many processes serve one Redis.
//!
//! # Layout
//!
//! - [`config`]: flags and environment variables.
//! - [`state`]: the shared [`state::AppState`], built from the config.
//! - [`http`]: the router — `/graphql` (GraphQL over HTTP), `/health`, `/ready`.
//! - [`graphql`]: the schema, one module per domain (account, chat, message).
//! - [`auth`]: argon2id password hashing and HS256 bearer tokens.
//! - [`store`]: the storage trait and its `memory` and `redis` backends.
//! - [`domain`]: input newtypes that validate at the boundary.
//! - [`cursor`]: the opaque cursors handed to clients.

pub mod auth;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod state;
pub mod store;

use std::future::Future;

use tokio::net::TcpListener;

pub use config::Config;
pub use state::AppState;

/// Serves the application on `listener` until `shutdown` completes, then
/// signals long-lived work to stop (`state.shutdown`), finishes in-flight
/// requests and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let stopping = async move {
        shutdown.await;
        token.cancel();
    };
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(stopping)
        .await
}
