//! Real-time events: the `ChatEvent` interface, its types, and the
//! `messageCreated` / `chatEvents` subscriptions.

use async_graphql::{Context, ID, Interface, Object, Subscription};
use futures_util::future::ready;
use futures_util::stream::{BoxStream, Stream, StreamExt};

use crate::cursor::Cursor;
use crate::domain::{ChatId, UserId};
use crate::realtime::feed::{After, Feed};
use crate::realtime::hub::Hub;
use crate::store::{Event, EventKind, LogId};

use super::account::{UserNode, load_user};
use super::chat::ChatNode;
use super::context::{LastEventId, chat_position, feed_position, store, viewer};
use super::envelope::{Envelope, Epochs};
use super::error::{ApiError, ApiResult};
use super::live::handoff;
use super::message::MessageNode;
use super::message_id::MessageId;
use super::scalars::DateTime;

/// Defines a `ChatEvent` type: a wrapper around an [`Envelope`] whose
/// GraphQL object has the interface's three fields plus the given ones.
macro_rules! chat_event_type {
    ($(#[$doc:meta])* $name:ident { $($fields:tt)* }) => {
        $(#[$doc])*
        pub struct $name(Envelope);

        #[Object]
        impl $name {
            /// Position in the event log; pass it as `after` to resume right after this event.
            async fn cursor(&self) -> String {
                self.0.cursor()
            }

            async fn chat_id(&self) -> ID {
                self.0.chat_id()
            }

            async fn at(&self) -> DateTime {
                self.0.at()
            }

            $($fields)*
        }
    };
}

chat_event_type!(
    /// A message was sent.
    MessageCreated {
        /// The message as it is now (a since-deleted one is a tombstone).
        async fn message(&self) -> ApiResult<MessageNode> {
            message_node(self.0.clone())
        }
    }
);

chat_event_type!(
    /// A message's body was changed by its sender.
    MessageEdited {
        /// The message as it is now.
        async fn message(&self, ctx: &Context<'_>) -> ApiResult<MessageNode> {
            self.0.message_now(ctx).await
        }
    }
);

chat_event_type!(
    /// A message was deleted; it stays in history as a tombstone.
    MessageDeleted {
        async fn message_id(&self) -> ApiResult<ID> {
            self.0.message_id()
        }

        /// The tombstone.
        async fn message(&self, ctx: &Context<'_>) -> ApiResult<MessageNode> {
            self.0.message_now(ctx).await
        }
    }
);

/// Defines a reaction event type: a `ChatEvent` with the message, the
/// emoji and the user.
macro_rules! reaction_event_type {
    ($(#[$doc:meta])* $name:ident) => {
        chat_event_type!(
            $(#[$doc])*
            $name {
                /// The message as it is now, with its reactions as the viewer sees them.
                async fn message(&self, ctx: &Context<'_>) -> ApiResult<MessageNode> {
                    self.0.message_now(ctx).await
                }

                async fn emoji(&self) -> ApiResult<&str> {
                    self.0.reaction().map(|(emoji, _)| emoji)
                }

                async fn user(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
                    load_user(ctx, self.0.reaction()?.1).await
                }
            }
        );
    };
}

reaction_event_type!(
    /// A member reacted to a message.
    ReactionAdded
);

reaction_event_type!(
    /// A member took a reaction back.
    ReactionRemoved
);

chat_event_type!(
    /// A member's read position moved.
    ChatRead {
        async fn user(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
            match &self.0.event.kind {
                EventKind::ChatRead { user, .. } => load_user(ctx, user).await,
                _ => Err(ApiError::internal("ChatRead wraps another event")),
            }
        }

        /// The reader's new read position (a message cursor).
        async fn read_cursor(&self) -> ApiResult<String> {
            let event = &self.0.event;
            Ok(Cursor::log(self.0.epoch(), event.partition, self.0.message()?))
        }

        async fn message_id(&self) -> ApiResult<ID> {
            self.0.message_id()
        }
    }
);

impl Envelope {
    /// The message an event is about (not `MessageCreated`, which carries
    /// the whole message).
    fn message(&self) -> ApiResult<LogId> {
        match &self.event.kind {
            EventKind::MessageEdited { message }
            | EventKind::MessageDeleted { message }
            | EventKind::ReactionAdded { message, .. }
            | EventKind::ReactionRemoved { message, .. }
            | EventKind::ChatRead { message, .. } => Ok(*message),
            _ => Err(ApiError::internal("the event is about no message")),
        }
    }

    fn message_id(&self) -> ApiResult<ID> {
        Ok(MessageId::text(&self.event.chat_id, self.message()?))
    }

    /// The message the event is about, as it is now.
    async fn message_now(&self, ctx: &Context<'_>) -> ApiResult<MessageNode> {
        let message = store(ctx)?
            .message(&self.event.chat_id, self.message()?)
            .await?
            .ok_or_else(|| ApiError::internal("a changed message is missing"))?;
        Ok(MessageNode::current(message, self.epoch().to_owned()))
    }

    /// A reaction event's emoji and user.
    fn reaction(&self) -> ApiResult<(&str, &UserId)> {
        match &self.event.kind {
            EventKind::ReactionAdded { emoji, user, .. }
            | EventKind::ReactionRemoved { emoji, user, .. } => Ok((emoji, user)),
            _ => Err(ApiError::internal("not a reaction event")),
        }
    }
}

chat_event_type!(
    /// Fires for every member when a chat is created, including the creator.
    ChatCreated {
        /// The chat as it is now (at delivery), not as it was created.
        async fn chat(&self, ctx: &Context<'_>) -> ApiResult<ChatNode> {
            store(ctx)?
                .chat(&self.0.event.chat_id)
                .await?
                .map(ChatNode::new)
                .ok_or_else(|| ApiError::internal("a created chat is missing"))
        }
    }
);

chat_event_type!(
    /// A user was added to the chat.
    MemberJoined {
        async fn user(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
            load_user(ctx, self.subject()?).await
        }

        async fn added_by(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
            match &self.0.event.kind {
                EventKind::MemberJoined { added_by, .. } => load_user(ctx, added_by).await,
                _ => Err(ApiError::internal("MemberJoined wraps another event")),
            }
        }
    }
);

chat_event_type!(
    /// A user left the chat.
    MemberLeft {
        async fn user(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
            load_user(ctx, self.subject()?).await
        }
    }
);

impl MemberJoined {
    fn subject(&self) -> ApiResult<&UserId> {
        subject(&self.0.event)
    }
}

impl MemberLeft {
    fn subject(&self) -> ApiResult<&UserId> {
        subject(&self.0.event)
    }
}

/// The user a membership event is about.
fn subject(event: &Event) -> ApiResult<&UserId> {
    match &event.kind {
        EventKind::MemberJoined { user, .. } | EventKind::MemberLeft { user } => Ok(user),
        _ => Err(ApiError::internal("not a membership event")),
    }
}

/// Something that happened in a chat, as the viewer is allowed to see it.
#[derive(Interface)]
#[graphql(
    field(
        name = "cursor",
        ty = "String",
        desc = "Position in the event log; pass it as `after` to resume right after this event."
    ),
    field(name = "chat_id", ty = "ID"),
    field(name = "at", ty = "DateTime")
)]
pub enum ChatEvent {
    MessageCreated(MessageCreated),
    ChatCreated(ChatCreated),
    MemberJoined(MemberJoined),
    MemberLeft(MemberLeft),
    MessageEdited(MessageEdited),
    MessageDeleted(MessageDeleted),
    ReactionAdded(ReactionAdded),
    ReactionRemoved(ReactionRemoved),
    ChatRead(ChatRead),
}

impl From<Envelope> for ChatEvent {
    fn from(envelope: Envelope) -> Self {
        match envelope.event.kind {
            EventKind::MessageCreated(_) => ChatEvent::MessageCreated(MessageCreated(envelope)),
            EventKind::ChatCreated { .. } => ChatEvent::ChatCreated(ChatCreated(envelope)),
            EventKind::MemberJoined { .. } => ChatEvent::MemberJoined(MemberJoined(envelope)),
            EventKind::MemberLeft { .. } => ChatEvent::MemberLeft(MemberLeft(envelope)),
            EventKind::MessageEdited { .. } => ChatEvent::MessageEdited(MessageEdited(envelope)),
            EventKind::MessageDeleted { .. } => ChatEvent::MessageDeleted(MessageDeleted(envelope)),
            EventKind::ReactionAdded { .. } => ChatEvent::ReactionAdded(ReactionAdded(envelope)),
            EventKind::ReactionRemoved { .. } => {
                ChatEvent::ReactionRemoved(ReactionRemoved(envelope))
            }
            EventKind::ChatRead { .. } => ChatEvent::ChatRead(ChatRead(envelope)),
        }
    }
}

/// Opens the viewer's feed for a subscription, with the log's epoch for
/// the events' cursors.
async fn open(
    ctx: &Context<'_>,
    chat_id: Option<ID>,
    after: Option<String>,
) -> ApiResult<(
    impl Stream<Item = ApiResult<Envelope>> + Send + use<>,
    Epochs,
)> {
    let viewer = viewer(ctx)?;
    let only = chat_id
        .map(|id| ChatId::parse(&id).ok_or(ApiError::NotFound))
        .transpose()?;
    // A reconnecting SSE client's Last-Event-ID wins over the argument.
    let after = ctx
        .data_opt::<LastEventId>()
        .map(|last| last.0.clone())
        .or(after);
    // A malformed cursor is BAD_USER_INPUT before anything is read.
    let after = after.map(|cursor| Cursor::decode(&cursor)).transpose()?;
    let store = store(ctx)?.clone();
    let epochs: Epochs = store.epochs().await?.into();
    let after = match (after, &only) {
        (Some(cursor), Some(chat)) => Some(After::Chat(chat_position(ctx, chat, cursor).await?)),
        (Some(cursor), None) => Some(feed_position(store.partitions(), cursor, &epochs)?),
        (None, _) => None,
    };
    let hub = ctx
        .data::<Hub>()
        .map_err(|e| ApiError::internal(e.message))?;
    let feed = Feed::open(store, hub, viewer, only, after).await?;
    let envelopes = {
        let epochs = epochs.clone();
        feed.into_stream().map(move |item| {
            item.map(|fed| Envelope {
                event: fed.event,
                epochs: epochs.clone(),
                live: fed.live,
                resume: fed.resume,
            })
            .map_err(ApiError::from)
        })
    };
    Ok((envelopes, epochs))
}

/// The message a `MessageCreated` event carries. Delivered live, the
/// event's copy is the message as it is: it was written moments ago, and
/// a change racing the delivery is indistinguishable from one right after
/// it (which `chatEvents` delivers as its own event). Replayed after a
/// cursor, the fields that can have changed since are read again. (Reading
/// them for every live message cost the Redis backend's burst benchmark
/// 40 % of its throughput: see BENCHMARKS.md.)
fn message_node(envelope: Envelope) -> ApiResult<MessageNode> {
    let epoch = envelope.epoch().to_owned();
    let node = match &envelope.event.kind {
        EventKind::MessageCreated(message) if envelope.live => {
            MessageNode::current(message.clone(), epoch)
        }
        EventKind::MessageCreated(message) => MessageNode::as_sent(message.clone(), epoch),
        _ => return Err(ApiError::internal("not a message event")),
    };
    Ok(node.in_feed(envelope.feed_cursor()))
}

#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// New messages in every chat the viewer belongs to, or in one chat when
    /// chatId is given. Membership is followed live: a chat the viewer joins
    /// starts to flow at once, a chat the viewer leaves stops at once.
    /// With `after`, first replays the messages after that cursor, then goes
    /// live, with no gap and no duplicate. CURSOR_EXPIRED when the cursor is
    /// older than the server's retained log.
    async fn message_created(
        &self,
        ctx: &Context<'_>,
        chat_id: Option<ID>,
        after: Option<String>,
    ) -> Result<BoxStream<'static, ApiResult<MessageNode>>, ApiError> {
        handoff::serve(ctx, message_node, || async move {
            let (events, epoch) = open(ctx, chat_id, after).await?;
            let messages = events.filter(|item| {
                let wanted = match item {
                    Ok(envelope) => matches!(envelope.event.kind, EventKind::MessageCreated(_)),
                    Err(_) => true,
                };
                ready(wanted)
            });
            Ok((messages.boxed(), epoch))
        })
        .await
    }

    /// Every event visible to the viewer (or of one chat), resumable like messageCreated.
    async fn chat_events(
        &self,
        ctx: &Context<'_>,
        chat_id: Option<ID>,
        after: Option<String>,
    ) -> Result<BoxStream<'static, ApiResult<ChatEvent>>, ApiError> {
        handoff::serve(
            ctx,
            |envelope| Ok(ChatEvent::from(envelope)),
            || async move {
                let (events, epoch) = open(ctx, chat_id, after).await?;
                Ok((events.boxed(), epoch))
            },
        )
        .await
    }
}
