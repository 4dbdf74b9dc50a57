//! `GET /metrics`: the Prometheus scrape endpoint.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::state::AppState;

/// The OpenMetrics text exposition, which Prometheus negotiates and reads.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, OPENMETRICS)], state.metrics.render())
}
