//! Accounts: signUp, signIn, `me`, `user`, and how tokens are checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, PASSWORD, SIGN_IN, SIGN_UP, TEST_SECRET, TestApp, data, error_code, mint_token,
    now_secs, utc_millis,
};

const ME: &str = "{ me { id username createdAt } }";
const USER: &str = "query($u: String!) { user(username: $u) { id username } }";

/// Asserts that `me` with this token is refused as UNAUTHENTICATED.
async fn assert_me_refused(app: &TestApp, token: Option<&str>) {
    let response = app.graphql(token, ME, json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED", "token {token:?}");
    assert!(response["data"].is_null(), "{response:#}");
}

/// signUp creates the account as typed and its token authenticates it.
async fn sign_up_returns_a_working_token(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;

    // Act
    let response = app.sign_up_response("Ada.Lovelace-1", PASSWORD).await;

    // Assert
    let payload = data(&response, "signUp");
    let user = &payload["user"];
    assert_eq!(user["username"], "Ada.Lovelace-1");
    assert!(!user["id"].as_str().unwrap().is_empty());
    utc_millis(user["createdAt"].as_str().unwrap());
    let me = app.graphql(payload["token"].as_str(), ME, json!({})).await;
    assert_eq!(data(&me, "me"), user);
}

/// signIn accepts the username in any case and returns the same user.
async fn sign_in_ignores_the_case_of_the_username(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up_as("Ada_Sign_In").await;

    // Act
    let response = app.sign_in_response("aDA_sIGN_iN", PASSWORD).await;

    // Assert
    let payload = data(&response, "signIn");
    assert_eq!(payload["user"]["id"], ada.id.as_str());
    assert_eq!(payload["user"]["username"], "Ada_Sign_In");
    let me = app.graphql(payload["token"].as_str(), ME, json!({})).await;
    assert_eq!(data(&me, "me")["id"], ada.id.as_str());
}

/// `me` answers with the token holder, not with anyone else.
async fn me_is_the_token_holder(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let bob = app.sign_up().await;

    // Act
    let as_ada = app.graphql(Some(&ada.token), ME, json!({})).await;
    let as_bob = app.graphql(Some(&bob.token), ME, json!({})).await;

    // Assert
    assert_eq!(data(&as_ada, "me")["id"], ada.id.as_str());
    assert_eq!(data(&as_ada, "me")["username"], ada.username.as_str());
    assert_eq!(data(&as_bob, "me")["id"], bob.id.as_str());
}

/// `user(username)` finds a user whatever the case and shows the name as typed.
async fn user_lookup_ignores_case(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let viewer = app.sign_up().await;
    let target = app.sign_up_as("MiXeD_Case").await;

    // Act
    let response = app
        .graphql(Some(&viewer.token), USER, json!({ "u": "mixed_CASE" }))
        .await;

    // Assert
    let user = data(&response, "user");
    assert_eq!(user["id"], target.id.as_str());
    assert_eq!(user["username"], "MiXeD_Case");
}

/// `user` of an unknown or malformed name is null with no error.
async fn user_lookup_of_unknown_or_malformed_name_is_null(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let viewer = app.sign_up().await;

    for name in [
        "nobody_by_this_name",
        "ab",
        "has space",
        "émile",
        "",
        &"a".repeat(33),
    ] {
        // Act
        let response = app
            .graphql(Some(&viewer.token), USER, json!({ "u": name }))
            .await;

        // Assert
        assert!(response["errors"].is_null(), "{name:?}: {response:#}");
        assert_eq!(response["data"], json!({ "user": null }), "{name:?}");
    }
}

/// Usernames of 3 and 32 allowed characters are accepted.
async fn usernames_at_the_length_bounds_are_accepted(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;

    for name in ["a.b", &format!("Az09_.-{}", "x".repeat(25))] {
        // Act
        let response = app.sign_up_response(name, PASSWORD).await;

        // Assert
        assert_eq!(data(&response, "signUp")["user"]["username"], name);
    }
}

/// Usernames too short, too long or with other characters are BAD_USER_INPUT.
async fn usernames_breaking_the_rules_are_bad_user_input(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let too_long = "x".repeat(33);

    for name in [
        "ab",
        &too_long,
        "has space",
        "émile",
        "a@b",
        "tab\tbed",
        "dash!",
    ] {
        // Act
        let response = app.sign_up_response(name, PASSWORD).await;

        // Assert
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{name:?}");
    }
}

/// A username taken in another case is a CONFLICT.
async fn usernames_are_unique_ignoring_case(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let first = app.sign_up_as("Unique_Name").await;

    // Act
    let response = app
        .sign_up_response("uNIQUE_nAME", "another password")
        .await;

    // Assert
    assert_eq!(error_code(&response), "CONFLICT");
    let found = app
        .graphql(Some(&first.token), USER, json!({ "u": "unique_name" }))
        .await;
    assert_eq!(data(&found, "user")["id"], first.id.as_str());
}

/// Passwords of 8 and 128 code points are accepted, 7 and 129 refused.
async fn password_length_bounds(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let cases = [
        ("pw_seven", "1234567".to_owned(), false),
        ("pw_eight", "12345678".to_owned(), true),
        ("pw_max", "é".repeat(128), true),
        ("pw_over", "é".repeat(129), false),
    ];

    for (name, password, accepted) in cases {
        // Act
        let response = app.sign_up_response(name, &password).await;

        // Assert
        if accepted {
            data(&response, "signUp");
            let signed_in = app.sign_in_response(name, &password).await;
            data(&signed_in, "signIn");
        } else {
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "{name}");
        }
    }
}

/// signIn with a wrong password or an unknown user is UNAUTHENTICATED.
async fn sign_in_with_wrong_credentials_is_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;

    for (name, password) in [
        (ada.username.as_str(), "wrong password"),
        ("nobody_by_this_name", PASSWORD),
        ("bad name!", PASSWORD),
    ] {
        // Act
        let response = app.sign_in_response(name, password).await;

        // Assert
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "{name}");
        assert!(response["data"].is_null(), "{response:#}");
    }
}

/// signUp and signIn need no token and ignore a garbage Authorization header.
async fn sign_up_and_sign_in_ignore_a_bad_authorization_header(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let garbage = Some("not-a-token");

    // Act
    let up = app
        .graphql(
            garbage,
            SIGN_UP,
            json!({ "u": "header_user", "p": PASSWORD }),
        )
        .await;
    let inn = app
        .graphql(
            garbage,
            SIGN_IN,
            json!({ "u": "header_user", "p": PASSWORD }),
        )
        .await;

    // Assert
    let id = &data(&up, "signUp")["user"]["id"];
    assert_eq!(&data(&inn, "signIn")["user"]["id"], id);
}

/// `me` without a token is UNAUTHENTICATED.
async fn me_without_a_token_is_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;

    // Act + Assert
    assert_me_refused(&app, None).await;
}

/// A token minted elsewhere with the shared secret is accepted (the refusals' control).
async fn a_token_signed_with_the_shared_secret_is_accepted(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let token = mint_token(&ada.id, now_secs() + 600, TEST_SECRET);

    // Act
    let response = app.graphql(Some(&token), ME, json!({})).await;

    // Assert
    assert_eq!(data(&response, "me")["id"], ada.id.as_str());
}

/// A token signed with another secret is UNAUTHENTICATED.
async fn a_forged_token_is_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let forged = mint_token(
        &ada.id,
        now_secs() + 600,
        "some-other-secret-some-other-secret",
    );

    // Act + Assert
    assert_me_refused(&app, Some(&forged)).await;
}

/// A token whose `exp` is well in the past is UNAUTHENTICATED.
async fn an_expired_token_is_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let expired = mint_token(&ada.id, now_secs() - 3600, TEST_SECRET);

    // Act + Assert
    assert_me_refused(&app, Some(&expired)).await;
}

/// Strings that are not JWTs are UNAUTHENTICATED.
async fn a_malformed_token_is_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let truncated = &ada.token[..ada.token.len() - 3];

    for token in ["garbage", "a.b.c", "", truncated] {
        // Act + Assert
        assert_me_refused(&app, Some(token)).await;
    }
}

/// An unsigned token (`alg: none`) is refused even with valid claims.
async fn an_unsigned_token_is_refused(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let header = part(json!({ "alg": "none", "typ": "JWT" }));
    let claims = part(json!({ "sub": ada.id, "exp": now_secs() + 600, "iat": now_secs() }));

    for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
        // Act + Assert
        assert_me_refused(&app, Some(&token)).await;
    }
}

/// A genuine token naming a user the store does not know is UNAUTHENTICATED.
async fn a_token_for_an_unknown_user_is_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    // A chat id has the shape of an id but names no user.
    let chat = app.create_chat(&ada, &[]).await;
    let token = mint_token(&chat, now_secs() + 600, TEST_SECRET);

    // Act + Assert
    assert_me_refused(&app, Some(&token)).await;
}

/// Every operation but signUp and signIn is UNAUTHENTICATED without a token.
async fn every_other_operation_needs_a_token(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let chat = app.create_chat(&ada, &[]).await;
    let operations = [
        "{ me { id } }",
        "{ user(username: \"abc\") { id } }",
        "query($c: ID!) { chat(id: $c) { id } }",
        "{ chats { edges { cursor } } }",
        "mutation { createChat(input: { title: \"t\" }) { id } }",
        "mutation($c: ID!, $u: ID!) { addMember(chatId: $c, userId: $u) { id } }",
        "mutation($c: ID!) { leaveChat(chatId: $c) }",
        "mutation($c: ID!) { sendMessage(input: { chatId: $c, body: \"hi\" }) { id } }",
    ];
    let head = app.log_head().await;

    for operation in operations {
        // Act
        let variables = json!({ "c": chat, "u": ada.id });
        let response = app.graphql(None, operation, variables).await;

        // Assert
        let errors = response["errors"].as_array().expect("errors");
        assert!(!errors.is_empty(), "{operation}: {response:#}");
        for error in errors {
            assert_eq!(
                error["extensions"]["code"], "UNAUTHENTICATED",
                "{operation}"
            );
        }
    }
    assert_eq!(
        app.log_head().await,
        head,
        "an anonymous call wrote something"
    );
}

crate::on_both_backends!(
    sign_up_returns_a_working_token,
    sign_in_ignores_the_case_of_the_username,
    me_is_the_token_holder,
    user_lookup_ignores_case,
    user_lookup_of_unknown_or_malformed_name_is_null,
    usernames_at_the_length_bounds_are_accepted,
    usernames_breaking_the_rules_are_bad_user_input,
    usernames_are_unique_ignoring_case,
    password_length_bounds,
    sign_in_with_wrong_credentials_is_unauthenticated,
    sign_up_and_sign_in_ignore_a_bad_authorization_header,
    me_without_a_token_is_unauthenticated,
    a_token_signed_with_the_shared_secret_is_accepted,
    a_forged_token_is_unauthenticated,
    an_expired_token_is_unauthenticated,
    a_malformed_token_is_unauthenticated,
    an_unsigned_token_is_refused,
    a_token_for_an_unknown_user_is_unauthenticated,
    every_other_operation_needs_a_token,
);

/// 200 sign-ins at once (password hashing is slow by design) must not stall
/// other requests: hashing runs off the async runtime, a few at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_does_not_stall_other_requests() {
    // Arrange: limits off, so every attempt reaches the password check.
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        c.rate_sign_in_account = chat_server::throttle::Rate::OFF;
        c.rate_sign_in_address = chat_server::throttle::Rate::OFF;
    })
    .await;
    let account = app.sign_up().await;
    let started = std::time::Instant::now();

    // Act: the burst, and meanwhile a probe every 20 ms.
    let burst = futures_util::future::join_all(
        (0..200).map(|_| app.sign_in_response(&account.username, PASSWORD)),
    );
    let probes = async {
        let mut slowest = std::time::Duration::ZERO;
        for _ in 0..20 {
            let sent = std::time::Instant::now();
            let answer = app.graphql(None, "{ __typename }", json!({})).await;
            assert_eq!(answer["data"]["__typename"], json!("Query"));
            slowest = slowest.max(sent.elapsed());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        (slowest, started.elapsed())
    };
    let (responses, (slowest, probing)) = tokio::join!(burst, probes);

    // Assert: every sign-in worked; the probes ran while the burst was still
    // going, and none waited behind it.
    for response in &responses {
        assert!(response["errors"].is_null(), "{response}");
    }
    let burst_took = started.elapsed();
    assert!(probing < burst_took, "the probes did not overlap the burst");
    // Relative, not absolute: the suite shares the machine with this test.
    assert!(
        slowest * 4 < burst_took,
        "a probe took {slowest:?} during a {burst_took:?} burst"
    );
    eprintln!("200 sign-ins in {burst_took:?}; slowest probe {slowest:?}");
}
