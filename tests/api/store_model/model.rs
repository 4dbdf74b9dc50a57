//! The model: the store's contract as plain vectors, obviously correct.
//!
//! No ids, no clocks, no concurrency: users, chats and events are vectors
//! indexed by creation order, a chat's members are a vector in join order,
//! and the log is every event ever appended (trimming only hides the
//! oldest). A partitioned log is the same events, each partition's log
//! being those of its chats, with its own trimming and head. The one thing
//! taken from a backend is each chat's id, which is random: a chat's
//! partition is the store's fixed hash of it ([`Partitions::of`]). Each
//! rule below is the sentence of `Store`'s docs or SEMANTICS.md (and
//! SEMANTICS-v2.md) that it implements, and nothing more clever. Times are
//! event numbers: an edit's time is its `MessageEdited`, a read position's
//! the `ChatRead` (or the message sent) that put it there.

use std::collections::{BTreeSet, HashMap};

use chat_server::domain::ChatId;
use chat_server::store::{MAX_DISTINCT_EMOJI, Partitions};

use super::observe::{
    ChatView, EventView, Failure, GroupView, KindView, MessageView, Observation, Outcome, PageView,
    PositionView, ReadStateView, Stamp, UserView,
};
use super::ops::{HISTORY_LIMIT, Logged, MANY_EMOJI, Msg, Op, Reaction, Resolved, added_reaction};

struct User {
    username: String,
}

struct Chat {
    /// The partition its events are in.
    partition: usize,
    title: String,
    created_by: usize,
    /// The number of its `ChatCreated` event.
    created: usize,
    /// Current members in join order.
    members: Vec<usize>,
    /// Its messages, by event number, oldest first.
    messages: Vec<usize>,
    /// Each current member's read position.
    reads: HashMap<usize, Read>,
    /// Members typing, in the order they started.
    typing: Vec<usize>,
}

/// Where a member has read to: `event` is their join's event (between
/// messages: nothing to show yet) or a message's, and `at` is the event
/// whose time is the position's time.
#[derive(Clone, Copy)]
struct Read {
    event: usize,
    at: usize,
}

/// A message as it is now.
struct Message {
    body: String,
    /// The event of its latest edit.
    edited: Option<usize>,
    /// The event of its deletion.
    deleted: Option<usize>,
    /// Current reactions in the order they were made: (emoji, user).
    reactions: Vec<(String, usize)>,
}

struct Event {
    chat: usize,
    /// Its chat's partition.
    partition: usize,
    kind: Kind,
}

enum Kind {
    ChatCreated {
        members: Vec<usize>,
    },
    MemberJoined {
        user: usize,
        by: usize,
    },
    MemberLeft {
        user: usize,
    },
    /// A message as it was sent.
    Message {
        sender: usize,
        body: String,
        client_id: Option<String>,
        reply_to: Option<usize>,
    },
    Edited {
        message: usize,
    },
    Deleted {
        message: usize,
    },
    ReactionAdded {
        message: usize,
        emoji: String,
        user: usize,
    },
    ReactionRemoved {
        message: usize,
        emoji: String,
        user: usize,
    },
    Read {
        user: usize,
        message: usize,
    },
}

/// The whole state of a store, as the contract describes it.
pub struct Model {
    users: Vec<User>,
    chats: Vec<Chat>,
    events: Vec<Event>,
    /// Messages as they are now, by event number.
    messages: HashMap<usize, Message>,
    /// (chat, sender, client message id) to the first message's event. The
    /// 24-hour expiry never passes within a case.
    first_sent: HashMap<(usize, usize, String), usize>,
    /// How many of the newest events each partition's log keeps.
    retention: usize,
    /// How the log is split, and which partition a chat id is in.
    partitions: Partitions,
    /// Presence by user (`None`: an index that named nobody when the hold
    /// was made — every such index stands for the same unknown id): the
    /// processes holding it, and whether it has gone offline since it was
    /// first online.
    presence: HashMap<Option<usize>, (BTreeSet<u8>, bool)>,
}

impl Model {
    pub fn new(retention: usize, partitions: Partitions) -> Self {
        Self {
            users: Vec::new(),
            chats: Vec::new(),
            events: Vec::new(),
            messages: HashMap::new(),
            first_sent: HashMap::new(),
            retention,
            partitions,
            presence: HashMap::new(),
        }
    }

    /// How many partitions the log has.
    pub fn partitions(&self) -> usize {
        self.partitions.count()
    }

    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Each chat's messages, by chat number: whether each has reactions.
    pub fn reacted(&self) -> Vec<Vec<bool>> {
        let reacted = |m: &usize| !self.messages[m].reactions.is_empty();
        self.chats
            .iter()
            .map(|c| c.messages.iter().map(reacted).collect())
            .collect()
    }

    /// What [`Msg`]s are resolved against.
    fn logged(&self) -> Vec<Logged> {
        let logged = |e: &Event| Logged {
            chat: e.chat,
            partition: e.partition,
            message: matches!(e.kind, Kind::Message { .. }),
            reaction: match &e.kind {
                Kind::ReactionAdded {
                    message,
                    emoji,
                    user,
                }
                | Kind::ReactionRemoved {
                    message,
                    emoji,
                    user,
                } => Some(Reaction {
                    message: *message,
                    emoji: emoji.clone(),
                    user: *user,
                    added: matches!(e.kind, Kind::ReactionAdded { .. }),
                }),
                _ => None,
            },
        };
        self.events.iter().map(logged).collect()
    }

    /// The message event `message` names in `chat`, if it names one.
    fn resolve(&self, chat: u8, message: Msg) -> Option<usize> {
        message.resolve(chat, &self.logged())
    }

    /// The message `message` names, when it is one of `chat`'s.
    fn message_of(&self, chat: usize, message: Option<usize>) -> Option<usize> {
        message.filter(|m| self.chats[chat].messages.contains(m))
    }

    /// The user an index names, if it names one.
    fn user(&self, index: u8) -> Option<usize> {
        let index = usize::from(index);
        (index < self.users.len()).then_some(index)
    }

    /// The chat an index names, if it names one.
    fn chat(&self, index: u8) -> Option<usize> {
        let index = usize::from(index);
        (index < self.chats.len()).then_some(index)
    }

    /// The chat when `user` is one of its current members.
    fn member_chat(&self, chat: u8, user: u8) -> Option<usize> {
        let (chat, user) = (self.chat(chat)?, self.user(user)?);
        self.chats[chat].members.contains(&user).then_some(chat)
    }

    /// A partition's log: its events' numbers, oldest first.
    fn log(&self, partition: usize) -> Vec<usize> {
        (0..self.events.len())
            .filter(|&n| self.events[n].partition == partition)
            .collect()
    }

    /// Every partition's newest event, in partition order.
    fn heads(&self) -> Vec<Option<usize>> {
        (0..self.partitions())
            .map(|p| self.log(p).last().copied())
            .collect()
    }

    /// Applies `op` and says what a correct store would be seen to do.
    /// `placed` is the backend's id of each chat it created, by number
    /// (all that is used of it is the partition of a new chat's id).
    pub fn apply(&mut self, op: &Op, placed: &[ChatId]) -> Observation {
        let before = self.events.len();
        let outcome = self.outcome(op, placed);
        let mut appended: Vec<usize> = (before..self.events.len()).collect();
        // As a reader of every partition in turn sees them.
        appended.sort_by_key(|&n| self.events[n].partition);
        Observation {
            outcome,
            appended: appended.into_iter().map(|n| self.event_view(n)).collect(),
            heads: self.heads(),
        }
    }

    fn outcome(&mut self, op: &Op, placed: &[ChatId]) -> Outcome {
        match *op {
            Op::CreateUser { name } => Outcome::User(self.create_user(name)),
            Op::FindUser { name } => Outcome::Found(Ok(self.find_user(name))),
            Op::CreateChat {
                creator,
                title,
                ref others,
            } => Outcome::Chat(self.create_chat(creator, title, others, placed)),
            Op::AddMember { chat, by, user } => Outcome::Chat(self.add_member(chat, by, user)),
            Op::LeaveChat { chat, user } => Outcome::Left(self.leave_chat(chat, user)),
            Op::SendMessage {
                chat,
                sender,
                body,
                client_id,
                reply_to,
            } => {
                let reply_to = reply_to.map(|m| self.resolve(chat, m));
                Outcome::Sent(self.send_message(chat, sender, body, client_id, reply_to))
            }
            Op::ReadMessages {
                chat,
                viewer,
                before,
                limit,
            } => Outcome::Page(Ok(self.member_chat(chat, viewer).map(|chat| {
                let log = self.log(self.chats[chat].partition);
                let before = before.map(|p| p.resolve(&log));
                (
                    self.chat_view(chat),
                    self.page(chat, before, usize::from(limit)),
                )
            }))),
            Op::ListChats { user } => Outcome::Chats(Ok(match self.user(user) {
                Some(user) => self
                    .chats_of(user)
                    .into_iter()
                    .map(|c| self.chat_view(c))
                    .collect(),
                None => Vec::new(),
            })),
            Op::ReadLog {
                partition,
                after,
                limit,
            } => {
                let log = self.log(partition.resolve(self.partitions(), &self.logged()));
                Outcome::Log(self.read_log(&log, after.resolve(&log), usize::from(limit)))
            }
            Op::MembershipSnapshot { user } => Outcome::Snapshot(Ok((
                self.user(user)
                    .map(|u| self.chats_of(u))
                    .unwrap_or_default(),
                self.heads(),
            ))),
            Op::Members { chat } => Outcome::Members(Ok(self
                .chat(chat)
                .map(|c| self.chats[c].members.clone())
                .unwrap_or_default())),
            Op::ChatInfo { chat } => Outcome::Info(Ok(match self.chat(chat) {
                Some(c) => (
                    Some(self.chat_view(c)),
                    self.chats[c].messages.last().map(|&m| self.message_view(m)),
                ),
                None => (None, None),
            })),
            Op::History { chat } => Outcome::History(Ok(match self.chat(chat) {
                Some(c) => self.page(c, None, HISTORY_LIMIT),
                None => PageView {
                    messages: Vec::new(),
                    has_older: false,
                    has_newer: false,
                },
            })),
            Op::GetMessage { chat, message } => {
                let message = self.resolve(chat, message);
                let found = self.chat(chat).and_then(|c| self.message_of(c, message));
                Outcome::Message(Ok(found.map(|m| self.message_view(m))))
            }
            Op::EditMessage {
                chat,
                user,
                message,
                body,
            } => {
                let message = self.resolve(chat, message);
                Outcome::Changed(self.edit_message(chat, user, message, body))
            }
            Op::DeleteMessage {
                chat,
                user,
                message,
            } => {
                let message = self.resolve(chat, message);
                Outcome::Changed(self.delete_message(chat, user, message))
            }
            Op::AddReaction {
                chat,
                user,
                message,
                emoji,
            } => {
                let message = self.resolve(chat, message);
                Outcome::Changed(self.add_reaction(chat, user, message, emoji))
            }
            Op::ReactMany {
                chat,
                user,
                message,
                count,
            } => {
                let message = self.resolve(chat, message);
                let emoji = &MANY_EMOJI[..usize::from(count)];
                Outcome::ChangedEach(
                    emoji
                        .iter()
                        .map(|e| self.add_reaction(chat, user, message, e))
                        .collect(),
                )
            }
            Op::RemoveReaction {
                chat,
                user,
                message,
                emoji,
            } => {
                let message = self.resolve(chat, message);
                Outcome::Changed(self.remove_reaction(chat, user, message, emoji))
            }
            Op::Unreact { chat, message, nth } => {
                let logged = self.logged();
                let message = message.resolve(chat, &logged);
                let Some(r) = added_reaction(message, nth, &logged) else {
                    return Outcome::ChangedEach(Vec::new());
                };
                let (user, emoji) = (index(r.user), r.emoji.clone());
                Outcome::Changed(self.remove_reaction(chat, user, message, &emoji))
            }
            Op::Reactions {
                chat,
                message,
                viewer,
            } => {
                let message = self.resolve(chat, message);
                let found = self.chat(chat).and_then(|c| self.message_of(c, message));
                Outcome::Reactions(Ok(match found {
                    Some(m) => self.reactions(m, usize::from(viewer)),
                    None => Vec::new(),
                }))
            }
            Op::MarkRead {
                chat,
                user,
                message,
            } => {
                let message = self.resolve(chat, message);
                Outcome::Chat(self.mark_read(chat, user, message))
            }
            Op::ReadState { chat, user } => Outcome::ReadState(Ok(self.read_state(chat, user))),
            Op::ReadReceipts { chat } => Outcome::Receipts(Ok(match self.chat(chat) {
                Some(c) => self.read_receipts(c),
                None => Vec::new(),
            })),
            Op::SetTyping { chat, user, typing } => {
                Outcome::Signalled(self.set_typing(chat, user, typing))
            }
            Op::Typing { chat } => Outcome::Typing(Ok(self
                .chat(chat)
                .map(|c| self.chats[c].typing.clone())
                .unwrap_or_default())),
            Op::TypeInTurn { chat, ref users } => {
                for &user in users {
                    let _ = self.set_typing(chat, user, true);
                }
                Outcome::Typing(Ok(self
                    .chat(chat)
                    .map(|c| self.chats[c].typing.clone())
                    .unwrap_or_default()))
            }
            Op::HoldPresence { user, holder } => {
                let (holders, _) = self.presence.entry(self.user(user)).or_default();
                holders.insert(holder);
                Outcome::Signalled(Ok(()))
            }
            Op::ReleasePresence { user, holder } => {
                if let Some((holders, seen)) = self.presence.get_mut(&self.user(user))
                    && holders.remove(&holder)
                    && holders.is_empty()
                {
                    *seen = true;
                }
                Outcome::Signalled(Ok(()))
            }
            Op::Presence { user } => Outcome::Presence(Ok(self
                .presence
                .get(&self.user(user))
                .map_or((false, false), |(holders, seen)| {
                    (!holders.is_empty(), *seen && holders.is_empty())
                }))),
        }
    }

    /// Appends an event of an existing chat, in its partition.
    fn append(&mut self, chat: usize, kind: Kind) -> usize {
        self.append_in(self.chats[chat].partition, chat, kind)
    }

    fn append_in(&mut self, partition: usize, chat: usize, kind: Kind) -> usize {
        self.events.push(Event {
            chat,
            partition,
            kind,
        });
        self.events.len() - 1
    }

    /// The partition of chat number `chat`, whose id the backend gave it
    /// (none when the backend did not create it, which shows anyway).
    fn place(&self, chat: usize, placed: &[ChatId]) -> usize {
        placed
            .get(chat)
            .map_or(0, |id| self.partitions.of(id).index())
    }

    /// Names are unique ignoring (ASCII) case and kept as typed.
    fn create_user(&mut self, name: &str) -> Result<UserView, Failure> {
        if self.find_user(name).is_some() {
            return Err(Failure::UsernameTaken);
        }
        self.users.push(User {
            username: name.to_owned(),
        });
        Ok(self.user_view(self.users.len() - 1))
    }

    fn find_user(&self, name: &str) -> Option<UserView> {
        let found = self
            .users
            .iter()
            .position(|u| u.username.eq_ignore_ascii_case(name))?;
        Some(self.user_view(found))
    }

    /// Members are the creator, then the others in the order given without
    /// repeats or the creator (as the resolver passes them); every one must
    /// exist, or nothing is written. The chat is in the partition of its id.
    fn create_chat(
        &mut self,
        creator: u8,
        title: &str,
        others: &[u8],
        placed: &[ChatId],
    ) -> Result<ChatView, Failure> {
        let mut named = vec![self.user(creator)];
        for other in others {
            let other = self.user(*other);
            if !named.contains(&other) {
                named.push(other);
            }
        }
        let members: Vec<usize> = named
            .into_iter()
            .collect::<Option<_>>()
            .ok_or(Failure::NotFound)?;
        let chat = self.chats.len();
        let partition = self.place(chat, placed);
        let created = self.append_in(
            partition,
            chat,
            Kind::ChatCreated {
                members: members.clone(),
            },
        );
        // Each member's position starts at the join.
        let join = Read {
            event: created,
            at: created,
        };
        self.chats.push(Chat {
            partition,
            title: title.to_owned(),
            created_by: members[0],
            created,
            reads: members.iter().map(|&m| (m, join)).collect(),
            members,
            messages: Vec::new(),
            typing: Vec::new(),
        });
        Ok(self.chat_view(chat))
    }

    /// Only a member may add; the added user must exist; adding a member
    /// again changes nothing. Returns the chat as it was.
    fn add_member(&mut self, chat: u8, by: u8, user: u8) -> Result<ChatView, Failure> {
        let chat = self.member_chat(chat, by).ok_or(Failure::NotFound)?;
        let (by, user) = (usize::from(by), self.user(user).ok_or(Failure::NotFound)?);
        let view = self.chat_view(chat);
        if !self.chats[chat].members.contains(&user) {
            let joined = self.append(chat, Kind::MemberJoined { user, by });
            self.chats[chat].members.push(user);
            // Read state starts at the (new) join.
            let join = Read {
                event: joined,
                at: joined,
            };
            self.chats[chat].reads.insert(user, join);
        }
        Ok(view)
    }

    fn leave_chat(&mut self, chat: u8, user: u8) -> Result<(), Failure> {
        let chat = self.member_chat(chat, user).ok_or(Failure::NotFound)?;
        let user = usize::from(user);
        self.append(chat, Kind::MemberLeft { user });
        self.chats[chat].members.retain(|m| *m != user);
        self.chats[chat].reads.remove(&user);
        self.chats[chat].typing.retain(|t| *t != user);
        Ok(())
    }

    /// Members only; starting puts the user last, renewing keeps its place.
    fn set_typing(&mut self, chat: u8, user: u8, typing: bool) -> Result<(), Failure> {
        let chat = self.member_chat(chat, user).ok_or(Failure::NotFound)?;
        let user = usize::from(user);
        let typists = &mut self.chats[chat].typing;
        match (typists.contains(&user), typing) {
            (false, true) => typists.push(user),
            (true, false) => typists.retain(|t| *t != user),
            _ => {}
        }
        Ok(())
    }

    /// Membership first; then a client message id already used by this
    /// sender in this chat returns the first message (as it is now) and
    /// writes nothing; then `reply_to` must be a message of the chat. The
    /// sender's read position moves to the new message, without a
    /// `ChatRead`.
    fn send_message(
        &mut self,
        chat: u8,
        sender: u8,
        body: &str,
        client_id: Option<&str>,
        reply_to: Option<Option<usize>>,
    ) -> Result<(MessageView, bool), Failure> {
        let chat = self.member_chat(chat, sender).ok_or(Failure::NotFound)?;
        let sender = usize::from(sender);
        let key = client_id.map(|id| (chat, sender, id.to_owned()));
        if let Some(&first) = key.as_ref().and_then(|k| self.first_sent.get(k)) {
            return Ok((self.message_view(first), false));
        }
        let reply_to = match reply_to {
            None => None,
            Some(named) => Some(self.message_of(chat, named).ok_or(Failure::NotFound)?),
        };
        let event = self.append(
            chat,
            Kind::Message {
                sender,
                body: body.to_owned(),
                client_id: client_id.map(str::to_owned),
                reply_to,
            },
        );
        self.chats[chat].messages.push(event);
        self.messages.insert(
            event,
            Message {
                body: body.to_owned(),
                edited: None,
                deleted: None,
                reactions: Vec::new(),
            },
        );
        let read = Read { event, at: event };
        self.chats[chat].reads.insert(sender, read);
        // Sending ends the sender's typing.
        self.chats[chat].typing.retain(|t| *t != sender);
        if let Some(key) = key {
            self.first_sent.insert(key, event);
        }
        Ok((self.message_view(event), true))
    }

    /// The message a member names: `NotFound` for a non-member or a
    /// message that is not the chat's.
    fn visible(
        &self,
        chat: u8,
        user: u8,
        message: Option<usize>,
    ) -> Result<(usize, usize), Failure> {
        let chat = self.member_chat(chat, user).ok_or(Failure::NotFound)?;
        let message = self.message_of(chat, message).ok_or(Failure::NotFound)?;
        Ok((chat, message))
    }

    /// As [`Model::visible`], then `Forbidden` for anyone but the sender:
    /// permission comes before the message's state.
    fn own(&self, chat: u8, user: u8, message: Option<usize>) -> Result<(usize, usize), Failure> {
        let (chat, message) = self.visible(chat, user, message)?;
        match self.events[message].kind {
            Kind::Message { sender, .. } if sender == usize::from(user) => Ok((chat, message)),
            _ => Err(Failure::Forbidden),
        }
    }

    /// Then `Deleted` for a tombstone; the same body writes nothing.
    fn edit_message(
        &mut self,
        chat: u8,
        user: u8,
        message: Option<usize>,
        body: &str,
    ) -> Result<(MessageView, bool), Failure> {
        let (chat, message) = self.own(chat, user, message)?;
        if self.messages[&message].deleted.is_some() {
            return Err(Failure::Deleted);
        }
        if self.messages[&message].body == body {
            return Ok((self.message_view(message), false));
        }
        let edited = self.append(chat, Kind::Edited { message });
        let m = self.messages.get_mut(&message).expect("a message");
        m.body = body.to_owned();
        m.edited = Some(edited);
        Ok((self.message_view(message), true))
    }

    /// A tombstone: empty body, no reactions; deleting one writes nothing.
    fn delete_message(
        &mut self,
        chat: u8,
        user: u8,
        message: Option<usize>,
    ) -> Result<(MessageView, bool), Failure> {
        let (chat, message) = self.own(chat, user, message)?;
        if self.messages[&message].deleted.is_some() {
            return Ok((self.message_view(message), false));
        }
        let deleted = self.append(chat, Kind::Deleted { message });
        let m = self.messages.get_mut(&message).expect("a message");
        m.body.clear();
        m.deleted = Some(deleted);
        m.reactions.clear();
        Ok((self.message_view(message), true))
    }

    /// `Deleted` for a tombstone; a reaction already made writes nothing;
    /// a new emoji past the limit is `TooManyEmoji`.
    fn add_reaction(
        &mut self,
        chat: u8,
        user: u8,
        message: Option<usize>,
        emoji: &str,
    ) -> Result<(MessageView, bool), Failure> {
        let (chat, message) = self.visible(chat, user, message)?;
        let user = usize::from(user);
        let m = &self.messages[&message];
        if m.deleted.is_some() {
            return Err(Failure::Deleted);
        }
        if m.reactions.iter().any(|(e, u)| e == emoji && *u == user) {
            return Ok((self.message_view(message), false));
        }
        let mut distinct: Vec<&str> = m.reactions.iter().map(|(e, _)| e.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if !distinct.contains(&emoji) && distinct.len() >= MAX_DISTINCT_EMOJI {
            return Err(Failure::TooManyEmoji);
        }
        let emoji = emoji.to_owned();
        self.append(
            chat,
            Kind::ReactionAdded {
                message,
                emoji: emoji.clone(),
                user,
            },
        );
        let m = self.messages.get_mut(&message).expect("a message");
        m.reactions.push((emoji, user));
        Ok((self.message_view(message), true))
    }

    /// A reaction not made (a tombstone has none) writes nothing.
    fn remove_reaction(
        &mut self,
        chat: u8,
        user: u8,
        message: Option<usize>,
        emoji: &str,
    ) -> Result<(MessageView, bool), Failure> {
        let (chat, message) = self.visible(chat, user, message)?;
        let user = usize::from(user);
        let m = &self.messages[&message];
        let Some(at) = m
            .reactions
            .iter()
            .position(|(e, u)| e == emoji && *u == user)
        else {
            return Ok((self.message_view(message), false));
        };
        self.append(
            chat,
            Kind::ReactionRemoved {
                message,
                emoji: emoji.to_owned(),
                user,
            },
        );
        let m = self.messages.get_mut(&message).expect("a message");
        m.reactions.remove(at);
        Ok((self.message_view(message), true))
    }

    /// Current reactions are kept in the order they were made, so a
    /// group's place is that of its first current reaction, and its users
    /// come in that order too.
    fn reactions(&self, message: usize, viewer: usize) -> Vec<GroupView> {
        let reactions = &self.messages[&message].reactions;
        let mut groups: Vec<GroupView> = Vec::new();
        for (emoji, _) in reactions {
            if groups.iter().any(|g| g.emoji == *emoji) {
                continue;
            }
            let users: Vec<usize> = reactions
                .iter()
                .filter(|(e, _)| e == emoji)
                .map(|(_, u)| *u)
                .collect();
            groups.push(GroupView {
                emoji: emoji.clone(),
                count: users.len(),
                includes_viewer: users.contains(&viewer),
                users,
            });
        }
        groups
    }

    /// Membership first, then `NotAMessage`; a message at or before the
    /// position writes nothing. Returns the chat.
    fn mark_read(
        &mut self,
        chat: u8,
        user: u8,
        message: Option<usize>,
    ) -> Result<ChatView, Failure> {
        let chat = self.member_chat(chat, user).ok_or(Failure::NotFound)?;
        let user = usize::from(user);
        let message = self.message_of(chat, message).ok_or(Failure::NotAMessage)?;
        let view = self.chat_view(chat);
        if message <= self.chats[chat].reads[&user].event {
            return Ok(view);
        }
        let at = self.append(chat, Kind::Read { user, message });
        let read = Read { event: message, at };
        self.chats[chat].reads.insert(user, read);
        Ok(view)
    }

    /// Unread: the chat's messages after the position that are not
    /// deleted. The position shows once it is at a message. A non-member
    /// has the default state.
    fn read_state(&self, chat: u8, user: u8) -> ReadStateView {
        let Some(chat) = self.member_chat(chat, user) else {
            return ReadStateView {
                unread: 0,
                position: None,
            };
        };
        let read = self.chats[chat].reads[&usize::from(user)];
        let unread = self.chats[chat]
            .messages
            .iter()
            .filter(|&&m| m > read.event && self.messages[&m].deleted.is_none())
            .count();
        ReadStateView {
            unread: unread as u64,
            position: self.position(read),
        }
    }

    /// Current members in join order whose position is at a message.
    fn read_receipts(&self, chat: usize) -> Vec<(usize, PositionView)> {
        let c = &self.chats[chat];
        c.members
            .iter()
            .filter_map(|m| Some((*m, self.position(c.reads[m])?)))
            .collect()
    }

    /// A read position as shown: only once it is at a message.
    fn position(&self, read: Read) -> Option<PositionView> {
        matches!(self.events[read.event].kind, Kind::Message { .. }).then_some(PositionView {
            message: read.event,
            at: Stamp::Of(read.at),
        })
    }

    /// Up to `limit` of the newest messages before `before`, oldest first.
    fn page(&self, chat: usize, before: Option<Resolved>, limit: usize) -> PageView {
        let all = &self.chats[chat].messages;
        let end = match before {
            None | Some(Resolved::Max) => all.len(),
            Some(Resolved::Zero) => 0,
            Some(Resolved::Event(n)) => all.iter().filter(|m| **m < n).count(),
        };
        let start = end.saturating_sub(limit);
        PageView {
            messages: all[start..end]
                .iter()
                .map(|&m| self.message_view(m))
                .collect(),
            has_older: start > 0,
            has_newer: end < all.len(),
        }
    }

    /// The events of a partition's `log` strictly after `after`; `Expired`
    /// when one of them was trimmed, i.e. `after` is older than the newest
    /// event the partition trimmed.
    fn read_log(
        &self,
        log: &[usize],
        after: Resolved,
        limit: usize,
    ) -> Result<Vec<EventView>, Failure> {
        let trimmed = log.len().saturating_sub(self.retention);
        let first = match after {
            Resolved::Zero => 0,
            Resolved::Event(n) => log.partition_point(|&e| e <= n),
            Resolved::Max => log.len(),
        };
        if first < trimmed {
            return Err(Failure::Expired);
        }
        Ok(log[first..]
            .iter()
            .take(limit)
            .map(|&n| self.event_view(n))
            .collect())
    }

    /// The chats `user` is a member of, by number.
    fn chats_of(&self, user: usize) -> Vec<usize> {
        (0..self.chats.len())
            .filter(|&c| self.chats[c].members.contains(&user))
            .collect()
    }

    fn user_view(&self, user: usize) -> UserView {
        UserView {
            user,
            username: self.users[user].username.clone(),
        }
    }

    /// Activity is the newest message's time, or creation's without one.
    fn chat_view(&self, chat: usize) -> ChatView {
        let c = &self.chats[chat];
        ChatView {
            chat,
            title: c.title.clone(),
            created_by: c.created_by,
            created_at: Stamp::Of(c.created),
            last_activity: Stamp::Of(*c.messages.last().unwrap_or(&c.created)),
        }
    }

    /// A message as it is now.
    fn message_view(&self, event: usize) -> MessageView {
        let now = &self.messages[&event];
        MessageView {
            body: now.body.clone(),
            edited_at: now.edited.map(Stamp::Of),
            deleted_at: now.deleted.map(Stamp::Of),
            ..self.sent_view(event)
        }
    }

    /// A message as it was sent, as its `MessageCreated` carries it.
    fn sent_view(&self, event: usize) -> MessageView {
        match &self.events[event].kind {
            Kind::Message {
                sender,
                body,
                client_id,
                reply_to,
            } => MessageView {
                event,
                chat: self.events[event].chat,
                sender: *sender,
                body: body.clone(),
                client_id: client_id.clone(),
                reply_to: *reply_to,
                edited_at: None,
                deleted_at: None,
            },
            _ => unreachable!("event {event} is not a message"),
        }
    }

    fn event_view(&self, event: usize) -> EventView {
        let e = &self.events[event];
        let kind = match &e.kind {
            Kind::ChatCreated { members } => KindView::ChatCreated {
                members: members.clone(),
            },
            Kind::MemberJoined { user, by } => KindView::MemberJoined {
                user: *user,
                by: *by,
            },
            Kind::MemberLeft { user } => KindView::MemberLeft { user: *user },
            Kind::Message { .. } => KindView::MessageCreated(self.sent_view(event)),
            Kind::Edited { message } => KindView::MessageEdited { message: *message },
            Kind::Deleted { message } => KindView::MessageDeleted { message: *message },
            Kind::ReactionAdded {
                message,
                emoji,
                user,
            } => KindView::ReactionAdded {
                message: *message,
                emoji: emoji.clone(),
                user: *user,
            },
            Kind::ReactionRemoved {
                message,
                emoji,
                user,
            } => KindView::ReactionRemoved {
                message: *message,
                emoji: emoji.clone(),
                user: *user,
            },
            Kind::Read { user, message } => KindView::ChatRead {
                user: *user,
                message: *message,
            },
        };
        EventView {
            event,
            partition: e.partition,
            chat: e.chat,
            kind,
        }
    }
}

/// A model number as the index an operation names it by.
fn index(n: usize) -> u8 {
    u8::try_from(n).expect("a case creates fewer than 255 of each")
}
