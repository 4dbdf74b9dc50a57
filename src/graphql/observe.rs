//! The schema extension that counts operations, their errors by code and
//! the limits that refused them (by the error's `reason` and `limit`
//! extensions, not its code), times queries and mutations, and puts
//! each operation's execution in a `graphql` span naming it.
//!
//! It is registered before the extension that fills in missing codes, so
//! it wraps it and sees every error with its final code.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Response, ServerError, Value};
use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::metrics::Metrics;

use super::code::{Code, QUERY_TOO_COMPLEX};
use super::live::handoff::RenderItem;

/// Schema extension feeding [`Metrics`].
pub struct Observe(pub Metrics);

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveExtension(self.0.clone()))
    }
}

struct ObserveExtension(Metrics);

#[async_trait::async_trait]
impl Extension for ObserveExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        self.0.request_finished(started.elapsed());
        count_errors(&self.0, &response.errors);
        response
    }

    /// Runs the operation in a span naming it, so every log line it causes
    /// says which operation it belongs to.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let span =
            tracing::info_span!("graphql", operation = operation_name.unwrap_or("anonymous"));
        async {
            let response = next.run(ctx, operation_name).await;
            tracing::debug!(errors = response.errors.len(), "operation finished");
            response
        }
        .instrument(span)
        .await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        // A render is the server's own execution of a subscriber's
        // document, not a request; its errors still reach clients.
        if ctx.data_opt::<RenderItem>().is_none() {
            self.0.subscription_requested();
        }
        let metrics = self.0.clone();
        next.run(ctx, stream)
            .map(move |response| {
                count_errors(&metrics, &response.errors);
                response
            })
            .boxed()
    }
}

/// Counts each error by code, and the refusals among them by limit: an
/// operation over a query limit (BAD_USER_INPUT with reason
/// QUERY_TOO_COMPLEX) by the `limit` it names, a RATE_LIMITED one as
/// `rate_limited`.
fn count_errors(metrics: &Metrics, errors: &[ServerError]) {
    for error in errors {
        let extension = |name: &str| match error.extensions.as_ref().and_then(|e| e.get(name)) {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        let code = extension("code").unwrap_or_else(|| "NONE".to_owned());
        if extension("reason").as_deref() == Some(QUERY_TOO_COMPLEX) {
            metrics.reject(&extension("limit").unwrap_or_else(|| QUERY_TOO_COMPLEX.to_owned()));
        } else if code == Code::RateLimited.as_str() {
            metrics.reject("rate_limited");
        }
        metrics.error_sent(code);
    }
}
