//! Structured logs: with LOG_FORMAT=json every line is one JSON object, and
//! an operation's lines carry a span naming the operation.

use std::time::Duration;

use serde_json::{Value, json};

use super::Binary;

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_operation_span() {
    // Arrange
    let env = [
        ("LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "info,chat_server=debug".to_owned()),
    ];
    let mut server = Binary::start(&env, true).await;
    let token = server.endpoint().sign_up().await.token;

    // Act: a named operation, then a clean stop.
    let response = server
        .endpoint()
        .graphql(Some(&token), "query WhoAmI { me { username } }", json!({}))
        .await;
    assert!(response["errors"].is_null(), "{response}");
    server.terminate();
    server.exit_within(Duration::from_secs(10)).await;
    let output = server.output();

    // Assert
    let lines: Vec<Value> = output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let listening = lines
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("listening"))
        })
        .unwrap_or_else(|| panic!("no startup line in:\n{output}"));
    assert_eq!(listening["level"], json!("INFO"));
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["name"] == json!("graphql")
                && line["span"]["operation"] == json!("WhoAmI")),
        "no line in the WhoAmI operation's span:\n{output}"
    );
}

/// Refresh tokens never reach the logs, even at the most verbose level:
/// not from a POST's variables, not from a GET's query string, not from a
/// reuse that ends the session.
#[tokio::test]
async fn refresh_tokens_never_appear_in_the_logs() {
    // Arrange
    let env = [("RUST_LOG", "trace".to_owned())];
    let mut server = Binary::start(&env, true).await;
    let endpoint = server.endpoint();
    let signed_up = endpoint
        .graphql(
            None,
            "mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { refreshToken } }",
            json!({ "u": crate::helpers::unique_name("log"), "p": crate::helpers::PASSWORD }),
        )
        .await;
    let refresh = signed_up["data"]["signUp"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = refresh.rsplit('.').next().unwrap().to_owned();
    const REFRESH: &str =
        "mutation($r: String!) { refreshSession(refreshToken: $r) { refreshToken } }";

    // Act: a refresh, its reuse (which ends the session), and the token
    // in a GET query string (refused: a mutation over GET).
    let rotated = endpoint
        .graphql(None, REFRESH, json!({ "r": refresh }))
        .await;
    let reused = endpoint
        .graphql(None, REFRESH, json!({ "r": refresh }))
        .await;
    let query = format!("mutation {{ refreshSession(refreshToken: \"{refresh}\") {{ token }} }}");
    let url = reqwest::Url::parse_with_params(
        &format!("{}/graphql", endpoint.address),
        &[("query", query.as_str())],
    )
    .unwrap();
    let get = endpoint.http.get(url).send().await.unwrap();
    server.terminate();
    server.exit_within(Duration::from_secs(10)).await;
    let output = server.output();

    // Assert
    assert!(rotated["errors"].is_null(), "{rotated}");
    assert!(!reused["errors"].is_null(), "{reused}");
    assert_eq!(get.status(), 405);
    assert!(
        output.contains("refreshSession") || output.contains("graphql"),
        "logs were captured"
    );
    assert!(
        !output.contains(&secret),
        "a refresh token's secret is in the logs:\n{output}"
    );
    let next = rotated["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap();
    assert!(!output.contains(next.rsplit('.').next().unwrap()));
}

/// A stream token, which travels in a URL, never reaches the logs either,
/// even at the most verbose level.
#[tokio::test]
async fn stream_tokens_in_urls_never_appear_in_the_logs() {
    // Arrange
    let env = [("RUST_LOG", "trace".to_owned())];
    let mut server = Binary::start(&env, true).await;
    let endpoint = server.endpoint();
    let ada = endpoint.sign_up().await;
    let minted = endpoint
        .graphql(
            Some(&ada.token),
            "mutation { createStreamToken { token } }",
            json!({}),
        )
        .await;
    let token = minted["data"]["createStreamToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/graphql/stream", endpoint.address),
        [("query", "{ me { id } }"), ("token", token.as_str())],
    )
    .unwrap();

    // Act: a stream opened with it, and one refused (a mutation over GET).
    let opened = endpoint.http.get(url.clone()).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    let body = opened.text().await.unwrap();
    assert!(body.contains(&ada.id), "{body}");
    let mut refused = url;
    refused.set_query(Some(&format!("query=mutation%7BsignOut%7D&token={token}")));
    assert_eq!(
        endpoint.http.get(refused).send().await.unwrap().status(),
        405
    );
    server.terminate();
    server.exit_within(Duration::from_secs(10)).await;

    // Assert
    let output = server.output();
    assert!(output.contains("graphql"), "the logs are empty:\n{output}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!output.contains(signature), "the stream token was logged");
}
