//! Rate limits: writes per user, sign-in attempts per account name and per
//! client address, RATE_LIMITED with a retry hint, nothing written when
//! refused, and (on Redis) one allowance shared by every process.

use std::time::Duration;

use chat_server::Config;
use chat_server::throttle::Rate;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, SIGN_IN, TestApp, error_code};

const CREATE: &str = "mutation($i: CreateChatInput!) { createChat(input: $i) { id } }";

/// A limit of `count` a minute.
fn per_minute(count: u32) -> Rate {
    Rate::per(count, Duration::from_secs(60))
}

/// Asserts RATE_LIMITED with a retry hint no longer than `period`.
fn assert_limited(response: &Value, period: Duration) {
    assert_eq!(error_code(response), "RATE_LIMITED", "{response}");
    let retry = response["errors"][0]["extensions"]["retryAfterMs"]
        .as_u64()
        .unwrap_or_else(|| panic!("no retryAfterMs in {response}"));
    assert!(
        retry > 0 && u128::from(retry) <= period.as_millis(),
        "retryAfterMs {retry} out of range"
    );
}

crate::on_both_backends!(
    send_message_is_limited_per_user_and_a_refused_send_writes_nothing,
    create_chat_and_add_member_are_limited_per_user,
    message_changes_reactions_and_reads_are_limited_per_user,
    refreshes_and_password_changes_are_limited,
    failed_sign_ins_lock_the_name_whether_or_not_it_exists,
    a_successful_sign_in_clears_the_names_failures,
);

/// sendMessage is limited per user: past the allowance a send is RATE_LIMITED with a retry hint and writes nothing, while another user still sends.
async fn send_message_is_limited_per_user_and_a_refused_send_writes_nothing(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.rate_send_message = per_minute(3)).await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&alice, &[&bob]).await;
    for i in 0..3 {
        let response = app
            .send_response(&alice, &chat, &format!("m{i}"), None)
            .await;
        assert!(response["errors"].is_null(), "{response}");
    }
    let head = app.log_head().await;

    // Act
    let refused = app.send_response(&alice, &chat, "one too many", None).await;
    let other_user = app.send_response(&bob, &chat, "bob's first", None).await;

    // Assert
    assert_limited(&refused, Duration::from_secs(60));
    assert!(refused["data"].is_null(), "{refused}");
    assert!(other_user["errors"].is_null(), "{other_user}");
    let after = app.events_after(&head).await;
    assert_eq!(after.len(), 1, "only bob's message is new: {after:?}");
}

/// createChat and addMember are each limited per user: past the allowance they are RATE_LIMITED with a retry hint.
async fn create_chat_and_add_member_are_limited_per_user(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| {
        c.rate_create_chat = per_minute(1);
        c.rate_add_member = per_minute(1);
    })
    .await;
    let (alice, bob, carol) = (
        app.sign_up().await,
        app.sign_up().await,
        app.sign_up().await,
    );
    let chat = app.create_chat(&alice, &[]).await;
    let input = json!({ "i": { "title": "second", "memberIds": [] } });

    // Act
    let second_chat = app.graphql(Some(&alice.token), CREATE, input).await;
    let first_add = app.add_member_response(&alice, &chat, &bob.id).await;
    let second_add = app.add_member_response(&alice, &chat, &carol.id).await;

    // Assert
    assert_limited(&second_chat, Duration::from_secs(60));
    assert!(first_add["errors"].is_null(), "{first_add}");
    assert_limited(&second_add, Duration::from_secs(60));
}

/// Changing messages (edit and delete together), reacting (add and remove
/// together) and markRead are each limited per user; a refused call
/// writes nothing.
async fn message_changes_reactions_and_reads_are_limited_per_user(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| {
        c.rate_change_message = per_minute(1);
        c.rate_react = per_minute(1);
        c.rate_mark_read = per_minute(1);
    })
    .await;
    let (alice, bob) = (app.sign_up().await, app.sign_up().await);
    let chat = app.create_chat(&alice, &[&bob]).await;
    let message = app.send(&alice, &chat, "limited").await;
    let (id, cursor) = (&message["id"], &message["cursor"]);
    const EDIT: &str =
        "mutation($m: ID!) { editMessage(input: { messageId: $m, body: \"edited\" }) { id } }";
    const DELETE: &str = "mutation($m: ID!) { deleteMessage(messageId: $m) { id } }";
    const ADD: &str = "mutation($m: ID!) { addReaction(messageId: $m, emoji: \"👍\") { id } }";
    const REMOVE: &str =
        "mutation($m: ID!) { removeReaction(messageId: $m, emoji: \"👍\") { id } }";
    const READ: &str = "mutation($c: ID!, $k: String!) { markRead(chatId: $c, cursor: $k) { id } }";
    let call = |who: &crate::helpers::Account, query: &'static str, variables: Value| {
        let token = who.token.clone();
        let app = &app;
        async move { app.graphql(Some(&token), query, variables).await }
    };
    let on_message = json!({ "m": id });
    let reading = json!({ "c": chat, "k": cursor });

    // Act + Assert: the first of each kind passes, the second is refused.
    assert!(call(&alice, EDIT, on_message.clone()).await["errors"].is_null());
    let head = app.log_head().await;
    assert_limited(
        &call(&alice, DELETE, on_message.clone()).await,
        Duration::from_secs(60),
    );
    assert!(call(&alice, ADD, on_message.clone()).await["errors"].is_null());
    let head_after_add = app.log_head().await;
    assert_limited(
        &call(&alice, REMOVE, on_message.clone()).await,
        Duration::from_secs(60),
    );
    assert!(call(&bob, READ, reading.clone()).await["errors"].is_null());
    let head_after_read = app.log_head().await;
    assert_limited(&call(&bob, READ, reading).await, Duration::from_secs(60));
    // Assert: refusals wrote nothing; another user has its own allowance.
    assert!(head_after_add != head && head_after_read != head_after_add);
    assert_eq!(app.log_head().await, head_after_read);
    assert!(call(&bob, ADD, on_message).await["errors"].is_null());
}

/// refreshSession is limited per session and, with changePassword (each
/// counted apart), per client address; changePassword also per user.
async fn refreshes_and_password_changes_are_limited(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| {
        c.rate_refresh_session = per_minute(1);
        c.rate_change_password = per_minute(1);
        c.rate_credentials_address = per_minute(3);
    })
    .await;
    const SIGN_UP_PAIR: &str = "mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token refreshToken } }";
    const REFRESH: &str =
        "mutation($r: String!) { refreshSession(refreshToken: $r) { refreshToken } }";
    const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token } }";
    let sign_up = || async {
        let variables = json!({ "u": crate::helpers::unique_name("r"), "p": PASSWORD });
        app.graphql(None, SIGN_UP_PAIR, variables).await["data"]["signUp"].clone()
    };
    let (one, two, three) = (sign_up().await, sign_up().await, sign_up().await);
    let refresh = |token: &Value| app.graphql(None, REFRESH, json!({ "r": token }));

    // Act + Assert: per session.
    let first = refresh(&one["refreshToken"]).await;
    assert!(first["errors"].is_null(), "{first}");
    let again = refresh(&first["data"]["refreshSession"]["refreshToken"]).await;
    assert_limited(&again, Duration::from_secs(60));
    // Per address (three a minute, the refused one counted too): a second
    // session's refresh is the third, a third session's the fourth.
    assert!(refresh(&two["refreshToken"]).await["errors"].is_null());
    assert_limited(
        &refresh(&three["refreshToken"]).await,
        Duration::from_secs(60),
    );
    // changePassword: per user.
    let app = &app;
    let change = |token: &Value, new: &str| {
        let token = token.as_str().unwrap().to_owned();
        let variables = json!({ "c": PASSWORD, "n": new });
        async move { app.graphql(Some(&token), CHANGE, variables).await }
    };
    let changed = change(&three["token"], "another long password").await;
    assert!(changed["errors"].is_null(), "{changed}");
    let fresh = changed["data"]["changePassword"]["token"].clone();
    assert_limited(
        &change(&fresh, "yet another password").await,
        Duration::from_secs(60),
    );
}

/// Failed sign-ins lock an account name whether or not it exists, and locked names answer alike; other names are unaffected.
async fn failed_sign_ins_lock_the_name_whether_or_not_it_exists(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.rate_sign_in_account = per_minute(3)).await;
    let alice = app.sign_up().await;
    let ghost = crate::helpers::unique_name("ghost");
    for _ in 0..3 {
        let wrong = app
            .sign_in_response(&alice.username, "not the password")
            .await;
        assert_eq!(error_code(&wrong), "UNAUTHENTICATED");
        let unknown = app.sign_in_response(&ghost, "not the password").await;
        assert_eq!(error_code(&unknown), "UNAUTHENTICATED");
    }

    // Act
    let right_password = app
        .sign_in_response(&alice.username.to_uppercase(), PASSWORD)
        .await;
    let unknown = app.sign_in_response(&ghost, PASSWORD).await;
    let someone_else = app.sign_up().await;
    let other = app.sign_in_response(&someone_else.username, PASSWORD).await;

    // Assert: locked names answer alike; other names are unaffected.
    assert_limited(&right_password, Duration::from_secs(60));
    assert_limited(&unknown, Duration::from_secs(60));
    assert!(other["errors"].is_null(), "{other}");
}

/// A successful sign-in clears the name's failures: two failures after it are not over a limit of 3.
async fn a_successful_sign_in_clears_the_names_failures(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, |c| c.rate_sign_in_account = per_minute(3)).await;
    let alice = app.sign_up().await;
    for _ in 0..2 {
        app.sign_in_response(&alice.username, "not the password")
            .await;
    }

    // Act
    let success = app.sign_in_response(&alice.username, PASSWORD).await;
    let mut later = Vec::new();
    for _ in 0..2 {
        later.push(
            app.sign_in_response(&alice.username, "not the password")
                .await,
        );
    }

    // Assert: two failures after the success are not over a limit of 3.
    assert!(success["errors"].is_null(), "{success}");
    for response in &later {
        assert_eq!(error_code(response), "UNAUTHENTICATED", "{response}");
    }
}

/// Signs in as `username` with a wrong password, claiming `forwarded` in
/// `X-Forwarded-For`.
async fn sign_in_forwarded(app: &TestApp, username: &str, forwarded: &str) -> Value {
    let sent = json!({ "query": SIGN_IN, "variables": { "u": username, "p": "wrong password" } });
    let headers = [
        ("x-forwarded-for", forwarded),
        ("content-type", "application/json"),
    ];
    let answer = app.post(&headers, sent.to_string()).await;
    answer.json().await.expect("response is not JSON")
}

/// One client address cannot cycle through names: its failed sign-ins count across names, whatever X-Forwarded-For it claims.
#[tokio::test]
async fn one_address_cannot_cycle_through_names() {
    // Arrange: X-Forwarded-For is a client's claim unless configured.
    let app =
        TestApp::spawn_with(Backend::Memory, |c| c.rate_sign_in_address = per_minute(3)).await;
    let name = || crate::helpers::unique_name("guess");
    for i in 0..3 {
        let response = sign_in_forwarded(&app, &name(), &format!("10.0.0.{i}")).await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED");
    }

    // Act
    let fourth = sign_in_forwarded(&app, &name(), "10.0.0.99").await;

    // Assert
    assert_limited(&fourth, Duration::from_secs(60));
}

/// Behind a trusted proxy, the proxy-appended (last) X-Forwarded-For entry is the address counted.
#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_counted() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        c.rate_sign_in_address = per_minute(2);
        c.trust_forwarded_for = true;
    })
    .await;
    let name = || crate::helpers::unique_name("guess");
    for _ in 0..2 {
        sign_in_forwarded(&app, &name(), "203.0.113.7").await;
    }

    // Act
    let same_client = sign_in_forwarded(&app, &name(), "198.51.100.1, 203.0.113.7").await;
    let other_client = sign_in_forwarded(&app, &name(), "203.0.113.8").await;

    // Assert: the proxy-appended (last) entry decides.
    assert_limited(&same_client, Duration::from_secs(60));
    assert_eq!(
        error_code(&other_client),
        "UNAUTHENTICATED",
        "{other_client}"
    );
}

/// Two processes on one Redis share each user's allowance: sends through either count against it.
#[tokio::test]
async fn processes_on_one_redis_share_each_users_allowance() {
    // Arrange: two processes of one deployment.
    let a = TestApp::spawn_with(Backend::Redis, |c| c.rate_send_message = per_minute(4)).await;
    let b = TestApp::spawn_sharing(&a).await;
    let alice = a.sign_up().await;
    let chat = a.create_chat(&alice, &[]).await;
    for (i, app) in [&a, &b, &a, &b].into_iter().enumerate() {
        let response = app
            .send_response(&alice, &chat, &format!("m{i}"), None)
            .await;
        assert!(response["errors"].is_null(), "{response}");
    }

    // Act
    let on_a = a.send_response(&alice, &chat, "fifth", None).await;
    let on_b = b.send_response(&alice, &chat, "sixth", None).await;

    // Assert
    assert_limited(&on_a, Duration::from_secs(60));
    assert_limited(&on_b, Duration::from_secs(60));
}

/// The shipped default limit stops a burst of messages after about 30, with a retry hint of at most 10 s.
#[tokio::test]
async fn the_default_limits_stop_a_burst_of_messages() {
    // Arrange: the shipped defaults, which the harness otherwise turns off.
    let defaults = Config::defaults();
    let app = TestApp::spawn_with(Backend::Memory, |c| {
        c.rate_send_message = defaults.rate_send_message;
    })
    .await;
    let alice = app.sign_up().await;
    let chat = app.create_chat(&alice, &[]).await;

    // Act: a burst far beyond what a person types.
    let mut refused = None;
    for i in 0..100 {
        let response = app
            .send_response(&alice, &chat, &format!("spam {i}"), None)
            .await;
        if !response["errors"].is_null() {
            refused = Some((i, response));
            break;
        }
    }

    // Assert: refused after the default burst of 30 (plus the one or two
    // the allowance regains while the burst is being sent).
    let (at, response) = refused.expect("100 messages in a burst were all accepted");
    assert!(
        (30..=35).contains(&at),
        "refused at message {at}: {response}"
    );
    assert_limited(&response, Duration::from_secs(10));
}
