//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// Liveness: the process is up and serving HTTP.
pub async fn health() -> &'static str {
    "ok"
}

/// Readiness: the store answers and the log consumer's last read worked.
/// 503 tells a load balancer to send traffic elsewhere until both hold.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if let Err(error) = state.store.ping().await {
        tracing::warn!(%error, "not ready: store unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable");
    }
    if !state.consumer.is_healthy() {
        return (StatusCode::SERVICE_UNAVAILABLE, "event log consumer down");
    }
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    (StatusCode::OK, "ready")
}
