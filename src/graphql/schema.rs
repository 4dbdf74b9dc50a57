//! The schema: the domains' roots merged, their services injected, and
//! the extensions every operation runs through.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::auth::Tokens;
use crate::metrics::Metrics;
use crate::realtime::hub::Hub;
use crate::sessions::Revocations;
use crate::signals::rooms::Rooms;
use crate::store::Store;
use crate::throttle::Policy;

use super::account::AccountQuery;
use super::chat::{ChatMutation, ChatQuery};
use super::error_codes::ErrorCodes;
use super::events::EventSubscription;
use super::limits::QueryLimits;
use super::messaging::MessageMutation;
use super::observe::Observe;
use super::presence::PresenceSubscription;
use super::session::SessionMutation;
use super::stream_token::{StreamTokenLifetime, StreamTokenMutation};
use super::typing::{TypingMutation, TypingSubscription};

#[derive(MergedObject, Default)]
pub struct Query(AccountQuery, ChatQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(
    SessionMutation,
    ChatMutation,
    MessageMutation,
    TypingMutation,
    StreamTokenMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(EventSubscription, TypingSubscription, PresenceSubscription);

/// The schema type served by this crate.
pub type ChatSchema = Schema<Query, Mutation, Subscription>;

/// What the resolvers reach through their context.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub tokens: Tokens,
    pub hub: Hub,
    pub policy: Policy,
    pub metrics: Metrics,
    pub revocations: Revocations,
    pub rooms: Rooms,
    /// How long `createStreamToken`'s tokens live.
    pub stream_token_lifetime: Duration,
}

/// Builds the schema with its services injected.
pub fn build_schema(services: Services, limits: QueryLimits) -> ChatSchema {
    let Services {
        store,
        tokens,
        hub,
        policy,
        metrics,
        revocations,
        rooms,
        stream_token_lifetime,
    } = services;
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
    .data(revocations)
    .data(rooms)
    .data(StreamTokenLifetime(stream_token_lifetime))
    .extension(limits)
    // Outside ErrorCodes, so it counts errors with their final codes.
    .extension(Observe(metrics))
    .extension(ErrorCodes);
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
