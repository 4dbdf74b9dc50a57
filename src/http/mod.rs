//! The HTTP surface: routes, and the GraphQL-over-HTTP handler.

mod auth_header;
mod client_address;
mod graphql;
mod health;
mod media;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::ws;

pub use auth_header::{bearer_token, viewer_from_authorization};
pub use client_address::client_address;

/// The application's router. Tests build it too, with their own state.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/ws", get(ws::handler))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
