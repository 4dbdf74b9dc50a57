//! One open SSE stream: an operation's replies as events, with keepalive
//! comments while it is idle, ended by the operation, by the token's
//! expiry or its session's end, or by the server stopping.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use async_graphql::{Response, ServerError};
use axum::body::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Sleep, sleep};
use tokio_util::sync::CancellationToken;

use crate::auth::Grant;
use crate::domain::SessionId;
use crate::graphql::ApiError;
use crate::graphql::live::{Payload, Reply};
use crate::http::ws::sockets::Admitted;
use crate::sessions::Revocations;
use crate::signals::attendance::Present;
use crate::store::now_ms;

use super::frame;
use crate::http::wait::{ending, until};

/// What keeps a stream open and what ends it.
pub struct Parts {
    pub replies: BoxStream<'static, Reply>,
    /// Events to send before anything else (the first reply, read before
    /// the response began).
    pub first: Vec<Bytes>,
    pub keepalive: Option<Duration>,
    /// The credentials the stream was opened with, when a user's.
    pub grant: Option<Grant>,
    pub revocations: Revocations,
    pub shutdown: CancellationToken,
    /// The stream's place in its user's count of streams, and in its
    /// presence; given back when the stream ends.
    pub seat: Option<(Admitted, Present)>,
}

/// The state of a stream between two events.
struct Open {
    replies: BoxStream<'static, Reply>,
    ready: VecDeque<Bytes>,
    keepalive: Option<Duration>,
    idle: Option<Pin<Box<Sleep>>>,
    expiry: Option<Pin<Box<Sleep>>>,
    grant: Option<Grant>,
    endings: Option<broadcast::Receiver<SessionId>>,
    revocations: Revocations,
    shutdown: CancellationToken,
    ended: bool,
    _seat: Option<(Admitted, Present)>,
}

/// The events of an open stream, in order.
pub fn events(stream: Parts) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> {
    let expiry = stream
        .grant
        .as_ref()
        .map(|grant| Box::pin(sleep(grant.remaining(now_ms()).unwrap_or_default())));
    let endings = stream
        .grant
        .as_ref()
        .filter(|grant| grant.session.is_some())
        .map(|_| stream.revocations.subscribe());
    let open = Open {
        replies: stream.replies,
        ready: stream.first.into(),
        keepalive: stream.keepalive,
        idle: stream.keepalive.map(|period| Box::pin(sleep(period))),
        expiry,
        grant: stream.grant,
        endings,
        revocations: stream.revocations,
        shutdown: stream.shutdown,
        ended: false,
        _seat: stream.seat,
    };
    futures_util::stream::unfold(open, |mut open| async move {
        let bytes = open.next().await?;
        Some((Ok(bytes), open))
    })
}

impl Open {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.ready.pop_front() {
                return Some(bytes);
            }
            if self.ended {
                return None;
            }
            tokio::select! {
                reply = self.replies.next() => {
                    self.on_reply(reply);
                    self.rest();
                }
                () = until(&mut self.idle) => {
                    self.ready.push_back(frame::keepalive());
                    self.rest();
                }
                () = until(&mut self.expiry) => {
                    self.refuse("the token expired");
                }
                ended = ending(&mut self.endings) => self.on_ending(ended).await,
                // The server is going away: the stream ends without
                // `complete`, so the client reconnects (to another process)
                // and resumes with its Last-Event-ID.
                () = self.shutdown.cancelled() => return None,
            }
        }
    }

    fn on_reply(&mut self, reply: Option<Reply>) {
        match reply {
            Some(Reply::Next(payload, position)) => {
                let id = position.map(|position| position.cursor());
                self.ready.push_back(next(&payload, id.as_deref()));
            }
            Some(Reply::Opened) => {}
            // After the stream began, a failure is a result with errors.
            Some(Reply::Error(errors)) => self.end_with(errors),
            Some(Reply::Complete) | None => {
                self.ready.push_back(frame::complete());
                self.ended = true;
            }
        }
    }

    async fn on_ending(&mut self, ended: Result<SessionId, RecvError>) {
        let Some(grant) = &self.grant else {
            return;
        };
        let ours = match ended {
            Ok(session) => grant.session.as_ref() == Some(&session),
            // Endings were missed: ask whether ours is among them.
            Err(RecvError::Lagged(_)) => self.revocations.refuses(grant).await.unwrap_or(true),
            Err(RecvError::Closed) => {
                self.endings = None;
                false
            }
        };
        if ours {
            self.refuse("the session ended");
        }
    }

    /// Ends the stream because its credentials no longer hold.
    fn refuse(&mut self, why: &'static str) {
        self.end_with(vec![ApiError::Unauthenticated(why).into_server_error()]);
    }

    fn end_with(&mut self, errors: Vec<ServerError>) {
        let response = Payload::Response(Box::new(Response::from_errors(errors)));
        self.ready.push_back(next(&response, None));
        self.ready.push_back(frame::complete());
        self.ended = true;
    }

    /// Restarts the idle timer: a keepalive follows only silence.
    fn rest(&mut self) {
        if let Some(period) = self.keepalive {
            self.idle = Some(Box::pin(sleep(period)));
        }
    }
}

/// The `next` event of a payload.
pub fn next(payload: &Payload, id: Option<&str>) -> Bytes {
    let json = serde_json::to_string(payload).unwrap_or_else(|error| {
        let failure = ApiError::internal(format!("cannot serialise a result: {error}"));
        let response = Response::from_errors(vec![failure.into_server_error()]);
        serde_json::to_string(&response).unwrap_or_default()
    });
    frame::next(&json, id)
}
