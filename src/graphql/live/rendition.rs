//! Events rendered once per selection and shared by every subscriber that
//! asked for that selection.
//!
//! A rendering is the serialised response for one event, made by running
//! the subscription's document in render mode (see `handoff`) with the
//! event as its only item. The first subscriber to need a rendering makes
//! it; the others wait for it and reuse it, so the cost of an event follows
//! the number of distinct selections watching it, not the number of
//! sockets. The cache is bounded: a subscriber far behind (replaying or
//! backfilling) may find its renderings gone and make them again, which
//! costs time, never correctness.
//!
//! A render runs as the subscriber that asked first, which is right for
//! every subscriber of the same key: a selection that uses a field whose
//! value depends on the viewer (`reactedByMe`, `unreadCount`, ...) has a
//! key per viewer (see `template`), so only such a viewer's own renderings
//! are ever shared with it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{Data, Response, ServerError, Value};
use futures_util::StreamExt;
use serde_json::value::RawValue;
use tokio::sync::OnceCell;

use crate::auth::Viewer;
use crate::metrics::Metrics;
use crate::store::{LogId, Partition};

use crate::graphql::envelope::Envelope;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::schema::ChatSchema;

use super::handoff::RenderItem;
use super::template::Template;

/// Renderings kept, across every selection: a few seconds of events at
/// the rates the benchmark drives, a few megabytes at most.
const CAPACITY: usize = 16_384;

/// One event as one selection shows it.
#[derive(Clone)]
pub(super) struct Rendition {
    /// The serialised GraphQL response: the `payload` of `next`.
    pub(super) payload: Arc<RawValue>,
    /// The response's errors when it has no data at all: as a
    /// subscription's first result that is an `error`, not a `next`.
    pub(super) failure: Option<Arc<[ServerError]>>,
}

impl Rendition {
    fn of(response: &Response) -> Rendition {
        let payload = serde_json::value::to_raw_value(response).unwrap_or_else(|error| {
            tracing::error!(%error, "cannot serialise a subscription result");
            let fallback =
                Response::from_errors(vec![ServerError::new("internal server error", None)]);
            serde_json::value::to_raw_value(&fallback).expect("a plain error serialises")
        });
        let failed = response.data == Value::Null && !response.errors.is_empty();
        Rendition {
            payload: Arc::from(payload),
            failure: failed.then(|| response.errors.clone().into()),
        }
    }
}

/// Renders events for subscriptions, sharing renderings between them.
#[derive(Clone)]
pub(super) struct Renderer {
    schema: ChatSchema,
    metrics: Metrics,
    cache: Arc<Mutex<Cache>>,
}

/// A rendering's key and the event's place: partitions number their
/// positions independently, so a position alone names no event.
type Place = (u64, Partition, LogId);

#[derive(Default)]
struct Cache {
    cells: HashMap<Place, Arc<OnceCell<Rendition>>>,
    /// Keys in insertion order, oldest first, for eviction.
    order: VecDeque<Place>,
}

impl Renderer {
    pub(super) fn new(schema: ChatSchema, metrics: Metrics) -> Self {
        Self {
            schema,
            metrics,
            cache: Arc::default(),
        }
    }

    /// `envelope` as `template` renders it; `key` is the template's key for
    /// the envelope's epoch and viewer. A live event (including one a
    /// lagging subscriber catches up on) is rendered once per key, however
    /// many subscribers ask at once. An event replayed after a client's
    /// cursor is rendered afresh: objects in events show their state at
    /// delivery, and a rendering made when the event was live may show a
    /// message since edited or deleted.
    pub(super) async fn render(
        &self,
        template: &Template,
        key: u64,
        viewer: &Viewer,
        envelope: Envelope,
    ) -> Rendition {
        // A feed cursor is the subscriber's own place in every partition:
        // a selection printing one is rendered for its subscriber alone.
        if !envelope.live || (envelope.resume.is_some() && template.positional()) {
            return self.execute(template, viewer, Ok(envelope)).await;
        }
        let cell = self.cell((key, envelope.event.partition, envelope.log_id()));
        cell.get_or_init(|| self.execute(template, viewer, Ok(envelope)))
            .await
            .clone()
    }

    /// The result a subscription shows for a failure of its feed; not
    /// shared, as failures are one subscriber's.
    pub(super) async fn render_error(
        &self,
        template: &Template,
        viewer: &Viewer,
        error: ApiError,
    ) -> Rendition {
        self.execute(template, viewer, Err(error)).await
    }

    fn cell(&self, place: Place) -> Arc<OnceCell<Rendition>> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = cache.cells.get(&place) {
            return cell.clone();
        }
        if cache.order.len() >= CAPACITY
            && let Some(oldest) = cache.order.pop_front()
        {
            cache.cells.remove(&oldest);
        }
        let cell = Arc::new(OnceCell::new());
        cache.cells.insert(place, cell.clone());
        cache.order.push_back(place);
        cell
    }

    /// Runs the document in render mode with `item` as the field's only
    /// result. The render data is session data, so extensions see it from
    /// the start and do not count a render as a client's request.
    async fn execute(
        &self,
        template: &Template,
        viewer: &Viewer,
        item: ApiResult<Envelope>,
    ) -> Rendition {
        self.metrics.rendered();
        let mut data = Data::default();
        data.insert(viewer.clone());
        data.insert(RenderItem::new(item));
        let response = self
            .schema
            .execute_stream_with_session_data(template.request(), Arc::new(data))
            .next()
            .await
            .unwrap_or_else(|| {
                tracing::error!("a render produced no result");
                Response::from_errors(vec![ServerError::new("internal server error", None)])
            });
        Rendition::of(&response)
    }
}
