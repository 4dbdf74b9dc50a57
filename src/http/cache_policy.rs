//! How long an answer to `GET /graphql` may be kept, and by whom.
//!
//! GET runs queries only, and it is how persisted queries travel (short,
//! stable URLs), so its answers may be cached; POST answers carry no
//! freshness and are never stored. How long comes from the operation's
//! hints (`#[graphql(cache_control(…))]`, which async-graphql merges into
//! `Response::cache_control`: the shortest `max_age` selected, private if
//! any field is, and `no_cache` anywhere wins). Without a hint nothing is
//! kept, since a chat's state changes at any moment; nor is an answer with
//! an error (a persisted query's miss included: the client registers the
//! text next, and the same URL must then reach the server). An answer to a
//! request with `Authorization` is its caller's alone: `private`, whatever
//! the hints say.

use async_graphql::Response;
use axum::http::header::{CACHE_CONTROL, VARY};
use axum::http::{HeaderMap, HeaderValue};

/// The `Cache-Control` of a GET answer that must not be kept.
pub const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// The cache headers of the answer `response` to a GET, sent with an
/// `Authorization` header or not: `no-store`, or a `max-age` with its
/// scope and the request headers the answer varies with (`Accept` picks
/// its media type and status, `Authorization` its viewer).
pub fn cache_headers(response: &Response, authorized: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let hint = response.cache_control;
    if !response.errors.is_empty() || hint.max_age <= 0 {
        headers.insert(CACHE_CONTROL, NO_STORE);
        return headers;
    }
    let scope = if hint.public && !authorized {
        "public"
    } else {
        "private"
    };
    let value = HeaderValue::try_from(format!("{scope}, max-age={}", hint.max_age));
    headers.insert(CACHE_CONTROL, value.unwrap_or(NO_STORE));
    headers.insert(VARY, HeaderValue::from_static("Accept, Authorization"));
    headers
}

#[cfg(test)]
mod tests {
    use async_graphql::{CacheControl, ServerError, Value};

    use super::*;

    fn answer(public: bool, max_age: i32) -> Response {
        Response::new(Value::Null).cache_control(CacheControl { public, max_age })
    }

    fn cache_control(response: &Response, authorized: bool) -> String {
        let headers = cache_headers(response, authorized);
        headers[CACHE_CONTROL].to_str().unwrap().to_owned()
    }

    #[test]
    fn a_public_hint_is_public_for_anonymous_callers_only() {
        let public = answer(true, 60);
        assert_eq!(cache_control(&public, false), "public, max-age=60");
        assert_eq!(cache_control(&public, true), "private, max-age=60");
        assert_eq!(cache_headers(&public, false)[VARY], "Accept, Authorization");
    }

    #[test]
    fn a_private_hint_stays_private() {
        assert_eq!(
            cache_control(&answer(false, 30), false),
            "private, max-age=30"
        );
    }

    #[test]
    fn no_hint_no_cache_or_an_error_is_not_stored() {
        let mut failed = answer(true, 60);
        failed.errors.push(ServerError::new("failed", None));
        for response in [answer(true, 0), answer(true, -1), failed] {
            let headers = cache_headers(&response, false);
            assert_eq!(headers[CACHE_CONTROL], "no-store");
            assert!(headers.get(VARY).is_none());
        }
    }
}
