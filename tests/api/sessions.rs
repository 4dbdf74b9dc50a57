//! Sessions: refresh tokens that rotate and are used up, reuse taken as
//! theft, sign-out (one, everywhere), password changes, and ended sessions'
//! tokens refused over HTTP, at `connection_init` and on open sockets, on
//! every process.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::{
    Backend, Endpoint, PASSWORD, TestApp, data, error_code, unique_name, utc_millis,
};
use crate::ws_client::{WsClient, WsProtocol};

const PAIR: &str = "token expiresAt refreshToken user { id }";

/// A session's pair as a client holds it.
#[derive(Debug, Clone)]
struct Pair {
    token: String,
    refresh: String,
    user: String,
}

fn pair(payload: &Value) -> Pair {
    let text = |field: &str| payload[field].as_str().unwrap().to_owned();
    Pair {
        token: text("token"),
        refresh: text("refreshToken"),
        user: payload["user"]["id"].as_str().unwrap().to_owned(),
    }
}

/// Signs a new user up: the first session's pair, and the username.
async fn sign_up(app: &Endpoint) -> (Pair, String) {
    let name = unique_name("s");
    let query = format!(
        "mutation($u: String!, $p: String!) {{ signUp(username: $u, password: $p) {{ {PAIR} }} }}"
    );
    let response = app
        .graphql(None, &query, json!({ "u": name, "p": PASSWORD }))
        .await;
    (pair(data(&response, "signUp")), name)
}

/// Signs in again as `name`: a second session.
async fn sign_in(app: &Endpoint, name: &str, password: &str) -> Value {
    let query = format!(
        "mutation($u: String!, $p: String!) {{ signIn(username: $u, password: $p) {{ {PAIR} }} }}"
    );
    app.graphql(None, &query, json!({ "u": name, "p": password }))
        .await
}

async fn refresh(app: &Endpoint, refresh_token: &str) -> Value {
    let query =
        format!("mutation($r: String!) {{ refreshSession(refreshToken: $r) {{ {PAIR} }} }}");
    app.graphql(None, &query, json!({ "r": refresh_token }))
        .await
}

/// `me` with `token`: the error code, or "ok".
async fn me(app: &Endpoint, token: &str) -> String {
    let response = app.graphql(Some(token), "{ me { id } }", json!({})).await;
    if response["errors"].is_null() {
        "ok".to_owned()
    } else {
        error_code(&response).to_owned()
    }
}

/// `signOut` with `token`, which must answer true.
async fn sign_out(app: &Endpoint, token: &str) {
    let response = call(app, token, "mutation { signOut }").await;
    assert_eq!(data(&response, "signOut"), true, "{response}");
}

async fn call(app: &Endpoint, token: &str, mutation: &str) -> Value {
    app.graphql(Some(token), mutation, json!({})).await
}

/// A socket acknowledged with `token`.
async fn open_socket(app: &Endpoint, token: &str) -> WsClient {
    let mut client = WsClient::connect(app, WsProtocol::TransportWs).await;
    client.init(token).await;
    client
}

/// Waits (up to `within`) for `client`'s socket to close with 4403.
async fn closed_within(client: &mut WsClient, within: Duration) {
    let started = Instant::now();
    tokio::time::timeout(within, client.expect_close(4403))
        .await
        .unwrap_or_else(|_| panic!("the socket stayed open {within:?} after its session ended"));
    assert!(started.elapsed() <= within);
}

/// A sign-up's pair: the access token expires as configured, the refresh
/// token rotates into a new pair for the same user, and the earlier access
/// token keeps working until its own expiry.
async fn refreshing_rotates_the_pair(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = chat_server::store::now_ms();
    let query = format!(
        "mutation($u: String!, $p: String!) {{ signUp(username: $u, password: $p) {{ {PAIR} }} }}"
    );
    let response = app
        .graphql(
            None,
            &query,
            json!({ "u": unique_name("s"), "p": PASSWORD }),
        )
        .await;
    let first = pair(data(&response, "signUp"));
    let expires = utc_millis(data(&response, "signUp")["expiresAt"].as_str().unwrap());

    let rotated = refresh(&app, &first.refresh).await;

    let second = pair(data(&rotated, "refreshSession"));
    assert_eq!(second.user, first.user);
    assert_ne!(second.refresh, first.refresh);
    let lifetime = app.config.token_ttl_secs * 1000;
    assert!((before + lifetime - 1000..=before + lifetime + 2000).contains(&expires));
    assert_eq!(me(&app, &first.token).await, "ok", "earlier tokens last");
    assert_eq!(me(&app, &second.token).await, "ok");
}

/// A used refresh token presented again ends the whole session: the call is
/// UNAUTHENTICATED and every access token of the session is refused,
/// while another session of the same user goes on.
async fn a_reused_refresh_token_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, name) = sign_up(&app).await;
    let other = pair(data(&sign_in(&app, &name, PASSWORD).await, "signIn"));
    let second = pair(data(&refresh(&app, &first.refresh).await, "refreshSession"));

    let replay = refresh(&app, &first.refresh).await;

    assert_eq!(error_code(&replay), "UNAUTHENTICATED");
    assert_eq!(me(&app, &first.token).await, "UNAUTHENTICATED");
    assert_eq!(me(&app, &second.token).await, "UNAUTHENTICATED");
    assert_eq!(
        error_code(&refresh(&app, &second.refresh).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(me(&app, &other.token).await, "ok", "other sessions go on");
}

/// Two refreshes racing with one token: at most one gets a pair, and the
/// session ends either way (the loser presented a used token).
async fn racing_refreshes_end_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, _) = sign_up(&app).await;

    let (a, b) = tokio::join!(refresh(&app, &first.refresh), refresh(&app, &first.refresh));

    let winners: Vec<Pair> = [&a, &b]
        .into_iter()
        .filter(|r| r["errors"].is_null())
        .map(|r| pair(data(r, "refreshSession")))
        .collect();
    assert!(winners.len() <= 1, "{a} {b}");
    for winner in &winners {
        assert_eq!(me(&app, &winner.token).await, "UNAUTHENTICATED");
    }
    assert_eq!(me(&app, &first.token).await, "UNAUTHENTICATED");
}

/// Unknown, malformed, truncated, expired and wrong-type refresh tokens
/// are UNAUTHENTICATED (an oversized one BAD_USER_INPUT), never a 5xx.
async fn bad_refresh_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.refresh_token_ttl_secs = 1).await;
    let (first, _) = sign_up(&app).await;
    let truncated = &first.refresh[..first.refresh.len() - 2];
    let unknown = first.refresh.replacen('.', ".0", 1);
    for token in ["", "nonsense", truncated, &unknown, "r1.x.y"] {
        assert_eq!(
            error_code(&refresh(&app, token).await),
            "UNAUTHENTICATED",
            "{token:?}"
        );
    }
    assert_eq!(
        error_code(&refresh(&app, &"r".repeat(10_000)).await),
        "BAD_USER_INPUT"
    );
    let wrong_type = app
        .graphql(
            None,
            "mutation($r: String!) { refreshSession(refreshToken: $r) { token } }",
            json!({ "r": 5 }),
        )
        .await;
    assert_eq!(error_code(&wrong_type), "BAD_USER_INPUT");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        error_code(&refresh(&app, &first.refresh).await),
        "UNAUTHENTICATED",
        "expired"
    );
}

/// signOut ends the calling token's session at once: HTTP refuses it, a
/// new connection_init is closed with 4403, and an open socket is closed
/// with 4403 within a second. The user's other sessions go on.
async fn sign_out_ends_one_session_everywhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, name) = sign_up(&app).await;
    let other = pair(data(&sign_in(&app, &name, PASSWORD).await, "signIn"));
    let mut open = open_socket(&app, &first.token).await;
    let mut other_socket = open_socket(&app, &other.token).await;

    sign_out(&app, &first.token).await;

    assert_eq!(me(&app, &first.token).await, "UNAUTHENTICATED");
    closed_within(&mut open, Duration::from_secs(1)).await;
    let mut again = WsClient::connect(&app, WsProtocol::TransportWs).await;
    again.send_token(&first.token).await;
    again.expect_close(4403).await;
    assert_eq!(
        error_code(&refresh(&app, &first.refresh).await),
        "UNAUTHENTICATED"
    );
    assert_eq!(me(&app, &other.token).await, "ok");
    other_socket
        .expect_silence(Duration::from_millis(200))
        .await;
}

/// signOutEverywhere ends every session of the viewer and closes all its
/// sockets.
async fn sign_out_everywhere_ends_every_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, name) = sign_up(&app).await;
    let other = pair(data(&sign_in(&app, &name, PASSWORD).await, "signIn"));
    let (stranger, _) = sign_up(&app).await;
    let mut socket = open_socket(&app, &other.token).await;

    let response = call(&app, &first.token, "mutation { signOutEverywhere }").await;

    assert_eq!(data(&response, "signOutEverywhere"), true);
    closed_within(&mut socket, Duration::from_secs(1)).await;
    for token in [&first.token, &other.token] {
        assert_eq!(me(&app, token).await, "UNAUTHENTICATED");
    }
    assert_eq!(me(&app, &stranger.token).await, "ok");
}

/// changePassword checks the current password first (UNAUTHENTICATED
/// whatever the new one), then the new one (BAD_USER_INPUT); then sets it,
/// ends every session including the caller's, and returns a new pair.
async fn change_password_ends_every_session_and_starts_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, name) = sign_up(&app).await;
    let other = pair(data(&sign_in(&app, &name, PASSWORD).await, "signIn"));
    let change = |current: &str, new: &str| {
        let query = format!(
            "mutation($c: String!, $n: String!) {{ changePassword(currentPassword: $c, newPassword: $n) {{ {PAIR} }} }}"
        );
        let variables = json!({ "c": current, "n": new });
        let (app, token) = (&app, first.token.clone());
        async move { app.graphql(Some(&token), &query, variables).await }
    };

    assert_eq!(
        error_code(&change("wrong password", "x").await),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        error_code(&change(PASSWORD, "short").await),
        "BAD_USER_INPUT"
    );
    assert_eq!(
        me(&app, &first.token).await,
        "ok",
        "refusals change nothing"
    );
    let changed = change(PASSWORD, "a new long password").await;

    let fresh = pair(data(&changed, "changePassword"));
    for token in [&first.token, &other.token] {
        assert_eq!(me(&app, token).await, "UNAUTHENTICATED");
    }
    assert_eq!(me(&app, &fresh.token).await, "ok");
    assert_eq!(
        error_code(&sign_in(&app, &name, PASSWORD).await),
        "UNAUTHENTICATED"
    );
    assert!(sign_in(&app, &name, "a new long password").await["errors"].is_null());
}

/// A token minted with the shared secret has no session: it works, and
/// signOut answers true without ending anything.
async fn a_token_without_a_session_works_and_cannot_be_signed_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.sign_up().await;
    let minted = crate::helpers::mint_token(
        &ada.id,
        crate::helpers::now_secs() + 600,
        crate::helpers::TEST_SECRET,
    );
    assert_eq!(
        data(
            &call(&app, &minted, "mutation { signOut }").await,
            "signOut"
        ),
        true
    );
    assert_eq!(me(&app, &minted).await, "ok");
}

crate::on_both_backends!(
    refreshing_rotates_the_pair,
    a_reused_refresh_token_ends_the_session,
    racing_refreshes_end_the_session,
    bad_refresh_tokens_are_refused,
    sign_out_ends_one_session_everywhere,
    sign_out_everywhere_ends_every_session,
    change_password_ends_every_session_and_starts_one,
    a_token_without_a_session_works_and_cannot_be_signed_out,
);

/// Two processes on one Redis: a sign-out through A closes the user's
/// socket on B within a second, and B refuses the token.
#[tokio::test]
async fn a_sign_out_on_one_process_closes_sockets_on_another() {
    let a = TestApp::spawn(Backend::Redis).await;
    let b = TestApp::spawn_sharing(&a).await;
    sign_out_through_a_reaches_b(&a, &b).await;
}

/// The same with two real `chat-server` processes on one Redis.
#[tokio::test]
async fn a_sign_out_through_one_chat_server_process_closes_sockets_on_another() {
    let redis = crate::redis_server::RedisServer::start().await;
    let env = [
        ("REDIS_URL", redis.url()),
        ("JWT_SECRET", crate::helpers::TEST_SECRET.to_owned()),
    ];
    let a = crate::binary::Binary::start(&env, false).await;
    let b = crate::binary::Binary::start(&env, false).await;
    sign_out_through_a_reaches_b(&a.endpoint(), &b.endpoint()).await;
}

async fn sign_out_through_a_reaches_b(a: &Endpoint, b: &Endpoint) {
    let (first, _) = sign_up(a).await;
    let mut on_b = open_socket(b, &first.token).await;

    sign_out(a, &first.token).await;

    closed_within(&mut on_b, Duration::from_secs(1)).await;
    assert_eq!(me(b, &first.token).await, "UNAUTHENTICATED");
}

/// A process whose subscription to the notices broke while a session
/// ended still refuses the session's token: it asks Redis until it has
/// re-read the ended sessions.
#[tokio::test]
async fn a_process_that_missed_the_notice_still_refuses() {
    let a = TestApp::spawn(Backend::Redis).await;
    let b = TestApp::spawn_sharing(&a).await;
    let (first, _) = sign_up(&a).await;
    assert_eq!(me(&b, &first.token).await, "ok");
    let client = ::redis::Client::open(a.config.redis_url.clone().unwrap()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();

    // Break every subscription (A's and B's), then end the session before
    // they can come back.
    let _: i64 = ::redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .unwrap();
    sign_out(&a, &first.token).await;

    assert_eq!(me(&b, &first.token).await, "UNAUTHENTICATED", "at once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        me(&b, &first.token).await,
        "UNAUTHENTICATED",
        "after re-reading"
    );
}

/// Redis restarted (from its files): ended sessions stay ended, and the
/// server, whose notices were cut, re-reads them.
#[tokio::test]
async fn ended_sessions_stay_ended_across_a_redis_restart() {
    let mut app = TestApp::spawn_durable().await;
    let (first, name) = sign_up(&app).await;
    let other = pair(data(&sign_in(&app, &name, PASSWORD).await, "signIn"));
    sign_out(&app, &first.token).await;

    app.redis.as_mut().unwrap().restart().await;

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = me(&app, &other.token).await;
        if status == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never recovered: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(me(&app, &first.token).await, "UNAUTHENTICATED");
    assert_eq!(
        error_code(&refresh(&app, &first.refresh).await),
        "UNAUTHENTICATED"
    );
}
