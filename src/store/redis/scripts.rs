//! The Lua scripts that make each write one atomic step.
//!
//! Redis runs a script without interleaving any other command, so a
//! membership check and the write it guards, or an entity and its event,
//! cannot be separated by a concurrent write or a crash between round trips.
//! Scripts that append an event are prefixed with `append_event.lua`, which
//! holds the shared append-trim-epoch logic and the key/argument conventions;
//! scripts that read or change sent messages also with `message_state.lua`,
//! which knows how a message's changes are stored over its stream entry.
//! Typing and presence scripts are prefixed with `clock.lua` (Redis's time,
//! the one clock their deadlines are kept on) and their state's prelude.
//! A few reads are scripts too, where one round trip must follow a
//! reference (a page's changes, a message's reaction groups).

use redis::Script;

/// Prepends the shared event-append prelude to a script's source.
macro_rules! event_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/append_event.lua"),
            include_str!("scripts/message_state.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

/// Prepends the message-state prelude to a read script's source.
macro_rules! read_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/message_state.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

/// Prepends the session prelude to a script's source.
macro_rules! session_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/session_state.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

/// Prepends the clock and the typing-set prelude to a script's source.
macro_rules! typing_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/clock.lua"),
            include_str!("scripts/typing_state.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

/// Prepends the clock and the presence prelude to a script's source.
macro_rules! presence_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/clock.lua"),
            include_str!("scripts/presence_state.lua"),
            include_str!(concat!("scripts/", $file))
        ))
    };
}

/// Every script the store runs, loaded once (invocation sends `EVALSHA` and
/// falls back to loading the source when Redis does not know the hash yet).
#[derive(Debug)]
pub struct Scripts {
    /// `SET username NX` and the user hash.
    pub create_user: Script,
    /// Chat hash, members, memberships, read positions and `ChatCreated`.
    pub create_chat: Script,
    /// Membership checks, the join, its read position and `MemberJoined`.
    pub add_member: Script,
    /// Membership check, the removal and `MemberLeft`.
    pub leave_chat: Script,
    /// Membership and reply checks, idempotency, the message, the sender's
    /// read position and `MessageCreated`.
    pub send_message: Script,
    /// Permission and state checks, the new body and `MessageEdited`.
    pub edit_message: Script,
    /// Permission check, the tombstone and `MessageDeleted`.
    pub delete_message: Script,
    /// Checks, the reaction and `ReactionAdded`.
    pub add_reaction: Script,
    /// Checks, the removal and `ReactionRemoved`.
    pub remove_reaction: Script,
    /// Checks, the forward move and `ChatRead`.
    pub mark_read: Script,
    /// A page of messages with their changes (read only).
    pub read_messages: Script,
    /// A message's reaction groups (read only).
    pub reactions: Script,
    /// A member's unread count and position (read only).
    pub read_state: Script,
    /// The session hash and its place in the user's sessions.
    pub start_session: Script,
    /// The refresh exchange, or the ending of a session whose used token
    /// came back.
    pub rotate_session: Script,
    /// Ending one or all of a user's sessions, with their notices.
    pub end_sessions: Script,
    /// The new password hash and the ending of every session.
    pub change_password: Script,
    /// Membership check and the typing set's change, with its notice.
    pub set_typing: Script,
    /// A chat's live typists (dropping lapsed ones).
    pub typing: Script,
    /// A process's hold on a user's presence, announced when it brings
    /// the user online.
    pub hold_presence: Script,
    /// The end of a hold, announced when it takes the user offline.
    pub release_presence: Script,
    /// A user's presence (folding lapsed holds into `seen`).
    pub presence: Script,
}

impl Scripts {
    /// Compiles nothing yet: only hashes the sources.
    pub fn new() -> Self {
        Self {
            create_user: Script::new(include_str!("scripts/create_user.lua")),
            create_chat: event_script!("create_chat.lua"),
            add_member: event_script!("add_member.lua"),
            leave_chat: event_script!("leave_chat.lua"),
            send_message: event_script!("send_message.lua"),
            edit_message: event_script!("edit_message.lua"),
            delete_message: event_script!("delete_message.lua"),
            add_reaction: event_script!("add_reaction.lua"),
            remove_reaction: event_script!("remove_reaction.lua"),
            mark_read: event_script!("mark_read.lua"),
            read_messages: read_script!("read_messages.lua"),
            reactions: Script::new(include_str!("scripts/reactions.lua")),
            read_state: read_script!("read_state.lua"),
            start_session: Script::new(include_str!("scripts/start_session.lua")),
            rotate_session: session_script!("rotate_session.lua"),
            end_sessions: session_script!("end_sessions.lua"),
            change_password: session_script!("change_password.lua"),
            set_typing: typing_script!("set_typing.lua"),
            typing: typing_script!("typing.lua"),
            hold_presence: presence_script!("hold_presence.lua"),
            release_presence: presence_script!("release_presence.lua"),
            presence: presence_script!("presence.lua"),
        }
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Self::new()
    }
}
