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
