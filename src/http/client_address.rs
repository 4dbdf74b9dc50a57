//! The address a request comes from, for limits kept per client.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The TCP peer's address, or — when the deployment says a proxy in front
/// sets it — the last `X-Forwarded-For` entry, which is the one that proxy
/// appended (earlier entries are whatever the client claimed).
pub fn client_address(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .last()
            .and_then(|entry| entry.trim().parse().ok());
        if let Some(address) = forwarded {
            return address;
        }
    }
    peer.ip()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(value));
        }
        headers
    }

    const PEER: &str = "10.1.1.1:5000";

    #[test]
    fn the_peer_unless_forwarded_for_is_trusted() {
        let peer: SocketAddr = PEER.parse().unwrap();
        let forwarded = headers(&["1.2.3.4"]);
        assert_eq!(client_address(&forwarded, peer, false), peer.ip());
        assert_eq!(
            client_address(&forwarded, peer, true),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn the_entry_the_nearest_proxy_appended() {
        let peer: SocketAddr = PEER.parse().unwrap();
        let forwarded = headers(&["6.6.6.6, 1.2.3.4", "5.6.7.8"]);
        assert_eq!(
            client_address(&forwarded, peer, true),
            "5.6.7.8".parse::<IpAddr>().unwrap()
        );
        let garbage = headers(&["not an address"]);
        assert_eq!(client_address(&garbage, peer, true), peer.ip());
    }
}
