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
//! - [`http`]: the router — `/graphql` (GraphQL over HTTP), `/ws`, `/health`, `/ready`,
//!   and which other origins may use them.
//! - [`playground`]: the embedded web playground (GraphiQL at `/`, a chat page at `/chat`).
//! - [`metrics`]: Prometheus metrics at `/metrics`.
//! - [`ws`]: GraphQL over WebSocket (graphql-transport-ws and legacy graphql-ws).
//! - [`graphql`]: the schema, one module per domain (account, chat, message).
//! - [`realtime`]: the log consumer, the hub, and each subscription's feed.
//! - [`auth`]: argon2id password hashing and HS256 bearer tokens.
//! - [`store`]: the storage trait and its `memory` and `redis` backends.
//! - [`throttle`]: rate limits on writes and sign-in attempts.
//! - [`domain`]: input newtypes that validate at the boundary.
//! - [`cursor`]: the opaque cursors handed to clients.

pub mod auth;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod playground;
pub mod realtime;
pub mod state;
pub mod store;
pub mod throttle;
pub mod ws;

use std::future::Future;

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
    let drain = state.shutdown_drain;
    let stopping = async move {
        shutdown.await;
        // Unready, sockets closing, upgrades refused; requests still served
        // for the drain, so load balancers notice before the listener goes.
        token.cancel();
        tokio::time::sleep(drain).await;
    };
    let served = http::server::serve(
        listener,
        http::router(state.clone()),
        stopping,
        state.limits.header_timeout,
    );
    let deadline = async {
        state.shutdown.cancelled().await;
        tokio::time::sleep(state.shutdown_drain + state.shutdown_timeout).await;
    };
    let drained = async {
        served.await;
        // The server lets go of upgraded connections, so the sockets are
        // awaited here, or the process would exit before their close
        // frames are written.
        state.connections.close();
        state.connections.wait().await;
    };
    tokio::select! {
        () = drained => {}
        () = deadline => {
            tracing::warn!(
                timeout = ?state.shutdown_timeout,
                sockets = state.connections.len(),
                "shutdown deadline passed; exiting with work still open"
            );
        }
    }
    state.shutdown.cancel();
    consumer.await?;
    Ok(())
}
