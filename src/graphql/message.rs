//! Messages: the `Message` type and history pages.

use async_graphql::{Context, ID, Object, SimpleObject};
use tokio::sync::OnceCell;

use crate::cursor::Cursor;
use crate::domain::{ChatId, PageSize};
use crate::store::{Message, Partition};

use super::account::{UserNode, load_user};
use super::connection::PageInfo;
use super::context::{log_position, store, viewer};
use super::error::{ApiError, ApiResult};
use super::message_id::MessageId;
use super::reaction::ReactionGroupNode;
use super::scalars::DateTime;

/// Default page size of `Chat.messages`.
pub(super) const DEFAULT_MESSAGES_PAGE: usize = 50;

/// A message, with the epoch needed to print its cursor.
///
/// Its fields show the message as it is when they resolve (the contract's
/// rule for objects in events): a node made from a store read is current;
/// one made from a `MessageCreated` event holds the message as it was sent,
/// and reads it again the first time a field that can change since
/// (`body`, `editedAt`, `deletedAt`) is asked for.
pub struct MessageNode {
    message: Message,
    epoch: String,
    /// The cursor of an all-chats subscription over a partitioned log,
    /// printed instead of the message's own (see `Envelope::resume`).
    feed_cursor: Option<String>,
    /// For a message as sent: the message as it is now, once read.
    reread: Option<OnceCell<Message>>,
}

impl MessageNode {
    /// A message just read from the store (or just written).
    pub fn current(message: Message, epoch: String) -> Self {
        Self {
            message,
            epoch,
            feed_cursor: None,
            reread: None,
        }
    }

    /// A message as its `MessageCreated` event recorded it.
    pub fn as_sent(message: Message, epoch: String) -> Self {
        Self {
            message,
            epoch,
            feed_cursor: None,
            reread: Some(OnceCell::new()),
        }
    }

    /// The same node delivered by an all-chats subscription whose cursors
    /// are feed cursors (`None` keeps the message's own).
    pub fn in_feed(self, feed_cursor: Option<String>) -> Self {
        Self {
            feed_cursor,
            ..self
        }
    }

    /// The cursor, `partition` being the message's chat's.
    fn cursor_text(&self, partition: Partition) -> String {
        match &self.feed_cursor {
            Some(cursor) => cursor.clone(),
            None => Cursor::log(&self.epoch, partition, self.message.id),
        }
    }

    /// The message as it is now.
    async fn now(&self, ctx: &Context<'_>) -> ApiResult<&Message> {
        let Some(reread) = &self.reread else {
            return Ok(&self.message);
        };
        reread
            .get_or_try_init(|| async {
                store(ctx)?
                    .message(&self.message.chat_id, self.message.id)
                    .await?
                    .ok_or_else(|| ApiError::internal("a sent message is missing"))
            })
            .await
    }
}

#[Object(name = "Message")]
impl MessageNode {
    async fn id(&self) -> ID {
        MessageId::text(&self.message.chat_id, self.message.id)
    }

    async fn chat_id(&self) -> ID {
        ID(self.message.chat_id.to_string())
    }

    async fn sender(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
        load_user(ctx, &self.message.sender).await
    }

    /// The body as it is now: the empty string once deleted.
    async fn body(&self, ctx: &Context<'_>) -> ApiResult<&str> {
        Ok(&self.now(ctx).await?.body)
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.message.created_at())
    }

    /// The client's idempotency key, when it sent one.
    async fn client_message_id(&self) -> Option<&str> {
        self.message.client_message_id.as_deref()
    }

    /// This message's position; usable as `before` in Chat.messages and as `after` in subscriptions.
    async fn cursor(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.cursor_text(store(ctx)?.partition_of(&self.message.chat_id)))
    }

    /// When the body was last changed by editMessage; null if never.
    async fn edited_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime>> {
        Ok(self.now(ctx).await?.edited_at.map(DateTime))
    }

    /// When the message was deleted; then `body` is the empty string and `reactions` is empty.
    async fn deleted_at(&self, ctx: &Context<'_>) -> ApiResult<Option<DateTime>> {
        Ok(self.now(ctx).await?.deleted_at.map(DateTime))
    }

    /// The message this one answers, as it is now (possibly deleted); null when it answers none.
    async fn reply_to(&self, ctx: &Context<'_>) -> ApiResult<Option<MessageNode>> {
        let Some(id) = self.message.reply_to else {
            return Ok(None);
        };
        let message = store(ctx)?
            .message(&self.message.chat_id, id)
            .await?
            .ok_or_else(|| ApiError::internal("a replied-to message is missing"))?;
        Ok(Some(MessageNode::current(message, self.epoch.clone())))
    }

    /// One group per emoji, ordered by each emoji's first reaction.
    async fn reactions(&self, ctx: &Context<'_>) -> ApiResult<Vec<ReactionGroupNode>> {
        let viewer = viewer(ctx)?;
        let groups = store(ctx)?
            .reactions(&self.message.chat_id, self.message.id, &viewer)
            .await?;
        Ok(groups.into_iter().map(ReactionGroupNode).collect())
    }
}

#[derive(SimpleObject)]
pub struct MessageEdge {
    cursor: String,
    node: MessageNode,
}

#[derive(SimpleObject)]
pub struct MessageConnection {
    edges: Vec<MessageEdge>,
    page_info: PageInfo,
}

/// One page of a chat's history for `Chat.messages`; the caller has already
/// established that the viewer is a member.
pub async fn history(
    ctx: &Context<'_>,
    chat: &ChatId,
    last: Option<i32>,
    before: Option<String>,
) -> ApiResult<MessageConnection> {
    let size = PageSize::parse("last", last, DEFAULT_MESSAGES_PAGE)?;
    let before = match before {
        Some(cursor) => Some(log_position(ctx, chat, &cursor).await?),
        None => None,
    };
    let store = store(ctx)?;
    let page = store.messages(chat, before, size.get()).await?;
    let epoch = store.epoch_of(chat).await?;
    let partition = store.partition_of(chat);
    let edges: Vec<MessageEdge> = page
        .messages
        .into_iter()
        .map(|message| {
            let node = MessageNode::current(message, epoch.clone());
            MessageEdge {
                cursor: node.cursor_text(partition),
                node,
            }
        })
        .collect();
    let page_info = PageInfo {
        has_previous_page: page.has_older,
        has_next_page: page.has_newer,
        start_cursor: edges.first().map(|e| e.cursor.clone()),
        end_cursor: edges.last().map(|e| e.cursor.clone()),
    };
    Ok(MessageConnection { edges, page_info })
}

/// The newest message of a chat, for `Chat.lastMessage`.
pub async fn last_message(ctx: &Context<'_>, chat: &ChatId) -> ApiResult<Option<MessageNode>> {
    let store = store(ctx)?;
    let Some(message) = store.last_message(chat).await? else {
        return Ok(None);
    };
    let epoch = store.epoch_of(chat).await?;
    Ok(Some(MessageNode::current(message, epoch)))
}
