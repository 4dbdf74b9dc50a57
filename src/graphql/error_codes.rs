//! Gives every error a code, including the engine's own.
//!
//! Resolver errors carry their code from [`super::error::ApiError`]. Errors
//! raised by async-graphql itself — a document that does not parse, fails
//! validation, or passes a variable of the wrong type — carry none; they are
//! all the client's input, so this extension marks them BAD_USER_INPUT.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Response, ServerError};
use futures_util::StreamExt;

use super::code::Code;

/// Schema extension that fills in missing `extensions.code`s.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        with_codes(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(with_codes).boxed()
    }
}

fn with_codes(mut response: Response) -> Response {
    for error in &mut response.errors {
        add_default_code(error);
    }
    response
}

fn add_default_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", Code::BadUserInput.as_str());
    }
}
