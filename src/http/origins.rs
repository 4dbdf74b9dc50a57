//! Which browser origins may call the API: the server's own, plus the
//! configured `ALLOWED_ORIGINS`.
//!
//! `/graphql` answers cross-origin requests through tower-http's CORS layer
//! built from this list. `/ws` has no CORS (browsers open WebSockets to any
//! origin and let the page read the answers), so the upgrade checks the
//! `Origin` header itself: without that check any site a user visits could
//! open a socket to a server on their network.

use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins, besides the server's own, that may call the API from a
/// browser. Parsed once at start, so a malformed entry stops the server
/// rather than silently allowing nothing (or everything).
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins {
    /// Each as `scheme://host[:port]`, lowercased, without a trailing slash:
    /// the exact form browsers send in `Origin`.
    origins: Vec<HeaderValue>,
}

impl AllowedOrigins {
    /// Parses the configured list; empty entries are ignored.
    pub fn parse(list: &[String]) -> anyhow::Result<Self> {
        let mut origins = Vec::new();
        for entry in list.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let origin = entry.trim_end_matches('/').to_ascii_lowercase();
            let Some((scheme, authority)) = origin.split_once("://") else {
                anyhow::bail!("allowed origin {entry:?} must look like https://host[:port]");
            };
            if !matches!(scheme, "http" | "https")
                || authority.is_empty()
                || authority.contains(['/', '?', '#', '*', ' '])
            {
                anyhow::bail!("allowed origin {entry:?} must look like https://host[:port]");
            }
            origins.push(HeaderValue::from_str(&origin)?);
        }
        Ok(Self { origins })
    }

    /// Whether `origin` is in the configured list.
    pub fn contains(&self, origin: &HeaderValue) -> bool {
        let origin = origin.as_bytes();
        self.origins
            .iter()
            .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin))
    }

    /// Whether a WebSocket upgrade with these headers may proceed: no
    /// `Origin` (not a browser), the server's own origin (its host and port
    /// equal the `Host` the request was sent to), or a configured one.
    pub fn admits_upgrade(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        is_same_origin(origin, headers.get(HOST)) || self.contains(origin)
    }

    /// The CORS layer of `/graphql`. Only configured origins get
    /// `Access-Control-Allow-Origin`; the server's own pages are
    /// same-origin and need none. Tokens travel in the `Authorization`
    /// header, not cookies, so credentials stay disallowed.
    pub fn cors_layer(&self) -> CorsLayer {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.origins.clone()))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
                axum::http::header::ACCEPT,
            ])
            .max_age(std::time::Duration::from_secs(600))
    }
}

/// Whether `origin` names the host and port in `host`, i.e. the page that
/// opened the request was served by this server (under that address).
fn is_same_origin(origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
    let (Ok(origin), Some(Ok(host))) = (origin.to_str(), host.map(|h| h.to_str())) else {
        return false;
    };
    match origin.split_once("://") {
        Some(("http" | "https", authority)) => authority.eq_ignore_ascii_case(host),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn parse_normalises_and_rejects_malformed_entries() {
        let list = AllowedOrigins::parse(&["HTTPS://App.Example/".into(), " ".into()]).unwrap();
        assert!(list.contains(&HeaderValue::from_static("https://app.example")));
        assert!(AllowedOrigins::parse(&["app.example".into()]).is_err());
        assert!(AllowedOrigins::parse(&["https://*.example".into()]).is_err());
        assert!(AllowedOrigins::parse(&["https://a.example/path".into()]).is_err());
    }

    #[test]
    fn upgrades_without_origin_or_from_the_own_host_are_admitted() {
        let none = AllowedOrigins::default();
        assert!(none.admits_upgrade(&headers(&[("host", "127.0.0.1:8000")])));
        assert!(none.admits_upgrade(&headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000"),
        ])));
    }

    #[test]
    fn upgrades_from_other_origins_need_the_list() {
        let request = headers(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!AllowedOrigins::default().admits_upgrade(&request));
        let other_port = headers(&[("host", "127.0.0.1:8000"), ("origin", "http://127.0.0.1:9")]);
        assert!(!AllowedOrigins::default().admits_upgrade(&other_port));
        let listed = AllowedOrigins::parse(&["http://evil.example".into()]).unwrap();
        assert!(listed.admits_upgrade(&request));
    }
}
