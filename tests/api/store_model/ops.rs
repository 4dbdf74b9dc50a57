//! The operations a generated case is made of, and how they are generated.
//!
//! Users and chats are named by small indices in creation order (`user: 1`
//! is the second user created), never by backend ids, so one sequence runs
//! unchanged against the model and every backend. An index that names
//! nothing yet stands for an id that exists nowhere, which is how the cases
//! exercise NOT_FOUND. Strings come from small pools, so names collide
//! ignoring case and client message ids repeat: that is what makes retries
//! and conflicts frequent enough to matter. Messages are named by a [`Msg`]
//! resolved against the log when the operation runs: mostly one of the
//! operation's chat, sometimes one of another chat, an event that is not a
//! message, or nothing.
//!
//! A partitioned log gives each partition its own positions, so a position
//! only means something in its own partition's log: log positions ([`Pos`])
//! are chosen among the events of the partition read, and a message of
//! another chat only in the operation's chat's partition. Which partition a
//! read is about is named relative to the chats ([`Part`]), so that reads
//! land on partitions that have events whatever the partition count.

use proptest::prelude::*;
use proptest::sample::select;

/// How many user and chat indices the generator uses. Slightly more than a
/// case usually creates, so some indices name nothing.
const USER_INDICES: u8 = 5;
const CHAT_INDICES: u8 = 4;

/// Usernames; some differ from others only by case, so they must collide.
const USERNAMES: &[&str] = &["alice", "bob", "Alice", "carol", "BOB", "dave"];
/// The setup's usernames: no two collide.
const SETUP_USERNAMES: &[&str] = &["alice", "bob", "carol", "dave"];
const TITLES: &[&str] = &["general", "random", "Ünïcode ☃"];
/// Bodies are stored exactly as sent: inner and outer whitespace, newlines
/// and the separators the Redis encoding uses must all come back unchanged.
/// Edits take theirs from the same pool, so an edit to the body a message
/// already has is common; `|` is the separator of a message's change in
/// Redis.
const BODIES: &[&str] = &["hi", "  padded  ", "two\nlines", "a,b:c", "ünï ☃", "1|2"];
/// Few client message ids, so retries with the same one are common; one has
/// the `:` the Redis idempotency key uses as its separator.
const CLIENT_IDS: &[&str] = &["k1", "a:b"];
/// Emoji for single reactions: some differ from others only by their
/// bytes (a skin tone, a variation selector, a shortcode), so they must be
/// different groups; `:` is a separator of Redis keys. The last is the
/// first of [`MANY_EMOJI`], so single reactions join the groups those
/// start, and removing a group's first reaction (see [`Op::Unreact`]) often
/// moves the group behind others.
const EMOJI: &[&str] = &["👍", ":+1:", "👍🏽", "❤️", "❤", "😀"];
/// What [`Op::ReactMany`] adds from, in order: with the emoji above more
/// than [`chat_server::store::MAX_DISTINCT_EMOJI`] distinct ones, so a
/// message can run out of room for a new one.
pub const MANY_EMOJI: &[&str] = &[
    "😀", "😂", "😍", "😎", "😢", "😡", "🎉", "🔥", "👀", "🙏", "💯", "✅", "❌", "🚀", "🍕", "🐱",
    "🌈", "⭐", "🤔", "👏", "🙌", "💡",
];

/// The page size `History` reads with: more than a case ever sends, and
/// small enough for Redis' `COUNT`.
pub const HISTORY_LIMIT: usize = 1000;

/// A log position a read starts from, chosen relative to one partition's
/// log as it is when the operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// `0-0`, before every event.
    Zero,
    /// The position of an event that was appended to the partition,
    /// counted from its first (modulo how many there are; `Zero` while its
    /// log is empty). Trimmed events keep their positions.
    Event(u8),
    /// The largest possible position, after every event.
    Max,
}

impl Pos {
    /// The event this position names in a partition whose log is
    /// `events` (event numbers, oldest first), if any.
    pub fn resolve(self, events: &[usize]) -> Resolved {
        match self {
            Pos::Zero => Resolved::Zero,
            Pos::Event(_) if events.is_empty() => Resolved::Zero,
            Pos::Event(i) => Resolved::Event(events[usize::from(i) % events.len()]),
            Pos::Max => Resolved::Max,
        }
    }
}

/// The partition a read of the log is about, chosen relative to the chats
/// as they are when the operation runs. With one partition, every `Part`
/// is that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The partition of a chat (by index): one with events. The first
    /// while the index names no chat.
    Of(u8),
    /// The partition with this number, modulo the partition count: often
    /// one no chat is in.
    Number(u8),
}

impl Part {
    /// The partition's number among `count`, given the events so far.
    pub fn resolve(self, count: usize, log: &[Logged]) -> usize {
        match self {
            Part::Of(chat) => partition_of(usize::from(chat), log).unwrap_or(0),
            Part::Number(n) => usize::from(n) % count,
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

/// A message an operation names, chosen relative to the log as it is when
/// the operation runs, and to the chat the operation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// A message of the operation's chat, counted from its first (modulo
    /// how many it has; nowhere while it has none), so it names the same
    /// message from one operation to the next.
    Nth(u8),
    /// The newest message of the operation's chat.
    Newest,
    /// The message of a reaction added or removed in the operation's
    /// chat, counted from the newest (the newest message while there is
    /// none).
    Reacted(u8),
    /// A message of another chat in the same partition, counted from the
    /// newest in the log (of any chat's while the operation's chat was
    /// never created). A message of another partition is not named: its
    /// position may be that of one of this chat's messages, since each
    /// partition numbers its own.
    Other(u8),
    /// An event of the operation's chat that is not a message (its
    /// creation, a join, a reaction...), counted from the newest.
    NotMessage(u8),
    /// A position no event has.
    Nowhere,
}

/// What a [`Msg`] is resolved against: one entry per event appended, in
/// the order they were appended (whatever their partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub chat: usize,
    /// The partition whose log holds it: its chat's.
    pub partition: usize,
    pub message: bool,
    /// For `ReactionAdded` and `ReactionRemoved`.
    pub reaction: Option<Reaction>,
}

/// A reaction event's message (by event number), emoji and user, and
/// whether it added the reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub message: usize,
    pub emoji: String,
    pub user: usize,
    pub added: bool,
}

/// The partition `chat`'s events are in (that of its `ChatCreated`);
/// `None` for a chat never created.
pub fn partition_of(chat: usize, log: &[Logged]) -> Option<usize> {
    log.iter().find(|e| e.chat == chat).map(|e| e.partition)
}

/// A partition's log: the numbers of its events, oldest first.
pub fn partition_log(partition: usize, log: &[Logged]) -> Vec<usize> {
    (0..log.len())
        .filter(|&n| log[n].partition == partition)
        .collect()
}

/// The log of the partition `chat` is in (empty for a chat never created):
/// where a position that a page of its messages starts from is taken.
pub fn chat_log(chat: u8, log: &[Logged]) -> Vec<usize> {
    match partition_of(usize::from(chat), log) {
        Some(partition) => partition_log(partition, log),
        None => Vec::new(),
    }
}

/// The reaction the `nth` `ReactionAdded` to `message` in `log` added,
/// counted from the first (modulo how many there are).
pub fn added_reaction(message: Option<usize>, nth: u8, log: &[Logged]) -> Option<&Reaction> {
    let added: Vec<&Reaction> = log
        .iter()
        .filter_map(|e| e.reaction.as_ref())
        .filter(|r| r.added && Some(r.message) == message)
        .collect();
    (!added.is_empty()).then(|| added[usize::from(nth) % added.len()])
}

impl Msg {
    /// The number of the event this names in `log` when it is about
    /// `chat`, or `None` for a position no event has.
    pub fn resolve(self, chat: u8, log: &[Logged]) -> Option<usize> {
        let chat = usize::from(chat);
        let partition = partition_of(chat, log);
        let own = |e: &Logged| e.chat == chat && e.message;
        let nth = |k: u8, wanted: &dyn Fn(&Logged) -> bool| {
            let found: Vec<usize> = (0..log.len()).filter(|&n| wanted(&log[n])).collect();
            (!found.is_empty()).then(|| found[usize::from(k) % found.len()])
        };
        let newest = |k: u8, wanted: &dyn Fn(&Logged) -> bool| {
            let found: Vec<usize> = (0..log.len()).rev().filter(|&n| wanted(&log[n])).collect();
            (!found.is_empty()).then(|| found[usize::from(k) % found.len()])
        };
        match self {
            Msg::Nth(k) => nth(k, &own),
            Msg::Newest => newest(0, &own),
            Msg::Reacted(k) => newest(k, &|e| e.chat == chat && e.reaction.is_some())
                .and_then(|n| log[n].reaction.as_ref())
                .map(|r| r.message)
                .or_else(|| newest(0, &own)),
            Msg::Other(k) => newest(k, &|e| {
                e.chat != chat && e.message && partition.is_none_or(|p| e.partition == p)
            }),
            Msg::NotMessage(k) => newest(k, &|e| e.chat == chat && !e.message),
            Msg::Nowhere => None,
        }
    }
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
        reply_to: Option<Msg>,
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
        partition: Part,
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
    /// `message`: one message, without a membership check.
    GetMessage {
        chat: u8,
        message: Msg,
    },
    EditMessage {
        chat: u8,
        user: u8,
        message: Msg,
        body: &'static str,
    },
    DeleteMessage {
        chat: u8,
        user: u8,
        message: Msg,
    },
    AddReaction {
        chat: u8,
        user: u8,
        message: Msg,
        emoji: &'static str,
    },
    /// `add_reaction` with the first `count` of [`MANY_EMOJI`], one after
    /// the other: the way to a message's distinct-emoji limit.
    ReactMany {
        chat: u8,
        user: u8,
        message: Msg,
        count: u8,
    },
    RemoveReaction {
        chat: u8,
        user: u8,
        message: Msg,
        emoji: &'static str,
    },
    /// The user who made the `nth` reaction to the message (counting
    /// every `ReactionAdded` to it from the first, current or not) removes
    /// it; no call while there is none. A message's earliest reactions
    /// are the ones whose removal reorders its groups.
    Unreact {
        chat: u8,
        message: Msg,
        nth: u8,
    },
    Reactions {
        chat: u8,
        message: Msg,
        viewer: u8,
    },
    MarkRead {
        chat: u8,
        user: u8,
        message: Msg,
    },
    ReadState {
        chat: u8,
        user: u8,
    },
    ReadReceipts {
        chat: u8,
    },
    SetTyping {
        chat: u8,
        user: u8,
        typing: bool,
    },
    Typing {
        chat: u8,
    },
    /// Several users start (or renew) typing one after another, then the
    /// set is read: what orders the set. A user who may not type is
    /// refused on the way, as `SetTyping` shows.
    TypeInTurn {
        chat: u8,
        users: Vec<u8>,
    },
    /// A server process (one of a few, by index) holds a user present.
    HoldPresence {
        user: u8,
        holder: u8,
    },
    ReleasePresence {
        user: u8,
        holder: u8,
    },
    Presence {
        user: u8,
    },
}

impl Op {
    /// The operation's name, as its `Debug` form starts.
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateUser { .. } => "CreateUser",
            Op::FindUser { .. } => "FindUser",
            Op::CreateChat { .. } => "CreateChat",
            Op::AddMember { .. } => "AddMember",
            Op::LeaveChat { .. } => "LeaveChat",
            Op::SendMessage { .. } => "SendMessage",
            Op::ReadMessages { .. } => "ReadMessages",
            Op::ListChats { .. } => "ListChats",
            Op::ReadLog { .. } => "ReadLog",
            Op::MembershipSnapshot { .. } => "MembershipSnapshot",
            Op::Members { .. } => "Members",
            Op::ChatInfo { .. } => "ChatInfo",
            Op::History { .. } => "History",
            Op::GetMessage { .. } => "GetMessage",
            Op::EditMessage { .. } => "EditMessage",
            Op::DeleteMessage { .. } => "DeleteMessage",
            Op::AddReaction { .. } => "AddReaction",
            Op::ReactMany { .. } => "ReactMany",
            Op::RemoveReaction { .. } => "RemoveReaction",
            Op::Unreact { .. } => "Unreact",
            Op::Reactions { .. } => "Reactions",
            Op::MarkRead { .. } => "MarkRead",
            Op::ReadState { .. } => "ReadState",
            Op::ReadReceipts { .. } => "ReadReceipts",
            Op::SetTyping { .. } => "SetTyping",
            Op::Typing { .. } => "Typing",
            Op::TypeInTurn { .. } => "TypeInTurn",
            Op::HoldPresence { .. } => "HoldPresence",
            Op::ReleasePresence { .. } => "ReleasePresence",
            Op::Presence { .. } => "Presence",
        }
    }
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

/// Mostly the partition of a chat that exists, sometimes any partition.
fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        3 => chat().prop_map(Part::Of),
        1 => any::<u8>().prop_map(Part::Number),
    ]
}

/// Mostly a recent message of the operation's chat, sometimes something
/// that is not one.
fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        10 => (0..3u8).prop_map(Msg::Nth),
        6 => Just(Msg::Newest),
        4 => (0..3u8).prop_map(Msg::Reacted),
        1 => (0..4u8).prop_map(Msg::Other),
        1 => (0..4u8).prop_map(Msg::NotMessage),
        1 => Just(Msg::Nowhere),
    ]
}

/// Mostly a message that was reacted to.
fn reacted() -> impl Strategy<Value = Msg> {
    prop_oneof![3 => (0..3u8).prop_map(Msg::Reacted), 1 => msg()]
}

/// How many of [`MANY_EMOJI`] to add: a few, or close to the limit on
/// distinct emoji (sometimes past it alone, often past it together with
/// reactions from [`EMOJI`]).
fn many() -> impl Strategy<Value = u8> {
    let all = MANY_EMOJI.len() as u8;
    prop_oneof![1 => 1..=4u8, 1 => all - 4..=all]
}

/// A whole case: a setup of three or four users (whose names do not
/// collide: later `CreateUser`s try that), two chats among the first
/// three users (most often all three) and a few messages in them, so that
/// most operations land on users, chats and messages that exist, then
/// random operations. Shrinking simplifies the setup but keeps its size;
/// the random part shrinks to the few operations that matter.
pub fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    let users = prop::sample::subsequence(SETUP_USERNAMES, 3..=4).prop_map(|names| {
        names
            .into_iter()
            .map(|name| Op::CreateUser { name })
            .collect()
    });
    let others = prop::sample::subsequence(vec![0u8, 1, 2], 2..=3);
    let setup_chat =
        (0..3u8, select(TITLES), others).prop_map(|(creator, title, others)| Op::CreateChat {
            creator,
            title,
            others,
        });
    let chats = prop::collection::vec(setup_chat, 2);
    let setup_send =
        (0..2u8, 0..3u8, select(BODIES)).prop_map(|(chat, sender, body)| Op::SendMessage {
            chat,
            sender,
            body,
            client_id: None,
            reply_to: None,
        });
    let sends = prop::collection::vec(setup_send, 2..=4);
    let rest = prop::collection::vec(op(), 1..=max);
    (users, chats, sends, rest).prop_map(|(users, chats, sends, rest): (Vec<Op>, _, _, _)| {
        users
            .into_iter()
            .chain(chats)
            .chain(sends)
            .chain(rest)
            .collect()
    })
}

/// One operation, weighted so that sends (and so retries) and changes to
/// messages dominate.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        24 => message_op(),
        16 => signal_op(),
        3 => select(USERNAMES).prop_map(|name| Op::CreateUser { name }),
        1 => select(USERNAMES).prop_map(|name| Op::FindUser { name }),
        2 => (user(), select(TITLES), prop::collection::vec(user(), 0..3))
            .prop_map(|(creator, title, others)| Op::CreateChat { creator, title, others }),
        2 => (chat(), user(), user()).prop_map(|(chat, by, user)| Op::AddMember { chat, by, user }),
        1 => (chat(), user()).prop_map(|(chat, user)| Op::LeaveChat { chat, user }),
        8 => (
            chat(),
            user(),
            select(BODIES),
            prop::option::weighted(0.7, select(CLIENT_IDS)),
            prop::option::weighted(0.3, msg()),
        )
            .prop_map(|(chat, sender, body, client_id, reply_to)| Op::SendMessage {
                chat,
                sender,
                body,
                client_id,
                reply_to,
            }),
        3 => (chat(), user(), prop::option::of(pos()), 1..4u8)
            .prop_map(|(chat, viewer, before, limit)| Op::ReadMessages { chat, viewer, before, limit }),
        1 => user().prop_map(|user| Op::ListChats { user }),
        2 => (part(), pos(), 1..6u8)
            .prop_map(|(partition, after, limit)| Op::ReadLog { partition, after, limit }),
        1 => user().prop_map(|user| Op::MembershipSnapshot { user }),
        1 => chat().prop_map(|chat| Op::Members { chat }),
        1 => chat().prop_map(|chat| Op::ChatInfo { chat }),
        1 => chat().prop_map(|chat| Op::History { chat }),
    ]
}

/// An operation of contract v2 on a message or a read position. Its
/// weight in [`op`] makes about half of a case these.
fn message_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (chat(), user(), msg(), select(BODIES))
            .prop_map(|(chat, user, message, body)| Op::EditMessage { chat, user, message, body }),
        3 => (chat(), user(), msg())
            .prop_map(|(chat, user, message)| Op::DeleteMessage { chat, user, message }),
        6 => (chat(), user(), msg(), select(EMOJI))
            .prop_map(|(chat, user, message, emoji)| Op::AddReaction { chat, user, message, emoji }),
        3 => (chat(), user(), msg(), many())
            .prop_map(|(chat, user, message, count)| Op::ReactMany { chat, user, message, count }),
        2 => (chat(), user(), msg(), select(EMOJI).prop_union(select(&MANY_EMOJI[1..2])))
            .prop_map(|(chat, user, message, emoji)| Op::RemoveReaction { chat, user, message, emoji }),
        5 => (chat(), reacted(), 0..3u8)
            .prop_map(|(chat, message, nth)| Op::Unreact { chat, message, nth }),
        3 => (chat(), reacted(), user())
            .prop_map(|(chat, message, viewer)| Op::Reactions { chat, message, viewer }),
        1 => (chat(), msg()).prop_map(|(chat, message)| Op::GetMessage { chat, message }),
        5 => (chat(), user(), msg())
            .prop_map(|(chat, user, message)| Op::MarkRead { chat, user, message }),
        3 => (chat(), user()).prop_map(|(chat, user)| Op::ReadState { chat, user }),
        1 => chat().prop_map(|chat| Op::ReadReceipts { chat }),
    ]
}

/// Typing and presence: the ephemeral state kept beside the log. A case
/// runs well within the six-second lapse and the holds' expiry, so what
/// is compared is who types in which order, and who is held online.
fn signal_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (chat(), user(), any::<bool>())
            .prop_map(|(chat, user, typing)| Op::SetTyping { chat, user, typing }),
        3 => chat().prop_map(|chat| Op::Typing { chat }),
        3 => (chat(), prop::collection::vec(user(), 2..5))
            .prop_map(|(chat, users)| Op::TypeInTurn { chat, users }),
        3 => (user(), 0..2u8).prop_map(|(user, holder)| Op::HoldPresence { user, holder }),
        2 => (user(), 0..2u8).prop_map(|(user, holder)| Op::ReleasePresence { user, holder }),
        3 => user().prop_map(|user| Op::Presence { user }),
    ]
}

/// Reads of everything a finished case holds, run after its generated
/// operations: the whole log of each of the `partitions`, and the final
/// state of every user and chat that was created (plus one index past
/// each, which names nothing): each message in chat `c` as it is now
/// (`messages[c]` says for each whether it has reactions), its reactions
/// as every user sees them (as one user sees them when there are none),
/// every user's read state in every chat, and each chat's receipts.
pub fn audit(users: usize, messages: &[Vec<bool>], partitions: usize) -> Vec<Op> {
    let index = |i: usize| u8::try_from(i).expect("a case creates fewer than 255 of each");
    let chats = messages.len();
    let mut ops: Vec<Op> = (0..partitions)
        .map(|p| Op::ReadLog {
            partition: Part::Number(index(p)),
            after: Pos::Zero,
            limit: u8::MAX,
        })
        .collect();
    for user in (0..=users).map(index) {
        ops.push(Op::MembershipSnapshot { user });
        ops.push(Op::ListChats { user });
        ops.push(Op::Presence { user });
    }
    for chat in (0..=chats).map(index) {
        ops.push(Op::Members { chat });
        ops.push(Op::ChatInfo { chat });
        ops.push(Op::History { chat });
        ops.push(Op::ReadReceipts { chat });
        ops.push(Op::Typing { chat });
        for user in (0..=users).map(index) {
            ops.push(Op::ReadState { chat, user });
        }
        let none = Vec::new();
        let reacted = messages.get(usize::from(chat)).unwrap_or(&none);
        for (k, &reacted) in reacted.iter().enumerate() {
            let message = Msg::Nth(index(k));
            ops.push(Op::GetMessage { chat, message });
            let viewers = if reacted { users } else { 1 };
            for viewer in (0..viewers).map(index) {
                ops.push(Op::Reactions {
                    chat,
                    message,
                    viewer,
                });
            }
        }
    }
    for name in USERNAMES {
        ops.push(Op::FindUser { name });
    }
    ops
}
