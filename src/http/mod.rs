//! The HTTP surface: the router, the state it serves, GraphQL over HTTP,
//! and GraphQL over WebSocket ([`ws`]).

mod auth_header;
mod cache_policy;
mod client_address;
mod graphql;
mod health;
mod media;
mod metrics;
mod origins;
mod persisted_queries;
mod result_body;
mod server;
mod sse;
mod state;
mod wait;
pub mod ws;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::playground;

pub use self::origins::AllowedOrigins;
pub use self::persisted_queries::PersistedQueries;
pub use self::server::serve;
pub use self::state::{AppState, HttpLimits, SseSettings};
pub use self::ws::limits::WsLimits;
pub use self::ws::sockets::UserSockets;

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
            get(graphql_get).post(graphql_post).layer(cors.clone()),
        )
        .route("/graphql/stream", get(sse::get).post(sse::post).layer(cors))
        .route("/", get(playground::graphiql))
        .route("/chat", get(playground::chat))
        .route("/chat/", get(playground::chat))
        .route("/assets/{*file}", get(playground::asset))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/metrics", get(metrics::metrics))
        .route("/ws", get(ws::handler))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// `GET /graphql`: an event stream when the client accepts one (see
/// [`sse`]), else GraphQL over HTTP.
async fn graphql_get(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    if sse::wants_event_stream(&headers) {
        sse::get(state, peer, headers, query).await
    } else {
        graphql::graphql_get(state, peer, headers, query).await
    }
}

/// `POST /graphql`: as [`graphql_get`].
async fn graphql_post(
    state: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if sse::wants_event_stream(&headers) {
        sse::post(state, peer, headers, body).await
    } else {
        graphql::graphql_post(state, peer, headers, body).await
    }
}

/// The span of one request: method, path and version, never the query
/// string, which can carry secrets (a refresh token or a password in a GET
/// request's variables) that must not reach the logs.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}
