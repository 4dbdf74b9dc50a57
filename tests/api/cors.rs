//! Cross-origin use from browsers: CORS on `/graphql` and the `Origin`
//! check of WebSocket upgrades, with and without `ALLOWED_ORIGINS`. The
//! transport is the same on every backend, so these run in memory only.

use reqwest::StatusCode;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{Backend, TestApp};
use crate::ws_client::ws_url;

const FRONTEND: &str = "http://app.example:5173";
const STRANGER: &str = "http://evil.example";

/// A server that allows the [`FRONTEND`] origin.
async fn app_allowing_frontend() -> TestApp {
    TestApp::spawn_with(Backend::Memory, |config| {
        config.allowed_origins = vec![FRONTEND.to_owned()];
    })
    .await
}

/// Sends the preflight a browser sends before a cross-origin POST with a
/// bearer token.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.address))
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
        .send()
        .await
        .expect("preflight failed")
}

/// POSTs a query to `/graphql` as a page of `origin` would.
async fn post_from(app: &TestApp, origin: &str) -> reqwest::Response {
    let headers = [("origin", origin), ("content-type", "application/json")];
    app.post(&headers, r#"{ "query": "{ __typename }" }"#).await
}

/// Opens `/ws` with this `Origin` header (or none); the upgrade's status.
async fn upgrade_status(app: &TestApp, origin: Option<&str>) -> u16 {
    let mut request = ws_url(app).into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    match connect_async(request).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("the upgrade failed without an answer: {other}"),
    }
}

/// An allowed origin's preflight is answered with that origin, the POST
/// method and the Authorization header, so the browser sends the request.
#[tokio::test]
async fn preflight_from_an_allowed_origin_is_granted() {
    // Arrange
    let app = app_allowing_frontend().await;

    // Act
    let response = preflight(&app, FRONTEND).await;

    // Assert
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], FRONTEND);
    let allowed = headers[ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "allowed: {allowed}");
    assert!(allowed.contains("content-type"), "allowed: {allowed}");
}

/// The answer itself names an allowed origin, and no other.
#[tokio::test]
async fn only_allowed_origins_may_read_answers() {
    // Arrange
    let app = app_allowing_frontend().await;

    // Act
    let allowed = post_from(&app, FRONTEND).await;
    let stranger = post_from(&app, STRANGER).await;

    // Assert
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], FRONTEND);
    assert!(
        stranger
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

/// By default no other origin is granted anything.
#[tokio::test]
async fn by_default_no_other_origin_is_allowed() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;

    // Act
    let response = preflight(&app, FRONTEND).await;

    // Assert
    assert!(
        response
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none(),
        "granted: {:?}",
        response.headers()
    );
}

/// A WebSocket upgrade from a page of another origin is refused with 403.
#[tokio::test]
async fn upgrade_from_a_foreign_origin_is_403() {
    // Arrange
    let app = app_allowing_frontend().await;

    // Act
    let status = upgrade_status(&app, Some(STRANGER)).await;

    // Assert
    assert_eq!(status, 403);
}

/// Upgrades from the server's own pages, from an allowed origin, and from
/// non-browser clients (no Origin) are accepted.
#[tokio::test]
async fn upgrades_from_own_allowed_or_no_origin_are_accepted() {
    // Arrange
    let app = app_allowing_frontend().await;
    let own = app.address.clone();

    // Act
    let from_own = upgrade_status(&app, Some(&own)).await;
    let from_allowed = upgrade_status(&app, Some(FRONTEND)).await;
    let without = upgrade_status(&app, None).await;

    // Assert
    assert_eq!((from_own, from_allowed, without), (101, 101, 101));
}

/// Without ALLOWED_ORIGINS, only the server's own origin may upgrade.
#[tokio::test]
async fn by_default_only_the_own_origin_may_upgrade() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let own = app.address.clone();

    // Act
    let from_own = upgrade_status(&app, Some(&own)).await;
    let from_frontend = upgrade_status(&app, Some(FRONTEND)).await;

    // Assert
    assert_eq!((from_own, from_frontend), (101, 403));
}
