//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use super::state::AppState;

/// Liveness: the process is up and serving HTTP.
pub async fn health() -> &'static str {
    "ok"
}

/// How long the store may take to answer a readiness ping. A probe must
/// answer promptly, and a store slower than this is not ready either.
const PING_TIMEOUT: Duration = Duration::from_millis(500);

/// Readiness: not shutting down, the log consumer's last read worked, and
/// the store answers a ping in time. 503 tells a load balancer to send
/// traffic elsewhere until all three hold. The cheap checks come first so
/// an outage is reported without waiting on the store.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if !state.consumer.is_healthy() {
        return (StatusCode::SERVICE_UNAVAILABLE, "event log consumer down");
    }
    match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
        Err(_) => {
            tracing::warn!(timeout = ?PING_TIMEOUT, "not ready: store did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
