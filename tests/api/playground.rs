//! The embedded playground: pages and assets served from the binary with
//! their content types and cache headers.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};

use crate::helpers::{Backend, TestApp};

/// The value of a header, failing the test when it is absent.
fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The `/assets/…` script a page loads.
fn script_of(page: &str) -> String {
    let start = page
        .find("src=\"/assets/")
        .expect("the page loads no asset")
        + 5;
    let end = start + page[start..].find('"').unwrap();
    page[start..end].to_owned()
}

/// `/` is GraphiQL's page: HTML, revalidated on every load, and confined
/// to this server by its content security policy.
#[tokio::test]
async fn root_serves_the_graphiql_page() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;

    // Act
    let response = app.get("/").await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    assert!(header(&response, CONTENT_SECURITY_POLICY).contains("default-src 'self'"));
    let page = response.text().await.unwrap();
    assert!(page.contains("GraphiQL"), "not the GraphiQL page: {page}");
}

/// `/chat` is the chat page, and its script is served as JavaScript,
/// cached as immutable (its name carries its content hash).
#[tokio::test]
async fn chat_page_and_its_script_are_served() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let page = app.get("/chat").await;
    assert_eq!(page.status(), StatusCode::OK);
    let script = script_of(&page.text().await.unwrap());

    // Act
    let response = app.get(&script).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, CONTENT_TYPE).contains("javascript"));
    assert!(header(&response, CACHE_CONTROL).contains("immutable"));
    assert!(!response.bytes().await.unwrap().is_empty());
}

/// A page asked for again with its ETag is 304 without a body.
#[tokio::test]
async fn a_known_etag_is_not_modified() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let first = app.get("/").await;
    let etag = header(&first, ETAG).to_owned();

    // Act
    let again = app
        .http
        .get(format!("{}/", app.address))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
}

/// An asset that is not in the bundle is 404.
#[tokio::test]
async fn unknown_assets_are_404() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;

    // Act
    let response = app.get("/assets/nothing-here.js").await;

    // Assert
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
