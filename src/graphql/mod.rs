//! The GraphQL schema: one module per domain, merged here.
//!
//! The schema is a library: the HTTP and WebSocket layers only feed it
//! requests. [`build_schema`] is the one constructor, used by the router,
//! the tests and the SDL export.

mod account;
mod chat;
mod connection;
mod context;
mod error;
mod error_codes;
mod events;
mod handoff;
mod limits;
mod message;
mod rendition;
mod scalars;
mod selection;

use std::sync::Arc;

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::auth::Tokens;
use crate::metrics::Metrics;
use crate::metrics::extension::Observe;
use crate::realtime::hub::Hub;
use crate::store::Store;
use crate::throttle::Policy;

pub use context::ClientAddress;
pub use error::{ApiError, ApiResult};
pub use handoff::{Handoff, HandoffSlot, RenderItem};
pub use limits::{QUERY_TOO_COMPLEX, QueryLimits};
pub use rendition::Renderer;
pub use selection::Template;

#[derive(MergedObject, Default)]
pub struct Query(account::AccountQuery, chat::ChatQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    chat::ChatMutation,
    message::MessageMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(events::EventSubscription);

/// The schema type served by this crate.
pub type ChatSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with its services injected.
pub fn build_schema(
    store: Arc<dyn Store>,
    tokens: Tokens,
    hub: Hub,
    policy: Policy,
    limits: QueryLimits,
    metrics: Metrics,
) -> ChatSchema {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(store)
    .data(tokens)
    .data(hub)
    .data(policy)
    .data(metrics.clone())
    .extension(limits)
    // Outside ErrorCodes, so it counts errors with their final codes.
    .extension(Observe(metrics))
    .extension(error_codes::ErrorCodes);
    if limits.introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema's SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .finish()
    .sdl()
}
