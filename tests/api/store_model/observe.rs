//! What an operation is seen to do, in terms every side can produce.
//!
//! Backends make random ids and clock-based log positions; the model makes
//! neither. So everything observed is expressed in the model's logical
//! names: users, chats and events are numbered in creation order (a
//! message is named by its event's number). Only timestamps stay concrete,
//! as [`Stamp`]s that the model gives as "the time of event n" and that are
//! turned into that backend's milliseconds before comparing.
//!
//! Events keep one number across partitions (the order they were made in),
//! and carry their partition: each partition's log is the events of that
//! partition in that order, so heads are given per partition.

/// Why an operation failed, as the store reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    UsernameTaken,
    Expired,
    Forbidden,
    Deleted,
    TooManyEmoji,
    NotAMessage,
    /// A backend error; never expected, kept with its text for the report.
    Backend(String),
}

impl From<chat_server::store::StoreError> for Failure {
    fn from(error: chat_server::store::StoreError) -> Self {
        use chat_server::store::StoreError;
        match error {
            StoreError::NotFound => Failure::NotFound,
            StoreError::UsernameTaken => Failure::UsernameTaken,
            StoreError::Expired => Failure::Expired,
            StoreError::Forbidden => Failure::Forbidden,
            StoreError::Deleted => Failure::Deleted,
            StoreError::TooManyEmoji(_) => Failure::TooManyEmoji,
            StoreError::NotAMessage => Failure::NotAMessage,
            StoreError::Backend(cause) => Failure::Backend(cause.to_string()),
        }
    }
}

/// A point in time. The model knows which event a time belongs to, a
/// backend only its milliseconds; [`Outcome::localise`] bridges the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// The time of the event with this number.
    Of(usize),
    Ms(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    pub user: usize,
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatView {
    pub chat: usize,
    pub title: String,
    pub created_by: usize,
    pub created_at: Stamp,
    pub last_activity: Stamp,
}

/// A message: as it is now when read back, or as it was sent when carried
/// by its `MessageCreated` event (then never edited nor deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// The number of the message's `MessageCreated` event.
    pub event: usize,
    pub chat: usize,
    pub sender: usize,
    /// The current body: `""` for a tombstone.
    pub body: String,
    pub client_id: Option<String>,
    /// The message it answers, by its event's number.
    pub reply_to: Option<usize>,
    /// The time of the latest `MessageEdited`.
    pub edited_at: Option<Stamp>,
    /// The time of its `MessageDeleted`.
    pub deleted_at: Option<Stamp>,
}

/// One emoji's reactions to a message, as one viewer reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub emoji: String,
    pub count: usize,
    pub includes_viewer: bool,
    /// Earliest first.
    pub users: Vec<usize>,
}

/// A read position at a message: the message's event number, and when the
/// member got there (its `ChatRead`, or the message itself for a send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionView {
    pub message: usize,
    pub at: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadStateView {
    pub unread: u64,
    pub position: Option<PositionView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageView {
    pub messages: Vec<MessageView>,
    pub has_older: bool,
    pub has_newer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub event: usize,
    /// The partition whose log holds it.
    pub partition: usize,
    pub chat: usize,
    pub kind: KindView,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindView {
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
    MessageCreated(MessageView),
    MessageEdited {
        message: usize,
    },
    MessageDeleted {
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
    ChatRead {
        user: usize,
        message: usize,
    },
}

/// The result of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    User(Result<UserView, Failure>),
    Found(Result<Option<UserView>, Failure>),
    Chat(Result<ChatView, Failure>),
    Left(Result<(), Failure>),
    /// The message, and whether it was created (false for a retry).
    Sent(Result<(MessageView, bool), Failure>),
    /// `None`: the viewer is not a member, so it sees nothing.
    Page(Result<Option<(ChatView, PageView)>, Failure>),
    Chats(Result<Vec<ChatView>, Failure>),
    Log(Result<Vec<EventView>, Failure>),
    /// Chats sorted by number, and each partition's head (its event
    /// number), in partition order.
    Snapshot(Result<(Vec<usize>, Vec<Option<usize>>), Failure>),
    Members(Result<Vec<usize>, Failure>),
    /// `chat` and `last_message`.
    Info(Result<(Option<ChatView>, Option<MessageView>), Failure>),
    History(Result<PageView, Failure>),
    /// `message`: the message as it is now, if the chat has it.
    Message(Result<Option<MessageView>, Failure>),
    /// An edit, a delete or a reaction change: the message after the call,
    /// and whether anything was written.
    Changed(Result<(MessageView, bool), Failure>),
    /// One [`Outcome::Changed`] per emoji, for adding several in a row.
    ChangedEach(Vec<Result<(MessageView, bool), Failure>>),
    Reactions(Result<Vec<GroupView>, Failure>),
    ReadState(Result<ReadStateView, Failure>),
    /// Members in join order with their positions.
    Receipts(Result<Vec<(usize, PositionView)>, Failure>),
    /// A change of typing or presence, which answers nothing.
    Signalled(Result<(), Failure>),
    /// The typists of a chat, in the order they started.
    Typing(Result<Vec<usize>, Failure>),
    /// Whether the user is online, and whether it was ever seen offline
    /// after being online (the time itself is each backend's clock).
    Presence(Result<(bool, bool), Failure>),
}

impl Outcome {
    /// Turns every [`Stamp::Of`] into the milliseconds of that event on a
    /// backend, given by `ms` (left as it is when the backend has no such
    /// event, which then shows as a difference).
    pub fn localise(&mut self, ms: impl Fn(usize) -> Option<u64>) {
        self.each_stamp(&mut |stamp| {
            if let Stamp::Of(event) = *stamp
                && let Some(ms) = ms(event)
            {
                *stamp = Stamp::Ms(ms);
            }
        });
    }

    /// Calls `fix` on every time this outcome holds.
    fn each_stamp(&mut self, fix: &mut dyn FnMut(&mut Stamp)) {
        fn chat(chat: &mut ChatView, fix: &mut dyn FnMut(&mut Stamp)) {
            fix(&mut chat.created_at);
            fix(&mut chat.last_activity);
        }
        fn message(message: &mut MessageView, fix: &mut dyn FnMut(&mut Stamp)) {
            message.edited_at.iter_mut().for_each(&mut *fix);
            message.deleted_at.iter_mut().for_each(fix);
        }
        fn page(page: &mut PageView, fix: &mut dyn FnMut(&mut Stamp)) {
            for m in &mut page.messages {
                message(m, fix);
            }
        }
        fn event(event: &mut EventView, fix: &mut dyn FnMut(&mut Stamp)) {
            if let KindView::MessageCreated(m) = &mut event.kind {
                message(m, fix);
            }
        }
        match self {
            Outcome::User(_)
            | Outcome::Found(_)
            | Outcome::Left(_)
            | Outcome::Signalled(_)
            | Outcome::Typing(_)
            | Outcome::Presence(_)
            | Outcome::Snapshot(_)
            | Outcome::Members(_)
            | Outcome::Reactions(_) => {}
            Outcome::Chat(r) => r.iter_mut().for_each(|c| chat(c, fix)),
            Outcome::Sent(r) | Outcome::Changed(r) => {
                r.iter_mut().for_each(|(m, _)| message(m, fix))
            }
            Outcome::ChangedEach(each) => {
                for (m, _) in each.iter_mut().flatten() {
                    message(m, fix);
                }
            }
            Outcome::Page(r) => {
                if let Ok(Some((c, p))) = r {
                    chat(c, fix);
                    page(p, fix);
                }
            }
            Outcome::Chats(r) => r.iter_mut().flatten().for_each(|c| chat(c, fix)),
            Outcome::Log(r) => r.iter_mut().flatten().for_each(|e| event(e, fix)),
            Outcome::Info(r) => {
                if let Ok((c, m)) = r {
                    c.iter_mut().for_each(|c| chat(c, fix));
                    m.iter_mut().for_each(|m| message(m, fix));
                }
            }
            Outcome::History(r) => r.iter_mut().for_each(|p| page(p, fix)),
            Outcome::Message(r) => r.iter_mut().flatten().for_each(|m| message(m, fix)),
            Outcome::ReadState(r) => {
                for position in r.iter_mut().filter_map(|s| s.position.as_mut()) {
                    fix(&mut position.at);
                }
            }
            Outcome::Receipts(r) => {
                for (_, position) in r.iter_mut().flatten() {
                    fix(&mut position.at);
                }
            }
        }
    }
}

impl Outcome {
    /// What kind of result this is, for the coverage tally: `ok`, or for
    /// a change `written` or `unchanged`, or the failure.
    pub fn labels(&self) -> Vec<String> {
        fn label<T>(r: &Result<T, Failure>, ok: impl Fn(&T) -> &'static str) -> String {
            match r {
                Ok(value) => ok(value).to_owned(),
                Err(Failure::Backend(_)) => "Backend".to_owned(),
                Err(failure) => format!("{failure:?}"),
            }
        }
        let change = |(_, written): &(MessageView, bool)| match written {
            true => "written",
            false => "unchanged",
        };
        match self {
            Outcome::Sent(r) => vec![label(r, |(m, created)| match (created, m.reply_to) {
                (false, _) => "retry",
                (true, Some(_)) => "reply",
                (true, None) => "created",
            })],
            Outcome::Changed(r) => vec![label(r, change)],
            Outcome::ChangedEach(each) if each.is_empty() => vec!["no call".to_owned()],
            Outcome::ChangedEach(each) => each.iter().map(|r| label(r, change)).collect(),
            Outcome::ReadState(r) => vec![label(r, |s| match (s.unread, &s.position) {
                (0, None) => "none read, none unread",
                (_, None) => "none read, some unread",
                (0, Some(_)) => "read, none unread",
                (_, Some(_)) => "read, some unread",
            })],
            Outcome::Reactions(r) => vec![label(r, |groups| match groups.len() {
                0 => "none",
                1 => "one group",
                _ => "groups",
            })],
            Outcome::Chat(r) => vec![label(r, |_| "ok")],
            Outcome::Message(r) => vec![label(r, |m| match m {
                None => "none",
                Some(m) if m.deleted_at.is_some() => "tombstone",
                Some(m) if m.edited_at.is_some() => "edited",
                Some(_) => "as sent",
            })],
            Outcome::Receipts(r) => vec![label(r, |r| match r.len() {
                0 => "none",
                _ => "some",
            })],
            Outcome::Signalled(r) => vec![label(r, |_| "ok")],
            Outcome::Typing(r) => vec![label(r, |typists| match typists.len() {
                0 => "nobody",
                1 => "one typist",
                _ => "typists",
            })],
            Outcome::Log(r) => vec![label(r, |events| match events.len() {
                0 => "none",
                _ => "events",
            })],
            Outcome::Presence(r) => vec![label(r, |presence| match presence {
                (true, _) => "online",
                (false, true) => "offline, seen",
                (false, false) => "never seen",
            })],
            _ => vec!["-".to_owned()],
        }
    }
}

/// Everything observed of one operation: its result, the events it
/// appended to the log (none for a read, for a failure, for an idempotent
/// retry or for adding a member twice) partition by partition, and every
/// partition's head afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub outcome: Outcome,
    pub appended: Vec<EventView>,
    pub heads: Vec<Option<usize>>,
}
