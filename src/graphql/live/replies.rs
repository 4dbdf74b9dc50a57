//! One operation's results, as the replies the protocol sends for them.
//!
//! Every operation — subscription, query or mutation — is a stream of
//! responses from `Schema::execute_stream`. What the client sees is: each
//! response as `next`, then `complete` when the stream ends; except that an
//! operation whose very first response is a failure with nothing in it
//! (a document that does not parse or validate, a subscription its viewer
//! may not open, a root field that failed) gets one `error` and nothing
//! more, which is how graphql-ws clients learn that it never started.
//!
//! A subscription leaves the executor once its resolver has opened the feed
//! (see `handoff`): from then on each event is sent as the rendering it
//! shares with every subscription of the same selection.

use std::sync::Arc;

use async_graphql::{Response, ServerError, Value};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::oneshot;

use crate::auth::Viewer;

use super::handoff::Handoff;
use super::payload::Payload;
use super::rendition::Renderer;
use super::template::Template;
use crate::graphql::envelope::LogPosition;

/// What the transport sends for an operation, in order.
#[derive(Debug)]
pub enum Reply {
    /// A result; for an event of the log, with the position that resumes
    /// right after it (SSE sends it as the event's `id`).
    Next(Payload, Option<LogPosition>),
    /// The subscription passed its checks and its feed is open; it has no
    /// result yet. Sent once, before its first event; transports that need
    /// not know (WebSocket) send nothing for it.
    Opened,
    /// Terminal: the operation failed before producing anything.
    Error(Vec<ServerError>),
    /// Terminal: the operation has no more results.
    Complete,
}

impl Reply {
    /// Whether the operation ends with this reply (and its id is free again).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Reply::Error(_) | Reply::Complete)
    }
}

/// A subscription's way to shared rendering: where its resolver will hand
/// over the feed, and what to render the feed's events with.
pub(super) struct Shared {
    pub(super) handoff: oneshot::Receiver<Handoff>,
    pub(super) template: Arc<Template>,
    pub(super) viewer: Viewer,
    pub(super) renderer: Renderer,
}

/// The replies for an operation's execution (see the module doc). With
/// `shared`, once the resolver hands its feed over, the execution is
/// dropped and each event is sent as its shared rendering.
pub(super) fn replies(
    responses: BoxStream<'static, Response>,
    shared: Option<Shared>,
) -> BoxStream<'static, Reply> {
    let phase = match shared {
        Some(shared) => Phase::Opening(responses, shared),
        None => Phase::Executing(responses),
    };
    let operation = Operation { phase, first: true };
    stream::unfold(operation, |mut operation| async move {
        operation.next().await.map(|reply| (reply, operation))
    })
    .boxed()
}

struct Operation {
    phase: Phase,
    /// Nothing has been sent yet.
    first: bool,
}

enum Phase {
    /// Executing, and waiting to see whether the resolver hands over.
    Opening(BoxStream<'static, Response>, Shared),
    /// Executing for this operation alone.
    Executing(BoxStream<'static, Response>),
    /// Delivering a handed-over feed as shared renderings.
    Delivering(Box<Delivery>),
    Done,
}

struct Delivery {
    handoff: Handoff,
    template: Arc<Template>,
    /// The template's key for the feed's epochs.
    key: u64,
    viewer: Viewer,
    renderer: Renderer,
}

impl Operation {
    async fn next(&mut self) -> Option<Reply> {
        let phase = std::mem::replace(&mut self.phase, Phase::Done);
        match phase {
            Phase::Done => None,
            Phase::Executing(mut responses) => {
                let response = responses.next().await;
                self.phase = Phase::Executing(responses);
                Some(self.executed(response))
            }
            Phase::Opening(mut responses, mut shared) => {
                tokio::select! {
                    biased;
                    response = responses.next() => {
                        self.phase = Phase::Executing(responses);
                        Some(self.executed(response))
                    }
                    Ok(handoff) = &mut shared.handoff => {
                        // The execution only waits now: drop it.
                        drop(responses);
                        let key = shared.template.key(&handoff.epochs, &shared.viewer);
                        self.phase = Phase::Delivering(Box::new(Delivery {
                            handoff,
                            template: shared.template,
                            key,
                            viewer: shared.viewer,
                            renderer: shared.renderer,
                        }));
                        Some(Reply::Opened)
                    }
                }
            }
            Phase::Delivering(mut delivery) => {
                let reply = self.deliver(&mut delivery).await;
                if !reply.is_terminal() {
                    self.phase = Phase::Delivering(delivery);
                }
                Some(reply)
            }
        }
    }

    /// The reply for the execution's next response; ends the operation
    /// unless it is a `next`.
    fn executed(&mut self, response: Option<Response>) -> Reply {
        let reply = match response {
            None => Reply::Complete,
            Some(response) if self.first && failed_before_any_result(&response) => {
                Reply::Error(response.errors)
            }
            Some(response) => Reply::Next(Payload::Response(Box::new(response)), None),
        };
        self.sent(reply)
    }

    /// The reply for the feed's next event, rendered.
    async fn deliver(&mut self, delivery: &mut Delivery) -> Reply {
        let Delivery {
            handoff,
            template,
            key,
            viewer,
            renderer,
        } = delivery;
        // Renders are boxed: inline, their futures would make every idle
        // subscription's stream as large as an execution.
        let (rendition, position) = match handoff.events.next().await {
            None => return self.sent(Reply::Complete),
            Some(Ok(envelope)) => {
                handoff.metrics.delivered();
                let position = envelope.position();
                let rendition = Box::pin(renderer.render(template, *key, viewer, envelope)).await;
                (rendition, Some(position))
            }
            Some(Err(error)) => (
                Box::pin(renderer.render_error(template, viewer, error)).await,
                None,
            ),
        };
        let reply = match rendition.failure {
            Some(errors) if self.first => Reply::Error(errors.to_vec()),
            _ => Reply::Next(Payload::Rendered(rendition.payload), position),
        };
        self.sent(reply)
    }

    fn sent(&mut self, reply: Reply) -> Reply {
        self.first = false;
        if reply.is_terminal() {
            self.phase = Phase::Done;
        }
        reply
    }
}

fn failed_before_any_result(response: &Response) -> bool {
    response.data == Value::Null && !response.errors.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Response {
        Response::new(Value::from_json(serde_json::json!({ "a": 1 })).unwrap())
    }

    fn failed() -> Response {
        Response::from_errors(vec![ServerError::new("no", None)])
    }

    async fn replies_to(responses: Vec<Response>) -> Vec<Reply> {
        replies(stream::iter(responses).boxed(), None)
            .collect()
            .await
    }

    #[tokio::test]
    async fn results_are_next_then_complete() {
        let replies = replies_to(vec![ok(), ok()]).await;
        assert!(matches!(
            replies.as_slice(),
            [Reply::Next(..), Reply::Next(..), Reply::Complete]
        ));
    }

    #[tokio::test]
    async fn a_failed_first_response_is_one_error_and_nothing_more() {
        let replies = replies_to(vec![failed(), ok()]).await;
        assert!(matches!(replies.as_slice(), [Reply::Error(errors)] if errors.len() == 1));
    }

    #[tokio::test]
    async fn a_failure_after_results_is_a_next() {
        let replies = replies_to(vec![ok(), failed()]).await;
        assert!(matches!(
            replies.as_slice(),
            [Reply::Next(..), Reply::Next(..), Reply::Complete]
        ));
    }

    #[tokio::test]
    async fn an_empty_stream_just_completes() {
        let replies = replies_to(vec![]).await;
        assert!(matches!(replies.as_slice(), [Reply::Complete]));
    }
}
