//! The HTTP surface: routes, and the GraphQL-over-HTTP handler.

mod auth_header;
mod client_address;
mod graphql;
mod health;
mod media;
mod metrics;
mod origins;
mod result_body;
pub mod server;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::playground;
use crate::state::AppState;
use crate::ws;

pub use auth_header::{bearer_token, viewer_from_authorization};
pub use client_address::client_address;
pub use origins::AllowedOrigins;

/// The application's router. Tests build it too, with their own state.
///
/// Only `/graphql` answers CORS: it is the one route meant for pages of
/// other origins (`/ws` checks `Origin` itself, the rest are same-origin).
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    let cors = state.allowed_origins.cors_layer();
    Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get)
                .post(graphql::graphql_post)
                .layer(cors),
        )
        .route("/", get(playground::graphiql))
        .route("/chat", get(playground::chat))
        .route("/chat/", get(playground::chat))
        .route("/assets/{*file}", get(playground::asset))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/ws", get(ws::handler))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
