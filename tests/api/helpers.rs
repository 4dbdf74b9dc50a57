//! The test harness: a real server on port 0 against a chosen backend, and
//! helpers to talk GraphQL to it over real HTTP.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use chat_server::cursor::Cursor;
use chat_server::store::{Event, LogId, Positions, Store};
use chat_server::throttle::Rate;
use chat_server::{AppState, Config};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::redis_cluster::RedisCluster;
use crate::redis_server::RedisServer;
use crate::shape;

/// Which storage backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
    /// The memory backend with its log split into
    /// [`PARTITIONED_MEMORY`] partitions, as on a cluster.
    PartitionedMemory,
    /// The shared local Redis Cluster (3 primaries), with the log in 3
    /// partitions.
    Cluster3,
    /// The same cluster with the log in 16 partitions.
    Cluster16,
}

/// The partitions of [`Backend::PartitionedMemory`].
pub const PARTITIONED_MEMORY: u16 = 16;

/// Generates, for each named `async fn name(backend: Backend)`, one test per
/// backend: `memory::name`, `redis::name`, `memory_partitioned::name`,
/// `cluster_3::name` and `cluster_16::name`. Behaviour is written once and
/// must hold on each.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $crate::on_single_log_backends!($($name),*);
        $crate::on_backend!(memory_partitioned, PartitionedMemory, $($name),*);
        $crate::on_backend!(cluster_3, Cluster3, $($name),*);
        $crate::on_backend!(cluster_16, Cluster16, $($name),*);
    };
}

/// A module `$module` of tests running each `$name` on `Backend::$backend`.
#[macro_export]
macro_rules! on_backend {
    ($module:ident, $backend:ident, $($name:ident),*) => {
        mod $module {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::$backend).await
                }
            )*
        }
    };
}

/// As [`on_both_backends`], for tests of one partition's log (the
/// consumer's): `memory::name` and `redis::name`.
#[macro_export]
macro_rules! on_single_log_backends {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Memory).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Redis).await
                }
            )*
        }
    };
}

/// A Redis key prefix no other test uses: servers sharing a Redis (the
/// test cluster) keep to their own keys.
pub fn own_prefix() -> String {
    format!("test:{}:", uuid::Uuid::new_v4().simple())
}

/// Asserts that `delivered` (a cursor an all-chats subscription delivered
/// with a message) stands at the place of the message whose own cursor is
/// `message`: the same string on one partition; on several, a feed cursor
/// whose position in the message's partition is the message's.
pub fn assert_same_place(delivered: &str, message: &str) {
    if delivered == message {
        return;
    }
    let Ok(Cursor::Log { partition, id, .. }) = Cursor::decode(message) else {
        panic!("not a message cursor: {message}");
    };
    let Ok(Cursor::Feed { parts }) = Cursor::decode(delivered) else {
        panic!("{delivered} is neither {message} nor a feed cursor");
    };
    assert_eq!(
        parts[usize::from(partition)].1,
        id,
        "{delivered} vs {message}"
    );
}

/// A running server. Dropping it stops the server and its Redis. Its
/// address and the GraphQL calls tests make to it are its [`Endpoint`].
pub struct TestApp {
    endpoint: Endpoint,
    pub config: Config,
    /// The server's own store, for assertions on the event log.
    pub store: Arc<dyn Store>,
    shutdown: Option<oneshot::Sender<()>>,
    /// The private redis-server this app owns (stopped on drop); tests of
    /// faults kill and restart it.
    pub redis: Option<RedisServer>,
}

/// The shared JWT secret of test servers (so tests may mint their own tokens).
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret";

impl TestApp {
    /// Starts a server on the given backend with default settings.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server after letting the test adjust its configuration.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let (redis, partitions) = match backend {
            Backend::Memory => (None, 1),
            Backend::Redis => (Some(RedisServer::start().await), 1),
            Backend::PartitionedMemory => (None, PARTITIONED_MEMORY),
            Backend::Cluster3 | Backend::Cluster16 => {
                let partitions = if backend == Backend::Cluster3 { 3 } else { 16 };
                let url = &RedisCluster::shared().url;
                return Self::spawn_on(url, |config| {
                    config.log_partitions = partitions;
                    adjust(config)
                })
                .await;
            }
        };
        Self::launch(redis, |config| {
            config.log_partitions = partitions;
            adjust(config)
        })
        .await
    }

    /// Starts a server on the Redis (or cluster) at `url`, with a key
    /// prefix of its own, after letting the test adjust its configuration.
    pub async fn spawn_on(url: &str, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let url = url.to_owned();
        Self::launch(None, |config| {
            config.redis_url = Some(url);
            config.redis_key_prefix = own_prefix();
            adjust(config)
        })
        .await
    }

    /// Starts a server on a Redis that writes every change to disk before
    /// answering, so the test can kill it (`app.redis`) and restart it
    /// without losing an acknowledged write.
    pub async fn spawn_durable() -> TestApp {
        Self::launch(Some(RedisServer::start_durable().await), |_| {}).await
    }

    /// Starts a second server with `other`'s configuration, sharing its
    /// Redis, key prefix and secret: two processes of one deployment.
    pub async fn spawn_sharing(other: &TestApp) -> TestApp {
        assert!(
            other.config.redis_url.is_some(),
            "only a Redis-backed server can be shared"
        );
        let mut shared = other.config.clone();
        shared.listen = "127.0.0.1:0".parse().unwrap();
        Self::launch(None, |config| *config = shared).await
    }

    /// Starts the server, owning `redis` (if given) for its lifetime.
    async fn launch(redis: Option<RedisServer>, adjust: impl FnOnce(&mut Config)) -> TestApp {
        init_logs();
        let mut config = Config::defaults();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.redis_url = redis.as_ref().map(RedisServer::url);
        config.jwt_secret = Some(TEST_SECRET.to_owned());
        config.redis_key_prefix = "test:".to_owned();
        // Most tests write far faster than a person could; the write limits
        // are off unless a test (see `rate_limits`) turns them on.
        config.rate_send_message = Rate::OFF;
        config.rate_create_chat = Rate::OFF;
        config.rate_add_member = Rate::OFF;
        config.rate_change_message = Rate::OFF;
        config.rate_react = Rate::OFF;
        config.rate_mark_read = Rate::OFF;
        adjust(&mut config);
        let state = AppState::from_config(&config).await.expect("app state");
        let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let store = state.store.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(chat_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            endpoint: Endpoint::new(address),
            config,
            store,
            shutdown: Some(tx),
            redis,
        }
    }

    /// The whole event log, oldest first, read from the server's own store.
    /// With several partitions: every partition's events, ordered by
    /// their positions' time (the order within each chat is exact; across
    /// partitions there is none to keep).
    pub async fn events(&self) -> Vec<Event> {
        let mut events = Vec::new();
        for partition in self.store.partitions().all() {
            let part = self.store.read_log(partition, LogId::ZERO, 10_000).await;
            events.extend(part.expect("read_log failed"));
        }
        events.sort_by_key(|event| event.id);
        events
    }

    /// The events after `head` (a [`TestApp::log_head`]), as
    /// [`TestApp::events`] orders them.
    pub async fn events_after(&self, head: &Positions) -> Vec<Event> {
        let mut events = self.events().await;
        events.retain(|event| event.id > head.get(event.partition));
        events
    }

    /// What an all-chats subscription resumes from to get what follows
    /// `cursor` (a message or event cursor), called right after that event
    /// was written. With one partition that is the cursor itself. With
    /// several, a single chat's cursor is refused there, so this is the
    /// feed cursor of every partition's head now: what a client that had
    /// followed every chat up to that event would hold.
    pub async fn all_chats_after(&self, cursor: &str) -> String {
        if self.store.partitions().count() == 1 {
            return cursor.to_owned();
        }
        let Ok(Cursor::Log { partition, id, .. }) = Cursor::decode(cursor) else {
            panic!("not a message or event cursor: {cursor}");
        };
        let heads = self.log_head().await;
        let partition = self.store.partitions().get(usize::from(partition));
        assert_eq!(
            heads.get(partition.expect("a partition of this log")),
            id,
            "called after other writes to the cursor's partition"
        );
        let epochs = self.store.epochs().await.expect("epochs");
        Cursor::feed(&epochs, &heads)
    }

    /// The position of the newest event in every partition of the log.
    pub async fn log_head(&self) -> Positions {
        self.store.log_heads().await.expect("log_head failed")
    }
}

impl Deref for TestApp {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A server's address and the GraphQL calls tests make to it, whether the
/// server runs in this process ([`TestApp`] derefs to one) or in another
/// (`binary::Binary::endpoint`).
///
/// A GraphQL verb comes in up to two forms: `<verb>_response` returns the
/// raw response, refusals included, for tests that assert on them; `<verb>`
/// fails the test when refused and returns what the server made.
pub struct Endpoint {
    /// `http://host:port`.
    pub address: String,
    pub http: reqwest::Client,
}

impl Endpoint {
    /// The server at `address` (`http://host:port`).
    pub fn new(address: String) -> Endpoint {
        Endpoint {
            address,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs an operation to `/graphql` and returns the JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables });
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request failed");
        assert_eq!(response.status(), 200, "unexpected HTTP status");
        let response = response.json().await.expect("response is not JSON");
        shape::check(&body, &response);
        response
    }

    /// POSTs `body` as it is to `/graphql` with these headers (none are
    /// added) and returns the response as it is, any status; a JSON answer
    /// is checked against the request and the schema.
    pub async fn post(
        &self,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> reqwest::Response {
        let body = body.into();
        let mut request = self
            .http
            .post(format!("{}/graphql", self.address))
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        shape::checked(&body, request.send().await.expect("request failed")).await
    }

    /// GETs `path` (`/health`, `/ready`, `/metrics`, a playground page) and
    /// returns the response as it is, failing the test only when the server
    /// does not answer.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request failed")
    }

    /// GETs `/graphql?query=…` with a bearer token: GraphQL over HTTP's GET.
    /// Returns the response as it is (any status), its body checked against
    /// `query` and the schema.
    pub async fn get_graphql(&self, token: &str, query: &str) -> reqwest::Response {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/graphql", self.address),
            [("query", query)],
        )
        .unwrap();
        let response = self
            .http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request failed");
        shape::checked(json!({ "query": query }).to_string().as_bytes(), response).await
    }

    /// Signs up a fresh user with a unique name.
    pub async fn sign_up(&self) -> Account {
        self.sign_up_as(&unique_name("user")).await
    }

    /// Signs up `username` with [`PASSWORD`], failing the test when refused.
    pub async fn sign_up_as(&self, username: &str) -> Account {
        let response = self.sign_up_response(username, PASSWORD).await;
        let payload = data(&response, "signUp");
        Account {
            token: payload["token"].as_str().unwrap().to_owned(),
            id: payload["user"]["id"].as_str().unwrap().to_owned(),
            username: username.to_owned(),
        }
    }

    /// [`SIGN_UP`] with these credentials and no token; the raw response,
    /// refusals included.
    pub async fn sign_up_response(&self, username: &str, password: &str) -> Value {
        self.graphql(None, SIGN_UP, json!({ "u": username, "p": password }))
            .await
    }

    /// [`SIGN_IN`] with these credentials and no token; the raw response,
    /// refusals included.
    pub async fn sign_in_response(&self, username: &str, password: &str) -> Value {
        self.graphql(None, SIGN_IN, json!({ "u": username, "p": password }))
            .await
    }

    /// Creates a chat as `owner` with the given other members; returns its id.
    pub async fn create_chat(&self, owner: &Account, members: &[&Account]) -> String {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let response = self
            .graphql(
                Some(&owner.token),
                "mutation($i: CreateChatInput!) { createChat(input: $i) { id } }",
                json!({ "i": { "title": "test chat", "memberIds": ids } }),
            )
            .await;
        data(&response, "createChat")["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// [`ADD_MEMBER`]: `by` adds the user `user_id` to `chat`; the raw
    /// response, refusals included.
    pub async fn add_member_response(&self, by: &Account, chat: &str, user_id: &str) -> Value {
        let variables = json!({ "c": chat, "u": user_id });
        self.graphql(Some(&by.token), ADD_MEMBER, variables).await
    }

    /// `by` adds the user `user_id` to `chat`, failing the test when
    /// refused; returns the chat (`id`, `members { id }`).
    pub async fn add_member(&self, by: &Account, chat: &str, user_id: &str) -> Value {
        let response = self.add_member_response(by, chat, user_id).await;
        data(&response, "addMember").clone()
    }

    /// [`LEAVE_CHAT`]: `member` leaves `chat`; the raw response, refusals
    /// included.
    pub async fn leave_response(&self, member: &Account, chat: &str) -> Value {
        self.graphql(Some(&member.token), LEAVE_CHAT, json!({ "c": chat }))
            .await
    }

    /// `member` leaves `chat`, failing the test unless `leaveChat` is true.
    pub async fn leave(&self, member: &Account, chat: &str) {
        let response = self.leave_response(member, chat).await;
        assert_eq!(data(&response, "leaveChat"), true, "{response:#}");
    }

    /// [`SEND_MESSAGE`]: `sender` sends `body` into `chat`, with
    /// `clientMessageId` when given; the raw response, refusals included.
    pub async fn send_response(
        &self,
        sender: &Account,
        chat: &str,
        body: &str,
        client_message_id: Option<&str>,
    ) -> Value {
        let mut input = json!({ "chatId": chat, "body": body });
        if let Some(key) = client_message_id {
            input["clientMessageId"] = json!(key);
        }
        self.graphql(Some(&sender.token), SEND_MESSAGE, json!({ "i": input }))
            .await
    }

    /// Sends a message as `sender`, failing the test when refused; returns
    /// the message as [`SEND_MESSAGE`] selects it.
    pub async fn send(&self, sender: &Account, chat: &str, body: &str) -> Value {
        let response = self.send_response(sender, chat, body, None).await;
        data(&response, "sendMessage").clone()
    }

    /// [`HISTORY`]: one page of `chat`'s messages as `viewer` reads them
    /// (`last`, `before` as given); the raw response, refusals included.
    pub async fn history_response(
        &self,
        viewer: &Account,
        chat: &str,
        last: Option<i64>,
        before: Option<&str>,
    ) -> Value {
        let variables = json!({ "id": chat, "last": last, "before": before });
        self.graphql(Some(&viewer.token), HISTORY, variables).await
    }

    /// One page of `chat`'s messages as `viewer` reads them: the
    /// `Chat.messages` connection, failing the test on an error.
    pub async fn history(
        &self,
        viewer: &Account,
        chat: &str,
        last: Option<i64>,
        before: Option<&str>,
    ) -> Value {
        let response = self.history_response(viewer, chat, last, before).await;
        data(&response, "chat")["messages"].clone()
    }
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct Account {
    pub token: String,
    pub id: String,
    pub username: String,
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

/// `signUp` with variables `u` (username) and `p` (password).
pub const SIGN_UP: &str = "mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token user { id username createdAt } } }";

/// `signIn` with variables `u` (username) and `p` (password).
pub const SIGN_IN: &str = "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { token user { id username createdAt } } }";

/// `addMember` with variables `c` (chat) and `u` (user); selects the chat's
/// `id` and `members { id }`.
pub const ADD_MEMBER: &str =
    "mutation($c: ID!, $u: ID!) { addMember(chatId: $c, userId: $u) { id members { id } } }";

/// `leaveChat` with variable `c` (chat).
pub const LEAVE_CHAT: &str = "mutation($c: ID!) { leaveChat(chatId: $c) }";

/// `sendMessage` with variable `i` (a SendMessageInput); selects every
/// field of the message the suite compares.
pub const SEND_MESSAGE: &str = "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id chatId body cursor createdAt clientMessageId sender { id username } } }";

/// `Chat.messages` with variables `id` (chat), `last` and `before`; selects
/// each edge's cursor and node and the whole `pageInfo`.
pub const HISTORY: &str = "query($id: ID!, $last: Int, $before: String) { chat(id: $id) { messages(last: $last, before: $before) { edges { cursor node { id body cursor createdAt } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } } }";

/// A username no other test uses (3–32 characters).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!("{prefix}_{pid}_{n}")
}

/// `response.data[field]`, failing the test (with the errors) when absent.
pub fn data<'a>(response: &'a Value, field: &str) -> &'a Value {
    let value = &response["data"][field];
    assert!(!value.is_null(), "no data.{field}; response: {response:#}");
    value
}

/// A token for user `sub` signed with `secret`, expiring at `exp` (seconds
/// since the Unix epoch): what another service sharing the secret issues.
pub fn mint_token(sub: &str, exp: u64, secret: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let claims = json!({ "sub": sub, "exp": exp, "iat": now_secs() });
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Milliseconds since the Unix epoch of a `DateTime`, failing unless it is
/// RFC 3339 in UTC.
pub fn utc_millis(text: &str) -> u64 {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"));
    assert!(at.offset().is_utc(), "{text:?} is not in UTC");
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).expect("a time before 1970")
}

/// The `extensions.code` of the first error, failing when there is none.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code; response: {response:#}"))
}

/// Logs only when TEST_LOG is set, so passing runs stay quiet.
fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_test_writer()
            .try_init();
    }
}
