//! The schema: the domains' roots merged, their services injected, and
//! the extensions every operation runs through.

use std::sync::Arc;

use async_graphql::{MergedObject, MergedSubscription, Schema};

use crate::auth::Tokens;
use crate::metrics::Metrics;
use crate::realtime::hub::Hub;
use crate::sessions::Revocations;
use crate::store::Store;
use crate::throttle::Policy;

use super::account::AccountQuery;
use super::chat::{ChatMutation, ChatQuery};
use super::error_codes::ErrorCodes;
use super::events::EventSubscription;
use super::limits::QueryLimits;
use super::messaging::MessageMutation;
use super::observe::Observe;
use super::session::SessionMutation;

#[derive(MergedObject, Default)]
pub struct Query(AccountQuery, ChatQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(SessionMutation, ChatMutation, MessageMutation);

#[derive(MergedSubscription, Default)]
pub struct Subscription(EventSubscription);

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
    revocations: Revocations,
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
    .data(revocations)
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
