//! What an operation is seen to do, in terms every side can produce.
//!
//! Backends make random ids and clock-based log positions; the model makes
//! neither. So everything observed is expressed in the model's logical
//! names: users, chats and events are numbered in creation order (a
//! message is named by its event's number). Only timestamps stay concrete,
//! as [`Stamp`]s that the model gives as "the time of event n" and that are
//! turned into that backend's milliseconds before comparing.

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// The number of the message's `MessageCreated` event.
    pub event: usize,
    pub chat: usize,
    pub sender: usize,
    pub body: String,
    pub client_id: Option<String>,
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
    pub chat: usize,
    pub kind: KindView,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindView {
    ChatCreated { members: Vec<usize> },
    MemberJoined { user: usize, by: usize },
    MemberLeft { user: usize },
    MessageCreated(MessageView),
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
    /// Chats sorted by number, and the head's event number.
    Snapshot(Result<(Vec<usize>, Option<usize>), Failure>),
    Members(Result<Vec<usize>, Failure>),
    /// `chat` and `last_message`.
    Info(Result<(Option<ChatView>, Option<MessageView>), Failure>),
    History(Result<PageView, Failure>),
}

impl Outcome {
    /// Turns every [`Stamp::Of`] into the milliseconds of that event on a
    /// backend, given by `ms` (left as it is when the backend has no such
    /// event, which then shows as a difference).
    pub fn localise(&mut self, ms: impl Fn(usize) -> Option<u64>) {
        let fix = |stamp: &mut Stamp| {
            if let Stamp::Of(event) = *stamp
                && let Some(ms) = ms(event)
            {
                *stamp = Stamp::Ms(ms);
            }
        };
        let fix_chat = |chat: &mut ChatView| {
            fix(&mut chat.created_at);
            fix(&mut chat.last_activity);
        };
        match self {
            Outcome::Chat(Ok(chat))
            | Outcome::Page(Ok(Some((chat, _))))
            | Outcome::Info(Ok((Some(chat), _))) => fix_chat(chat),
            Outcome::Chats(Ok(chats)) => chats.iter_mut().for_each(fix_chat),
            _ => {}
        }
    }
}

/// Everything observed of one operation: its result, the events it
/// appended to the log (none for a read, for a failure, for an idempotent
/// retry or for adding a member twice), and the log head afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub outcome: Outcome,
    pub appended: Vec<EventView>,
    pub head: Option<usize>,
}
