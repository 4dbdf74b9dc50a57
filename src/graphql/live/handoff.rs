//! How a subscription leaves the per-subscriber executor once it is open.
//!
//! Executing a selection for every subscriber of every event costs the
//! same work a hundred times over when a hundred members watch a chat with
//! the same query. So a subscription runs through async-graphql only until
//! its resolver has checked its arguments and opened the viewer's feed; the
//! resolver then hands the feed over to the socket ([`HandoffSlot`]), and
//! the socket has each event rendered once per distinct selection (see
//! `rendition`), executing the same document again in *render mode*
//! ([`RenderItem`]): the resolver then yields just the one event it is
//! given. Both modes go through the same resolvers, so validation, errors
//! and the result's shape stay async-graphql's.
//!
//! The subscription resolvers (`graphql::events`) call [`serve`]; the
//! `observe` extension tells renders from requests by [`RenderItem`].

use std::sync::{Mutex, PoisonError};

use async_graphql::Context;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::oneshot;

use crate::graphql::envelope::{Envelope, Epochs};
use crate::graphql::error::{ApiError, ApiResult};
use crate::metrics::{Metrics, SubscriptionGuard};

/// Request data of a subscription over a socket: where its resolver puts
/// the feed it opened.
pub(super) struct HandoffSlot(Mutex<Option<oneshot::Sender<Handoff>>>);

impl HandoffSlot {
    /// A slot, and the receiver the socket waits on.
    pub(super) fn new() -> (Self, oneshot::Receiver<Handoff>) {
        let (sender, receiver) = oneshot::channel();
        (Self(Mutex::new(Some(sender))), receiver)
    }
}

/// An open subscription, handed from its resolver to the socket.
pub(super) struct Handoff {
    /// The events to deliver, in log order, already filtered for the field.
    pub(super) events: BoxStream<'static, ApiResult<Envelope>>,
    /// The log epochs the events' cursors are printed with.
    pub(super) epochs: Epochs,
    /// Counts deliveries for `/metrics`.
    pub(super) metrics: Metrics,
    /// Keeps the subscription on the active-subscriptions gauge while the
    /// socket holds it.
    _running: SubscriptionGuard,
}

/// Request data of a render: the one item the subscription field yields.
pub struct RenderItem(Mutex<Option<ApiResult<Envelope>>>);

impl RenderItem {
    pub(super) fn new(item: ApiResult<Envelope>) -> Self {
        Self(Mutex::new(Some(item)))
    }
}

/// What a subscription resolver returns: in render mode, the one item to
/// render; otherwise `open()`'s feed, handed over to the socket.
pub async fn serve<T, F, Fut>(
    ctx: &Context<'_>,
    item: impl Fn(Envelope) -> ApiResult<T> + Send + 'static,
    open: F,
) -> ApiResult<BoxStream<'static, ApiResult<T>>>
where
    T: Send + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(BoxStream<'static, ApiResult<Envelope>>, Epochs)>>,
{
    if let Some(render) = ctx.data_opt::<RenderItem>() {
        let one = take(&render.0).ok_or_else(|| ApiError::internal("rendered twice"))?;
        return Ok(stream::once(async move { one.and_then(item) }).boxed());
    }
    let slot = ctx
        .data_opt::<HandoffSlot>()
        .ok_or_else(|| ApiError::internal("subscriptions are served on /ws"))?;
    let sender =
        take(&slot.0).ok_or_else(|| ApiError::internal("one subscription field per operation"))?;
    let (events, epochs) = open().await?;
    let metrics = ctx
        .data::<Metrics>()
        .map_err(|e| ApiError::internal(e.message))?
        .clone();
    let running = metrics.subscription_started();
    let handoff = Handoff {
        events,
        epochs,
        metrics,
        _running: running,
    };
    // A closed receiver means the socket dropped the operation already.
    let _ = sender.send(handoff);
    // The socket stops polling this execution once it has the feed.
    Ok(stream::pending().boxed())
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}
