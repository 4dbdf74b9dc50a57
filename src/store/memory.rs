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
use tokio::sync::{broadcast, watch};

use crate::domain::{ChatId, ChatTitle, Emoji, MessageBody, SessionId, UserId, Username};

use crate::store::LogTail;
use crate::store::part_log::PartLog;
use crate::store::session_book::SessionBook;
use crate::store::signal_board::SignalBoard;
use crate::store::signals::{Presence, SignalControl, SignalNotices, Signals, Typing};

use super::{
    Changed, Chat, Event, EventKind, IDEMPOTENCY_TTL_MS, LogId, MAX_DISTINCT_EMOJI,
    MAX_REACTION_USERS, Message, MessagePage, Millis, NewMessage, Partition, Partitions, Positions,
    ReactionGroup, ReadPosition, ReadState, Sent, Store, StoreError, StoreResult, User, now_ms,
};
use super::{Ended, RefreshHash, Rotation, SessionNotices};

/// A store that keeps everything in process memory; lost on restart.
///
/// With more than one partition it keeps one log per partition, with its
/// own positions and epoch, exactly as the Redis backend does on a
/// cluster, so the behaviour tests run partitioned without Redis.
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    partitions: Partitions,
    /// Each partition's epoch, in partition order.
    epochs: Vec<String>,
    /// Each partition's head, announced after every append so the
    /// consumer's tails wake without polling.
    heads: Vec<watch::Sender<LogId>>,
}

struct UserRecord {
    user: User,
    password_hash: String,
}

struct ChatRecord {
    chat: Chat,
    /// Members in join order.
    members: Vec<UserId>,
    /// Messages in log order, as they are now. A message's ordinal (its
    /// number in the chat, from 1) is its index plus one.
    messages: Vec<Message>,
    /// Ordinals of deleted messages, ascending: with the message count,
    /// the index `unread` is answered from by binary search.
    deleted: Vec<u64>,
    /// Each member's read position.
    reads: HashMap<UserId, Read>,
    /// Reactions by message, groups in no order (see [`Group`]).
    reactions: HashMap<LogId, Vec<Group>>,
    /// Numbers reactions in the order they are made.
    reaction_seq: u64,
}

/// A member's read position: after the message with ordinal `ordinal`
/// (0 before the first). At a join it sits between messages (`message`
/// is `None`); reading or sending puts it at a message.
#[derive(Clone)]
struct Read {
    ordinal: u64,
    message: Option<ReadPosition>,
}

/// One emoji's reactions to a message: reactors with the number of their
/// reaction, earliest first. Groups are shown in the order of their first
/// reactor's number, so a group whose earliest reactor leaves it moves.
struct Group {
    emoji: String,
    users: Vec<(u64, UserId)>,
}

impl ChatRecord {
    fn new(chat: Chat) -> Self {
        Self {
            chat,
            members: Vec::new(),
            messages: Vec::new(),
            deleted: Vec::new(),
            reads: HashMap::new(),
            reactions: HashMap::new(),
            reaction_seq: 0,
        }
    }

    /// The index of message `id`, when the chat has it.
    fn index_of(&self, id: LogId) -> Option<usize> {
        self.messages.binary_search_by_key(&id, |m| m.id).ok()
    }

    fn message_count(&self) -> u64 {
        self.messages.len() as u64
    }
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
    /// One log per partition, in partition order.
    logs: Vec<PartLog>,
    partitions: Partitions,
    sessions: SessionBook,
    /// Typing sets and presence holds.
    signals: SignalBoard,
}

impl MemoryStore {
    /// A new, empty store with one partition that keeps at least
    /// `retention` recent events.
    pub fn new(retention: usize) -> Self {
        Self::partitioned(retention, Partitions::default())
    }

    /// A new, empty store whose log has `partitions`, each keeping at
    /// least `retention` recent events.
    pub fn partitioned(retention: usize, partitions: Partitions) -> Self {
        let logs = partitions
            .all()
            .map(|partition| PartLog::new(partition, retention))
            .collect();
        Self {
            state: Arc::new(Mutex::new(State {
                logs,
                partitions,
                ..State::default()
            })),
            partitions,
            epochs: partitions
                .all()
                .map(|_| uuid::Uuid::new_v4().simple().to_string())
                .collect(),
            heads: partitions
                .all()
                .map(|_| watch::Sender::new(LogId::ZERO))
                .collect(),
        }
    }

    /// The epoch of the partition holding `chat`.
    fn chat_epoch(&self, chat: &ChatId) -> &str {
        &self.epochs[self.partitions.of(chat).index()]
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Locks for a write that may append events, and announces the new head
    /// when the write is done.
    fn write<T>(&self, write: impl FnOnce(&mut State) -> T) -> T {
        let (result, heads) = {
            let mut state = self.lock();
            let result = write(&mut state);
            let heads: Vec<LogId> = state.logs.iter().map(PartLog::head).collect();
            (result, heads)
        };
        for (sender, head) in self.heads.iter().zip(heads) {
            sender.send_if_modified(|current| {
                let moved = *current != head;
                *current = head;
                moved
            });
        }
        result
    }
}

/// A call that changed nothing, with the message as it is.
fn unchanged(message: &Message, epoch: &str) -> Changed {
    Changed {
        message: message.clone(),
        written: false,
        epoch: epoch.to_owned(),
    }
}

/// A call that changed the message (and appended an event).
fn written(message: &Message, epoch: &str) -> Changed {
    Changed {
        message: message.clone(),
        written: true,
        epoch: epoch.to_owned(),
    }
}

/// A panic while holding the lock cannot leave a half-applied write (writes
/// check everything before mutating), so a poisoned lock is still
/// consistent and safe to keep using.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    /// Appends an event to the log of the chat's partition.
    fn append(&mut self, chat_id: &ChatId, kind: impl FnOnce(LogId) -> EventKind) -> LogId {
        let partition = self.partitions.of(chat_id);
        self.logs[partition.index()].append(chat_id, kind)
    }

    fn log(&self, partition: Partition) -> StoreResult<&PartLog> {
        self.logs
            .get(partition.index())
            .ok_or_else(|| StoreError::backend(format!("no partition {partition}")))
    }

    fn member_chat(&self, chat: &ChatId, user: &UserId) -> Option<&ChatRecord> {
        self.chats
            .get(chat)
            .filter(|record| record.members.contains(user))
    }

    /// Makes `user` a member, with a read position at the join: nothing
    /// sent before it is unread.
    fn join(&mut self, chat: &ChatId, user: &UserId) {
        if let Some(record) = self.chats.get_mut(chat) {
            record.members.push(user.clone());
            let read = Read {
                ordinal: record.message_count(),
                message: None,
            };
            record.reads.insert(user.clone(), read);
        }
        self.user_chats
            .entry(user.clone())
            .or_default()
            .insert(chat.clone());
    }

    /// The index of message `id` in a chat `user` is a member of.
    fn visible_message(&self, chat: &ChatId, user: &UserId, id: LogId) -> StoreResult<usize> {
        let record = self.member_chat(chat, user).ok_or(StoreError::NotFound)?;
        record.index_of(id).ok_or(StoreError::NotFound)
    }

    /// As [`State::visible_message`], and `Forbidden` unless `user` sent it.
    /// Permission comes before state: another member's edit of a
    /// tombstone is `Forbidden`, not `Deleted`.
    fn own_message(&self, chat: &ChatId, user: &UserId, id: LogId) -> StoreResult<usize> {
        let index = self.visible_message(chat, user, id)?;
        if self.chats[chat].messages[index].sender != *user {
            return Err(StoreError::Forbidden);
        }
        Ok(index)
    }

    fn message_mut(&mut self, chat: &ChatId, index: usize) -> StoreResult<&mut Message> {
        self.chats
            .get_mut(chat)
            .and_then(|record| record.messages.get_mut(index))
            .ok_or(StoreError::NotFound)
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
    async fn epoch(&self, partition: Partition) -> StoreResult<String> {
        self.epochs
            .get(partition.index())
            .cloned()
            .ok_or_else(|| StoreError::backend(format!("no partition {partition}")))
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
            state
                .chats
                .insert(chat_id.clone(), ChatRecord::new(chat.clone()));
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
                record.reads.remove(user);
            }
            if let Some(chats) = state.user_chats.get_mut(user) {
                chats.remove(chat);
            }
            state.signals.set_typing(chat, user, false, now_ms());
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
        new: NewMessage<'_>,
    ) -> StoreResult<Sent> {
        let epoch = self.chat_epoch(chat).to_owned();
        self.write(|state| {
            let record = state
                .member_chat(chat, sender)
                .ok_or(StoreError::NotFound)?;
            let now = now_ms();
            let key = new
                .client_message_id
                .map(|k| (chat.clone(), sender.clone(), k.as_str().to_owned()));
            let first = key
                .as_ref()
                .and_then(|k| state.idempotency.get(k))
                .filter(|(_, expiry)| *expiry > now);
            if let Some((first, _)) = first {
                let index = record
                    .index_of(*first)
                    .ok_or_else(|| StoreError::backend("idempotency key names a lost message"))?;
                return Ok(Sent {
                    message: record.messages[index].clone(),
                    created: false,
                    epoch,
                });
            }
            if let Some(reply_to) = new.reply_to
                && record.index_of(reply_to).is_none()
            {
                return Err(StoreError::NotFound);
            }
            state.forget_expired_keys(now);
            let mut message = Message {
                id: LogId::ZERO,
                chat_id: chat.clone(),
                sender: sender.clone(),
                body: new.body.as_str().to_owned(),
                client_message_id: new.client_message_id.map(|k| k.as_str().to_owned()),
                reply_to: new.reply_to,
                edited_at: None,
                deleted_at: None,
            };
            let id = state.append(chat, |id| {
                message.id = id;
                EventKind::MessageCreated(message.clone())
            });
            if let Some(record) = state.chats.get_mut(chat) {
                record.chat.last_activity = id.ms;
                record.messages.push(message.clone());
                let read = Read {
                    ordinal: record.message_count(),
                    message: Some(ReadPosition {
                        message: id,
                        at: id.ms,
                    }),
                };
                record.reads.insert(sender.clone(), read);
            }
            if let Some(key) = key {
                let expiry = now + IDEMPOTENCY_TTL_MS;
                state.idempotency.insert(key.clone(), (id, expiry));
                state.idempotency_expiry.push_back((expiry, key));
            }
            state.signals.set_typing(chat, sender, false, now);
            Ok(Sent {
                message,
                created: true,
                epoch,
            })
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn message(&self, chat: &ChatId, id: LogId) -> StoreResult<Option<Message>> {
        let state = self.lock();
        Ok(state.chats.get(chat).and_then(|record| {
            record
                .index_of(id)
                .map(|index| record.messages[index].clone())
        }))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn edit_message(
        &self,
        chat: &ChatId,
        editor: &UserId,
        id: LogId,
        body: &MessageBody,
    ) -> StoreResult<Changed> {
        self.write(|state| {
            let index = state.own_message(chat, editor, id)?;
            let message = &state.chats[chat].messages[index];
            if message.deleted_at.is_some() {
                return Err(StoreError::Deleted);
            }
            if message.body == body.as_str() {
                return Ok(unchanged(message, self.chat_epoch(chat)));
            }
            let event = state.append(chat, |_| EventKind::MessageEdited { message: id });
            let message = state.message_mut(chat, index)?;
            message.body = body.as_str().to_owned();
            message.edited_at = Some(event.ms);
            Ok(written(message, self.chat_epoch(chat)))
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_message(&self, chat: &ChatId, by: &UserId, id: LogId) -> StoreResult<Changed> {
        self.write(|state| {
            let index = state.own_message(chat, by, id)?;
            let message = &state.chats[chat].messages[index];
            if message.deleted_at.is_some() {
                return Ok(unchanged(message, self.chat_epoch(chat)));
            }
            let event = state.append(chat, |_| EventKind::MessageDeleted { message: id });
            let record = state.chats.get_mut(chat).ok_or(StoreError::NotFound)?;
            let ordinal = index as u64 + 1;
            let at = record.deleted.partition_point(|&o| o < ordinal);
            record.deleted.insert(at, ordinal);
            record.reactions.remove(&id);
            let message = state.message_mut(chat, index)?;
            message.body.clear();
            message.deleted_at = Some(event.ms);
            Ok(written(message, self.chat_epoch(chat)))
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_reaction(
        &self,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
        emoji: &Emoji,
    ) -> StoreResult<Changed> {
        self.write(|state| {
            let index = state.visible_message(chat, user, id)?;
            let record = state.chats.get_mut(chat).ok_or(StoreError::NotFound)?;
            if record.messages[index].deleted_at.is_some() {
                return Err(StoreError::Deleted);
            }
            let groups = record.reactions.entry(id).or_default();
            let group = groups.iter().position(|g| g.emoji == emoji.as_str());
            if let Some(group) = group
                && groups[group].users.iter().any(|(_, u)| u == user)
            {
                return Ok(unchanged(&record.messages[index], self.chat_epoch(chat)));
            }
            if group.is_none() && groups.len() >= MAX_DISTINCT_EMOJI {
                return Err(StoreError::TooManyEmoji(MAX_DISTINCT_EMOJI));
            }
            record.reaction_seq += 1;
            let reactor = (record.reaction_seq, user.clone());
            match group {
                Some(group) => groups[group].users.push(reactor),
                None => groups.push(Group {
                    emoji: emoji.as_str().to_owned(),
                    users: vec![reactor],
                }),
            }
            state.append(chat, |_| EventKind::ReactionAdded {
                message: id,
                emoji: emoji.as_str().to_owned(),
                user: user.clone(),
            });
            Ok(written(
                state.message_mut(chat, index)?,
                self.chat_epoch(chat),
            ))
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn remove_reaction(
        &self,
        chat: &ChatId,
        user: &UserId,
        id: LogId,
        emoji: &Emoji,
    ) -> StoreResult<Changed> {
        self.write(|state| {
            let index = state.visible_message(chat, user, id)?;
            let record = state.chats.get_mut(chat).ok_or(StoreError::NotFound)?;
            let Some(groups) = record.reactions.get_mut(&id) else {
                return Ok(unchanged(&record.messages[index], self.chat_epoch(chat)));
            };
            let found = groups.iter().enumerate().find_map(|(g, group)| {
                let at = group.users.iter().position(|(_, u)| u == user);
                at.filter(|_| group.emoji == emoji.as_str())
                    .map(|at| (g, at))
            });
            let Some((group, at)) = found else {
                return Ok(unchanged(&record.messages[index], self.chat_epoch(chat)));
            };
            groups[group].users.remove(at);
            if groups[group].users.is_empty() {
                groups.remove(group);
            }
            state.append(chat, |_| EventKind::ReactionRemoved {
                message: id,
                emoji: emoji.as_str().to_owned(),
                user: user.clone(),
            });
            Ok(written(
                state.message_mut(chat, index)?,
                self.chat_epoch(chat),
            ))
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn reactions(
        &self,
        chat: &ChatId,
        id: LogId,
        viewer: &UserId,
    ) -> StoreResult<Vec<ReactionGroup>> {
        let state = self.lock();
        let Some(groups) = state.chats.get(chat).and_then(|r| r.reactions.get(&id)) else {
            return Ok(Vec::new());
        };
        let mut groups: Vec<&Group> = groups.iter().collect();
        groups.sort_by_key(|group| group.users.first().map(|(seq, _)| *seq));
        Ok(groups
            .into_iter()
            .map(|group| ReactionGroup {
                emoji: group.emoji.clone(),
                count: group.users.len(),
                includes_viewer: group.users.iter().any(|(_, u)| u == viewer),
                users: group
                    .users
                    .iter()
                    .take(MAX_REACTION_USERS)
                    .map(|(_, u)| u.clone())
                    .collect(),
            })
            .collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn mark_read(&self, chat: &ChatId, user: &UserId, id: LogId) -> StoreResult<Chat> {
        self.write(|state| {
            let record = state.member_chat(chat, user).ok_or(StoreError::NotFound)?;
            let index = record.index_of(id).ok_or(StoreError::NotAMessage)?;
            let ordinal = index as u64 + 1;
            let current = record.reads.get(user).map_or(0, |read| read.ordinal);
            let snapshot = record.chat.clone();
            if ordinal <= current {
                return Ok(snapshot);
            }
            let event = state.append(chat, |_| EventKind::ChatRead {
                user: user.clone(),
                message: id,
            });
            let record = state.chats.get_mut(chat).ok_or(StoreError::NotFound)?;
            let read = Read {
                ordinal,
                message: Some(ReadPosition {
                    message: id,
                    at: event.ms,
                }),
            };
            record.reads.insert(user.clone(), read);
            Ok(snapshot)
        })
    }

    /// The unread count is the messages after the position less the
    /// deleted ones after it: a subtraction and one binary search.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn read_state(&self, chat: &ChatId, user: &UserId) -> StoreResult<ReadState> {
        let state = self.lock();
        let read = state
            .chats
            .get(chat)
            .and_then(|record| Some((record, record.reads.get(user)?)));
        let Some((record, read)) = read else {
            return Ok(ReadState::default());
        };
        let after = record.message_count().saturating_sub(read.ordinal);
        let deleted_after =
            (record.deleted.len() - record.deleted.partition_point(|&o| o <= read.ordinal)) as u64;
        Ok(ReadState {
            unread: after - deleted_after,
            position: read.message.clone(),
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn read_receipts(&self, chat: &ChatId) -> StoreResult<Vec<(UserId, ReadPosition)>> {
        let state = self.lock();
        let Some(record) = state.chats.get(chat) else {
            return Ok(Vec::new());
        };
        Ok(record
            .members
            .iter()
            .filter_map(|member| {
                let position = record.reads.get(member)?.message.clone()?;
                Some((member.clone(), position))
            })
            .collect())
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
    async fn read_log(
        &self,
        partition: Partition,
        after: LogId,
        limit: usize,
    ) -> StoreResult<Vec<Event>> {
        self.lock().log(partition)?.read_after(after, limit)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_head(&self, partition: Partition) -> StoreResult<LogId> {
        Ok(self.lock().log(partition)?.head())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn chat(&self, chat: &ChatId) -> StoreResult<Option<Chat>> {
        Ok(self.lock().chats.get(chat).map(|r| r.chat.clone()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn membership_snapshot(&self, user: &UserId) -> StoreResult<(Vec<ChatId>, Positions)> {
        let state = self.lock();
        let chats = state
            .user_chats
            .get(user)
            .map(|chats| chats.iter().cloned().collect())
            .unwrap_or_default();
        let heads = state.logs.iter().map(PartLog::head).collect();
        Ok((chats, Positions::from_vec(heads)))
    }

    fn partitions(&self) -> Partitions {
        self.partitions
    }

    fn log_tail(&self, partition: Partition) -> Box<dyn LogTail> {
        let head = &self.heads[partition.index().min(self.heads.len() - 1)];
        Box::new(MemoryTail {
            state: self.state.clone(),
            partition,
            epoch: self.epochs[partition.index().min(self.epochs.len() - 1)].clone(),
            head: head.subscribe(),
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn start_session(
        &self,
        user: &UserId,
        session: &SessionId,
        refresh: RefreshHash<'_>,
    ) -> StoreResult<()> {
        self.lock().sessions.start(user, session, refresh);
        Ok(())
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
        Ok(self
            .lock()
            .sessions
            .rotate(session, presented, next, now, tokens_until))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn end_session(
        &self,
        user: &UserId,
        session: &SessionId,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>> {
        Ok(self
            .lock()
            .sessions
            .end_one(user, session, tokens_until, now_ms()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn end_sessions(&self, user: &UserId, tokens_until: Millis) -> StoreResult<Vec<Ended>> {
        Ok(self.lock().sessions.end_all(user, tokens_until, now_ms()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_password(
        &self,
        user: &UserId,
        password_hash: &str,
        tokens_until: Millis,
    ) -> StoreResult<Vec<Ended>> {
        let mut state = self.lock();
        let record = state.users.get_mut(user).ok_or(StoreError::NotFound)?;
        record.password_hash = password_hash.to_owned();
        Ok(state.sessions.end_all(user, tokens_until, now_ms()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ended_sessions(&self, now: Millis) -> StoreResult<Vec<Ended>> {
        Ok(self.lock().sessions.ended(now))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn session_ended(&self, session: &SessionId, now: Millis) -> StoreResult<bool> {
        Ok(self.lock().sessions.is_ended(session, now))
    }

    async fn session_notices(&self) -> StoreResult<Box<dyn SessionNotices>> {
        Ok(Box::new(MemoryNotices(self.lock().sessions.notices())))
    }
}

#[async_trait]
impl Signals for MemoryStore {
    async fn set_typing(&self, chat: &ChatId, user: &UserId, typing: bool) -> StoreResult<()> {
        let mut state = self.lock();
        state.member_chat(chat, user).ok_or(StoreError::NotFound)?;
        state.signals.set_typing(chat, user, typing, now_ms());
        Ok(())
    }

    async fn typing(&self, chat: &ChatId) -> StoreResult<Typing> {
        Ok(self.lock().signals.typing(chat, now_ms()))
    }

    async fn hold_presence(
        &self,
        holder: &str,
        users: &[UserId],
        ttl: Duration,
    ) -> StoreResult<()> {
        self.lock().signals.hold(holder, users, ttl, now_ms());
        Ok(())
    }

    async fn release_presence(&self, holder: &str, users: &[UserId]) -> StoreResult<()> {
        self.lock().signals.release(holder, users, now_ms());
        Ok(())
    }

    async fn presence(&self, user: &UserId) -> StoreResult<Presence> {
        Ok(self.lock().signals.presence(user, now_ms()))
    }

    async fn share_a_chat(&self, a: &UserId, b: &UserId) -> StoreResult<bool> {
        let state = self.lock();
        Ok(match (state.user_chats.get(a), state.user_chats.get(b)) {
            (Some(a), Some(b)) => !a.is_disjoint(b),
            _ => false,
        })
    }

    async fn listen(&self) -> StoreResult<(Box<dyn SignalControl>, Box<dyn SignalNotices>)> {
        Ok(self.lock().signals.listen())
    }
}

/// The memory store's [`SessionNotices`]: its in-process channel.
struct MemoryNotices(broadcast::Receiver<Ended>);

#[async_trait]
impl SessionNotices for MemoryNotices {
    async fn next(&mut self) -> StoreResult<Ended> {
        self.0
            .recv()
            .await
            .map_err(|error| StoreError::backend(format!("session notices: {error}")))
    }
}

/// The memory store's [`LogTail`]: waits for the head to move, then reads.
struct MemoryTail {
    state: Arc<Mutex<State>>,
    partition: Partition,
    epoch: String,
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
        lock(&self.state)
            .log(self.partition)?
            .read_after(after, count)
    }

    /// A process's memory never fails over: the epoch is the one it began
    /// with.
    async fn epoch(&mut self) -> StoreResult<String> {
        Ok(self.epoch.clone())
    }
}
