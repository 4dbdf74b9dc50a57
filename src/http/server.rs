//! The HTTP server loop: accepts TCP connections and serves the router on
//! each with hyper (HTTP/1.1 and HTTP/2, upgrades allowed).
//!
//! Written instead of `axum::serve` for what that one cannot set:
//!
//! - a deadline for reading a request's headers, so a client that trickles
//!   them in (slowloris) cannot hold a connection and its file descriptor
//!   indefinitely;
//! - TCP_NODELAY on every accepted socket: with Nagle's algorithm a small
//!   WebSocket frame written while the previous one is unacknowledged waits
//!   for the peer's (possibly delayed) ACK.
//!
//! Shutdown stops accepting, lets idle keep-alive connections go and waits
//! for requests in flight. Upgraded connections (WebSockets) leave hyper's
//! hands at the upgrade; the caller tracks and closes those.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long to wait before accepting again after `accept` failed (out of
/// file descriptors, typically): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `stop` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()>,
    header_timeout: Duration,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        // The peer address rides on every request, for `ConnectInfo`.
        let service = router
            .clone()
            .map_request(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
