//! The two GraphQL-over-WebSocket subprotocols, as wire types.
//!
//! Both protocols say the same few things with different names, so each
//! side is parsed into (or printed from) one protocol-neutral enum:
//! [`ClientMessage`] in, [`ServerMessage`] out. The connection's state
//! machine only ever sees those.

use std::fmt;

use async_graphql::{Request, ServerError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::graphql::live::Payload;

/// Which subprotocol a socket speaks, chosen once at the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`, the graphql-ws library's protocol: the current
    /// one, and the default when the client names none we know.
    TransportWs,
    /// `graphql-ws`, the legacy subscriptions-transport-ws protocol, still
    /// spoken by older Apollo clients.
    Legacy,
}

impl Protocol {
    /// Subprotocol names in order of preference, for `Sec-WebSocket-Protocol`.
    pub const NAMES: [&'static str; 2] = ["graphql-transport-ws", "graphql-ws"];

    /// The protocol a `Sec-WebSocket-Protocol` name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "graphql-transport-ws" => Some(Protocol::TransportWs),
            "graphql-ws" => Some(Protocol::Legacy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::TransportWs => Self::NAMES[0],
            Protocol::Legacy => Self::NAMES[1],
        }
    }

    /// Parses one text frame. The error's text says what was wrong; it
    /// becomes the reason of the 4400 close.
    pub fn parse(self, text: &str) -> Result<ClientMessage, serde_json::Error> {
        Ok(match self {
            Protocol::TransportWs => match serde_json::from_str(text)? {
                TransportClient::ConnectionInit { payload } => ClientMessage::Init(payload),
                TransportClient::Ping { payload } => ClientMessage::Ping(payload),
                TransportClient::Pong { .. } => ClientMessage::Pong,
                TransportClient::Subscribe { id, payload } => ClientMessage::Subscribe(id, payload),
                TransportClient::Complete { id } => ClientMessage::Complete(id),
            },
            Protocol::Legacy => match serde_json::from_str(text)? {
                LegacyClient::ConnectionInit { payload } => ClientMessage::Init(payload),
                LegacyClient::Start { id, payload } => ClientMessage::Subscribe(id, payload),
                LegacyClient::Stop { id } => ClientMessage::Complete(id),
                LegacyClient::ConnectionTerminate => ClientMessage::Terminate,
            },
        })
    }

    /// The text frame for `message`, or `None` when this protocol has no
    /// such message (legacy has no pong, graphql-transport-ws no
    /// connection_error: those are simply not sent).
    pub fn encode(self, message: &ServerMessage) -> Option<serde_json::Result<String>> {
        let wire = match (self, message) {
            (Protocol::TransportWs, message) => Wire::Transport(match message {
                ServerMessage::Ack => TransportServer::ConnectionAck,
                ServerMessage::Refused => return None,
                ServerMessage::KeepAlive => TransportServer::Ping,
                ServerMessage::Pong(payload) => TransportServer::Pong {
                    payload: payload.as_ref(),
                },
                ServerMessage::Next(id, payload) => TransportServer::Next { id, payload },
                ServerMessage::Error(id, errors) => TransportServer::Error {
                    id,
                    payload: errors,
                },
                ServerMessage::Complete(id) => TransportServer::Complete { id },
            }),
            (Protocol::Legacy, message) => Wire::Legacy(match message {
                ServerMessage::Ack => LegacyServer::ConnectionAck,
                ServerMessage::Refused => LegacyServer::ConnectionError {
                    payload: Refusal {
                        message: "Forbidden",
                    },
                },
                ServerMessage::KeepAlive => LegacyServer::Ka,
                ServerMessage::Pong(_) => return None,
                ServerMessage::Next(id, payload) => LegacyServer::Data { id, payload },
                // The legacy protocol's error carries one error object.
                ServerMessage::Error(id, errors) => LegacyServer::Error {
                    id,
                    payload: errors.first()?,
                },
                ServerMessage::Complete(id) => LegacyServer::Complete { id },
            }),
        };
        Some(serde_json::to_string(&wire))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a client can say, in either protocol.
#[derive(Debug)]
pub enum ClientMessage {
    /// `connection_init`, with its payload (which carries the token).
    Init(Option<Value>),
    /// `ping` (graphql-transport-ws only): answered with a pong echoing it.
    Ping(Option<Value>),
    /// `pong` (graphql-transport-ws only): an answer to our keepalive.
    Pong,
    /// `subscribe` / `start`: run an operation under this id.
    Subscribe(String, Box<Request>),
    /// `complete` / `stop`: the client no longer wants this operation.
    Complete(String),
    /// `connection_terminate` (legacy only): the client is leaving.
    Terminate,
}

/// What the server says, in either protocol.
#[derive(Debug)]
pub enum ServerMessage {
    /// `connection_ack`.
    Ack,
    /// `connection_error` (legacy only), sent before the 4403 close.
    Refused,
    /// `ping` / `ka`: the periodic keepalive.
    KeepAlive,
    /// `pong`, echoing the ping's payload.
    Pong(Option<Value>),
    /// `next` / `data`: one result of an operation.
    Next(String, Payload),
    /// `error`: the operation failed before producing any result; it ends
    /// here, with no `complete`.
    Error(String, Vec<ServerError>),
    /// `complete`: the operation has no more results.
    Complete(String),
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TransportClient {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LegacyClient {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Start {
        id: String,
        payload: Box<Request>,
    },
    Stop {
        id: String,
    },
    ConnectionTerminate,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Wire<'a> {
    Transport(TransportServer<'a>),
    Legacy(LegacyServer<'a>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TransportServer<'a> {
    ConnectionAck,
    Ping,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        payload: Option<&'a Value>,
    },
    Next {
        id: &'a str,
        payload: &'a Payload,
    },
    Error {
        id: &'a str,
        payload: &'a [ServerError],
    },
    Complete {
        id: &'a str,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LegacyServer<'a> {
    ConnectionAck,
    ConnectionError {
        payload: Refusal,
    },
    Ka,
    Data {
        id: &'a str,
        payload: &'a Payload,
    },
    Error {
        id: &'a str,
        payload: &'a ServerError,
    },
    Complete {
        id: &'a str,
    },
}

#[derive(Serialize)]
struct Refusal {
    message: &'static str,
}

/// A close frame the server sends, with the codes the graphql-ws protocol
/// defines (used for the legacy protocol too, which defines none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    /// Close reasons must fit a control frame: 123 bytes of UTF-8.
    const MAX_REASON: usize = 123;

    fn new(code: u16, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > Self::MAX_REASON {
            let mut end = Self::MAX_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        Self { code, reason }
    }

    /// 1000: the client asked to leave (legacy `connection_terminate`).
    pub fn normal() -> Self {
        Self::new(1000, "Normal Closure")
    }

    /// 1001: the server is shutting down.
    pub fn going_away() -> Self {
        Self::new(1001, "Server shutting down")
    }

    /// 1008: a frame the WebSocket layer could not read (too big, or broken).
    pub fn unreadable() -> Self {
        Self::new(1008, "Unreadable frame")
    }

    /// 1008: the user already holds as many sockets as one user may.
    pub fn too_many_sockets(limit: usize) -> Self {
        Self::new(
            1008,
            format!("Too many open sockets for this user (at most {limit})"),
        )
    }

    /// 1011: a result we could not serialise.
    pub fn internal() -> Self {
        Self::new(1011, "Internal server error")
    }

    /// 4400: a message that breaks the protocol.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(4400, reason)
    }

    /// 4401: an operation before the connection was acknowledged.
    pub fn unauthorized() -> Self {
        Self::new(4401, "Unauthorized")
    }

    /// 4403: no valid token at connection_init, or the token expired.
    pub fn forbidden() -> Self {
        Self::new(4403, "Forbidden")
    }

    /// 4408: no connection_init in time.
    pub fn init_timeout() -> Self {
        Self::new(4408, "Connection initialisation timeout")
    }

    /// 4409: an operation id that is still running was reused.
    pub fn duplicate(id: &str) -> Self {
        Self::new(4409, format!("Subscriber for {id} already exists"))
    }

    /// 4429: a second connection_init.
    pub fn too_many_inits() -> Self {
        Self::new(4429, "Too many initialisation requests")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::Response;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rendered_payload_goes_in_verbatim() {
        let json = r#"{"data":{"messageCreated":{"body":"hi"}}}"#;
        let raw = serde_json::value::RawValue::from_string(json.to_owned()).unwrap();
        let next = ServerMessage::Next("7".into(), Payload::Rendered(Arc::from(raw)));
        assert_eq!(
            Protocol::TransportWs.encode(&next).unwrap().unwrap(),
            format!(r#"{{"type":"next","id":"7","payload":{json}}}"#)
        );
    }

    #[test]
    fn messages_have_each_protocols_names() {
        let next = ServerMessage::Next(
            "1".into(),
            Payload::Response(Box::new(Response::new(async_graphql::Value::Null))),
        );
        let print = |p: Protocol, m: &ServerMessage| -> Value {
            serde_json::from_str(&p.encode(m).unwrap().unwrap()).unwrap()
        };
        assert_eq!(print(Protocol::TransportWs, &next)["type"], "next");
        assert_eq!(print(Protocol::Legacy, &next)["type"], "data");
        assert_eq!(
            print(Protocol::TransportWs, &ServerMessage::KeepAlive),
            json!({"type": "ping"})
        );
        assert_eq!(
            print(Protocol::Legacy, &ServerMessage::KeepAlive),
            json!({"type": "ka"})
        );
        assert!(
            Protocol::TransportWs
                .encode(&ServerMessage::Refused)
                .is_none()
        );
        assert!(
            Protocol::Legacy
                .encode(&ServerMessage::Pong(None))
                .is_none()
        );
    }

    #[test]
    fn each_protocol_knows_only_its_own_client_messages() {
        let start = r#"{"type":"start","id":"1","payload":{"query":"{ me { id } }"}}"#;
        assert!(matches!(
            Protocol::Legacy.parse(start),
            Ok(ClientMessage::Subscribe(..))
        ));
        assert!(Protocol::TransportWs.parse(start).is_err());
        assert!(Protocol::Legacy.parse(r#"{"type":"ping"}"#).is_err());
    }

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        let close = Close::duplicate(&"é".repeat(100));
        assert!(close.reason.len() <= 123);
        assert!(close.reason.starts_with("Subscriber for é"));
    }
}
