//! The bounds every WebSocket connection runs under.

use std::time::Duration;

use crate::config::Config;

/// The bounds every WebSocket connection runs under, from the config.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// How long a socket may stay unauthenticated before it is closed.
    pub init_timeout: Duration,
    /// Silence after which the server sends a keepalive; `None`: never.
    pub keepalive: Option<Duration>,
    /// Largest message and frame accepted from a client, in bytes.
    pub max_message_bytes: usize,
    /// Most operations running at once on one socket.
    pub max_operations: usize,
    /// A socket that has sent nothing (not even a pong) for this long is
    /// taken for dead and dropped; checked at each keepalive.
    pub peer_timeout: Duration,
}

impl WsLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            init_timeout: Duration::from_millis(config.ws_init_timeout_ms),
            keepalive: (config.ws_keepalive_ms > 0)
                .then(|| Duration::from_millis(config.ws_keepalive_ms)),
            max_message_bytes: config.ws_max_message_bytes,
            max_operations: config.ws_max_operations,
            peer_timeout: Duration::from_millis(config.ws_peer_timeout_ms),
        }
    }
}
