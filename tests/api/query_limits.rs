//! Limits on the shape of an operation: depth, complexity (pages count by
//! their size), aliases and directives, and introspection on or off. Each
//! over-limit operation is refused whole before any resolver runs, with the
//! contract's BAD_USER_INPUT and `extensions.reason = "QUERY_TOO_COMPLEX"`.
//! The checks sit in the schema, the same on every backend, so these run on
//! the memory backend.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_code};

/// Asserts the response is a refusal by a query limit: BAD_USER_INPUT (a
/// contract code) with reason QUERY_TOO_COMPLEX.
fn assert_too_complex(response: &Value) {
    assert_eq!(error_code(response), "BAD_USER_INPUT", "{response}");
    assert_eq!(
        response["errors"][0]["extensions"]["reason"],
        json!("QUERY_TOO_COMPLEX"),
        "{response}"
    );
}

/// The limit an error names, from its `extensions`.
fn broken_limit(response: &Value) -> &str {
    response["errors"][0]["extensions"]["limit"]
        .as_str()
        .unwrap_or_else(|| panic!("no limit named in {response}"))
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

#[tokio::test]
async fn a_query_nested_past_the_depth_limit_is_refused() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_query_depth = 8).await;

    // Act
    let within = app.graphql(None, &nested(3), json!({})).await;
    let beyond = app.graphql(None, &nested(8), json!({})).await;

    // Assert
    assert!(within["errors"].is_null(), "{within}");
    assert_too_complex(&beyond);
    assert_eq!(broken_limit(&beyond), "depth");
    assert!(beyond["data"].is_null(), "{beyond}");
}

#[tokio::test]
async fn page_sizes_multiply_the_complexity_of_what_they_select() {
    // Arrange: nested pages of the same shape, small and large.
    let app = TestApp::spawn(Backend::Memory).await;
    let account = app.sign_up().await;
    let pages = |chats: u32, messages: u32| {
        format!(
            "{{ chats(first: {chats}) {{ edges {{ node {{ id messages(last: {messages}) {{ edges {{ cursor node {{ id body }} }} }} }} }} }} }}"
        )
    };

    // Act
    let small = app
        .graphql(Some(&account.token), &pages(5, 10), json!({}))
        .await;
    let large = app
        .graphql(Some(&account.token), &pages(50, 100), json!({}))
        .await;

    // Assert: the same fields pass with small pages and fail with large.
    assert!(small["errors"].is_null(), "{small}");
    assert_too_complex(&large);
    assert_eq!(broken_limit(&large), "complexity");
    assert_eq!(large["errors"][0]["extensions"]["max"], json!(2500));
}

#[tokio::test]
async fn too_many_aliases_are_refused() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_query_aliases = 10).await;
    let account = app.sign_up().await;

    // Act
    let within = app
        .graphql(Some(&account.token), &aliased(10), json!({}))
        .await;
    let beyond = app
        .graphql(Some(&account.token), &aliased(11), json!({}))
        .await;

    // Assert
    assert!(within["errors"].is_null(), "{within}");
    assert_eq!(within["data"]["a9"]["id"], json!(account.id));
    assert_too_complex(&beyond);
    assert_eq!(broken_limit(&beyond), "aliases");
    assert_eq!(beyond["errors"][0]["extensions"]["actual"], json!(11));
}

#[tokio::test]
async fn too_many_directives_are_refused() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_query_directives = 5).await;
    let account = app.sign_up().await;

    // Act
    let within = app
        .graphql(Some(&account.token), &with_directives(5), json!({}))
        .await;
    let beyond = app
        .graphql(Some(&account.token), &with_directives(6), json!({}))
        .await;

    // Assert
    assert!(within["errors"].is_null(), "{within}");
    assert_too_complex(&beyond);
    assert_eq!(broken_limit(&beyond), "directives");
}

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
    assert_too_complex(&response);
    assert_eq!(app.log_head().await, before, "a refused mutation wrote");
}

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
