//! The embedded in-memory backend: the default when no Redis is configured.
//!
//! Everything lives in one [`State`] behind a `std::sync::Mutex`. Every
//! operation is a short, non-blocking critical section, so a std mutex is
//! both correct and cheaper than an async one, and holding it for a whole
//! write makes each write atomic exactly like a Lua script in Redis.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::domain::{ChatId, ChatTitle, ClientMessageId, MessageBody, UserId, Username};

use crate::store::LogTail;

use super::{
    Chat, Event, EventKind, IDEMPOTENCY_TTL_MS, LogId, Message, MessagePage, Millis, Sent, Store,
    StoreError, StoreResult, User, now_ms,
};

/// A store that keeps everything in process memory; lost on restart.
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    epoch: String,
    /// The log head, announced after every append so the consumer's tail
    /// wakes without polling.
    head: watch::Sender<LogId>,
}

struct UserRecord {
    user: User,
    password_hash: String,
}

struct ChatRecord {
    chat: Chat,
    /// Members in join order.
    members: Vec<UserId>,
    /// Messages in log order.
    messages: Vec<Message>,
}

type IdempotencyKey = (ChatId, UserId, String);

#[derive(Default)]
struct State {
    users: HashMap<UserId, UserRecord>,
    /// Canonical (lowercased) username to id.
    usernames: HashMap<String, UserId>,
    chats: HashMap<ChatId, ChatRecord>,
    user_chats: HashMap<UserId, BTreeSet<ChatId>>,
    idempotency: HashMap<IdempotencyKey, (LogId, Millis)>,
    /// Idempotency keys in insertion order (so also expiry order), to drop
    /// expired ones without scanning the map.
    idempotency_expiry: VecDeque<(Millis, IdempotencyKey)>,
    log: VecDeque<Event>,
    last_id: LogId,
    /// The newest position trimmed from the log, if any.
    max_trimmed: Option<LogId>,
    retention: usize,
}

impl MemoryStore {
    /// A new, empty store that keeps at least `retention` recent events.
    pub fn new(retention: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                retention: retention.max(1),
                ..State::default()
            })),
            epoch: uuid::Uuid::new_v4().simple().to_string(),
            head: watch::Sender::new(LogId::ZERO),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Locks for a write that may append events, and announces the new head
    /// when the write is done.
    fn write<T>(&self, write: impl FnOnce(&mut State) -> T) -> T {
        let (result, head) = {
            let mut state = self.lock();
            let result = write(&mut state);
            (result, state.last_id)
        };
        self.head.send_if_modified(|current| {
            let moved = *current != head;
            *current = head;
            moved
        });
        result
    }
}

/// A panic while holding the lock cannot leave a half-applied write (writes
/// check everything before mutating), so a poisoned lock is still
/// consistent and safe to keep using.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn append(&mut self, chat_id: &ChatId, kind: impl FnOnce(LogId) -> EventKind) -> LogId {
        let id = self.last_id.next_at(now_ms());
        self.last_id = id;
        self.log.push_back(Event {
            id,
            chat_id: chat_id.clone(),
            kind: kind(id),
        });
        while self.log.len() > self.retention {
            if let Some(old) = self.log.pop_front() {
                self.max_trimmed = Some(old.id);
            }
        }
        id
    }

    fn read_after(&self, after: LogId, limit: usize) -> StoreResult<Vec<Event>> {
        if self.max_trimmed.is_some_and(|trimmed| after < trimmed) {
            return Err(StoreError::Expired);
        }
        let start = self.log.partition_point(|e| e.id <= after);
        Ok(self.log.iter().skip(start).take(limit).cloned().collect())
    }

    fn member_chat(&self, chat: &ChatId, user: &UserId) -> Option<&ChatRecord> {
        self.chats
            .get(chat)
            .filter(|record| record.members.contains(user))
    }

    fn join(&mut self, chat: &ChatId, user: &UserId) {
        if let Some(record) = self.chats.get_mut(chat) {
            record.members.push(user.clone());
        }
        self.user_chats
            .entry(user.clone())
            .or_default()
            .insert(chat.clone());
    }

    fn forget_expired_keys(&mut self, now: Millis) {
        while let Some((expiry, _)) = self.idempotency_expiry.front() {
            if *expiry > now {
                break;
            }
            if let Some((_, key)) = self.idempotency_expiry.pop_front() {
                self.idempotency.remove(&key);
            }
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn epoch(&self) -> StoreResult<String> {
        Ok(self.epoch.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_user(&self, username: &Username, password_hash: &str) -> StoreResult<User> {
        let mut state = self.lock();
        let canonical = username.canonical();
        if state.usernames.contains_key(&canonical) {
            return Err(StoreError::UsernameTaken);
        }
        let user = User {
            id: UserId::generate(),
            username: username.as_str().to_owned(),
            created_at: now_ms(),
        };
        state.usernames.insert(canonical, user.id.clone());
        state.users.insert(
            user.id.clone(),
            UserRecord {
                user: user.clone(),
                password_hash: password_hash.to_owned(),
            },
        );
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.lock().users.get(id).map(|r| r.user.clone()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn user_by_name(&self, username: &Username) -> StoreResult<Option<User>> {
        let state = self.lock();
        let found = state
            .usernames
            .get(&username.canonical())
            .and_then(|id| state.users.get(id));
        Ok(found.map(|r| r.user.clone()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn password_hash(&self, id: &UserId) -> StoreResult<Option<String>> {
        Ok(self.lock().users.get(id).map(|r| r.password_hash.clone()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_chat(
        &self,
        creator: &UserId,
        title: &ChatTitle,
        others: &[UserId],
    ) -> StoreResult<Chat> {
        self.write(|state| {
            let mut members = Vec::with_capacity(others.len() + 1);
            members.push(creator.clone());
            members.extend(others.iter().cloned());
            if !members.iter().all(|m| state.users.contains_key(m)) {
                return Err(StoreError::NotFound);
            }
            let chat_id = ChatId::generate();
            let id = state.append(&chat_id, |_| EventKind::ChatCreated {
                members: members.clone(),
            });
            let chat = Chat {
                id: chat_id.clone(),
                title: title.as_str().to_owned(),
                created_by: creator.clone(),
                created_at: id.ms,
                last_activity: id.ms,
            };
            state.chats.insert(
                chat_id.clone(),
                ChatRecord {
                    chat: chat.clone(),
                    members: Vec::new(),
                    messages: Vec::new(),
                },
            );
            for member in &members {
                state.join(&chat_id, member);
            }
            Ok(chat)
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_member(&self, chat: &ChatId, by: &UserId, user: &UserId) -> StoreResult<Chat> {
        self.write(|state| {
            let record = state.member_chat(chat, by).ok_or(StoreError::NotFound)?;
            let already = record.members.contains(user);
            let snapshot = record.chat.clone();
            if !state.users.contains_key(user) {
                return Err(StoreError::NotFound);
            }
            if !already {
                state.append(chat, |_| EventKind::MemberJoined {
                    user: user.clone(),
                    added_by: by.clone(),
                });
                state.join(chat, user);
            }
            Ok(snapshot)
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn leave_chat(&self, chat: &ChatId, user: &UserId) -> StoreResult<()> {
        self.write(|state| {
            state.member_chat(chat, user).ok_or(StoreError::NotFound)?;
            state.append(chat, |_| EventKind::MemberLeft { user: user.clone() });
            if let Some(record) = state.chats.get_mut(chat) {
                record.members.retain(|m| m != user);
            }
            if let Some(chats) = state.user_chats.get_mut(user) {
                chats.remove(chat);
            }
            Ok(())
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn chat_for_member(&self, chat: &ChatId, viewer: &UserId) -> StoreResult<Option<Chat>> {
        Ok(self
            .lock()
            .member_chat(chat, viewer)
            .map(|r| r.chat.clone()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn members(&self, chat: &ChatId) -> StoreResult<Vec<UserId>> {
        Ok(self
            .lock()
            .chats
            .get(chat)
            .map(|r| r.members.clone())
            .unwrap_or_default())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn chats_of(&self, user: &UserId) -> StoreResult<Vec<Chat>> {
        let state = self.lock();
        let Some(ids) = state.user_chats.get(user) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| state.chats.get(id).map(|r| r.chat.clone()))
            .collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn send_message(
        &self,
        chat: &ChatId,
        sender: &UserId,
        body: &MessageBody,
        client_message_id: Option<&ClientMessageId>,
    ) -> StoreResult<Sent> {
        let epoch = self.epoch.clone();
        self.write(|state| {
            state
                .member_chat(chat, sender)
                .ok_or(StoreError::NotFound)?;
            let now = now_ms();
            state.forget_expired_keys(now);
            let key =
                client_message_id.map(|k| (chat.clone(), sender.clone(), k.as_str().to_owned()));
            if let Some((first, _)) = key.as_ref().and_then(|k| state.idempotency.get(k)) {
                let first = *first;
                let record = state.chats.get(chat).ok_or(StoreError::NotFound)?;
                let index = record
                    .messages
                    .binary_search_by_key(&first, |m| m.id)
                    .map_err(|_| StoreError::backend("idempotency key names a lost message"))?;
                return Ok(Sent {
                    message: record.messages[index].clone(),
                    created: false,
                    epoch,
                });
            }
            let mut message = Message {
                id: LogId::ZERO,
                chat_id: chat.clone(),
                sender: sender.clone(),
                body: body.as_str().to_owned(),
                client_message_id: client_message_id.map(|k| k.as_str().to_owned()),
            };
            let id = state.append(chat, |id| {
                message.id = id;
                EventKind::MessageCreated(message.clone())
            });
            if let Some(record) = state.chats.get_mut(chat) {
                record.chat.last_activity = id.ms;
                record.messages.push(message.clone());
            }
            if let Some(key) = key {
                let expiry = now + IDEMPOTENCY_TTL_MS;
                state.idempotency.insert(key.clone(), (id, expiry));
                state.idempotency_expiry.push_back((expiry, key));
            }
            Ok(Sent {
                message,
                created: true,
                epoch,
            })
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn messages(
        &self,
        chat: &ChatId,
        before: Option<LogId>,
        limit: usize,
    ) -> StoreResult<MessagePage> {
        let state = self.lock();
        let Some(record) = state.chats.get(chat) else {
            return Ok(MessagePage {
                messages: Vec::new(),
                has_older: false,
                has_newer: false,
            });
        };
        let all = &record.messages;
        let end = before.map_or(all.len(), |b| all.partition_point(|m| m.id < b));
        let start = end.saturating_sub(limit);
        Ok(MessagePage {
            messages: all[start..end].to_vec(),
            has_older: start > 0,
            has_newer: end < all.len(),
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn last_message(&self, chat: &ChatId) -> StoreResult<Option<Message>> {
        let state = self.lock();
        Ok(state
            .chats
            .get(chat)
            .and_then(|r| r.messages.last().cloned()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn read_log(&self, after: LogId, limit: usize) -> StoreResult<Vec<Event>> {
        self.lock().read_after(after, limit)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_head(&self) -> StoreResult<LogId> {
        Ok(self.lock().last_id)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn chat(&self, chat: &ChatId) -> StoreResult<Option<Chat>> {
        Ok(self.lock().chats.get(chat).map(|r| r.chat.clone()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn membership_snapshot(&self, user: &UserId) -> StoreResult<(Vec<ChatId>, LogId)> {
        let state = self.lock();
        let chats = state
            .user_chats
            .get(user)
            .map(|chats| chats.iter().cloned().collect())
            .unwrap_or_default();
        Ok((chats, state.last_id))
    }

    fn log_tail(&self) -> Box<dyn LogTail> {
        Box::new(MemoryTail {
            state: self.state.clone(),
            head: self.head.subscribe(),
        })
    }
}

/// The memory store's [`LogTail`]: waits for the head to move, then reads.
struct MemoryTail {
    state: Arc<Mutex<State>>,
    head: watch::Receiver<LogId>,
}

#[async_trait]
impl LogTail for MemoryTail {
    async fn read_after(
        &mut self,
        after: LogId,
        block: Duration,
        count: usize,
    ) -> StoreResult<Vec<Event>> {
        // Waiting for a head beyond `after` (rather than for a change) means
        // an append that happened before this call is not waited for.
        let _ = tokio::time::timeout(block, self.head.wait_for(|head| *head > after)).await;
        lock(&self.state).read_after(after, count)
    }
}
