//! One operation's results, as the replies the protocol sends for them.
//!
//! Every operation — subscription, query or mutation — is a stream of
//! responses from `Schema::execute_stream`. What the client sees is: each
//! response as `next`, then `complete` when the stream ends; except that an
//! operation whose very first response is a failure with nothing in it
//! (a document that does not parse or validate, a subscription its viewer
//! may not open, a root field that failed) gets one `error` and nothing
//! more, which is how graphql-ws clients learn that it never started.

use async_graphql::{Response, ServerError, Value};
use futures_util::stream::{self, BoxStream, StreamExt};

/// What the socket sends for an operation, in order.
#[derive(Debug)]
pub enum Reply {
    Next(Response),
    /// Terminal: the operation failed before producing anything.
    Error(Vec<ServerError>),
    /// Terminal: the operation has no more results.
    Complete,
}

impl Reply {
    /// Whether the operation ends with this reply (and its id is free again).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Reply::Next(_))
    }
}

/// The replies for a stream of responses: see the module doc.
pub fn replies(responses: BoxStream<'static, Response>) -> BoxStream<'static, Reply> {
    stream::unfold(Some((responses, true)), |state| async move {
        let (mut responses, first) = state?;
        match responses.next().await {
            None => Some((Reply::Complete, None)),
            Some(response) if first && failed_before_any_result(&response) => {
                Some((Reply::Error(response.errors), None))
            }
            Some(response) => Some((Reply::Next(response), Some((responses, false)))),
        }
    })
    .boxed()
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
        replies(stream::iter(responses).boxed()).collect().await
    }

    #[tokio::test]
    async fn results_are_next_then_complete() {
        let replies = replies_to(vec![ok(), ok()]).await;
        assert!(matches!(
            replies.as_slice(),
            [Reply::Next(_), Reply::Next(_), Reply::Complete]
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
            [Reply::Next(_), Reply::Next(_), Reply::Complete]
        ));
    }

    #[tokio::test]
    async fn an_empty_stream_just_completes() {
        let replies = replies_to(vec![]).await;
        assert!(matches!(replies.as_slice(), [Reply::Complete]));
    }
}
