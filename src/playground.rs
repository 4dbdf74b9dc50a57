//! The web playground (GraphiQL at `/`, a live chat page at `/chat`),
//! served from files embedded in the binary.
//!
//! The files are `playground/dist/`, the committed output of the Vite build
//! of `playground/` (CI rebuilds it and fails on any difference). They are
//! compiled in with `rust-embed`, so the binary needs neither Node nor the
//! source tree at run time, and nothing is fetched from anywhere else. The
//! `debug-embed` feature embeds them in debug builds as well, so `cargo run`
//! serves what a release would.
//!
//! Caching: the bundler names every file under `assets/` after a hash of its
//! content, so those are cached for a year as immutable; the HTML pages,
//! whose names never change, are revalidated on every load with their ETag.

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// The built playground.
#[derive(RustEmbed)]
#[folder = "playground/dist/"]
struct Bundle;

/// Files under `assets/` carry a content hash in their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages keep their names across builds: always revalidate.
const REVALIDATE: &str = "no-cache";

/// What the pages may load and connect to: only this server. Styles and
/// images may be inline because GraphiQL sets element styles and uses
/// data: URIs for icons. A slip that would reach another host is blocked by
/// the browser (and reported on its console) rather than silently sent.
const PAGE_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `GET /`: GraphiQL.
pub async fn graphiql(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /chat`: the live chat page.
pub async fn chat(headers: HeaderMap) -> Response {
    serve("chat/index.html", &headers)
}

/// `GET /assets/{file}`: the pages' scripts, styles and fonts.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{file}"), &headers)
}

/// One embedded file with its content type and cache headers; 304 when the
/// client's `If-None-Match` names the current content; 404 when absent.
fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Bundle::get(path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let is_page = path.ends_with(".html");
    let mut response = if matches_etag(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = file.data.into_owned().into_response();
        let mime = file.metadata.mimetype();
        // Vite writes UTF-8; say so rather than leave text to be sniffed.
        let mime = if mime.starts_with("text/") {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_owned()
        };
        if let Ok(mime) = HeaderValue::from_str(&mime) {
            response.headers_mut().insert(CONTENT_TYPE, mime);
        }
        response
    };
    let out = response.headers_mut();
    out.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if is_page { REVALIDATE } else { IMMUTABLE }),
    );
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(ETAG, etag);
    }
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_page {
        out.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
    }
    response
}

/// Whether `If-None-Match` lists `etag` (or is `*`).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .map(str::trim)
                .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
        })
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
