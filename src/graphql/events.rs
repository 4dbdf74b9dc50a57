//! Real-time events: the `ChatEvent` interface, its four types, and the
//! `messageCreated` / `chatEvents` subscriptions.

use std::sync::Arc;

use async_graphql::{Context, ID, Interface, Object, Subscription};
use futures_util::future::ready;
use futures_util::stream::{BoxStream, Stream, StreamExt};

use crate::domain::{ChatId, UserId};
use crate::realtime::feed::Feed;
use crate::realtime::hub::Hub;
use crate::store::{Event, EventKind};

use super::account::{UserNode, load_user};
use super::chat::ChatNode;
use super::context::{log_position, store, viewer};
use super::envelope::Envelope;
use super::error::{ApiError, ApiResult};
use super::live::handoff;
use super::message::MessageNode;
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
        async fn message(&self) -> ApiResult<MessageNode> {
            match &self.0.event.kind {
                EventKind::MessageCreated(message) => Ok(MessageNode {
                    message: message.clone(),
                    epoch: self.0.epoch.to_string(),
                }),
                _ => Err(ApiError::internal("MessageCreated wraps another event")),
            }
        }
    }
);

chat_event_type!(
    /// Fires for every member when a chat is created, including the creator.
    ChatCreated {
        /// The chat as it is now (at delivery), not as it was created.
        async fn chat(&self, ctx: &Context<'_>) -> ApiResult<ChatNode> {
            store(ctx)?
                .chat(&self.0.event.chat_id)
                .await?
                .map(ChatNode)
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
}

impl From<Envelope> for ChatEvent {
    fn from(envelope: Envelope) -> Self {
        match envelope.event.kind {
            EventKind::MessageCreated(_) => ChatEvent::MessageCreated(MessageCreated(envelope)),
            EventKind::ChatCreated { .. } => ChatEvent::ChatCreated(ChatCreated(envelope)),
            EventKind::MemberJoined { .. } => ChatEvent::MemberJoined(MemberJoined(envelope)),
            EventKind::MemberLeft { .. } => ChatEvent::MemberLeft(MemberLeft(envelope)),
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
    Arc<str>,
)> {
    let viewer = viewer(ctx)?;
    let only = chat_id
        .map(|id| ChatId::parse(&id).ok_or(ApiError::NotFound))
        .transpose()?;
    let after = match after {
        Some(cursor) => Some(log_position(ctx, &cursor).await?),
        None => None,
    };
    let store = store(ctx)?.clone();
    let hub = ctx
        .data::<Hub>()
        .map_err(|e| ApiError::internal(e.message))?;
    let epoch: Arc<str> = store.epoch().await?.into();
    let feed = Feed::open(store, hub, viewer, only, after).await?;
    let envelopes = {
        let epoch = epoch.clone();
        feed.into_stream().map(move |item| {
            item.map(|event| Envelope {
                event,
                epoch: epoch.clone(),
            })
            .map_err(ApiError::from)
        })
    };
    Ok((envelopes, epoch))
}

/// The message a `MessageCreated` event carries.
fn message_node(envelope: Envelope) -> ApiResult<MessageNode> {
    match &envelope.event.kind {
        EventKind::MessageCreated(message) => Ok(MessageNode {
            message: message.clone(),
            epoch: envelope.epoch.to_string(),
        }),
        _ => Err(ApiError::internal("not a message event")),
    }
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
