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
//! - [`http`]: the router — `/graphql` (GraphQL over HTTP), `/ws`, `/health`, `/ready`.
//! - [`ws`]: GraphQL over WebSocket (graphql-transport-ws and legacy graphql-ws).
//! - [`graphql`]: the schema, one module per domain (account, chat, message).
//! - [`realtime`]: the log consumer, the hub, and each subscription's feed.
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
pub mod realtime;
pub mod state;
pub mod store;
pub mod ws;

use std::future::{Future, IntoFuture};

use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;

use crate::realtime::consumer::Consumer;

pub use config::Config;
pub use state::AppState;

/// Serves the application on `listener` until `shutdown` completes, then
/// signals long-lived work to stop (`state.shutdown`), lets in-flight
/// requests finish and every WebSocket send its close frame (within
/// `state.shutdown_timeout` of the signal), stops the log consumer and
/// returns.
///
/// The consumer starts at the log head read here, before the first request
/// is accepted, so every event a subscription can be waiting for comes after
/// the consumer's starting point.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let head = state.store.log_head().await?;
    let consumer = Consumer::new(
        state.store.log_tail(),
        state.hub.clone(),
        head,
        state.consumer.clone(),
    );
    let consumer = tokio::spawn(consumer.run(state.shutdown.clone()));
    let token = state.shutdown.clone();
    let stopping = async move {
        shutdown.await;
        token.cancel();
    };
    // Small writes go out at once: with Nagle's algorithm a WebSocket frame
    // written while the previous one is unacknowledged waits for the peer's
    // (possibly delayed) ACK, which the benchmark saw as tens of
    // milliseconds of delivery latency.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    let served = axum::serve(listener, http::router(state.clone()))
        .with_graceful_shutdown(stopping)
        .into_future();
    let deadline = async {
        state.shutdown.cancelled().await;
        tokio::time::sleep(state.shutdown_timeout).await;
    };
    let drained = async {
        let served = served.await;
        // axum's graceful shutdown lets go of upgraded connections, so the
        // sockets are awaited here, or the process would exit before their
        // close frames are written.
        state.connections.close();
        state.connections.wait().await;
        served
    };
    let served = tokio::select! {
        served = drained => served,
        () = deadline => {
            tracing::warn!(
                timeout = ?state.shutdown_timeout,
                sockets = state.connections.len(),
                "shutdown deadline passed; exiting with work still open"
            );
            Ok(())
        }
    };
    state.shutdown.cancel();
    consumer.await?;
    Ok(served?)
}
