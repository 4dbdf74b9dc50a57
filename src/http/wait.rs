//! Waiting on something a long-lived connection may or may not have: a
//! deadline, the stream of ended sessions. Each waits forever when absent,
//! so a `select!` can name it either way.

use std::future::pending;
use std::pin::Pin;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Sleep;

use crate::domain::SessionId;

/// Resolves at the deadline, if there is one.
pub async fn until(deadline: &mut Option<Pin<Box<Sleep>>>) {
    match deadline {
        Some(deadline) => deadline.await,
        None => pending().await,
    }
}

/// The next ending of a session, when the connection follows them.
pub async fn ending(
    endings: &mut Option<broadcast::Receiver<SessionId>>,
) -> Result<SessionId, RecvError> {
    match endings {
        Some(endings) => endings.recv().await,
        None => pending().await,
    }
}
