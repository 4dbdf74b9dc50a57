//! The Redis backend: many server processes sharing one Redis, or a Redis
//! Cluster.
//!
//! It behaves exactly like [`super::memory::MemoryStore`]; the behavioural
//! test suite runs against both, and against a cluster with 3 and with 16
//! partitions.
//!
//! # Layout
//!
//! Every key starts with a configurable prefix (see [`Keys`]). On a
//! cluster, or with more than one partition, the prefix is followed by a
//! hash tag: `{p<N>}` for every key of a chat in partition N (including
//! each member's index of their chats in that partition, and the
//! partition's log), `{a}` for accounts and sessions; presence keys carry
//! none. The names below leave the tags out.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `user:{id}` | hash | `username` (as typed), `password_hash`, `created_at` (ms) |
//! | `username:{lowercased}` | string | the user's id; `SET NX` makes names unique ignoring case |
//! | `user:{id}:chats` | set | ids of the user's chats (one set per partition, tagged with it) |
//! | `chat:{id}` | hash | `title`, `created_by`, `created_at`, `last_activity` (ms), counters `join_seq`, `msg_count`, `reaction_seq` |
//! | `chat:{id}:members` | sorted set | member ids scored by join order |
//! | `chat:{id}:messages` | stream | the chat's messages as sent, each with its event's id and its ordinal `n` |
//! | `chat:{id}:changes` | hash | per message id: `<edited at>\|<deleted at>\|<body now>`, for edited or deleted messages |
//! | `chat:{id}:deleted` | sorted set | deleted message ids scored by ordinal |
//! | `chat:{id}:reads` | hash | per member: `<ordinal>\|<message id>\|<at>` (the last two empty at the join) |
//! | `chat:{id}:reactions:{message}` | sorted set | the message's emoji, scored by each group's earliest reaction |
//! | `chat:{id}:reactions:{message}:{emoji}` | sorted set | the users who reacted with the emoji, scored by reaction order |
//! | `events` | stream | a partition's event log, trimmed to the retention |
//! | `log:epoch` | string | the partition log's epoch |
//! | `log:trimmed` | string | the id of the newest event trimmed from the partition's log |
//! | `log:primary` | string | on a cluster: the replication id of the primary that last served the partition (`watch_primary.lua`) |
//! | `idem:{chat}:{sender}:{clientMessageId}` | string | the first message's id, expiring after [`IDEMPOTENCY_TTL_MS`] |
//! | `chat:{id}:typing` | hash | per typist: `<order>\|<until>` (start order from the counter field `#`; a deadline in ms on Redis's clock); expires with the last typist |
//! | `user:{id}:presence` | hash | `h:<process>`: until when that process holds the user present; `seen`: when the user last went offline |
//!
//! Typing and presence are not history: their entries carry deadlines,
//! checked on Redis's clock by every script that reads them, and their
//! changes are announced on pub/sub channels named like their keys (see
//! the `signals` module).
//!
//! Why these shapes:
//!
//! - Members are a sorted set scored by a per-chat counter (`join_seq`), so
//!   `ZRANGE` gives join order, and a member who leaves and is added again
//!   gets a new, highest score: last, as the contract says.
//! - A user's chats are a plain set, not a set sorted by activity: ordering
//!   `chats` by activity is done by the caller from `last_activity`, which
//!   keeps `sendMessage` O(1) instead of O(members).
//! - With partitions, a user's chats are one set per partition, each in the
//!   slot of the chats it lists, so joining or leaving stays inside the
//!   chat's write. `chats_of` reads every partition's set at once and each
//!   partition's chat hashes in one pipeline (a cluster runs a pipeline
//!   only within a slot), then merges; `share_a_chat` is one `SINTERCARD`
//!   per partition.
//! - Checking that users exist (creating a chat, adding a member) is done
//!   before the write script, not in it: accounts live in another slot,
//!   and are never deleted, so the check cannot go stale.
//! - A message is stored in its chat's stream under its event's id, so one
//!   id is both the history cursor and the log position.
//! - Stream entries cannot change, so an edit or a delete is written to
//!   `changes` and read over the entry (a page of history is one read
//!   script); the entry keeps what a tombstone keeps (id, sender, reply).
//! - `unreadCount` reads no messages: every message gets an ordinal (the
//!   chat's `msg_count` after it), a read position stores the ordinal it is
//!   at, and unread = `msg_count` − that ordinal − `ZCOUNT` of `deleted`
//!   after it: two hash reads and one O(log n) count, whatever the length
//!   of the history (`read_state.lua`).
//! - Trimming is exact and records the newest trimmed id, because Redis does
//!   not record what `XADD MAXLEN` trims (its `max-deleted-entry-id` only
//!   follows `XDEL`) and an `Expired` answer must be exact.
//!
//! # Event entries
//!
//! Every entry of `events` has `type` (the event's GraphQL type name) and
//! `chat` (the chat id), then:
//!
//! | type | fields |
//! |---|---|
//! | `ChatCreated` | `members`: ids joined with `,`, creator first |
//! | `MemberJoined` | `user`, `by` (who added them) |
//! | `MemberLeft` | `user` |
//! | `MessageCreated` | `sender`, `body`, `n` (ordinal), `re` (replied-to id; absent when none), `cmid` (client message id; absent when none) |
//! | `MessageEdited`, `MessageDeleted` | `msg` (the message's id) |
//! | `ReactionAdded`, `ReactionRemoved` | `msg`, `emoji`, `user` |
//! | `ChatRead` | `user`, `msg` (the new read position) |
//!
//! Entries of `chat:{id}:messages` carry the message fields (`sender`,
//! `body`, `n`, optional `re` and `cmid`), so one decoder reads a message
//! from either.
//!
//! # Atomicity
//!
//! Each write is one Lua script (see the `scripts` module): checks, the entity, its
//! event, trimming, and creating the epoch when the log is new all happen in
//! one step no other command interleaves with.

mod connection;
mod decode;
mod io;
mod keys;
mod log;
mod scripts;
mod sessions;
mod signals;
mod tail;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use redis::{FromRedisValue, Script, ScriptInvocation};

use crate::domain::{ChatId, ChatTitle, Emoji, MessageBody, SessionId, UserId, Username};
use crate::store::LogTail;

use super::{
    Changed, Chat, Event, IDEMPOTENCY_TTL_MS, LogId, MAX_DISTINCT_EMOJI, MAX_REACTION_USERS,
    Message, MessagePage, NewMessage, Partition, Partitions, Positions, ReactionGroup,
    ReadPosition, ReadState, Sent, Store, StoreError, StoreResult, User, now_ms,
};
use super::{Ended, Millis, RefreshHash, Rotation, SessionNotices};
use decode::{ChangedEntry, Entry, Fields, GroupReply, MessageReply, Reply, SentReply};
use io::RedisIo;
use log::{backend, new_epoch, predecessor};
use scripts::Scripts;

pub use connection::{Connection, Deployment};
pub use keys::Keys;
pub use tail::RedisTail;

/// How a Redis store is set up, besides where it is.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// Prefix of every key.
    pub prefix: String,
    /// Events each partition's log keeps at least.
    pub retention: usize,
    pub partitions: Partitions,
    /// Replicas that must confirm each write to the log before it is
    /// acknowledged (`WAIT`), and on a cluster, read the log from replicas
    /// (so nothing is delivered that a failover could take back); 0 for
    /// neither.
    pub wait_replicas: u8,
    /// How long a write waits for those confirmations.
    pub wait_timeout: Duration,
}

impl RedisSettings {
    /// One partition, no replica confirmations.
    pub fn new(prefix: &str, retention: usize) -> Self {
        Self {
            prefix: prefix.to_owned(),
            retention,
            partitions: Partitions::default(),
            wait_replicas: 0,
            wait_timeout: Duration::from_millis(500),
        }
    }
}

/// A store kept in Redis, shared by every process pointed at it.
pub struct RedisStore {
    /// Where Redis is, for opening dedicated connections (the log tails,
    /// pub/sub).
    deployment: Deployment,
    /// One multiplexed, self-reconnecting connection for every request;
    /// cloning it is cheap and shares the socket(s).
    conn: Connection,
    /// What the log is read with for delivery: `conn`, or on a cluster
    /// whose writes wait for replicas, a connection reading replicas.
    log_conn: Connection,
    /// The thread that drives `conn`; shared with the throttle, which uses
    /// `conn` too.
    io: Arc<RedisIo>,
    keys: Keys,
    scripts: Scripts,
    /// Events each partition's log keeps at least (and, trimming being
    /// exact, at most).
    retention: usize,
    partitions: Partitions,
    wait_replicas: u8,
    wait_timeout: Duration,
}

impl RedisStore {
    /// Connects to `url` (one server, or a cluster: see
    /// [`Deployment::open`]).
    pub async fn connect(url: &str, settings: RedisSettings) -> StoreResult<RedisStore> {
        let io = Arc::new(RedisIo::start().map_err(StoreError::backend)?);
        let url = url.to_owned();
        let replicas = settings.wait_replicas > 0;
        let (deployment, conn, log_conn) = io
            .spawn(async move {
                let deployment = Deployment::open(&url).await?;
                let conn = deployment.shared().await?;
                let log_conn = deployment.log_reader(&conn, replicas).await?;
                Ok::<_, redis::RedisError>((deployment, conn, log_conn))
            })
            .await
            .map_err(StoreError::backend)?
            .map_err(backend)?;
        let keys = Keys::with(
            &settings.prefix,
            settings.partitions,
            deployment.is_cluster(),
        );
        Ok(Self {
            deployment,
            conn,
            log_conn,
            io,
            keys,
            scripts: Scripts::new(),
            retention: settings.retention.max(1),
            partitions: settings.partitions,
            wait_replicas: settings.wait_replicas,
            wait_timeout: settings.wait_timeout,
        })
    }

    /// Where Redis is.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The key names this store uses.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The shared connection, with what keeps its driver running (the
    /// store's I/O thread): for a rate limiter keeping its state in this
    /// Redis.
    pub fn shared_connection(&self) -> (Connection, Arc<dyn Send + Sync>) {
        (self.conn(), self.io.clone())
    }

    fn conn(&self) -> Connection {
        self.conn.clone()
    }

    /// An invocation of a script appending an event of `chat`, with the
    /// keys (its partition's log) and arguments every such script takes
    /// first (see `append_event.lua`).
    fn appending<'a>(&self, script: &'a Script, chat: &ChatId) -> ScriptInvocation<'a> {
        let partition = self.partitions.of(chat);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.keys.events(partition))
            .key(self.keys.epoch(partition))
            .key(self.keys.trimmed(partition))
            .arg(self.retention)
            .arg(new_epoch());
        invocation
    }

    async fn run<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> StoreResult<T> {
        invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)
    }

    /// Runs a script that appends an event of `chat` (see [`Self::appending`]);
    /// then, when writes must reach replicas, waits until they confirm it.
    async fn write<T: FromRedisValue>(
        &self,
        chat: &ChatId,
        invocation: &ScriptInvocation<'_>,
    ) -> StoreResult<T> {
        let reply = self.run(invocation).await?;
        self.confirm(chat).await?;
        Ok(reply)
    }

    /// `WAIT`s for `wait_replicas` replicas of the node holding `chat`'s
    /// partition to confirm every write this connection sent it so far. A
    /// write they do not confirm in time is reported failed: it is in the
    /// primary, and may or may not survive a failover (a client retrying
    /// with its idempotency key gets the message once either way).
    async fn confirm(&self, chat: &ChatId) -> StoreResult<()> {
        if self.wait_replicas == 0 {
            return Ok(());
        }
        let key = self.keys.events(self.partitions.of(chat));
        let timeout = u64::try_from(self.wait_timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut wait = redis::cmd("WAIT");
        wait.arg(self.wait_replicas).arg(timeout);
        let reply = self.conn().on_node_of(&key, wait).await.map_err(backend)?;
        let confirmed: i64 =
            FromRedisValue::from_redis_value(reply).map_err(StoreError::backend)?;
        match confirmed >= i64::from(self.wait_replicas) {
            true => Ok(()),
            false => Err(StoreError::backend(format!(
                "{confirmed} of {} replicas confirmed a write within {timeout} ms",
                self.wait_replicas
            ))),
        }
    }

    /// Messages as they are now, newest first: up to `count` from `end`
    /// (an id, `+`, or `None` for none), and whether any message is at or
    /// after `newer_than`. One script, so one round trip and one moment.
    async fn read_messages(
        &self,
        chat: &ChatId,
        end: Option<String>,
        count: usize,
        newer_than: Option<LogId>,
    ) -> StoreResult<(Vec<Message>, bool)> {
        let mut invocation = self.scripts.read_messages.prepare_invoke();
        invocation
            .key(self.keys.messages(chat))
            .key(self.keys.changes(chat))
            .arg(end.unwrap_or_default())
            .arg(count.max(1))
            .arg(newer_than.map(|id| id.to_string()).unwrap_or_default());
        let (entries, newer): (Vec<ChangedEntry>, u8) = self.run(&invocation).await?;
        let messages = entries
            .iter()
            .map(|(id, fields, change)| {
                decode::current_message(chat, id, fields, change.as_deref())
            })
            .collect::<StoreResult<_>>()?;
        Ok((messages, newer == 1))
    }

    /// An invocation of a script that changes message `id` of `chat` on
    /// behalf of `user`, with the keys and arguments every such script
    /// takes first (see `message_state.lua`).
    fn changing<'a>(
        &self,
        script: &'a Script,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
    ) -> ScriptInvocation<'a> {
        let mut invocation = self.appending(script, chat);
        invocation
            .key(self.keys.chat(chat))
            .key(self.keys.members(chat))
            .key(self.keys.messages(chat))
            .key(self.keys.changes(chat))
            .key(self.keys.deleted(chat))
            .key(self.keys.reactions(chat, id))
            .arg(chat.as_str())
            .arg(user.as_str())
            .arg(id.to_string());
        invocation
    }

    /// Runs a message-changing script and reads its reply (see
    /// `message_state.lua`).
    async fn change_message(
        &self,
        chat: &ChatId,
        invocation: &ScriptInvocation<'_>,
    ) -> StoreResult<Changed> {
        let (status, id, fields, change, epoch): MessageReply =
            self.write(chat, invocation).await?;
        let written = match status.as_str() {
            "ok" => true,
            "unchanged" => false,
            "forbidden" => return Err(StoreError::Forbidden),
            "deleted" => return Err(StoreError::Deleted),
            "too_many" => return Err(StoreError::TooManyEmoji(MAX_DISTINCT_EMOJI)),
            other => return Err(unexpected(other)),
        };
        let epoch = match epoch {
            Some(epoch) => epoch,
            // A log whose epoch went missing: `epoch()` makes one.
            None => self.epoch_of(chat).await?,
        };
        Ok(Changed {
            message: decode::current_message(chat, &id, &fields, change.as_deref())?,
            written,
            epoch,
        })
    }

    /// `NotFound` unless every one of `users` has an account. Accounts are
    /// never deleted, so checking before a write is as good as checking
    /// inside it, and the write's keys can stay in its chat's slot.
    async fn ensure_users(&self, users: &[&UserId]) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        for user in users {
            pipe.cmd("EXISTS").arg(self.keys.user(user));
        }
        let found: Vec<u8> = pipe.query_async(&mut self.conn()).await.map_err(backend)?;
        match found.iter().all(|n| *n == 1) {
            true => Ok(()),
            false => Err(StoreError::NotFound),
        }
    }

    /// The chats in `partition` that `user` is a member of.
    async fn chats_in(&self, user: &UserId, partition: Partition) -> StoreResult<Vec<Chat>> {
        let mut conn = self.conn();
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.user_chats(user, partition))
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<ChatId> = ids.into_iter().map(ChatId::from_stored).collect();
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(self.keys.chat(id));
        }
        let hashes: Vec<Fields> = pipe.query_async(&mut conn).await.map_err(backend)?;
        let mut chats = Vec::with_capacity(ids.len());
        for (id, fields) in ids.iter().zip(&hashes) {
            chats.extend(decode::chat(id, fields)?);
        }
        Ok(chats)
    }

    /// A user's chats in one partition and that partition's head, in one
    /// `MULTI`: the memberships are exactly those at that position.
    async fn partition_snapshot(
        &self,
        user: &UserId,
        partition: Partition,
    ) -> StoreResult<(Vec<String>, LogId)> {
        let (chats, newest): (Vec<String>, Vec<Entry>) = redis::pipe()
            .atomic()
            .cmd("SMEMBERS")
            .arg(self.keys.user_chats(user, partition))
            .add_command(log::newest_entry(&self.keys.events(partition)))
            .query_async(&mut self.log_conn.clone())
            .await
            .map_err(backend)?;
        Ok((chats, log::newest_id(&newest)?))
    }

    async fn hash(&self, key: String) -> StoreResult<Fields> {
        redis::cmd("HGETALL")
            .arg(key)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)
    }
}

/// The error for a script status this code does not expect.
fn unexpected(status: &str) -> StoreError {
    match status {
        "not_found" => StoreError::NotFound,
        other => StoreError::backend(format!("unexpected script status {other:?}")),
    }
}

#[async_trait]
impl Store for RedisStore {
    /// Reads the epoch, creating it when the log has none yet (`SET NX`, so
    /// concurrent processes agree on one).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn epoch(&self, partition: Partition) -> StoreResult<String> {
        let key = self.keys.epoch(partition);
        let mut conn = self.conn();
        let current: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        if let Some(epoch) = current {
            return Ok(epoch);
        }
        let fresh = new_epoch();
        let previous: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&fresh)
            .arg("NX")
            .arg("GET")
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        Ok(previous.unwrap_or(fresh))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_user(&self, username: &Username, password_hash: &str) -> StoreResult<User> {
        let id = UserId::generate();
        let created_at = now_ms();
        let mut invocation = self.scripts.create_user.prepare_invoke();
        invocation
            .key(self.keys.username(&username.canonical()))
            .key(self.keys.user(&id))
            .arg(id.as_str())
            .arg(username.as_str())
            .arg(password_hash)
            .arg(created_at);
        let (status, _, _): Reply = self.run(&invocation).await?;
        match status.as_str() {
            "ok" => Ok(User {
                id,
                username: username.as_str().to_owned(),
                created_at,
            }),
            "taken" => Err(StoreError::UsernameTaken),
            other => Err(unexpected(other)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        decode::user(id, &self.hash(self.keys.user(id)).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        let id: Option<String> = redis::cmd("GET")
            .arg(self.keys.username(&username.canonical()))
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        match id {
            Some(id) => self.user(&UserId::from_stored(id)).await,
            None => Ok(None),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn password_hash(&self, id: &UserId) -> StoreResult<Option<String>> {
        redis::cmd("HGET")
            .arg(self.keys.user(id))
            .arg("password_hash")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_chat(
        &self,
        creator: &UserId,
        title: &ChatTitle,
        others: &[UserId],
    ) -> StoreResult<Chat> {
        let chat_id = ChatId::generate();
        let partition = self.partitions.of(&chat_id);
        let members: Vec<&UserId> = std::iter::once(creator).chain(others).collect();
        self.ensure_users(&members).await?;
        let mut invocation = self.appending(&self.scripts.create_chat, &chat_id);
        invocation
            .key(self.keys.chat(&chat_id))
            .key(self.keys.members(&chat_id))
            .key(self.keys.reads(&chat_id));
        for member in &members {
            invocation.key(self.keys.user_chats(member, partition));
        }
        invocation.arg(chat_id.as_str()).arg(title.as_str());
        for member in &members {
            invocation.arg(member.as_str());
        }
        let (status, id, _): Reply = self.write(&chat_id, &invocation).await?;
        if status != "ok" {
            return Err(unexpected(&status));
        }
        let at = decode::log_id(&id)?.ms;
        Ok(Chat {
            id: chat_id,
            title: title.as_str().to_owned(),
            created_by: creator.clone(),
            created_at: at,
            last_activity: at,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_member(&self, chat: &ChatId, by: &UserId, user: &UserId) -> StoreResult<Chat> {
        self.ensure_users(&[user]).await?;
        let mut invocation = self.appending(&self.scripts.add_member, chat);
        invocation
            .key(self.keys.chat(chat))
            .key(self.keys.members(chat))
            .key(self.keys.user_chats(user, self.partitions.of(chat)))
            .key(self.keys.reads(chat))
            .key(self.keys.messages(chat))
            .arg(chat.as_str())
            .arg(by.as_str())
            .arg(user.as_str());
        let (status, _, fields): Reply = self.write(chat, &invocation).await?;
        if status != "ok" && status != "unchanged" {
            return Err(unexpected(&status));
        }
        decode::chat(chat, &fields)?
            .ok_or_else(|| StoreError::backend("a chat with members has no hash"))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn leave_chat(&self, chat: &ChatId, user: &UserId) -> StoreResult<()> {
        let mut invocation = self.appending(&self.scripts.leave_chat, chat);
        invocation
            .key(self.keys.members(chat))
            .key(self.keys.user_chats(user, self.partitions.of(chat)))
            .key(self.keys.reads(chat))
            .key(self.keys.typing(chat))
            .arg(chat.as_str())
            .arg(user.as_str());
        let (status, _, _): Reply = self.write(chat, &invocation).await?;
        match status.as_str() {
            "ok" => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn chat_for_member(&self, chat: &ChatId, viewer: &UserId) -> StoreResult<Option<Chat>> {
        let (score, fields): (Option<String>, Fields) = redis::pipe()
            .cmd("ZSCORE")
            .arg(self.keys.members(chat))
            .arg(viewer.as_str())
            .cmd("HGETALL")
            .arg(self.keys.chat(chat))
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        match score {
            Some(_) => decode::chat(chat, &fields),
            None => Ok(None),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn members(&self, chat: &ChatId) -> StoreResult<Vec<UserId>> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys.members(chat))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(ids.into_iter().map(UserId::from_stored).collect())
    }

    /// Gathered from the user's index in every partition (each read with
    /// its chats' hashes, which share its slot), all partitions at once,
    /// then sorted by id, as the memory store happens to return them.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn chats_of(&self, user: &UserId) -> StoreResult<Vec<Chat>> {
        let parts = futures_util::future::try_join_all(
            self.partitions
                .all()
                .map(|partition| self.chats_in(user, partition)),
        )
        .await?;
        let mut chats: Vec<Chat> = parts.into_iter().flatten().collect();
        chats.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(chats)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn send_message(
        &self,
        chat: &ChatId,
        sender: &UserId,
        new: NewMessage<'_>,
    ) -> StoreResult<Sent> {
        let mut invocation = self.appending(&self.scripts.send_message, chat);
        invocation
            .key(self.keys.chat(chat))
            .key(self.keys.members(chat))
            .key(self.keys.messages(chat))
            .key(self.keys.reads(chat))
            .key(self.keys.changes(chat))
            .key(self.keys.typing(chat));
        if let Some(client) = new.client_message_id {
            invocation.key(self.keys.idempotency(chat, sender, client));
        }
        invocation
            .arg(chat.as_str())
            .arg(sender.as_str())
            .arg(new.body.as_str())
            .arg(IDEMPOTENCY_TTL_MS)
            .arg(new.reply_to.map(|id| id.to_string()).unwrap_or_default());
        if let Some(client) = new.client_message_id {
            invocation.arg(client.as_str());
        }
        let (status, id, fields, change, epoch): SentReply = self.write(chat, &invocation).await?;
        match status.as_str() {
            "created" => Ok(Sent {
                message: Message {
                    id: decode::log_id(&id)?,
                    chat_id: chat.clone(),
                    sender: sender.clone(),
                    body: new.body.as_str().to_owned(),
                    client_message_id: new.client_message_id.map(|c| c.as_str().to_owned()),
                    reply_to: new.reply_to,
                    edited_at: None,
                    deleted_at: None,
                },
                created: true,
                epoch,
            }),
            "duplicate" => Ok(Sent {
                message: decode::current_message(chat, &id, &fields, change.as_deref())?,
                created: false,
                epoch,
            }),
            "lost" => Err(StoreError::backend("idempotency key names a lost message")),
            other => Err(unexpected(other)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn message(&self, chat: &ChatId, id: LogId) -> StoreResult<Option<Message>> {
        let (entries, _) = self
            .read_messages(chat, Some(id.to_string()), 1, None)
            .await?;
        Ok(entries.into_iter().find(|message| message.id == id))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn edit_message(
        &self,
        chat: &ChatId,
        editor: &UserId,
        id: LogId,
        body: &MessageBody,
    ) -> StoreResult<Changed> {
        let mut invocation = self.changing(&self.scripts.edit_message, chat, editor, id);
        invocation.arg(body.as_str());
        self.change_message(chat, &invocation).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_message(&self, chat: &ChatId, by: &UserId, id: LogId) -> StoreResult<Changed> {
        let invocation = self.changing(&self.scripts.delete_message, chat, by, id);
        self.change_message(chat, &invocation).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_reaction(
        &self,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
        emoji: &Emoji,
    ) -> StoreResult<Changed> {
        let mut invocation = self.changing(&self.scripts.add_reaction, chat, user, id);
        invocation.arg(emoji.as_str()).arg(MAX_DISTINCT_EMOJI);
        self.change_message(chat, &invocation).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn remove_reaction(
        &self,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
        emoji: &Emoji,
    ) -> StoreResult<Changed> {
        let mut invocation = self.changing(&self.scripts.remove_reaction, chat, user, id);
        invocation.arg(emoji.as_str());
        self.change_message(chat, &invocation).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn reactions(
        &self,
        chat: &ChatId,
        id: LogId,
        viewer: &UserId,
    ) -> StoreResult<Vec<ReactionGroup>> {
        let mut invocation = self.scripts.reactions.prepare_invoke();
        invocation
            .key(self.keys.reactions(chat, id))
            .arg(viewer.as_str())
            .arg(MAX_REACTION_USERS);
        let groups: Vec<GroupReply> = self.run(&invocation).await?;
        Ok(groups
            .into_iter()
            .map(|(emoji, count, mine, users)| ReactionGroup {
                emoji,
                count,
                includes_viewer: mine == 1,
                users: users.into_iter().map(UserId::from_stored).collect(),
            })
            .collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn mark_read(&self, chat: &ChatId, user: &UserId, id: LogId) -> StoreResult<Chat> {
        let mut invocation = self.appending(&self.scripts.mark_read, chat);
        invocation
            .key(self.keys.chat(chat))
            .key(self.keys.members(chat))
            .key(self.keys.messages(chat))
            .key(self.keys.reads(chat))
            .arg(chat.as_str())
            .arg(user.as_str())
            .arg(id.to_string());
        let (status, _, fields): Reply = self.write(chat, &invocation).await?;
        match status.as_str() {
            "ok" | "unchanged" => decode::chat(chat, &fields)?
                .ok_or_else(|| StoreError::backend("a chat with members has no hash")),
            "not_a_message" => Err(StoreError::NotAMessage),
            other => Err(unexpected(other)),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn read_state(&self, chat: &ChatId, user: &UserId) -> StoreResult<ReadState> {
        let mut invocation = self.scripts.read_state.prepare_invoke();
        invocation
            .key(self.keys.chat(chat))
            .key(self.keys.reads(chat))
            .key(self.keys.deleted(chat))
            .key(self.keys.messages(chat))
            .arg(user.as_str());
        let (unread, message, at): (i64, String, String) = self.run(&invocation).await?;
        Ok(ReadState {
            unread: u64::try_from(unread)
                .map_err(|_| StoreError::backend(format!("negative unread count {unread}")))?,
            position: decode::read_position(&message, &at)?,
        })
    }

    /// Members and positions in one `MULTI`, so the two agree.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn read_receipts(&self, chat: &ChatId) -> StoreResult<Vec<(UserId, ReadPosition)>> {
        let (members, mut positions): (Vec<String>, Fields) = redis::pipe()
            .atomic()
            .cmd("ZRANGE")
            .arg(self.keys.members(chat))
            .arg(0)
            .arg(-1)
            .cmd("HGETALL")
            .arg(self.keys.reads(chat))
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        let mut receipts = Vec::new();
        for member in members {
            let Some(stored) = positions.remove(&member) else {
                continue;
            };
            if let Some(position) = decode::stored_read_position(&stored)? {
                receipts.push((UserId::from_stored(member), position));
            }
        }
        Ok(receipts)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn messages(
        &self,
        chat: &ChatId,
        before: Option<LogId>,
        limit: usize,
    ) -> StoreResult<MessagePage> {
        // `None` when nothing can be older than `before` (it is 0-0).
        let end = match before {
            None => Some("+".to_owned()),
            Some(before) => predecessor(before).map(|id| id.to_string()),
        };
        let (mut newest_first, has_newer) = self
            .read_messages(chat, end, limit.saturating_add(1), before)
            .await?;
        let has_older = newest_first.len() > limit;
        newest_first.truncate(limit);
        newest_first.reverse();
        Ok(MessagePage {
            messages: newest_first,
            has_older,
            has_newer,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn last_message(&self, chat: &ChatId) -> StoreResult<Option<Message>> {
        let (newest, _) = self
            .read_messages(chat, Some("+".to_owned()), 1, None)
            .await?;
        Ok(newest.into_iter().next())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn read_log(
        &self,
        partition: Partition,
        after: LogId,
        limit: usize,
    ) -> StoreResult<Vec<Event>> {
        log::read_after(
            &mut self.log_conn.clone(),
            &self.keys,
            partition,
            after,
            limit,
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_head(&self, partition: Partition) -> StoreResult<LogId> {
        log::last_id(&mut self.log_conn.clone(), &self.keys.events(partition)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn chat(&self, chat: &ChatId) -> StoreResult<Option<Chat>> {
        decode::chat(chat, &self.hash(self.keys.chat(chat)).await?)
    }

    /// Each partition's part in its own `MULTI` (a cluster cannot run one
    /// across slots), all at once. Chat ids come sorted, as the memory
    /// store returns them.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn membership_snapshot(&self, user: &UserId) -> StoreResult<(Vec<ChatId>, Positions)> {
        let parts = futures_util::future::try_join_all(
            self.partitions
                .all()
                .map(|partition| self.partition_snapshot(user, partition)),
        )
        .await?;
        let mut chats = Vec::new();
        let mut heads = Vec::with_capacity(parts.len());
        for (ids, head) in parts {
            chats.extend(ids);
            heads.push(head);
        }
        chats.sort_unstable();
        Ok((
            chats.into_iter().map(ChatId::from_stored).collect(),
            Positions::from_vec(heads),
        ))
    }

    fn partitions(&self) -> Partitions {
        self.partitions
    }

    fn log_tail(&self, partition: Partition) -> Box<dyn LogTail> {
        Box::new(RedisTail::new(
            self.deployment.clone(),
            self.wait_replicas > 0,
            self.keys.clone(),
            partition,
        ))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn start_session(
        &self,
        user: &UserId,
        session: &SessionId,
        refresh: RefreshHash<'_>,
    ) -> StoreResult<()> {
        self.start(user, session, refresh).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rotate_session(
        &self,
        session: &SessionId,
        presented: &str,
        next: RefreshHash<'_>,
        now: Millis,
        tokens_until: Millis,
    ) -> StoreResult<Rotation> {
        self.rotate(session, presented, next, now, tokens_until)
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn end_session(
        &self,
        user: &UserId,
        session: &SessionId,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>> {
        self.end(user, Some(session), tokens_until).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn end_sessions(&self, user: &UserId, tokens_until: Millis) -> StoreResult<Vec<Ended>> {
        self.end(user, None, tokens_until).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_password(
        &self,
        user: &UserId,
        password_hash: &str,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>> {
        self.set_password(user, password_hash, tokens_until).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ended_sessions(&self, now: Millis) -> StoreResult<Vec<Ended>> {
        self.ended(now).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn session_ended(&self, session: &SessionId, now: Millis) -> StoreResult<bool> {
        self.is_ended(session, now).await
    }

    async fn session_notices(&self) -> StoreResult<Box<dyn SessionNotices>> {
        self.notices().await
    }
}
