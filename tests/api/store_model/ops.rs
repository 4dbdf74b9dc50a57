//! The operations a generated case is made of, and how they are generated.
//!
//! Users and chats are named by small indices in creation order (`user: 1`
//! is the second user created), never by backend ids, so one sequence runs
//! unchanged against the model and every backend. An index that names
//! nothing yet stands for an id that exists nowhere, which is how the cases
//! exercise NOT_FOUND. Strings come from small pools, so names collide
//! ignoring case and client message ids repeat: that is what makes retries
//! and conflicts frequent enough to matter.

use proptest::prelude::*;
use proptest::sample::select;

/// How many user and chat indices the generator uses. Slightly more than a
/// case usually creates, so some indices name nothing.
const USER_INDICES: u8 = 5;
const CHAT_INDICES: u8 = 4;

/// Usernames; some differ from others only by case, so they must collide.
const USERNAMES: &[&str] = &["alice", "bob", "Alice", "carol", "BOB", "dave"];
const TITLES: &[&str] = &["general", "random", "Ünïcode ☃"];
/// Bodies are stored exactly as sent: inner and outer whitespace, newlines
/// and the separators the Redis encoding uses must all come back unchanged.
const BODIES: &[&str] = &["hi", "  padded  ", "two\nlines", "a,b:c", "ünï ☃"];
/// Few client message ids, so retries with the same one are common; one has
/// the `:` the Redis idempotency key uses as its separator.
const CLIENT_IDS: &[&str] = &["k1", "a:b"];

/// The page size `History` reads with: more than a case ever sends, and
/// small enough for Redis' `COUNT`.
pub const HISTORY_LIMIT: usize = 1000;

/// A log position a read starts from, chosen relative to the log as it is
/// when the operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// `0-0`, before every event.
    Zero,
    /// The position of an event that was appended, counted from the first
    /// (modulo how many there are; `Zero` while the log is empty). Trimmed
    /// events keep their positions.
    Event(u8),
    /// The largest possible position, after every event.
    Max,
}

impl Pos {
    /// The event this position names among `appended` events, if any.
    pub fn resolve(self, appended: usize) -> Resolved {
        match self {
            Pos::Zero => Resolved::Zero,
            Pos::Event(_) if appended == 0 => Resolved::Zero,
            Pos::Event(i) => Resolved::Event(usize::from(i) % appended),
            Pos::Max => Resolved::Max,
        }
    }
}

/// A [`Pos`] resolved against the log: the number of an event, or an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Zero,
    Event(usize),
    Max,
}

/// One call (or, for reads a resolver makes in two calls, one resolver's
/// worth of calls) on the store.
#[derive(Debug, Clone)]
pub enum Op {
    CreateUser {
        name: &'static str,
    },
    FindUser {
        name: &'static str,
    },
    CreateChat {
        creator: u8,
        title: &'static str,
        /// As a client lists them: possibly repeated, possibly naming the
        /// creator. They are de-duplicated as the resolver does.
        others: Vec<u8>,
    },
    AddMember {
        chat: u8,
        by: u8,
        user: u8,
    },
    LeaveChat {
        chat: u8,
        user: u8,
    },
    SendMessage {
        chat: u8,
        sender: u8,
        body: &'static str,
        client_id: Option<&'static str>,
    },
    /// What `Chat.messages` does: `chat_for_member`, then a page.
    ReadMessages {
        chat: u8,
        viewer: u8,
        before: Option<Pos>,
        limit: u8,
    },
    /// `chats_of`.
    ListChats {
        user: u8,
    },
    ReadLog {
        after: Pos,
        limit: u8,
    },
    MembershipSnapshot {
        user: u8,
    },
    Members {
        chat: u8,
    },
    /// `chat` (no membership check) together with `last_message`.
    ChatInfo {
        chat: u8,
    },
    /// The whole history of a chat, without a membership check.
    History {
        chat: u8,
    },
}

/// A user index: mostly one the setup created, sometimes one that names
/// nobody (or a user only a later `CreateUser` makes).
fn user() -> impl Strategy<Value = u8> {
    prop_oneof![8 => 0..3u8, 1 => 3..USER_INDICES]
}

/// A chat index, likewise mostly one that exists.
fn chat() -> impl Strategy<Value = u8> {
    prop_oneof![8 => 0..2u8, 1 => 2..CHAT_INDICES]
}

/// Mostly a real event's position (cursors come from the log), and the
/// two ends, where off-by-one mistakes live.
fn pos() -> impl Strategy<Value = Pos> {
    prop_oneof![
        2 => any::<u8>().prop_map(Pos::Event),
        1 => Just(Pos::Zero),
        1 => Just(Pos::Max),
    ]
}

/// A whole case: a setup of three or four users and two chats among the
/// first three users, so that most operations land on users and chats that
/// exist, then random operations. Shrinking simplifies the setup but keeps
/// its size; the random part shrinks to the few operations that matter.
pub fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    let users = prop::sample::subsequence(&USERNAMES[..4], 3..=4).prop_map(|names| {
        names
            .into_iter()
            .map(|name| Op::CreateUser { name })
            .collect()
    });
    let setup_chat = (0..3u8, select(TITLES), prop::collection::vec(0..3u8, 1..=3)).prop_map(
        |(creator, title, others)| Op::CreateChat {
            creator,
            title,
            others,
        },
    );
    let chats = prop::collection::vec(setup_chat, 2);
    let rest = prop::collection::vec(op(), 1..=max);
    (users, chats, rest).prop_map(|(users, chats, rest): (Vec<Op>, _, _)| {
        users.into_iter().chain(chats).chain(rest).collect()
    })
}

/// One operation, weighted so that sends (and so retries) dominate.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => select(USERNAMES).prop_map(|name| Op::CreateUser { name }),
        1 => select(USERNAMES).prop_map(|name| Op::FindUser { name }),
        2 => (user(), select(TITLES), prop::collection::vec(user(), 0..3))
            .prop_map(|(creator, title, others)| Op::CreateChat { creator, title, others }),
        2 => (chat(), user(), user()).prop_map(|(chat, by, user)| Op::AddMember { chat, by, user }),
        1 => (chat(), user()).prop_map(|(chat, user)| Op::LeaveChat { chat, user }),
        8 => (chat(), user(), select(BODIES), prop::option::weighted(0.7, select(CLIENT_IDS)))
            .prop_map(|(chat, sender, body, client_id)| Op::SendMessage { chat, sender, body, client_id }),
        3 => (chat(), user(), prop::option::of(pos()), 1..4u8)
            .prop_map(|(chat, viewer, before, limit)| Op::ReadMessages { chat, viewer, before, limit }),
        1 => user().prop_map(|user| Op::ListChats { user }),
        2 => (pos(), 1..6u8).prop_map(|(after, limit)| Op::ReadLog { after, limit }),
        1 => user().prop_map(|user| Op::MembershipSnapshot { user }),
        1 => chat().prop_map(|chat| Op::Members { chat }),
        1 => chat().prop_map(|chat| Op::ChatInfo { chat }),
        1 => chat().prop_map(|chat| Op::History { chat }),
    ]
}

/// Reads of everything a finished case holds, run after its generated
/// operations: the whole log, and the final state of every user and chat
/// that was created (plus one index past each, which names nothing).
pub fn audit(users: usize, chats: usize) -> Vec<Op> {
    let index = |i: usize| u8::try_from(i).expect("a case creates fewer than 255 of each");
    let mut ops = vec![Op::ReadLog {
        after: Pos::Zero,
        limit: u8::MAX,
    }];
    for user in (0..=users).map(index) {
        ops.push(Op::MembershipSnapshot { user });
        ops.push(Op::ListChats { user });
    }
    for chat in (0..=chats).map(index) {
        ops.push(Op::Members { chat });
        ops.push(Op::ChatInfo { chat });
        ops.push(Op::History { chat });
    }
    for name in USERNAMES {
        ops.push(Op::FindUser { name });
    }
    ops
}
