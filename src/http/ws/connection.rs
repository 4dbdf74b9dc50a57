//! One socket's state machine: awaiting `connection_init`, then
//! acknowledged for one user until the socket ends.
//!
//! A single loop owns the socket and every running operation. It waits for
//! whichever comes first — a client frame, an operation's next reply, the
//! phase's deadline, a keepalive tick, server shutdown — and handles it.
//! That makes the loop the socket's only writer, and it makes stopping an
//! operation a plain removal from the map: its stream (and its hub
//! subscription) is dropped right there, and nothing it produced earlier
//! can still be on its way to the client. When the loop ends, so does every
//! operation.

use std::future::pending;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::Duration;

use async_graphql::{Request, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, SinkExt};
use tokio::time::{
    Instant, Interval, MissedTickBehavior, Sleep, interval_at, sleep_until, timeout,
};
use tokio_stream::{StreamExt, StreamMap};
use tokio_util::sync::WaitForCancellationFutureOwned;
use tracing::{Instrument, debug};

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{Grant, Viewer};
use crate::domain::{SessionId, UserId};
use crate::graphql::live::Reply;
use crate::graphql::{ApiError, CallerSession, ClientAddress};
use crate::http::state::AppState;
use crate::http::wait::{ending, until};
use crate::store::now_ms;

use super::init_payload::authenticate;
use super::protocol::{ClientMessage, Close, Protocol, ServerMessage};
use super::sockets::Admitted;
use crate::signals::attendance::Present;

/// A client that takes no data for this long is dropped: a peer that
/// stopped reading must not pin its connection and subscriptions forever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most replies written together after one wake-up: enough to turn a burst
/// into a few large writes, few enough that client frames and shutdown are
/// still looked at promptly.
const WRITE_BATCH: usize = 64;

/// How long the closing handshake may take before the TCP connection is
/// dropped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Where the connection is in the protocol.
enum Phase {
    /// Nothing but `connection_init` (and pings) is accepted yet.
    AwaitingInit,
    /// Acknowledged: operations run as this user.
    Acknowledged(UserId),
}

/// Why the connection ends.
enum End {
    /// The server closes with this code and reason.
    Close(Close),
    /// The client closed or the socket failed: there is no one to tell.
    Gone,
}

/// One thing the loop woke up for.
enum Event {
    Shutdown,
    Deadline,
    KeepAlive,
    /// A session ended somewhere (or, on `Err`, endings were missed).
    Ended(Result<SessionId, RecvError>),
    Frame(Option<Result<Message, axum::Error>>),
    Reply(String, Reply),
}

/// A live socket and everything running on it.
pub struct Connection {
    socket: WebSocket,
    protocol: Protocol,
    state: AppState,
    /// Where the client connects from, for limits kept per address.
    address: IpAddr,
    phase: Phase,
    /// When the phase runs out: the init timeout while awaiting init, the
    /// token's expiry once acknowledged. `None`: never. Kept (and reset)
    /// rather than made anew on every wake-up, as are the keepalive and the
    /// shutdown signal: a busy socket wakes for every result it sends.
    deadline: Option<Pin<Box<Sleep>>>,
    /// Resolves when the server begins to shut down.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Started at the ack, when the server's keepalive is configured; each
    /// tick checks that the client is still there and pings it.
    keepalive: Option<Interval>,
    /// When the client last sent anything (a message, a ping, a pong).
    last_heard: Instant,
    /// This socket's place in its user's socket count, and its part in
    /// the user's presence, from the ack.
    seat: Option<(Admitted, Present)>,
    /// The token's grant, from the ack: the socket closes when its session
    /// ends, as when it expires.
    grant: Option<Grant>,
    /// Endings of sessions, from the ack, when the token has a session.
    endings: Option<broadcast::Receiver<SessionId>>,
    /// Running operations by id.
    operations: StreamMap<String, BoxStream<'static, Reply>>,
}

impl Connection {
    pub fn new(socket: WebSocket, protocol: Protocol, state: AppState, address: IpAddr) -> Self {
        let deadline = Instant::now()
            .checked_add(state.ws.init_timeout)
            .map(|at| Box::pin(sleep_until(at)));
        let shutdown = Box::pin(state.shutdown.clone().cancelled_owned());
        Self {
            socket,
            protocol,
            state,
            address,
            phase: Phase::AwaitingInit,
            deadline,
            shutdown,
            keepalive: None,
            last_heard: Instant::now(),
            seat: None,
            grant: None,
            endings: None,
            operations: StreamMap::new(),
        }
    }

    /// Serves the socket until it closes, in a span naming its protocol
    /// and, once authenticated, its viewer. (A plain function returning the
    /// future, so the connection is held once in it, not twice.)
    pub fn run(mut self) -> impl Future<Output = ()> + Send {
        let span = tracing::info_span!(
            "ws",
            protocol = %self.protocol,
            viewer = tracing::field::Empty
        );
        async move {
            debug!("socket open");
            let end = loop {
                if let Err(end) = self.step().await {
                    break end;
                }
            };
            Box::pin(self.finish(end)).await;
        }
        .instrument(span)
    }

    async fn step(&mut self) -> Result<(), End> {
        let event = tokio::select! {
            () = &mut self.shutdown => Event::Shutdown,
            () = until(&mut self.deadline) => Event::Deadline,
            () = tick(&mut self.keepalive) => Event::KeepAlive,
            ended = ending(&mut self.endings) => Event::Ended(ended),
            frame = self.socket.recv() => Event::Frame(frame),
            Some((id, reply)) = self.operations.next(), if !self.operations.is_empty() => {
                Event::Reply(id, reply)
            }
        };
        match event {
            Event::Shutdown => Err(End::Close(Close::going_away())),
            Event::Deadline => Err(match self.phase {
                Phase::AwaitingInit => violation(Close::init_timeout()),
                Phase::Acknowledged(_) => {
                    debug!("the token expired");
                    End::Close(Close::forbidden())
                }
            }),
            // Boxed, so that the future an idle socket keeps is the wait
            // above, not the largest of these handlers: inline, they made
            // every socket's task about 8 KiB.
            Event::KeepAlive => Box::pin(self.keep_alive()).await,
            Event::Ended(ended) => Box::pin(self.on_ended(ended)).await,
            Event::Frame(frame) => Box::pin(self.on_frame(frame)).await,
            Event::Reply(id, reply) => Box::pin(self.on_reply(id, reply)).await,
        }
    }

    /// Drops a client that has gone silent past the peer timeout; otherwise
    /// pings it twice over: a WebSocket ping, which every client stack
    /// answers with a pong by itself (the legacy protocol has no reply to
    /// `ka`), and the protocol's own keepalive for clients that watch for it.
    async fn keep_alive(&mut self) -> Result<(), End> {
        if self.last_heard.elapsed() > self.state.ws.peer_timeout {
            debug!(silent_for = ?self.last_heard.elapsed(), "the client is gone; dropping the socket");
            return Err(End::Gone);
        }
        self.feed(Message::Ping(Default::default())).await?;
        self.send(&ServerMessage::KeepAlive).await
    }

    async fn on_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        if let Some(Ok(_)) = &frame {
            self.last_heard = Instant::now();
        }
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                return Err(violation(Close::bad_request(
                    "Binary messages are not supported",
                )));
            }
            // The WebSocket layer answers control frames itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Ok(()),
            Some(Ok(Message::Close(_))) | None => return Err(End::Gone),
            Some(Err(error)) => {
                debug!(%error, "unreadable frame");
                return Err(End::Close(Close::unreadable()));
            }
        };
        let message = self.protocol.parse(text.as_str()).map_err(|error| {
            violation(Close::bad_request(format!(
                "Invalid message received: {error}"
            )))
        })?;
        match message {
            ClientMessage::Init(payload) => self.on_init(payload.as_ref()).await,
            ClientMessage::Ping(payload) => self.send(&ServerMessage::Pong(payload)).await,
            ClientMessage::Pong => Ok(()),
            ClientMessage::Subscribe(id, request) => self.on_subscribe(id, *request).await,
            ClientMessage::Complete(id) => {
                if self.operations.remove(&id).is_some() {
                    debug!(id, "operation stopped by the client");
                }
                Ok(())
            }
            ClientMessage::Terminate => Err(End::Close(Close::normal())),
        }
    }

    /// Closes the socket with 4403 when its own session ended. After
    /// missed notices, asks whether it did.
    async fn on_ended(&mut self, ended: Result<SessionId, RecvError>) -> Result<(), End> {
        let Some(grant) = &self.grant else {
            return Ok(());
        };
        let mine = match ended {
            Ok(session) => grant.session.as_ref() == Some(&session),
            Err(RecvError::Lagged(_)) => match self.state.revocations.refuses(grant).await {
                Ok(ended) => ended,
                Err(error) => {
                    tracing::warn!(%error, "cannot tell whether the socket's session ended");
                    return Err(End::Close(Close::internal()));
                }
            },
            Err(RecvError::Closed) => {
                self.endings = None;
                false
            }
        };
        if mine {
            debug!("the token's session ended");
            return Err(End::Close(Close::forbidden()));
        }
        Ok(())
    }

    async fn on_init(&mut self, payload: Option<&serde_json::Value>) -> Result<(), End> {
        if let Phase::Acknowledged(_) = self.phase {
            return Err(violation(Close::too_many_inits()));
        }
        // The socket lives exactly as long as its token stays valid and its
        // session lasts.
        let grant = match authenticate(&self.state.tokens, payload) {
            Some(grant) => match self.state.revocations.refuses(&grant).await {
                Ok(false) => Some(grant),
                Ok(true) => None,
                Err(error) => {
                    tracing::warn!(%error, "cannot tell whether the token's session ended");
                    return Err(End::Close(Close::internal()));
                }
            },
            None => None,
        };
        let remaining = grant.and_then(|grant| Some((grant.remaining(now_ms())?, grant)));
        let Some((left, grant)) = remaining else {
            self.send(&ServerMessage::Refused).await?;
            return Err(violation(Close::forbidden()));
        };
        let user = grant.user.clone();
        let Some(admitted) = self.state.sockets.admit(&user) else {
            let limit = self.state.sockets.limit();
            debug!(%user, limit, "refused a socket over the user's limit");
            self.state.metrics.reject("ws_sockets_per_user");
            self.send(&ServerMessage::Refused).await?;
            return Err(End::Close(Close::too_many_sockets(limit)));
        };
        tracing::Span::current().record("viewer", tracing::field::display(&user));
        debug!(expires_in = ?left, "connection acknowledged");
        self.seat = Some((admitted, self.state.attendance.arrive(&user)));
        self.phase = Phase::Acknowledged(user);
        if grant.session.is_some() {
            self.endings = Some(self.state.revocations.subscribe());
        }
        self.grant = Some(grant);
        self.deadline = Instant::now()
            .checked_add(left)
            .map(|at| Box::pin(sleep_until(at)));
        self.send(&ServerMessage::Ack).await?;
        if let Some(period) = self.state.ws.keepalive {
            let mut keepalive = interval_at(Instant::now() + period, period);
            keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
            self.keepalive = Some(keepalive);
            // Legacy clients take a `ka` right after the ack as the sign
            // that the server keeps the connection alive.
            if self.protocol == Protocol::Legacy {
                self.send(&ServerMessage::KeepAlive).await?;
            }
        }
        Ok(())
    }

    async fn on_subscribe(&mut self, id: String, request: Request) -> Result<(), End> {
        let Phase::Acknowledged(user) = &self.phase else {
            return Err(violation(Close::unauthorized()));
        };
        if self.operations.contains_key(&id) {
            return Err(violation(Close::duplicate(&id)));
        }
        let limit = self.state.ws.max_operations;
        if self.operations.len() >= limit {
            debug!(id, limit, "refused an operation over the socket's limit");
            self.state.metrics.reject("ws_operations_per_socket");
            let error = too_many_operations(limit);
            return self.send(&ServerMessage::Error(id, vec![error])).await;
        }
        let mut request = request.data(ClientAddress(self.address));
        if let Some(session) = self.grant.as_ref().and_then(|grant| grant.session.clone()) {
            request = request.data(CallerSession(session));
        }
        let viewer = Viewer::User(user.clone());
        match self.state.operations.start(request, viewer) {
            Ok(replies) => {
                self.operations.insert(id, replies);
                Ok(())
            }
            Err(error) => self.send(&ServerMessage::Error(id, vec![error])).await,
        }
    }

    /// Writes this reply and every other one already waiting (up to
    /// [`WRITE_BATCH`]), then flushes once: under load one syscall carries
    /// many messages instead of one each.
    async fn on_reply(&mut self, id: String, reply: Reply) -> Result<(), End> {
        self.queue_reply(id, reply).await?;
        for _ in 1..WRITE_BATCH {
            match self.operations.next().now_or_never() {
                Some(Some((id, reply))) => self.queue_reply(id, reply).await?,
                _ => break,
            }
        }
        self.flush().await
    }

    async fn queue_reply(&mut self, id: String, reply: Reply) -> Result<(), End> {
        if reply.is_terminal() {
            self.operations.remove(&id);
        }
        let message = match reply {
            Reply::Opened => return Ok(()),
            Reply::Next(payload, _) => ServerMessage::Next(id, payload),
            Reply::Error(errors) => ServerMessage::Error(id, errors),
            Reply::Complete => ServerMessage::Complete(id),
        };
        self.queue(&message).await
    }

    /// Writes one message, unless this protocol has no such message.
    async fn send(&mut self, message: &ServerMessage) -> Result<(), End> {
        self.queue(message).await?;
        self.flush().await
    }

    /// Encodes one message into the socket's write buffer; [`Self::flush`]
    /// sends it.
    async fn queue(&mut self, message: &ServerMessage) -> Result<(), End> {
        let text = match self.protocol.encode(message) {
            None => return Ok(()),
            Some(Ok(text)) => text,
            Some(Err(error)) => {
                tracing::error!(%error, "cannot serialise a server message");
                return Err(End::Close(Close::internal()));
            }
        };
        self.feed(Message::Text(text.into())).await
    }

    /// Puts one frame into the socket's write buffer.
    async fn feed(&mut self, frame: Message) -> Result<(), End> {
        write_outcome(timeout(WRITE_TIMEOUT, self.socket.feed(frame)).await)
    }

    /// Sends whatever is queued.
    async fn flush(&mut self) -> Result<(), End> {
        let flushed = timeout(WRITE_TIMEOUT, SinkExt::<Message>::flush(&mut self.socket)).await;
        write_outcome(flushed)
    }

    /// Stops every operation, sends the close frame if there is one, and
    /// lets the closing handshake finish.
    async fn finish(mut self, end: End) {
        self.operations.clear();
        // Give the seat back before the closing handshake, so a client that
        // replaces this socket as soon as it sees the close is admitted.
        drop(self.seat.take());
        if let End::Close(close) = end {
            debug!(code = close.code, reason = %close.reason, "closing the socket");
            let frame = CloseFrame {
                code: close.code,
                reason: close.reason.into(),
            };
            let _ = timeout(WRITE_TIMEOUT, self.socket.send(Message::Close(Some(frame)))).await;
        }
        // Reading on flushes the answer to a client's close and receives the
        // answer to ours; the stream ends when the handshake is done.
        let _ = timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = self.socket.recv().await {}
        })
        .await;
        debug!("socket closed");
    }
}

/// A write (or flush) that failed or did not finish in [`WRITE_TIMEOUT`]
/// ends the connection: the client is gone or not reading.
fn write_outcome(
    result: Result<Result<(), axum::Error>, tokio::time::error::Elapsed>,
) -> Result<(), End> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            debug!(%error, "socket write failed");
            Err(End::Gone)
        }
        Err(_) => {
            debug!("the client stopped reading; dropping the socket");
            Err(End::Gone)
        }
    }
}

/// Logs a client's protocol violation and closes for it.
fn violation(close: Close) -> End {
    debug!(code = close.code, reason = %close.reason, "protocol violation");
    End::Close(close)
}

/// The `error` for an operation over the socket's limit.
fn too_many_operations(limit: usize) -> ServerError {
    ApiError::OverBound(format!(
        "too many operations on this socket (at most {limit}): complete one first"
    ))
    .into_server_error()
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => pending().await,
    }
}
