//! The GraphQL mutations the generator needs, over `POST /graphql` on
//! keep-alive connections (one pooled `reqwest` client).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

/// Password of every benchmark user.
const PASSWORD: &str = "benchmark-password";

/// A GraphQL endpoint and the HTTP client that talks to it.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    url: Arc<str>,
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
}

impl Api {
    /// `connections`: how many keep-alive connections the pool may hold.
    pub fn new(server: SocketAddr, connections: usize) -> anyhow::Result<Api> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            client,
            url: format!("http://{server}/graphql").into(),
        })
    }

    /// Runs one operation and returns its `data`; a GraphQL error is an error.
    pub async fn call(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .post(&*self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let mut body: Value = response
            .json()
            .await
            .with_context(|| format!("HTTP {status}"))?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors (HTTP {status}): {errors}");
        }
        body.get_mut("data")
            .map(Value::take)
            .ok_or_else(|| anyhow!("no data in the answer (HTTP {status})"))
    }

    /// Signs up `count` users named after `prefix`, `parallel` at a time
    /// (argon2 makes each sign-up cost tens of milliseconds of server CPU).
    pub async fn sign_up_many(
        &self,
        prefix: &str,
        count: usize,
        parallel: usize,
    ) -> anyhow::Result<Vec<User>> {
        stream::iter(0..count)
            .map(|i| self.sign_up(format!("{prefix}-{i}")))
            .buffered(parallel.max(1))
            .try_collect()
            .await
    }

    async fn sign_up(&self, username: String) -> anyhow::Result<User> {
        let data = self
            .call(
                None,
                "mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token user { id } } }",
                json!({ "u": username, "p": PASSWORD }),
            )
            .await
            .with_context(|| format!("signing up {username}"))?;
        let field = |pointer: &str| {
            data.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("signUp answered without {pointer}"))
        };
        Ok(User {
            id: field("/signUp/user/id")?,
            token: field("/signUp/token")?,
        })
    }

    /// Creates a chat owned by `creator` with the other `members`.
    pub async fn create_chat(
        &self,
        creator: &User,
        title: &str,
        members: &[&User],
    ) -> anyhow::Result<String> {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let data = self
            .call(
                Some(&creator.token),
                "mutation($t: String!, $m: [ID!]) { createChat(input: {title: $t, memberIds: $m}) { id } }",
                json!({ "t": title, "m": ids }),
            )
            .await
            .with_context(|| format!("creating chat {title}"))?;
        data.pointer("/createChat/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("createChat answered without an id"))
    }

    /// Sends a message and returns its cursor.
    pub async fn send_message(
        &self,
        token: &str,
        chat: &str,
        body: &str,
    ) -> anyhow::Result<String> {
        let data = self
            .call(
                Some(token),
                "mutation($c: ID!, $b: String!) { sendMessage(input: {chatId: $c, body: $b}) { cursor } }",
                json!({ "c": chat, "b": body }),
            )
            .await?;
        data.pointer("/sendMessage/cursor")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("sendMessage answered without a cursor"))
    }
}
