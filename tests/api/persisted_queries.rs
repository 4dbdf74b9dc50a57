//! Automatic persisted queries (Apollo's protocol), over POST and GET: a
//! hash the server does not know is PersistedQueryNotFound, a text sent
//! with its hash is checked and kept, and then the hash alone runs it;
//! malformed extensions are 400; the cache keeps the most recently used
//! texts; GET answers say how long they may be cached. The cache lives in
//! the process, the same on every backend, so these run in memory.

use std::num::NonZeroUsize;

use reqwest::StatusCode;
use reqwest::header::{ALLOW, CACHE_CONTROL, HeaderMap, VARY};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Account, Backend, TestApp, data, error_code};
use crate::shape;

const JSON: &str = "application/json";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// A named query with a variable: what clients persist.
const LOOKUP: &str = "query Lookup($name: String!) { user(username: $name) { id username } }";

/// How a request travels.
#[derive(Debug, Clone, Copy)]
enum Method {
    /// As a JSON body.
    Post,
    /// As URL parameters, `variables` and `extensions` JSON-encoded.
    Get,
}

/// What the server answered.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn cache_control(&self) -> Option<&str> {
        self.headers.get(CACHE_CONTROL).map(|v| v.to_str().unwrap())
    }
}

impl Method {
    /// Sends `request` (`query`, `variables`, `operationName`,
    /// `extensions`, each optional) to `/graphql` as `viewer`.
    async fn send(
        self,
        app: &TestApp,
        viewer: Option<&Account>,
        accept: &str,
        request: &Value,
    ) -> Answer {
        let url = format!("{}/graphql", app.address);
        let builder = match self {
            Method::Post => app
                .http
                .post(url)
                .header("content-type", JSON)
                .json(request),
            Method::Get => {
                let params = request.as_object().unwrap().iter().map(|(key, value)| {
                    let text = match value {
                        Value::String(text) if key != "variables" && key != "extensions" => {
                            text.clone()
                        }
                        other => other.to_string(),
                    };
                    (key.clone(), text)
                });
                app.http
                    .get(reqwest::Url::parse_with_params(&url, params).unwrap())
            }
        };
        let builder = builder.header("accept", accept);
        let builder = match viewer {
            Some(viewer) => builder.bearer_auth(&viewer.token),
            None => builder,
        };
        let response = builder.send().await.expect("request failed");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.json().await.expect("body is not JSON"),
        }
    }
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `extensions` naming `query` by its hash.
fn persisted(query: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } })
}

/// The hash of `query` alone, as a client first sends it.
fn hash_only(query: &str, variables: &Value) -> Value {
    json!({ "variables": variables, "extensions": persisted(query) })
}

/// The text of `query` with its hash, as a client sends it after a miss.
fn registration(query: &str, variables: &Value) -> Value {
    json!({ "query": query, "variables": variables, "extensions": persisted(query) })
}

/// The answer is PersistedQueryNotFound as Apollo's clients recognise it
/// (the message and the code), a request error with no `data`, never cached.
fn assert_not_found(answer: &Answer, status: StatusCode) {
    let body = &answer.body;
    assert_eq!(answer.status, status, "{body}");
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    assert_eq!(error_code(body), "PERSISTED_QUERY_NOT_FOUND");
    assert!(body.get("data").is_none(), "{body}");
}

/// The answer is `query` run with `variables`: 200, shaped as the query
/// says, with data and no error.
fn assert_ran(answer: &Answer, query: &str, variables: &Value) {
    let body = &answer.body;
    assert_eq!(answer.status, StatusCode::OK, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    shape::check(&json!({ "query": query, "variables": variables }), body);
}

/// Over POST and over GET: the first hash misses (under both media types),
/// the text sent with it runs and is kept, and the hash alone then runs it.
#[tokio::test]
async fn a_miss_then_a_registration_then_hits() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    // A different operation per method, so each starts with a miss.
    let operations = [
        (Method::Post, LOOKUP.to_owned()),
        (Method::Get, LOOKUP.replace("Lookup", "LookupOverGet")),
    ];
    let variables = json!({ "name": ada.username });

    for (method, query) in operations {
        // Act
        let legacy_miss = method
            .send(&app, Some(&ada), JSON, &hash_only(&query, &variables))
            .await;
        let miss = method
            .send(
                &app,
                Some(&ada),
                GRAPHQL_RESPONSE,
                &hash_only(&query, &variables),
            )
            .await;
        let registered = method
            .send(
                &app,
                Some(&ada),
                GRAPHQL_RESPONSE,
                &registration(&query, &variables),
            )
            .await;
        let hit = method
            .send(
                &app,
                Some(&ada),
                GRAPHQL_RESPONSE,
                &hash_only(&query, &variables),
            )
            .await;

        // Assert
        assert_not_found(&legacy_miss, StatusCode::OK);
        assert_not_found(&miss, StatusCode::BAD_REQUEST);
        for answer in [&registered, &hit] {
            assert_ran(answer, &query, &variables);
            assert_eq!(
                data(&answer.body, "user")["id"],
                ada.id.as_str(),
                "{method:?}"
            );
        }
    }
}

/// A malformed `persistedQuery` is invalid request parameters: 400 under
/// both media types and over both methods, BAD_USER_INPUT with a message
/// saying what is wrong, and nothing is run or kept. The rule that a
/// request needs a query stands for one naming no persisted query.
#[tokio::test]
async fn malformed_persisted_queries_are_400() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let other = "{ me { id } }";
    let hash = sha256_hex(LOOKUP);
    let with = |extension: Value| json!({ "query": LOOKUP, "extensions": { "persistedQuery": extension } });
    let cases = [
        (
            "the hash of another text",
            json!({ "query": LOOKUP, "extensions": persisted(other) }),
            "is not the SHA-256 digest of the query sent",
        ),
        (
            "version 2",
            with(json!({ "version": 2, "sha256Hash": hash })),
            "version must be 1",
        ),
        (
            "a version that is not a number",
            with(json!({ "version": "1", "sha256Hash": hash })),
            "must be an object with a numeric `version`",
        ),
        (
            "a hash of 64 digits that are not hexadecimal",
            with(json!({ "version": 1, "sha256Hash": "z".repeat(64) })),
            "64 hexadecimal digits",
        ),
        (
            "a hash of 10,000 digits, alone",
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "a".repeat(10_000) } } }),
            "64 hexadecimal digits",
        ),
        (
            "no hash",
            with(json!({ "version": 1 })),
            "a string `sha256Hash`",
        ),
        ("a string", with(json!("abc")), "must be an object"),
        ("an array", with(json!([1, hash])), "must be an object"),
        ("null", with(Value::Null), "must be an object"),
        (
            "neither a query nor a persisted query",
            json!({ "extensions": {} }),
            "no `query` parameter",
        ),
    ];

    for (what, request, message) in &cases {
        for method in [Method::Post, Method::Get] {
            for accept in [JSON, GRAPHQL_RESPONSE] {
                // Act
                let answer = method.send(&app, Some(&ada), accept, request).await;

                // Assert
                let body = &answer.body;
                let case = format!("{what} ({method:?}, {accept})");
                assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{case}: {body}");
                assert_eq!(error_code(body), "BAD_USER_INPUT", "{case}");
                let said = body["errors"][0]["message"].as_str().unwrap();
                assert!(said.contains(message), "{case}: {said}");
                assert!(body.get("data").is_none(), "{case}: {body}");
            }
        }
    }
    for query in [LOOKUP, other] {
        let answer = Method::Post
            .send(
                &app,
                Some(&ada),
                GRAPHQL_RESPONSE,
                &hash_only(query, &json!({})),
            )
            .await;
        assert_not_found(&answer, StatusCode::BAD_REQUEST);
    }
}

/// A hash of a megabyte is refused by its length, before the text is
/// hashed or the cache looked at: the same clear 400 as any malformed
/// hash, not a mismatch or a miss.
#[tokio::test]
async fn a_megabyte_hash_is_refused_by_its_length() {
    // Arrange: a body limit the megabyte fits in.
    let app = TestApp::spawn_with(Backend::Memory, |c| c.max_body_bytes = 4 << 20).await;
    let huge = json!({ "version": 1, "sha256Hash": "f".repeat(1 << 20) });
    let requests = [
        json!({ "query": LOOKUP, "extensions": { "persistedQuery": huge } }),
        json!({ "extensions": { "persistedQuery": huge } }),
    ];

    for request in requests {
        // Act
        let answer = Method::Post.send(&app, None, JSON, &request).await;

        // Assert
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert_eq!(error_code(&answer.body), "BAD_USER_INPUT");
        let message = answer.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("64 hexadecimal digits"), "{message}");
    }
}

/// In a batch each operation gets its own answer: a miss is that
/// operation's PersistedQueryNotFound beside the others' data, and texts
/// registered in a batch are found in the next; a malformed extension
/// refuses the whole batch, as a missing query does.
#[tokio::test]
async fn a_batch_answers_each_operation() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let variables = json!({ "name": ada.username });
    let plain = json!({ "query": "{ me { id } }" });
    let malformed = json!({ "extensions": { "persistedQuery": "x" } });

    // Act
    let missed = Method::Post
        .send(
            &app,
            Some(&ada),
            JSON,
            &json!([hash_only(LOOKUP, &variables), plain]),
        )
        .await;
    let registered = Method::Post
        .send(
            &app,
            Some(&ada),
            JSON,
            &json!([registration(LOOKUP, &variables)]),
        )
        .await;
    let found = Method::Post
        .send(
            &app,
            Some(&ada),
            JSON,
            &json!([plain, hash_only(LOOKUP, &variables)]),
        )
        .await;
    let refused = Method::Post
        .send(&app, Some(&ada), JSON, &json!([plain, malformed]))
        .await;

    // Assert
    assert_eq!(missed.status, StatusCode::OK);
    let [miss, me] = [&missed.body[0], &missed.body[1]];
    assert_eq!(
        miss["errors"][0]["message"], "PersistedQueryNotFound",
        "{miss}"
    );
    assert_eq!(data(me, "me")["id"], ada.id.as_str());
    assert!(
        registered.body[0]["errors"].is_null(),
        "{}",
        registered.body
    );
    assert_eq!(data(&found.body[1], "user")["id"], ada.id.as_str());
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&refused.body), "BAD_USER_INPUT");
}

/// With room for two texts, registering a third evicts the least recently
/// used one, which then misses until it is registered again; a text used
/// in between stays.
#[tokio::test]
async fn the_cache_keeps_the_most_recently_used_texts() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        c.apq_cache_entries = NonZeroUsize::new(2).unwrap();
    })
    .await;
    let ada = app.sign_up().await;
    let [a, b, c] = [
        "{ me { id } }",
        "{ me { username } }",
        "{ me { createdAt } }",
    ];
    let send = |request: Value| {
        let (app, ada) = (&app, &ada);
        async move {
            Method::Post
                .send(app, Some(ada), GRAPHQL_RESPONSE, &request)
                .await
        }
    };
    let none = json!({});

    // Act
    for query in [a, b] {
        assert_ran(&send(registration(query, &none)).await, query, &none);
    }
    assert_ran(&send(hash_only(a, &none)).await, a, &none);
    assert_ran(&send(registration(c, &none)).await, c, &none);
    let evicted = send(hash_only(b, &none)).await;
    let kept = [
        send(hash_only(a, &none)).await,
        send(hash_only(c, &none)).await,
    ];
    send(registration(b, &none)).await;
    let back = send(hash_only(b, &none)).await;

    // Assert
    assert_not_found(&evicted, StatusCode::BAD_REQUEST);
    assert_ran(&kept[0], a, &none);
    assert_ran(&kept[1], c, &none);
    assert_ran(&back, b, &none);
}

/// A GET answer may be cached as its operation allows: fields that never
/// change (a user's id, name, creation time) for a minute, privately for a
/// caller with `Authorization`, varying with the headers it depends on;
/// anything live, unhinted or failed not at all. POST answers never.
#[tokio::test]
async fn get_answers_say_how_long_they_may_be_cached() {
    // Arrange
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let stable = "{ me { id username createdAt } }";
    let none = json!({});
    let cases = [
        (Some(&ada), stable, Some("private, max-age=60")),
        (Some(&ada), "{ me { id online } }", None),
        (
            Some(&ada),
            "{ me { id } chats(first: 1) { edges { cursor } } }",
            None,
        ),
        (None, "{ __typename }", None),
        (None, "{ me { id } }", None),
    ];

    for (viewer, query, cache_control) in cases {
        // Act
        let registered = Method::Post
            .send(&app, viewer, GRAPHQL_RESPONSE, &registration(query, &none))
            .await;
        let over_get = Method::Get
            .send(&app, viewer, GRAPHQL_RESPONSE, &hash_only(query, &none))
            .await;
        let as_text = Method::Get
            .send(&app, viewer, GRAPHQL_RESPONSE, &json!({ "query": query }))
            .await;

        // Assert
        assert_eq!(registered.cache_control(), None, "POST {query}");
        for answer in [&over_get, &as_text] {
            let expected = cache_control.unwrap_or("no-store");
            assert_eq!(answer.cache_control(), Some(expected), "GET {query}");
            let vary = answer.headers.get_all(VARY).iter();
            let vary: Vec<&str> = vary.map(|v| v.to_str().unwrap()).collect();
            let varies = vary.join(", ").contains("Accept, Authorization");
            assert_eq!(
                varies,
                cache_control.is_some(),
                "GET {query}: Vary {vary:?}"
            );
        }
    }
}

/// A persisted mutation sent with GET is 405 like any mutation there, is
/// not run, and its answer is not cached.
#[tokio::test]
async fn a_persisted_mutation_over_get_is_405() {
    // Arrange: the mutation registered (and run once) over POST.
    let app = TestApp::spawn(Backend::Memory).await;
    let ada = app.sign_up().await;
    let create = "mutation { createChat(input: { title: \"persisted\" }) { id } }";
    let none = json!({});
    let registered = Method::Post
        .send(&app, Some(&ada), JSON, &registration(create, &none))
        .await;
    assert!(registered.body["errors"].is_null(), "{}", registered.body);

    // Act
    let answer = Method::Get
        .send(&app, Some(&ada), JSON, &hash_only(create, &none))
        .await;

    // Assert
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[ALLOW], "POST");
    assert_eq!(answer.cache_control(), Some("no-store"));
    let chats = app
        .graphql(Some(&ada.token), "{ chats { edges { cursor } } }", none)
        .await;
    assert_eq!(data(&chats, "chats")["edges"].as_array().unwrap().len(), 1);
}
