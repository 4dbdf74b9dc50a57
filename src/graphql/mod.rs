//! The GraphQL schema: one module per domain, merged in [`schema`].
//!
//! The schema is a library: the HTTP and WebSocket layers only feed it
//! requests. [`build_schema`] is the one constructor, used by the router,
//! the tests and the SDL export. Subscriptions and every operation run
//! over a socket go through the delivery wing, [`live`].
//!
//! Errors: resolvers fail with [`ApiError`], whose one conversion into a
//! GraphQL error carries every `extensions.code` ([`code::Code`]).

mod account;
mod chat;
mod code;
mod connection;
mod context;
mod envelope;
mod error;
mod error_codes;
mod events;
mod limits;
pub mod live;
mod message;
mod message_id;
mod messaging;
mod observe;
mod presence;
mod reaction;
mod read_receipt;
mod scalars;
mod schema;
mod session;
mod stream_token;
mod typing;

pub use code::Code;
pub use context::{CallerSession, ClientAddress, LastEventId};
pub use error::{ApiError, ApiResult};
pub use limits::QueryLimits;
pub use schema::{ChatSchema, Services, build_schema, sdl};
