//! The delivery wing: every operation a socket runs, and above all how a
//! subscription's events become the frames its socket sends.
//!
//! Its whole face is [`Operations::start`], which turns a socket's request
//! into a stream of [`Reply`]s; the plumbing stays inside:
//!
//! - `template`: the document a subscription renders events with, and the
//!   fingerprint of the shape it gives them, shared by equal selections;
//! - `handoff`: how a subscription resolver, once it has checked its
//!   arguments and opened the viewer's feed, hands the feed over instead of
//!   executing per event;
//! - `rendition`: each event rendered once per shape and serialised, the
//!   rendering shared by every subscriber of that shape;
//! - `replies`: an operation's responses, or its handed-over feed's
//!   renderings, as `next` / `error` / `complete`;
//! - `payload`: a result as the transport writes it.
//!
//! The path of a message, each room once: `sendMessage` writes the message
//! and its event in one atomic step (`store`); the process's consumer
//! tails the log into the hub (`realtime::consumer`, `realtime::hub`); the
//! subscription's feed takes the event if its viewer may see it
//! (`realtime::feed`); the resolver handed that feed over (`handoff`), so
//! the event is rendered here once for its shape (`rendition`) and becomes
//! a [`Reply`] (`replies`), which the socket writes as a frame
//! (`http::ws`).

pub(super) mod handoff;
mod payload;
mod rendition;
mod replies;
mod template;

use std::sync::Arc;

use async_graphql::{Request, ServerError};
use futures_util::stream::BoxStream;

use crate::auth::Viewer;
use crate::metrics::Metrics;

use super::schema::ChatSchema;

use self::handoff::HandoffSlot;
use self::rendition::Renderer;
use self::replies::{Shared, replies};
use self::template::Templates;

pub use self::payload::Payload;
pub use self::replies::Reply;
pub use crate::graphql::envelope::LogPosition;

/// Runs the operations of one server's sockets; cheap to clone.
#[derive(Clone)]
pub struct Operations {
    schema: ChatSchema,
    renderer: Renderer,
    templates: Arc<Templates>,
}

impl Operations {
    pub fn new(schema: ChatSchema, metrics: Metrics) -> Self {
        Self {
            renderer: Renderer::new(schema.clone(), metrics),
            schema,
            templates: Arc::default(),
        }
    }

    /// Starts `request` (its data already holding what the transport
    /// knows, such as the client's address) for `viewer`, and returns its
    /// replies in order. A subscription that selects more than one root
    /// field is refused here, before it runs.
    pub fn start(
        &self,
        request: Request,
        viewer: Viewer,
    ) -> Result<BoxStream<'static, Reply>, ServerError> {
        let template = self.templates.of(&request)?;
        let request = request.data(viewer.clone());
        let (request, shared) = match template {
            None => (request, None),
            Some(template) => {
                let (slot, handoff) = HandoffSlot::new();
                let shared = Shared {
                    handoff,
                    template,
                    viewer,
                    renderer: self.renderer.clone(),
                };
                (request.data(slot), Some(shared))
            }
        };
        Ok(replies(self.schema.execute_stream(request), shared))
    }
}
