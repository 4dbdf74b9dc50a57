//! The Lua scripts that make each write one atomic step.
//!
//! Redis runs a script without interleaving any other command, so a
//! membership check and the write it guards, or an entity and its event,
//! cannot be separated by a concurrent write or a crash between round trips.
//! Scripts that append an event are prefixed with `append_event.lua`, which
//! holds the shared append-trim-epoch logic and the key/argument conventions.

use redis::Script;

/// Prepends the shared event-append prelude to a script's source.
macro_rules! event_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("scripts/append_event.lua"),
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
    /// Chat hash, members, memberships and `ChatCreated`.
    pub create_chat: Script,
    /// Membership checks, the join and `MemberJoined`.
    pub add_member: Script,
    /// Membership check, the removal and `MemberLeft`.
    pub leave_chat: Script,
    /// Membership check, idempotency, the message and `MessageCreated`.
    pub send_message: Script,
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
        }
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Self::new()
    }
}
