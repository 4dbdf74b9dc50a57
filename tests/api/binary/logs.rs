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
