//! Messages: the `Message` type, history pages and `sendMessage`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::cursor::Cursor;
use crate::domain::{ChatId, ClientMessageId, MessageBody, PageSize};
use crate::store::Message;
use crate::throttle::Action;

use super::account::{UserNode, load_user};
use super::connection::PageInfo;
use super::context::{log_position, policy, store, viewer};
use super::error::{ApiError, ApiResult};
use super::scalars::DateTime;

/// Default page size of `Chat.messages`.
pub(super) const DEFAULT_MESSAGES_PAGE: usize = 50;

/// A message, with the epoch needed to print its cursor.
pub struct MessageNode {
    pub message: Message,
    pub epoch: String,
}

impl MessageNode {
    fn cursor_text(&self) -> String {
        Cursor::log(&self.epoch, self.message.id)
    }
}

#[Object(name = "Message")]
impl MessageNode {
    async fn id(&self) -> ID {
        ID(self.message.id.to_string())
    }

    async fn chat_id(&self) -> ID {
        ID(self.message.chat_id.to_string())
    }

    async fn sender(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
        load_user(ctx, &self.message.sender).await
    }

    async fn body(&self) -> &str {
        &self.message.body
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.message.created_at())
    }

    /// The client's idempotency key, when it sent one.
    async fn client_message_id(&self) -> Option<&str> {
        self.message.client_message_id.as_deref()
    }

    /// This message's position; usable as `before` in Chat.messages and as `after` in subscriptions.
    async fn cursor(&self) -> String {
        self.cursor_text()
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
        Some(cursor) => Some(log_position(ctx, &cursor).await?),
        None => None,
    };
    let store = store(ctx)?;
    let page = store.messages(chat, before, size.get()).await?;
    let epoch = store.epoch().await?;
    let edges: Vec<MessageEdge> = page
        .messages
        .into_iter()
        .map(|message| {
            let node = MessageNode {
                message,
                epoch: epoch.clone(),
            };
            MessageEdge {
                cursor: node.cursor_text(),
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
    let epoch = store.epoch().await?;
    Ok(Some(MessageNode { message, epoch }))
}

#[derive(InputObject)]
pub struct SendMessageInput {
    chat_id: ID,
    body: String,
    /// Idempotency key: a retry with the same key in the same chat by the same sender returns the first message and creates nothing.
    client_message_id: Option<String>,
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> ApiResult<MessageNode> {
        let sender = viewer(ctx)?;
        policy(ctx)?.write(Action::SendMessage, &sender).await?;
        let body = MessageBody::parse(&input.body)?;
        let key = input
            .client_message_id
            .as_deref()
            .map(ClientMessageId::parse)
            .transpose()?;
        let chat = ChatId::parse(&input.chat_id).ok_or(ApiError::NotFound)?;
        let store = store(ctx)?;
        let sent = store
            .send_message(&chat, &sender, &body, key.as_ref())
            .await?;
        Ok(MessageNode {
            message: sent.message,
            epoch: sent.epoch,
        })
    }
}
