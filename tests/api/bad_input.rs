//! The bad-input battery: everything a careless or hostile client can send,
//! over HTTP and over the socket, one after another against one server.
//! Every answer must be a clean refusal (a 4xx, or an error with a code
//! that is not INTERNAL; a close code on the socket), every argument at its
//! bound must pass and one past it must fail, and afterwards the server
//! must still answer and still hold every message sent before.

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::helpers::{Account, Backend, TestApp, error_code, unique_name};
use crate::ws_client::{WsClient, WsProtocol};

/// POSTs raw bytes to `/graphql` as JSON, returning the status and the
/// body (JSON when it parses, else null).
async fn post_raw(app: &TestApp, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .post(&[("content-type", "application/json")], body)
        .await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A refusal must be a 4xx or a GraphQL error carrying a code, never a
/// server failure.
fn assert_clean_refusal(what: &str, status: u16, body: &Value) {
    assert!(status < 500, "{what}: HTTP {status} {body}");
    if status == 200 {
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: accepted: {body}"));
        for error in errors {
            let code = error["extensions"]["code"].as_str();
            assert!(
                code.is_some_and(|c| c != "INTERNAL"),
                "{what}: error without a client code: {error}"
            );
        }
    }
}

/// Runs `query` with `variables` as `viewer`; returns the response.
async fn run(app: &TestApp, viewer: Option<&Account>, query: &str, variables: Value) -> Value {
    app.graphql(viewer.map(|v| v.token.as_str()), query, variables)
        .await
}

/// The bound checks: (what, query, variables, passes). `message` is a
/// message of `chat` the battery's user sent (its `id` and `cursor`).
fn bounds(chat: &str, message: &Value) -> Vec<(&'static str, &'static str, Value, bool)> {
    const EDIT: &str =
        "mutation($m: ID!, $b: String!) { editMessage(input: { messageId: $m, body: $b }) { id } }";
    const REACT: &str =
        "mutation($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { id } }";
    const UNREACT: &str =
        "mutation($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { id } }";
    const REACTORS: &str = "query($c: ID!, $n: Int) { chat(id: $c) { messages(last: 1) { edges { node { reactions { users(first: $n) { id } } } } } } }";
    const MARK_READ: &str =
        "mutation($c: ID!, $k: String!) { markRead(chatId: $c, cursor: $k) { id } }";
    let id = &message["id"];
    let edit = |text: String| json!({ "m": id, "b": text });
    let emoji = |text: String| json!({ "m": id, "e": text });
    let read = |cursor: Value| json!({ "c": chat, "k": cursor });
    let v2 = vec![
        ("edited body of 1", EDIT, edit("y".into()), true),
        ("edited body of 4000", EDIT, edit("😀".repeat(4000)), true),
        ("edited body of 4001", EDIT, edit("😀".repeat(4001)), false),
        ("empty edited body", EDIT, edit(String::new()), false),
        (
            "whitespace edited body",
            EDIT,
            edit("\t \u{a0}".into()),
            false,
        ),
        ("emoji of 1 byte", REACT, emoji("+".into()), true),
        ("emoji of 64 bytes", REACT, emoji("😀".repeat(16)), true),
        (
            "emoji of 65 bytes",
            REACT,
            emoji(format!("{}x", "😀".repeat(16))),
            false,
        ),
        ("empty emoji", REACT, emoji(String::new()), false),
        ("emoji with a space", REACT, emoji("👍 ".into()), false),
        (
            "emoji with a control",
            REACT,
            emoji("\u{1b}[31m".into()),
            false,
        ),
        (
            "removed emoji of 65 bytes",
            UNREACT,
            emoji("e".repeat(65)),
            false,
        ),
        (
            "users first 1",
            REACTORS,
            json!({ "c": chat, "n": 1 }),
            true,
        ),
        (
            "users first 100",
            REACTORS,
            json!({ "c": chat, "n": 100 }),
            true,
        ),
        (
            "users first 0",
            REACTORS,
            json!({ "c": chat, "n": 0 }),
            false,
        ),
        (
            "users first 101",
            REACTORS,
            json!({ "c": chat, "n": 101 }),
            false,
        ),
        (
            "markRead a message",
            MARK_READ,
            read(message["cursor"].clone()),
            true,
        ),
        ("markRead garbage", MARK_READ, read(json!("%%%")), false),
        (
            "markRead huge",
            MARK_READ,
            read(json!("A".repeat(100_000))),
            false,
        ),
    ];
    const SEND: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }";
    const CREATE: &str = "mutation($i: CreateChatInput!) { createChat(input: $i) { id } }";
    const HISTORY: &str =
        "query($c: ID!, $n: Int) { chat(id: $c) { messages(last: $n) { edges { cursor } } } }";
    const CHATS: &str = "query($n: Int) { chats(first: $n) { edges { cursor } } }";
    let body = |text: String| json!({ "i": { "chatId": chat, "body": text } });
    let keyed =
        |key: String| json!({ "i": { "chatId": chat, "body": "keyed", "clientMessageId": key } });
    let title = |text: String| json!({ "i": { "title": text, "memberIds": [] } });
    let v1 = vec![
        ("body of 1", SEND, body("x".into()), true),
        ("empty body", SEND, body(String::new()), false),
        ("whitespace body", SEND, body(" \u{2003}\n".into()), false),
        ("body of 4000", SEND, body("😀".repeat(4000)), true),
        ("body of 4001", SEND, body("😀".repeat(4001)), false),
        ("key of 64", SEND, keyed("k".repeat(64)), true),
        ("key of 65", SEND, keyed("k".repeat(65)), false),
        ("empty key", SEND, keyed(String::new()), false),
        ("title of 200", CREATE, title("t".repeat(200)), true),
        ("title of 201", CREATE, title("t".repeat(201)), false),
        ("empty title", CREATE, title("  ".into()), false),
        ("last 1", HISTORY, json!({ "c": chat, "n": 1 }), true),
        ("last 100", HISTORY, json!({ "c": chat, "n": 100 }), true),
        ("last 0", HISTORY, json!({ "c": chat, "n": 0 }), false),
        ("last 101", HISTORY, json!({ "c": chat, "n": 101 }), false),
        ("last -1", HISTORY, json!({ "c": chat, "n": -1 }), false),
        ("first 100", CHATS, json!({ "n": 100 }), true),
        ("first 101", CHATS, json!({ "n": 101 }), false),
        (
            "wrong type",
            SEND,
            json!({ "i": { "chatId": chat, "body": 5 } }),
            false,
        ),
        (
            "missing field",
            SEND,
            json!({ "i": { "chatId": chat } }),
            false,
        ),
        ("null input", SEND, json!({ "i": null }), false),
        (
            "int overflow",
            HISTORY,
            json!({ "c": chat, "n": 1e20 }),
            false,
        ),
    ];
    // The v2 checks first, while `message` is still the newest message.
    v2.into_iter().chain(v1).collect()
}

async fn the_server_survives_the_battery_and_loses_nothing(backend: Backend) {
    // Arrange: a chat with history.
    let app = TestApp::spawn(backend).await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&alice, &[&bob]).await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(app.send(&alice, &chat, &format!("before {i}")).await["id"].clone());
    }

    // Act + Assert, item by item.
    // 1. Bodies that are not GraphQL requests.
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated JSON", b"{\"query\": \"{ me { id }".to_vec()),
        ("invalid UTF-8", vec![b'{', 0xff, 0xfe, b'}']),
        ("query not a string", br#"{"query": 5}"#.to_vec()),
        (
            "variables not an object",
            br#"{"query": "{ __typename }", "variables": [1]}"#.to_vec(),
        ),
        ("empty batch", b"[]".to_vec()),
        (
            "persistedQuery not an object",
            br#"{"extensions": {"persistedQuery": "x"}}"#.to_vec(),
        ),
        (
            "persistedQuery with a 200 kB hash",
            format!(
                r#"{{"extensions": {{"persistedQuery": {{"version": 1, "sha256Hash": "{}"}}}}}}"#,
                "f".repeat(200_000)
            )
            .into_bytes(),
        ),
        ("nested garbage", "[".repeat(10_000).into_bytes()),
        (
            "oversize variables",
            format!(
                r#"{{"query": "{{ __typename }}", "variables": {{"x": "{}"}}}}"#,
                "v".repeat(300_000)
            )
            .into_bytes(),
        ),
    ];
    for (what, body) in bodies {
        let (status, response) = post_raw(&app, body).await;
        assert!(
            (400..500).contains(&status),
            "{what}: HTTP {status} {response}"
        );
    }
    // 2. Documents that parse badly or ask too much.
    let deep = format!("{}{}", "{ me ".repeat(3000), "}".repeat(3000));
    let wide = format!("{{ me {{ {} }} }}", "id ".repeat(30_000));
    let documents = [
        ("unbalanced", "{ me { id }".to_owned()),
        ("deeply nested", deep),
        ("huge selection", wide),
        ("unknown field", "{ nope }".to_owned()),
        (
            "subscription over HTTP",
            "subscription { messageCreated { id } }".to_owned(),
        ),
    ];
    for (what, query) in documents {
        let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
        let (status, response) = post_raw(&app, body).await;
        assert_clean_refusal(what, status, &response);
        assert!(
            status != 200 || !response["errors"].is_null(),
            "{what}: accepted"
        );
    }
    // 3. Every contract argument at and past its bounds.
    let target = app.send(&alice, &chat, "target").await;
    sent.push(target["id"].clone());
    for (what, query, variables, passes) in bounds(&chat, &target) {
        let response = run(&app, Some(&alice), query, variables).await;
        if passes {
            assert!(response["errors"].is_null(), "{what}: refused: {response}");
        } else {
            assert_clean_refusal(what, 200, &response);
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "{what}");
        }
    }
    // 4. Refresh tokens that are not ones: UNAUTHENTICATED, or
    // BAD_USER_INPUT when oversized or of the wrong type; never a 5xx.
    const REFRESH: &str = "mutation($r: String!) { refreshSession(refreshToken: $r) { token } }";
    let refresh_cases: [(&str, Value, &str); 7] = [
        ("empty", json!(""), "UNAUTHENTICATED"),
        ("malformed", json!("not.a.token"), "UNAUTHENTICATED"),
        (
            "truncated",
            json!("r1.0123456789abcdef0123456789abcdef.AAAA"),
            "UNAUTHENTICATED",
        ),
        (
            "unknown session",
            json!(format!("r1.{}.{}", "a".repeat(32), "A".repeat(43))),
            "UNAUTHENTICATED",
        ),
        ("oversized", json!("r".repeat(100_000)), "BAD_USER_INPUT"),
        ("a number", json!(12345), "BAD_USER_INPUT"),
        ("null", Value::Null, "BAD_USER_INPUT"),
    ];
    for (what, token, code) in refresh_cases {
        let response = run(&app, None, REFRESH, json!({ "r": token })).await;
        assert_clean_refusal(what, 200, &response);
        assert_eq!(error_code(&response), code, "refresh token {what}");
    }
    let longest = format!("{:x<32}", unique_name("n"));
    let too_long = format!("{longest}x");
    for (name, passes) in [
        ("abc", true),
        ("ab", false),
        (&longest, true),
        (&too_long, false),
    ] {
        let response = app.sign_up_response(name, "long enough").await;
        assert_eq!(
            response["errors"].is_null(),
            passes,
            "username {name:?}: {response}"
        );
    }
    for (password, passes) in [
        ("x".repeat(7), false),
        ("x".repeat(8), true),
        ("é".repeat(128), true),
        ("é".repeat(129), false),
    ] {
        let response = app.sign_up_response(&unique_name("p"), &password).await;
        assert_eq!(
            response["errors"].is_null(),
            passes,
            "password of {}: {response}",
            password.chars().count()
        );
    }
    for cursor in ["", "garbage", "bDE6eDox", "🦀"] {
        let response = run(
            &app,
            Some(&alice),
            "query($c: ID!, $b: String) { chat(id: $c) { messages(before: $b) { edges { cursor } } } }",
            json!({ "c": chat, "b": cursor }),
        )
        .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "cursor {cursor:?}");
    }
    // 4. The socket: binary frames, invalid UTF-8, unknown and malformed messages.
    let mut binary = WsClient::connect_as(&app, WsProtocol::TransportWs, &bob).await;
    binary.send_binary(vec![0, 159, 146, 150]).await;
    binary.expect_close(4400).await;
    let mut broken = WsClient::connect_as(&app, WsProtocol::TransportWs, &bob).await;
    let frame = Frame::message(vec![b'{', 0xc3, 0x28, b'}'], OpCode::Data(Data::Text), true);
    broken.send_frame(frame).await;
    broken.expect_closed().await;
    for text in [
        "not json",
        r#"{"type": "no such message"}"#,
        r#"{"type": "subscribe"}"#,
        r#"{"type": "subscribe", "id": 7, "payload": {}}"#,
        r#"{"id": "1"}"#,
        "[]",
    ] {
        let mut client = WsClient::connect_as(&app, WsProtocol::TransportWs, &bob).await;
        client.send_text(text).await;
        client.expect_close(4400).await;
    }

    // Afterwards: the server answers, and every earlier message is there.
    let me = run(&app, Some(&bob), "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], json!(bob.id));
    let history = run(
        &app,
        Some(&bob),
        "query($c: ID!) { chat(id: $c) { messages(last: 100) { edges { node { id } } } } }",
        json!({ "c": chat }),
    )
    .await;
    let ids: Vec<Value> = history["data"]["chat"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].clone())
        .collect();
    assert_eq!(
        ids[..sent.len()],
        sent[..],
        "the earlier messages changed: {history}"
    );
}

crate::on_both_backends!(the_server_survives_the_battery_and_loses_nothing);
