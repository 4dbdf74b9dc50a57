//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// Liveness: the process is up and serving HTTP.
pub async fn health() -> &'static str {
    "ok"
}

/// Readiness: the store answers. 503 tells a load balancer to send traffic
/// elsewhere until it does.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "not ready: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    }
}
