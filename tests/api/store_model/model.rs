//! The model: the store's contract as plain vectors, obviously correct.
//!
//! No ids, no clocks, no concurrency: users, chats and events are vectors
//! indexed by creation order, a chat's members are a vector in join order,
//! and the log is every event ever appended (trimming only hides the
//! oldest). Each rule below is the sentence of `Store`'s docs or
//! SEMANTICS.md that it implements, and nothing more clever.

use std::collections::HashMap;

use super::observe::{
    ChatView, EventView, Failure, KindView, MessageView, Observation, Outcome, PageView, Stamp,
    UserView,
};
use super::ops::{HISTORY_LIMIT, Op, Resolved};

struct User {
    username: String,
}

struct Chat {
    title: String,
    created_by: usize,
    /// The number of its `ChatCreated` event.
    created: usize,
    /// Current members in join order.
    members: Vec<usize>,
    /// Its messages, by event number, oldest first.
    messages: Vec<usize>,
}

struct Event {
    chat: usize,
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
    Message {
        sender: usize,
        body: String,
        client_id: Option<String>,
    },
}

/// The whole state of a store, as the contract describes it.
pub struct Model {
    users: Vec<User>,
    chats: Vec<Chat>,
    events: Vec<Event>,
    /// (chat, sender, client message id) to the first message's event. The
    /// 24-hour expiry never passes within a case.
    first_sent: HashMap<(usize, usize, String), usize>,
    /// How many of the newest events the log keeps.
    retention: usize,
}

impl Model {
    pub fn new(retention: usize) -> Self {
        Self {
            users: Vec::new(),
            chats: Vec::new(),
            events: Vec::new(),
            first_sent: HashMap::new(),
            retention,
        }
    }

    pub fn users(&self) -> usize {
        self.users.len()
    }

    pub fn chats(&self) -> usize {
        self.chats.len()
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

    /// Applies `op` and says what a correct store would be seen to do.
    pub fn apply(&mut self, op: &Op) -> Observation {
        let before = self.events.len();
        let outcome = self.outcome(op);
        Observation {
            outcome,
            appended: (before..self.events.len())
                .map(|n| self.event_view(n))
                .collect(),
            head: self.events.len().checked_sub(1),
        }
    }

    fn outcome(&mut self, op: &Op) -> Outcome {
        match *op {
            Op::CreateUser { name } => Outcome::User(self.create_user(name)),
            Op::FindUser { name } => Outcome::Found(Ok(self.find_user(name))),
            Op::CreateChat {
                creator,
                title,
                ref others,
            } => Outcome::Chat(self.create_chat(creator, title, others)),
            Op::AddMember { chat, by, user } => Outcome::Chat(self.add_member(chat, by, user)),
            Op::LeaveChat { chat, user } => Outcome::Left(self.leave_chat(chat, user)),
            Op::SendMessage {
                chat,
                sender,
                body,
                client_id,
            } => Outcome::Sent(self.send_message(chat, sender, body, client_id)),
            Op::ReadMessages {
                chat,
                viewer,
                before,
                limit,
            } => Outcome::Page(Ok(self.member_chat(chat, viewer).map(|chat| {
                let before = before.map(|p| p.resolve(self.events.len()));
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
            Op::ReadLog { after, limit } => {
                Outcome::Log(self.read_log(after.resolve(self.events.len()), usize::from(limit)))
            }
            Op::MembershipSnapshot { user } => Outcome::Snapshot(Ok((
                self.user(user)
                    .map(|u| self.chats_of(u))
                    .unwrap_or_default(),
                self.events.len().checked_sub(1),
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
        }
    }

    fn append(&mut self, chat: usize, kind: Kind) -> usize {
        self.events.push(Event { chat, kind });
        self.events.len() - 1
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
    /// exist, or nothing is written.
    fn create_chat(
        &mut self,
        creator: u8,
        title: &str,
        others: &[u8],
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
        let created = self.append(
            chat,
            Kind::ChatCreated {
                members: members.clone(),
            },
        );
        self.chats.push(Chat {
            title: title.to_owned(),
            created_by: members[0],
            created,
            members,
            messages: Vec::new(),
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
            self.append(chat, Kind::MemberJoined { user, by });
            self.chats[chat].members.push(user);
        }
        Ok(view)
    }

    fn leave_chat(&mut self, chat: u8, user: u8) -> Result<(), Failure> {
        let chat = self.member_chat(chat, user).ok_or(Failure::NotFound)?;
        let user = usize::from(user);
        self.append(chat, Kind::MemberLeft { user });
        self.chats[chat].members.retain(|m| *m != user);
        Ok(())
    }

    /// Membership first; then a client message id already used by this
    /// sender in this chat returns the first message and writes nothing.
    fn send_message(
        &mut self,
        chat: u8,
        sender: u8,
        body: &str,
        client_id: Option<&str>,
    ) -> Result<(MessageView, bool), Failure> {
        let chat = self.member_chat(chat, sender).ok_or(Failure::NotFound)?;
        let sender = usize::from(sender);
        let key = client_id.map(|id| (chat, sender, id.to_owned()));
        if let Some(&first) = key.as_ref().and_then(|k| self.first_sent.get(k)) {
            return Ok((self.message_view(first), false));
        }
        let event = self.append(
            chat,
            Kind::Message {
                sender,
                body: body.to_owned(),
                client_id: client_id.map(str::to_owned),
            },
        );
        self.chats[chat].messages.push(event);
        if let Some(key) = key {
            self.first_sent.insert(key, event);
        }
        Ok((self.message_view(event), true))
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

    /// Events strictly after `after`; `Expired` when one of them was
    /// trimmed, i.e. `after` is older than the newest trimmed event.
    fn read_log(&self, after: Resolved, limit: usize) -> Result<Vec<EventView>, Failure> {
        let trimmed = self.events.len().saturating_sub(self.retention);
        let first = match after {
            Resolved::Zero => 0,
            Resolved::Event(n) => n + 1,
            Resolved::Max => self.events.len(),
        };
        if first < trimmed {
            return Err(Failure::Expired);
        }
        Ok((first..self.events.len())
            .take(limit)
            .map(|n| self.event_view(n))
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

    fn message_view(&self, event: usize) -> MessageView {
        match &self.events[event].kind {
            Kind::Message {
                sender,
                body,
                client_id,
            } => MessageView {
                event,
                chat: self.events[event].chat,
                sender: *sender,
                body: body.clone(),
                client_id: client_id.clone(),
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
            Kind::Message { .. } => KindView::MessageCreated(self.message_view(event)),
        };
        EventView {
            event,
            chat: e.chat,
            kind,
        }
    }
}
