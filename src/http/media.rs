//! Media types of GraphQL over HTTP.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};

/// The response media type the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`: status codes follow the outcome
    /// (400 for a request that could not run).
    GraphqlResponse,
    /// `application/json`: the legacy behaviour, always 200 for GraphQL
    /// results.
    Json,
}

impl ResponseType {
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }

    /// Negotiates from `Accept`; `None` when it names nothing we produce
    /// (406). No header means `application/json`, as the spec allows.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(ResponseType::Json);
        };
        let types: Vec<&str> = accept.split(',').map(essence).collect();
        let has = |wanted: &str| types.iter().any(|t| t.eq_ignore_ascii_case(wanted));
        if has("application/graphql-response+json") {
            Some(ResponseType::GraphqlResponse)
        } else if has("application/json") || has("application/*") || has("*/*") {
            Some(ResponseType::Json)
        } else {
            None
        }
    }
}

/// Whether a POST body's `Content-Type` is JSON. A missing header is taken
/// as JSON, which is what most hand-written clients mean.
pub fn is_json_request(headers: &HeaderMap) -> bool {
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(value) => essence(value).eq_ignore_ascii_case("application/json"),
    }
}

/// The `type/subtype` of a media type, without parameters.
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn negotiates_the_graphql_response_type_first() {
        let both = accept("application/json, application/graphql-response+json;charset=utf-8");
        assert_eq!(
            ResponseType::negotiate(&both),
            Some(ResponseType::GraphqlResponse)
        );
        assert_eq!(
            ResponseType::negotiate(&accept("*/*")),
            Some(ResponseType::Json)
        );
        assert_eq!(
            ResponseType::negotiate(&HeaderMap::new()),
            Some(ResponseType::Json)
        );
        assert_eq!(ResponseType::negotiate(&accept("text/html")), None);
    }
}
