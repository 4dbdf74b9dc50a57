//! GraphQL over HTTP: methods, media types, status codes, limits, batches,
//! and the health endpoints. The transport is the same on every backend, so
//! these run on the memory backend only.

use reqwest::header::{ALLOW, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, data, error_code};

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type of a response, without parameters.
fn media_type(response: &Response) -> String {
    let value = response.headers()[CONTENT_TYPE].to_str().unwrap();
    value.split(';').next().unwrap().trim().to_owned()
}

/// Reads a JSON body, failing the test when it is not JSON.
async fn json_body(response: Response) -> Value {
    response.json().await.expect("body is not JSON")
}

/// GET /graphql runs a query.
#[tokio::test]
async fn get_runs_a_query() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;

    // Act
    let response = app.get_graphql(&ada.token, "{ me { id } }").await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(media_type(&response), JSON);
    let body = json_body(response).await;
    assert_eq!(data(&body, "me")["id"], ada.id.as_str());
}

/// A mutation sent with GET is 405 with `Allow: POST` and is not executed.
#[tokio::test]
async fn get_with_a_mutation_is_405() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let mutation = "mutation { signUp(username: \"via_get\", password: \"12345678\") { token } }";

    // Act
    let response = app.get_graphql(&ada.token, mutation).await;

    // Assert
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
    let sign_in = app.sign_in_response("via_get", "12345678").await;
    assert_eq!(error_code(&sign_in), "UNAUTHENTICATED", "the mutation ran");
}

/// A body that is not JSON is 400 with a GraphQL-shaped BAD_USER_INPUT error.
#[tokio::test]
async fn malformed_json_is_400() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;

    // Act
    let response = app.post(&[("content-type", JSON)], "{\"query\": ").await;

    // Assert
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = json_body(response).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

/// A syntax error is BAD_USER_INPUT: 200 as application/json, 400 as graphql-response+json.
#[tokio::test]
async fn a_syntax_error_is_bad_user_input() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let body = json!({ "query": "{ me { id " }).to_string();

    // Act
    let legacy = app.post(&[("content-type", JSON)], body.clone()).await;
    let modern = app
        .post(
            &[("content-type", JSON), ("accept", GRAPHQL_RESPONSE)],
            body,
        )
        .await;

    // Assert
    assert_eq!(legacy.status(), StatusCode::OK);
    assert_eq!(media_type(&legacy), JSON);
    assert_eq!(error_code(&json_body(legacy).await), "BAD_USER_INPUT");
    assert_eq!(modern.status(), StatusCode::BAD_REQUEST);
    assert_eq!(media_type(&modern), GRAPHQL_RESPONSE);
    assert_eq!(error_code(&json_body(modern).await), "BAD_USER_INPUT");
}

/// A request error — a document that does not parse or validate, a
/// variable that does not coerce, an operation over a query limit — has no
/// `data` entry under either media type, while a field error that reaches
/// the root has `"data": null`.
#[tokio::test]
async fn a_request_error_has_no_data_entry() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_query_depth = 3).await;
    let ada = app.sign_up().await;
    let requests = [
        json!({ "query": "{ me { id " }),
        json!({ "query": "{ me { noSuchField } }" }),
        json!({ "query": "query($n: Int) { chats(first: $n) { edges { cursor } } }", "variables": { "n": "ten" } }),
        json!({ "query": "{ chats { edges { node { members { id } } } } }" }),
    ];
    let bearer = format!("Bearer {}", ada.token);

    for request in requests {
        for accept in [JSON, GRAPHQL_RESPONSE] {
            // Act
            let headers = [
                ("content-type", JSON),
                ("accept", accept),
                ("authorization", bearer.as_str()),
            ];
            let response = app.post(&headers, request.to_string()).await;

            // Assert
            let body = json_body(response).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{request} ({accept})");
            assert!(body.get("data").is_none(), "{request} ({accept}): {body}");
        }
    }
    let anonymous = app
        .post(
            &[("content-type", JSON)],
            json!({ "query": "{ me { id } }" }).to_string(),
        )
        .await;
    let body = json_body(anonymous).await;
    assert_eq!(body.get("data"), Some(&Value::Null), "{body}");
}

/// A request without a `query` parameter (a misspelt key) is invalid
/// parameters: 400 under either media type, over POST, in a batch, and
/// over GET.
#[tokio::test]
async fn a_request_without_a_query_is_400() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let misspelt = json!({ "qeury": "{ __typename }" });
    let batch = json!([{ "query": "{ __typename }" }, misspelt]);

    for accept in [JSON, GRAPHQL_RESPONSE] {
        // Act
        let headers = [("content-type", JSON), ("accept", accept)];
        let single = app.post(&headers, misspelt.to_string()).await;
        let in_batch = app.post(&headers, batch.to_string()).await;
        let over_get = app
            .http
            .get(format!("{}/graphql?qeury=%7B__typename%7D", app.address))
            .header("accept", accept)
            .send()
            .await
            .unwrap();

        // Assert
        for response in [single, in_batch, over_get] {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{accept}");
            let body = json_body(response).await;
            assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
            assert!(body.get("data").is_none(), "{body}");
        }
    }
}

/// A document that fails validation (an unknown field) is BAD_USER_INPUT.
#[tokio::test]
async fn a_validation_error_is_bad_user_input() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;

    // Act
    let response = app
        .graphql(Some(&ada.token), "{ me { id noSuchField } }", json!({}))
        .await;

    // Assert
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

/// A variable of the wrong type is BAD_USER_INPUT.
#[tokio::test]
async fn a_variable_of_the_wrong_type_is_bad_user_input() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let query = "query($first: Int) { chats(first: $first) { edges { cursor } } }";

    // Act
    let response = app
        .graphql(Some(&ada.token), query, json!({ "first": "ten" }))
        .await;

    // Assert
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

/// A POST body declared as text/plain is 415.
#[tokio::test]
async fn a_text_plain_body_is_415() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let body = json!({ "query": "{ __typename }" }).to_string();

    // Act
    let response = app.post(&[("content-type", "text/plain")], body).await;

    // Assert
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// A client that accepts only text/html gets 406.
#[tokio::test]
async fn accepting_only_html_is_406() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let body = json!({ "query": "{ __typename }" }).to_string();

    // Act
    let response = app
        .post(&[("content-type", JSON), ("accept", "text/html")], body)
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

/// A body over the configured limit is 413; one under it is served.
#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |config| config.max_body_bytes = 1024).await;
    let small = json!({ "query": "{ __typename }" }).to_string();
    let padding = "x".repeat(app.config.max_body_bytes);
    let large = json!({ "query": format!("{{ __typename }} # {padding}") }).to_string();

    // Act
    let served = app.post(&[("content-type", JSON)], small).await;
    let refused = app.post(&[("content-type", JSON)], large).await;

    // Assert
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// /health and /ready answer 200 on a healthy server.
#[tokio::test]
async fn health_and_ready_are_200() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;

    for path in ["/health", "/ready"] {
        // Act
        let response = app.get(path).await;

        // Assert
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// A JSON array of two operations returns an array of two responses, in order.
#[tokio::test]
async fn a_batch_returns_an_array() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let batch = json!([
        { "query": "{ me { id } }" },
        { "query": "{ me { username } }" },
    ]);

    // Act
    let bearer = format!("Bearer {}", ada.token);
    let headers = [
        ("authorization", bearer.as_str()),
        ("accept", JSON),
        ("content-type", JSON),
    ];
    let response = app.post(&headers, batch.to_string()).await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_body(response).await;
    let answers = body
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {body:#}"));
    assert_eq!(answers.len(), 2);
    assert_eq!(data(&answers[0], "me")["id"], ada.id.as_str());
    assert_eq!(data(&answers[1], "me")["username"], ada.username.as_str());
}

/// Introspection works and lists the schema's types.
#[tokio::test]
async fn introspection_lists_the_types() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;

    // Act
    let response = app
        .graphql(None, "{ __schema { types { name } } }", json!({}))
        .await;

    // Assert
    let names: Vec<&str> = data(&response, "__schema")["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for wanted in ["Query", "Mutation", "User", "Chat", "Message", "DateTime"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
}

/// A client that sends part of its headers and then waits (slowloris) is
/// disconnected after the header deadline; a prompt one is served.
#[tokio::test]
async fn headers_trickled_in_past_the_deadline_end_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.http_header_timeout_ms = 300).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&host).await.unwrap();

    // Act: half a request, then nothing.
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        slow.read_to_end(&mut buffer),
    )
    .await;

    // Assert: the server closed it (an end of stream or a reset both end
    // the read; perhaps after a 408); others are still served.
    ended.expect("the connection was still open after 5 s").ok();
    let text = String::from_utf8_lossy(&buffer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    let health = app.get("/health").await;
    assert_eq!(health.status(), StatusCode::OK);
}
