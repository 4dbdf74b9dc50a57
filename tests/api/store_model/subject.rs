//! A backend under test: runs operations on a real `Store` and describes
//! what it saw in the model's logical names.
//!
//! The subject learns the backend's ids as they appear, in the order the
//! model numbers them: a user's id from `create_user`, a chat's from
//! `create_chat`, an event's log position from reading every partition's
//! log right after each operation. Positions are a partition's own, so an
//! event is named by its partition and position, and a message by its chat
//! and position. An id the subject never learned, a log position that does
//! not follow the previous one of its partition, or an event found in
//! another partition's log than the one it names, cannot be named and
//! fails the case.

use std::time::Duration;

use chat_server::domain::{
    ChatId, ChatTitle, ClientMessageId, Emoji, MessageBody, UserId, Username,
};
use chat_server::store::signals::Presence;
use chat_server::store::{
    Changed, Chat, Event, EventKind, LogId, Message, MessagePage, NewMessage, Partition, Positions,
    ReactionGroup, ReadPosition, ReadState, Sent, Store, StoreResult, User,
};
use futures_util::future::try_join_all;

use super::observe::{
    ChatView, EventView, Failure, GroupView, KindView, MessageView, Observation, Outcome, PageView,
    PositionView, ReadStateView, Stamp, UserView,
};
use super::ops::{
    HISTORY_LIMIT, Logged, MANY_EMOJI, Msg, Op, Reaction, Resolved, added_reaction, chat_log,
};

/// Stored for every user: the property never checks passwords, and hashing
/// one with argon2 would cost more than the whole case.
const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

/// Enough to read everything one store call appends to a partition (at
/// most one event).
const SYNC_LIMIT: usize = 8;

/// The position a [`Msg`] naming no event stands for: no event has it,
/// since backends take their log ids from the clock.
const GHOST_MESSAGE: LogId = LogId { ms: 1, seq: 7 };

/// The backend's ids behind the model's numbers.
struct Names {
    users: Vec<UserId>,
    chats: Vec<ChatId>,
    /// Log positions by event number, each in its partition's log.
    events: Vec<LogId>,
    /// Each partition's events by number, oldest first: their positions
    /// strictly increase by construction.
    logs: Vec<Vec<usize>>,
    /// Each event's chat, partition and whether it is a message, by event
    /// number, for resolving [`Msg`]s.
    logged: Vec<Logged>,
    /// What an index naming no user (or chat) stands for: an id of the
    /// right shape that exists nowhere.
    ghost_user: UserId,
    ghost_chat: ChatId,
}

/// A backend's store and what has been learned of its ids.
pub struct Subject {
    pub name: &'static str,
    store: Box<dyn Store>,
    names: Names,
}

/// A store's answer to one operation, before it is named.
enum Raw {
    User(StoreResult<User>),
    Found(StoreResult<Option<User>>),
    Chat(StoreResult<Chat>),
    Left(StoreResult<()>),
    Sent(StoreResult<Sent>),
    Page(StoreResult<Option<(Chat, MessagePage)>>),
    Chats(StoreResult<Vec<Chat>>),
    Log(StoreResult<Vec<Event>>),
    Snapshot(StoreResult<(Vec<ChatId>, Positions)>),
    Members(StoreResult<Vec<UserId>>),
    Info(StoreResult<(Option<Chat>, Option<Message>)>),
    History(StoreResult<MessagePage>),
    Message(StoreResult<Option<Message>>),
    Changed(StoreResult<Changed>),
    ChangedEach(Vec<StoreResult<Changed>>),
    Reactions(StoreResult<Vec<ReactionGroup>>),
    /// With the chat, whose partition its positions are in.
    ReadState(ChatId, StoreResult<ReadState>),
    Receipts(ChatId, StoreResult<Vec<(UserId, ReadPosition)>>),
    Signalled(StoreResult<()>),
    Typing(StoreResult<Vec<UserId>>),
    Presence(StoreResult<Presence>),
}

/// How long a presence hold lasts: far longer than a case runs.
const HOLD: Duration = Duration::from_secs(600);

/// The name of a server process holding presence.
fn holder_name(holder: u8) -> String {
    format!("process-{holder}")
}

impl Subject {
    pub fn new(name: &'static str, store: Box<dyn Store>) -> Self {
        let partitions = store.partitions().count();
        Self {
            name,
            store,
            names: Names {
                users: Vec::new(),
                chats: Vec::new(),
                events: Vec::new(),
                logs: vec![Vec::new(); partitions],
                logged: Vec::new(),
                ghost_user: UserId::generate(),
                ghost_chat: ChatId::generate(),
            },
        }
    }

    /// The ids of the chats the backend created, by number.
    pub fn chat_ids(&self) -> &[ChatId] {
        &self.names.chats
    }

    /// The milliseconds of event `n` on this backend, once learned.
    pub fn event_ms(&self, n: usize) -> Option<u64> {
        self.names.events.get(n).map(|id| id.ms)
    }

    /// Runs `op`, then reads what it appended and the heads; `Err` when the
    /// backend answered with something that cannot be named.
    pub async fn apply(&mut self, op: &Op) -> Result<Observation, String> {
        let (raw, mut appended) = match *op {
            // Several calls, each read back before the next, so that even
            // a log that keeps one event loses none of them unseen.
            Op::ReactMany {
                chat,
                user,
                message,
                count,
            } => {
                let id = self.message_id(chat, message);
                let (chat, user) = (self.chat_id(chat), self.user_id(user));
                let mut each = Vec::new();
                let mut appended = Vec::new();
                for emoji in &MANY_EMOJI[..usize::from(count)] {
                    let emoji = Emoji::parse(emoji).expect("pool emoji are valid");
                    each.push(self.store.add_reaction(&chat, &user, id, &emoji).await);
                    appended.extend(self.sync().await?.0);
                }
                (Raw::ChangedEach(each), appended)
            }
            _ => (self.call(op).await, Vec::new()),
        };
        let (fresh, heads) = self.sync().await?;
        appended.extend(fresh);
        Ok(Observation {
            outcome: self.name_outcome(raw)?,
            appended,
            heads,
        })
    }

    async fn call(&mut self, op: &Op) -> Raw {
        let store = &*self.store;
        match *op {
            Op::CreateUser { name } => {
                let name = Username::parse(name).expect("pool names are valid");
                let created = store.create_user(&name, PASSWORD_HASH).await;
                if let Ok(user) = &created {
                    self.names.users.push(user.id.clone());
                }
                Raw::User(created)
            }
            Op::FindUser { name } => {
                let name = Username::parse(name).expect("pool names are valid");
                Raw::Found(store.user_by_name(&name).await)
            }
            Op::CreateChat {
                creator,
                title,
                ref others,
            } => {
                let creator = self.user_id(creator);
                // As the resolver does: no repeats, not the creator.
                let mut ids: Vec<UserId> = Vec::new();
                for other in others.iter().map(|&o| self.user_id(o)) {
                    if other != creator && !ids.contains(&other) {
                        ids.push(other);
                    }
                }
                let title = ChatTitle::parse(title).expect("pool titles are valid");
                let created = store.create_chat(&creator, &title, &ids).await;
                if let Ok(chat) = &created {
                    self.names.chats.push(chat.id.clone());
                }
                Raw::Chat(created)
            }
            Op::AddMember { chat, by, user } => Raw::Chat(
                store
                    .add_member(&self.chat_id(chat), &self.user_id(by), &self.user_id(user))
                    .await,
            ),
            Op::LeaveChat { chat, user } => Raw::Left(
                store
                    .leave_chat(&self.chat_id(chat), &self.user_id(user))
                    .await,
            ),
            Op::SendMessage {
                chat,
                sender,
                body,
                client_id,
                reply_to,
            } => {
                let reply_to = reply_to.map(|m| self.message_id(chat, m));
                let body = MessageBody::parse(body).expect("pool bodies are valid");
                let client_id =
                    client_id.map(|c| ClientMessageId::parse(c).expect("pool ids are valid"));
                Raw::Sent(
                    store
                        .send_message(
                            &self.chat_id(chat),
                            &self.user_id(sender),
                            NewMessage {
                                body: &body,
                                client_message_id: client_id.as_ref(),
                                reply_to,
                            },
                        )
                        .await,
                )
            }
            Op::ReadMessages {
                chat,
                viewer,
                before,
                limit,
            } => {
                let log = chat_log(chat, &self.names.logged);
                let before = before.map(|p| self.position(p.resolve(&log)));
                let (chat, viewer) = (self.chat_id(chat), self.user_id(viewer));
                Raw::Page(read_page(store, &chat, &viewer, before, usize::from(limit)).await)
            }
            Op::ListChats { user } => Raw::Chats(store.chats_of(&self.user_id(user)).await),
            Op::ReadLog {
                partition,
                after,
                limit,
            } => {
                let count = store.partitions().count();
                let number = partition.resolve(count, &self.names.logged);
                let after = self.position(after.resolve(&self.names.logs[number]));
                let partition = store
                    .partitions()
                    .get(number)
                    .expect("resolved below count");
                Raw::Log(store.read_log(partition, after, usize::from(limit)).await)
            }
            Op::MembershipSnapshot { user } => {
                Raw::Snapshot(store.membership_snapshot(&self.user_id(user)).await)
            }
            Op::Members { chat } => Raw::Members(store.members(&self.chat_id(chat)).await),
            Op::ChatInfo { chat } => {
                let chat = self.chat_id(chat);
                Raw::Info(chat_info(store, &chat).await)
            }
            Op::History { chat } => Raw::History(
                store
                    .messages(&self.chat_id(chat), None, HISTORY_LIMIT)
                    .await,
            ),
            Op::GetMessage { chat, message } => {
                let id = self.message_id(chat, message);
                Raw::Message(store.message(&self.chat_id(chat), id).await)
            }
            Op::EditMessage {
                chat,
                user,
                message,
                body,
            } => {
                let id = self.message_id(chat, message);
                let body = MessageBody::parse(body).expect("pool bodies are valid");
                Raw::Changed(
                    store
                        .edit_message(&self.chat_id(chat), &self.user_id(user), id, &body)
                        .await,
                )
            }
            Op::DeleteMessage {
                chat,
                user,
                message,
            } => {
                let id = self.message_id(chat, message);
                Raw::Changed(
                    store
                        .delete_message(&self.chat_id(chat), &self.user_id(user), id)
                        .await,
                )
            }
            Op::AddReaction {
                chat,
                user,
                message,
                emoji,
            } => {
                let id = self.message_id(chat, message);
                let emoji = Emoji::parse(emoji).expect("pool emoji are valid");
                Raw::Changed(
                    store
                        .add_reaction(&self.chat_id(chat), &self.user_id(user), id, &emoji)
                        .await,
                )
            }
            Op::ReactMany { .. } => unreachable!("applied call by call"),
            Op::RemoveReaction {
                chat,
                user,
                message,
                emoji,
            } => {
                let id = self.message_id(chat, message);
                let emoji = Emoji::parse(emoji).expect("pool emoji are valid");
                Raw::Changed(
                    store
                        .remove_reaction(&self.chat_id(chat), &self.user_id(user), id, &emoji)
                        .await,
                )
            }
            Op::Unreact { chat, message, nth } => {
                let message = message.resolve(chat, &self.names.logged);
                let Some(r) = added_reaction(message, nth, &self.names.logged) else {
                    return Raw::ChangedEach(Vec::new());
                };
                let user = self.names.users[r.user].clone();
                let id = self.names.events[r.message];
                let emoji = Emoji::from_stored(r.emoji.clone());
                Raw::Changed(
                    store
                        .remove_reaction(&self.chat_id(chat), &user, id, &emoji)
                        .await,
                )
            }
            Op::Reactions {
                chat,
                message,
                viewer,
            } => {
                let id = self.message_id(chat, message);
                Raw::Reactions(
                    store
                        .reactions(&self.chat_id(chat), id, &self.user_id(viewer))
                        .await,
                )
            }
            Op::MarkRead {
                chat,
                user,
                message,
            } => {
                let id = self.message_id(chat, message);
                Raw::Chat(
                    store
                        .mark_read(&self.chat_id(chat), &self.user_id(user), id)
                        .await,
                )
            }
            Op::ReadState { chat, user } => {
                let chat = self.chat_id(chat);
                let state = store.read_state(&chat, &self.user_id(user)).await;
                Raw::ReadState(chat, state)
            }
            Op::ReadReceipts { chat } => {
                let chat = self.chat_id(chat);
                let receipts = store.read_receipts(&chat).await;
                Raw::Receipts(chat, receipts)
            }
            Op::SetTyping { chat, user, typing } => Raw::Signalled(
                store
                    .set_typing(&self.chat_id(chat), &self.user_id(user), typing)
                    .await,
            ),
            Op::Typing { chat } => Raw::Typing(
                store
                    .typing(&self.chat_id(chat))
                    .await
                    .map(|typing| typing.users),
            ),
            Op::TypeInTurn { chat, ref users } => {
                for &user in users {
                    // Refusals are what `SetTyping` checks; the set is read.
                    let _ = store
                        .set_typing(&self.chat_id(chat), &self.user_id(user), true)
                        .await;
                }
                Raw::Typing(
                    store
                        .typing(&self.chat_id(chat))
                        .await
                        .map(|typing| typing.users),
                )
            }
            Op::HoldPresence { user, holder } => Raw::Signalled(
                store
                    .hold_presence(&holder_name(holder), &[self.user_id(user)], HOLD)
                    .await,
            ),
            Op::ReleasePresence { user, holder } => Raw::Signalled(
                store
                    .release_presence(&holder_name(holder), &[self.user_id(user)])
                    .await,
            ),
            Op::Presence { user } => Raw::Presence(store.presence(&self.user_id(user)).await),
        }
    }

    /// Reads every partition's head, then the events appended since the
    /// last one learned in each partition whose head moved (learning their
    /// positions). A partition's head is its newest event, so one that did
    /// not move had nothing appended.
    async fn sync(&mut self) -> Result<(Vec<EventView>, Vec<Option<usize>>), String> {
        let store = &*self.store;
        let heads = store
            .log_heads()
            .await
            .map_err(|e| format!("log_heads failed: {e}"))?;
        let moved = store
            .partitions()
            .all()
            .map(|partition| (partition, self.last_learned(partition)))
            .filter(|&(partition, last)| heads.get(partition) != last);
        // Every partition at once: on a cluster, a round trip, not one each.
        let reads = moved.map(|(partition, after)| async move {
            let read = store.read_log(partition, after, SYNC_LIMIT).await;
            let read =
                read.map_err(|e| format!("reading partition {partition} after {after}: {e}"));
            read.map(|events| (partition, events))
        });
        let fresh = try_join_all(reads).await?;
        let mut appended = Vec::new();
        for (partition, events) in &fresh {
            for event in events {
                appended.push(self.learn(*partition, event)?);
            }
        }
        Ok((appended, self.heads(&heads)?))
    }

    /// Learns the position of an event read from `partition`'s log, and
    /// names it.
    fn learn(&mut self, partition: Partition, event: &Event) -> Result<EventView, String> {
        if event.partition != partition {
            return Err(format!(
                "partition {partition}'s log holds event {} of partition {}",
                event.id, event.partition
            ));
        }
        let last = self.last_learned(partition);
        if event.id <= last {
            return Err(format!(
                "log id {} follows {last} in partition {partition}",
                event.id
            ));
        }
        self.names.logs[partition.index()].push(self.names.events.len());
        self.names.events.push(event.id);
        let view = self.event_view(event)?;
        self.names.logged.push(logged(&view));
        Ok(view)
    }

    /// The newest position learned in `partition`.
    fn last_learned(&self, partition: Partition) -> LogId {
        let log = &self.names.logs[partition.index()];
        log.last().map_or(LogId::ZERO, |&n| self.names.events[n])
    }

    /// A partition's head, by its event's number (`None` while empty).
    fn head(&self, partition: Partition, head: LogId) -> Result<Option<usize>, String> {
        match head {
            LogId::ZERO => Ok(None),
            head => self.event_in(partition, head).map(Some),
        }
    }

    fn name_outcome(&self, raw: Raw) -> Result<Outcome, String> {
        // Store errors are part of the outcome; naming errors end the case.
        fn named<T, U>(
            result: StoreResult<T>,
            name: impl FnOnce(T) -> Result<U, String>,
        ) -> Result<Result<U, Failure>, String> {
            match result {
                Ok(value) => name(value).map(Ok),
                Err(error) => Ok(Err(error.into())),
            }
        }
        Ok(match raw {
            Raw::User(r) => Outcome::User(named(r, |u| self.user_view(&u))?),
            Raw::Found(r) => {
                Outcome::Found(named(r, |u| u.map(|u| self.user_view(&u)).transpose())?)
            }
            Raw::Chat(r) => Outcome::Chat(named(r, |c| self.chat_view(&c))?),
            Raw::Left(r) => Outcome::Left(named(r, Ok)?),
            Raw::Sent(r) => Outcome::Sent(named(r, |s| {
                Ok((self.message_view(&s.message)?, s.created))
            })?),
            Raw::Page(r) => Outcome::Page(named(r, |found| {
                found
                    .map(|(chat, page)| Ok((self.chat_view(&chat)?, self.page_view(&page)?)))
                    .transpose()
            })?),
            Raw::Chats(r) => Outcome::Chats(named(r, |chats| {
                let mut views = chats
                    .iter()
                    .map(|c| self.chat_view(c))
                    .collect::<Result<Vec<_>, _>>()?;
                // `chats_of` promises no order; the caller sorts.
                views.sort_by_key(|v| v.chat);
                Ok(views)
            })?),
            Raw::Log(r) => Outcome::Log(named(r, |events| {
                events.iter().map(|e| self.event_view(e)).collect()
            })?),
            Raw::Snapshot(r) => Outcome::Snapshot(named(r, |(chats, heads)| {
                let mut chats = chats
                    .iter()
                    .map(|c| self.chat(c))
                    .collect::<Result<Vec<_>, _>>()?;
                chats.sort_unstable();
                Ok((chats, self.heads(&heads)?))
            })?),
            Raw::Members(r) => Outcome::Members(named(r, |members| {
                members.iter().map(|m| self.user(m)).collect()
            })?),
            Raw::Info(r) => Outcome::Info(named(r, |(chat, last)| {
                Ok((
                    chat.map(|c| self.chat_view(&c)).transpose()?,
                    last.map(|m| self.message_view(&m)).transpose()?,
                ))
            })?),
            Raw::History(r) => Outcome::History(named(r, |page| self.page_view(&page))?),
            Raw::Message(r) => {
                Outcome::Message(named(r, |m| m.map(|m| self.message_view(&m)).transpose())?)
            }
            Raw::Changed(r) => Outcome::Changed(named(r, |c| self.changed_view(&c))?),
            Raw::ChangedEach(each) => Outcome::ChangedEach(
                each.into_iter()
                    .map(|r| named(r, |c| self.changed_view(&c)))
                    .collect::<Result<_, _>>()?,
            ),
            Raw::Reactions(r) => Outcome::Reactions(named(r, |groups| {
                groups.iter().map(|g| self.group_view(g)).collect()
            })?),
            Raw::ReadState(chat, r) => Outcome::ReadState(named(r, |state| {
                Ok(ReadStateView {
                    unread: state.unread,
                    position: state
                        .position
                        .map(|p| self.position_view(&chat, &p))
                        .transpose()?,
                })
            })?),
            Raw::Receipts(chat, r) => Outcome::Receipts(named(r, |receipts| {
                receipts
                    .iter()
                    .map(|(user, p)| Ok((self.user(user)?, self.position_view(&chat, p)?)))
                    .collect()
            })?),
            Raw::Signalled(r) => Outcome::Signalled(named(r, Ok)?),
            Raw::Typing(r) => Outcome::Typing(named(r, |users| {
                users.iter().map(|u| self.user(u)).collect()
            })?),
            Raw::Presence(r) => Outcome::Presence(named(r, |presence| {
                Ok((presence.online, presence.last_seen.is_some()))
            })?),
        })
    }

    fn user_id(&self, index: u8) -> UserId {
        let found = self.names.users.get(usize::from(index));
        found.unwrap_or(&self.names.ghost_user).clone()
    }

    fn chat_id(&self, index: u8) -> ChatId {
        let found = self.names.chats.get(usize::from(index));
        found.unwrap_or(&self.names.ghost_chat).clone()
    }

    /// The log id a [`Msg`] names, as the model resolves it from the same
    /// events.
    fn message_id(&self, chat: u8, message: Msg) -> LogId {
        match message.resolve(chat, &self.names.logged) {
            Some(n) => self.names.events[n],
            None => GHOST_MESSAGE,
        }
    }

    fn position(&self, resolved: Resolved) -> LogId {
        match resolved {
            Resolved::Zero => LogId::ZERO,
            Resolved::Event(n) => self.names.events[n],
            Resolved::Max => LogId {
                ms: u64::MAX,
                seq: u64::MAX,
            },
        }
    }

    fn user(&self, id: &UserId) -> Result<usize, String> {
        let found = self.names.users.iter().position(|u| u == id);
        found.ok_or_else(|| format!("unknown user id {id}"))
    }

    fn chat(&self, id: &ChatId) -> Result<usize, String> {
        let found = self.names.chats.iter().position(|c| c == id);
        found.ok_or_else(|| format!("unknown chat id {id}"))
    }

    /// The event at position `id` of `partition`'s log.
    fn event_in(&self, partition: Partition, id: LogId) -> Result<usize, String> {
        let unknown = || format!("unknown log position {id} in partition {partition}");
        let log = self.names.logs.get(partition.index()).ok_or_else(unknown)?;
        let found = log.binary_search_by_key(&id, |&n| self.names.events[n]);
        found.map(|i| log[i]).map_err(|_| unknown())
    }

    /// The event at position `id` of the log of the partition `chat` is
    /// in: how messages are named, a message id being a position there.
    fn event_of(&self, chat: &ChatId, id: LogId) -> Result<usize, String> {
        self.event_in(self.store.partition_of(chat), id)
    }

    /// Every partition's head, by event number.
    fn heads(&self, heads: &Positions) -> Result<Vec<Option<usize>>, String> {
        let partitions = self.store.partitions();
        if heads.len() != partitions.count() {
            return Err(format!(
                "{} heads for {} partitions",
                heads.len(),
                partitions.count()
            ));
        }
        partitions
            .all()
            .map(|partition| self.head(partition, heads.get(partition)))
            .collect()
    }

    fn user_view(&self, user: &User) -> Result<UserView, String> {
        Ok(UserView {
            user: self.user(&user.id)?,
            username: user.username.clone(),
        })
    }

    fn chat_view(&self, chat: &Chat) -> Result<ChatView, String> {
        Ok(ChatView {
            chat: self.chat(&chat.id)?,
            title: chat.title.clone(),
            created_by: self.user(&chat.created_by)?,
            created_at: Stamp::Ms(chat.created_at),
            last_activity: Stamp::Ms(chat.last_activity),
        })
    }

    fn message_view(&self, message: &Message) -> Result<MessageView, String> {
        let event = |id| self.event_of(&message.chat_id, id);
        Ok(MessageView {
            event: event(message.id)?,
            chat: self.chat(&message.chat_id)?,
            sender: self.user(&message.sender)?,
            body: message.body.clone(),
            client_id: message.client_message_id.clone(),
            reply_to: message.reply_to.map(event).transpose()?,
            edited_at: message.edited_at.map(Stamp::Ms),
            deleted_at: message.deleted_at.map(Stamp::Ms),
        })
    }

    fn changed_view(&self, changed: &Changed) -> Result<(MessageView, bool), String> {
        Ok((self.message_view(&changed.message)?, changed.written))
    }

    fn group_view(&self, group: &ReactionGroup) -> Result<GroupView, String> {
        Ok(GroupView {
            emoji: group.emoji.clone(),
            count: group.count,
            includes_viewer: group.includes_viewer,
            users: group
                .users
                .iter()
                .map(|u| self.user(u))
                .collect::<Result<_, _>>()?,
        })
    }

    fn position_view(
        &self,
        chat: &ChatId,
        position: &ReadPosition,
    ) -> Result<PositionView, String> {
        Ok(PositionView {
            message: self.event_of(chat, position.message)?,
            at: Stamp::Ms(position.at),
        })
    }

    fn page_view(&self, page: &MessagePage) -> Result<PageView, String> {
        Ok(PageView {
            messages: page
                .messages
                .iter()
                .map(|m| self.message_view(m))
                .collect::<Result<_, _>>()?,
            has_older: page.has_older,
            has_newer: page.has_newer,
        })
    }

    fn event_view(&self, event: &Event) -> Result<EventView, String> {
        let message = |id: &LogId| self.event_of(&event.chat_id, *id);
        let kind = match &event.kind {
            EventKind::ChatCreated { members } => KindView::ChatCreated {
                members: members
                    .iter()
                    .map(|m| self.user(m))
                    .collect::<Result<_, _>>()?,
            },
            EventKind::MemberJoined { user, added_by } => KindView::MemberJoined {
                user: self.user(user)?,
                by: self.user(added_by)?,
            },
            EventKind::MemberLeft { user } => KindView::MemberLeft {
                user: self.user(user)?,
            },
            EventKind::MessageCreated(message) => {
                KindView::MessageCreated(self.message_view(message)?)
            }
            EventKind::MessageEdited { message: id } => KindView::MessageEdited {
                message: message(id)?,
            },
            EventKind::MessageDeleted { message: id } => KindView::MessageDeleted {
                message: message(id)?,
            },
            EventKind::ReactionAdded {
                message: id,
                emoji,
                user,
            } => KindView::ReactionAdded {
                message: message(id)?,
                emoji: emoji.clone(),
                user: self.user(user)?,
            },
            EventKind::ReactionRemoved {
                message: id,
                emoji,
                user,
            } => KindView::ReactionRemoved {
                message: message(id)?,
                emoji: emoji.clone(),
                user: self.user(user)?,
            },
            EventKind::ChatRead { user, message: id } => KindView::ChatRead {
                user: self.user(user)?,
                message: message(id)?,
            },
        };
        Ok(EventView {
            event: self.event_in(event.partition, event.id)?,
            partition: event.partition.index(),
            chat: self.chat(&event.chat_id)?,
            kind,
        })
    }
}

/// What [`Msg`]s are resolved against, of an event as named.
fn logged(event: &EventView) -> Logged {
    Logged {
        chat: event.chat,
        partition: event.partition,
        message: matches!(event.kind, KindView::MessageCreated(_)),
        reaction: match &event.kind {
            KindView::ReactionAdded {
                message,
                emoji,
                user,
            }
            | KindView::ReactionRemoved {
                message,
                emoji,
                user,
            } => Some(Reaction {
                message: *message,
                emoji: emoji.clone(),
                user: *user,
                added: matches!(event.kind, KindView::ReactionAdded { .. }),
            }),
            _ => None,
        },
    }
}

/// What `Chat.messages` reads: the chat when `viewer` is a member, then a
/// page of it; nothing at all for a non-member.
async fn read_page(
    store: &dyn Store,
    chat: &ChatId,
    viewer: &UserId,
    before: Option<LogId>,
    limit: usize,
) -> StoreResult<Option<(Chat, MessagePage)>> {
    let Some(found) = store.chat_for_member(chat, viewer).await? else {
        return Ok(None);
    };
    let page = store.messages(chat, before, limit).await?;
    Ok(Some((found, page)))
}

/// A chat read without a membership check, with its newest message.
async fn chat_info(
    store: &dyn Store,
    chat: &ChatId,
) -> StoreResult<(Option<Chat>, Option<Message>)> {
    Ok((store.chat(chat).await?, store.last_message(chat).await?))
}
