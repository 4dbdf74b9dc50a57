//! One result of an operation, as the transport sends it: executed for
//! that operation alone, or rendered once and shared.

use std::sync::Arc;

use async_graphql::Response;
use serde::Serialize;
use serde_json::value::RawValue;

/// One result of an operation, as it goes into `next` / `data`.
#[derive(Debug)]
pub enum Payload {
    /// A response executed for this operation alone.
    Response(Box<Response>),
    /// A response rendered once and shared by every subscription with the
    /// same selection, already serialised.
    Rendered(Arc<RawValue>),
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Payload::Response(response) => response.serialize(serializer),
            Payload::Rendered(json) => json.as_ref().serialize(serializer),
        }
    }
}
