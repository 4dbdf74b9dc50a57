//! Limits on the shape of an operation: depth, complexity (pages count by
//! their size), aliases and directives, and introspection on or off. Each
//! over-limit operation is refused whole before any resolver runs, with the
//! contract's BAD_USER_INPUT and `extensions.reason = "QUERY_TOO_COMPLEX"`.
//! The checks sit in the schema, the same on every backend, so these run on
//! the memory backend.

use chat_server::Config;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_code};

/// Asserts the response is a refusal by a query limit: BAD_USER_INPUT (a
/// contract code) with reason QUERY_TOO_COMPLEX, and no `data`. `case`
/// names what was sent.
fn assert_too_complex(case: &str, response: &Value) {
    let extensions = &response["errors"][0]["extensions"];
    assert_eq!(extensions["code"], "BAD_USER_INPUT", "{case}: {response}");
    assert_eq!(
        extensions["reason"],
        json!("QUERY_TOO_COMPLEX"),
        "{case}: {response}"
    );
    assert!(response["data"].is_null(), "{case}: {response}");
}

/// `count` aliased copies of `me { id }`.
fn aliased(count: usize) -> String {
    let fields: Vec<String> = (0..count).map(|i| format!("a{i}: me {{ id }}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

/// `me { id }` carrying `count` `@include(if: true)` directives on fields.
fn with_directives(count: usize) -> String {
    let fields: Vec<String> = (0..count)
        .map(|_| "id @include(if: true)".to_owned())
        .collect();
    format!("{{ me {{ {} }} }}", fields.join(" "))
}

/// An introspection query nesting `ofType` `levels` deep.
fn nested(levels: usize) -> String {
    let mut selection = "name".to_owned();
    for _ in 0..levels {
        selection = format!("name ofType {{ {selection} }}");
    }
    format!("{{ __schema {{ queryType {{ fields {{ type {{ {selection} }} }} }} }} }}")
}

/// `chats(first: chats)` with `messages(last: messages)` under each chat:
/// the same fields, their complexity multiplied by the page sizes.
fn pages(chats: u32, messages: u32) -> String {
    format!(
        "{{ chats(first: {chats}) {{ edges {{ node {{ id messages(last: {messages}) {{ edges {{ cursor node {{ id body }} }} }} }} }} }} }}"
    )
}

/// One limit of [`each_limit_passes_an_operation_within_it_and_refuses_one_past_it`].
struct Limit {
    /// The limit's name, as the refusal's `extensions.limit` gives it.
    name: &'static str,
    /// Sets the limit (or leaves the default).
    configure: fn(&mut Config),
    /// An operation within the limit, and one of the same kind past it.
    within: String,
    beyond: String,
    /// Where in the answer to `within` the viewer's id must be, if anywhere.
    viewer_id_at: Option<&'static str>,
    /// Other `extensions` of the refusal, with their values.
    extensions: Value,
}

/// Each limit passes an operation within it and refuses whole, with its name in `extensions.limit`, one of the same kind past it: depth (nesting), complexity (page sizes multiply what they select; the default maximum is 2500), aliases (the refusal gives the actual count) and directives.
#[tokio::test]
async fn each_limit_passes_an_operation_within_it_and_refuses_one_past_it() {
    // Arrange
    let limits = [
        Limit {
            name: "depth",
            configure: |c| c.max_query_depth = 8,
            within: nested(3),
            beyond: nested(8),
            viewer_id_at: None,
            extensions: json!({}),
        },
        Limit {
            name: "complexity",
            configure: |_| {},
            within: pages(5, 10),
            beyond: pages(50, 100),
            viewer_id_at: None,
            extensions: json!({ "max": 2500 }),
        },
        Limit {
            name: "aliases",
            configure: |c| c.max_query_aliases = 10,
            within: aliased(10),
            beyond: aliased(11),
            viewer_id_at: Some("/data/a9/id"),
            extensions: json!({ "actual": 11 }),
        },
        Limit {
            name: "directives",
            configure: |c| c.max_query_directives = 5,
            within: with_directives(5),
            beyond: with_directives(6),
            viewer_id_at: None,
            extensions: json!({}),
        },
    ];

    for limit in limits {
        let case = limit.name;
        let app = TestApp::spawn_with(Backend::Memory, limit.configure).await;
        let account = app.sign_up().await;
        let token = Some(account.token.as_str());

        // Act
        let within = app.graphql(token, &limit.within, json!({})).await;
        let beyond = app.graphql(token, &limit.beyond, json!({})).await;

        // Assert
        assert!(within["errors"].is_null(), "{case}: {within}");
        if let Some(pointer) = limit.viewer_id_at {
            assert_eq!(within.pointer(pointer), Some(&json!(account.id)), "{case}");
        }
        assert_too_complex(case, &beyond);
        let extensions = &beyond["errors"][0]["extensions"];
        assert_eq!(extensions["limit"], case, "{case}: {beyond}");
        for (key, value) in limit.extensions.as_object().unwrap() {
            assert_eq!(&extensions[key], value, "{case}: extensions.{key}");
        }
    }
}

/// A mutation past a limit is refused before any resolver runs: it writes nothing.
#[tokio::test]
async fn an_over_limit_mutation_writes_nothing() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_query_aliases = 1).await;
    let account = app.sign_up().await;
    let before = app.log_head().await;
    let query = r#"mutation {
        a: createChat(input: { title: "one", memberIds: [] }) { id }
        b: createChat(input: { title: "two", memberIds: [] }) { id }
    }"#;

    // Act
    let response = app.graphql(Some(&account.token), query, json!({})).await;

    // Assert
    assert_too_complex("two aliased createChat", &response);
    assert_eq!(app.log_head().await, before, "a refused mutation wrote");
}

/// With introspection turned off, `__schema` is BAD_USER_INPUT while ordinary queries still run.
#[tokio::test]
async fn introspection_can_be_turned_off() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.introspection = false).await;
    let account = app.sign_up().await;

    // Act
    let schema = app
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    let me = app
        .graphql(Some(&account.token), "{ me { username } }", json!({}))
        .await;

    // Assert: introspection fails with a reason; ordinary queries still run.
    assert_eq!(error_code(&schema), "BAD_USER_INPUT", "{schema}");
    assert!(schema["data"].is_null(), "{schema}");
    assert_eq!(me["data"]["me"]["username"], json!(account.username));
}
