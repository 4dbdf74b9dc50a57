//! Chats and membership: the `Chat` type, `chat`, `chats`, `createChat`,
//! `addMember`, `markRead` and `leaveChat`.

use std::cmp::Reverse;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use futures_util::future::try_join_all;
use tokio::sync::OnceCell;

use crate::cursor::Cursor;
use crate::domain::{ChatId, ChatTitle, PageSize, UserId};
use crate::store::{Chat, ReadState};
use crate::throttle::Action;

use super::account::{UserNode, load_user};
use super::connection::PageInfo;
use super::context::{chat_position, ensure_current_epoch, null_with_error, policy, store, viewer};
use super::error::{ApiError, ApiResult};
use super::limits::page_cost;
use super::message::{
    DEFAULT_MESSAGES_PAGE, MessageConnection, MessageNode, history, last_message,
};
use super::read_receipt::{ReadReceipt, receipts};
use super::scalars::DateTime;

/// Default page size of `chats`.
const DEFAULT_CHATS_PAGE: usize = 20;

/// Most `memberIds` one `createChat` takes, so one request cannot make an
/// unbounded atomic write.
const MAX_INITIAL_MEMBERS: usize = 1000;

/// A chat, handed out only to its members: whoever builds one has checked
/// membership, so its fields need no further check.
pub struct ChatNode {
    chat: Chat,
    /// The viewer's read state, read once for `unreadCount` and
    /// `readCursor` together.
    read: OnceCell<ReadState>,
}

impl ChatNode {
    pub fn new(chat: Chat) -> Self {
        Self {
            chat,
            read: OnceCell::new(),
        }
    }

    async fn read_state(&self, ctx: &Context<'_>) -> ApiResult<&ReadState> {
        self.read
            .get_or_try_init(|| async {
                let viewer = viewer(ctx)?;
                Ok(store(ctx)?.read_state(&self.chat.id, &viewer).await?)
            })
            .await
    }
}

#[Object(name = "Chat")]
impl ChatNode {
    async fn id(&self) -> ID {
        ID(self.chat.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.chat.title
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.chat.created_at)
    }

    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<UserNode> {
        load_user(ctx, &self.chat.created_by).await
    }

    /// Current members in join order.
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<UserNode>> {
        let ids = store(ctx)?.members(&self.chat.id).await?;
        try_join_all(ids.iter().map(|id| load_user(ctx, id))).await
    }

    /// Newest last. `last` defaults to 50 and is capped by the server; `before` pages back in time.
    #[graphql(complexity = "page_cost(last, DEFAULT_MESSAGES_PAGE, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<MessageConnection> {
        history(ctx, &self.chat.id, last, before).await
    }

    async fn last_message(&self, ctx: &Context<'_>) -> ApiResult<Option<MessageNode>> {
        last_message(ctx, &self.chat.id).await
    }

    /// Messages after the viewer's read position, deleted ones not counted.
    async fn unread_count(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        let unread = self.read_state(ctx).await?.unread;
        Ok(i32::try_from(unread).unwrap_or(i32::MAX))
    }

    /// The viewer's read position: the cursor of the last message it read or sent; null before any.
    async fn read_cursor(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(position) = &self.read_state(ctx).await?.position else {
            return Ok(None);
        };
        let store = store(ctx)?;
        let epoch = store.epoch_of(&self.chat.id).await?;
        let partition = store.partition_of(&self.chat.id);
        Ok(Some(Cursor::log(&epoch, partition, position.message)))
    }

    /// Every current member's read position, for 'seen by' marks; members with none are left out.
    async fn read_receipts(&self, ctx: &Context<'_>) -> ApiResult<Vec<ReadReceipt>> {
        receipts(ctx, &self.chat.id, &viewer(ctx)?).await
    }
}

#[derive(SimpleObject)]
pub struct ChatEdge {
    cursor: String,
    node: ChatNode,
}

#[derive(SimpleObject)]
pub struct ChatConnection {
    edges: Vec<ChatEdge>,
    page_info: PageInfo,
}

/// The chat `id` names when `viewer` is a member; NOT_FOUND otherwise, the
/// same answer as for a chat that does not exist.
pub async fn member_chat(ctx: &Context<'_>, viewer: &UserId, id: &str) -> ApiResult<Chat> {
    let chat = ChatId::parse(id).ok_or(ApiError::NotFound)?;
    store(ctx)?
        .chat_for_member(&chat, viewer)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Parses a user id from a client; a malformed one names nobody.
fn user_id(id: &str) -> ApiResult<UserId> {
    UserId::parse(id).ok_or(ApiError::NotFound)
}

/// The `chats` order: most recently active first, ties by id (descending).
fn activity_order(chat: &Chat) -> (Reverse<u64>, Reverse<ChatId>) {
    (Reverse(chat.last_activity), Reverse(chat.id.clone()))
}

#[derive(Default)]
pub struct ChatQuery;

#[Object]
impl ChatQuery {
    /// A chat the viewer is a member of; null (with NOT_FOUND) otherwise.
    // A chat changes with every message: never cached, whatever else the
    // operation selects (the `User` type's hint included).
    #[graphql(cache_control(no_cache))]
    async fn chat(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<ChatNode>> {
        let viewer = viewer(ctx)?;
        match member_chat(ctx, &viewer, &id).await {
            Ok(chat) => Ok(Some(ChatNode::new(chat))),
            Err(error) => Ok(null_with_error(ctx, error)),
        }
    }

    /// The chats the viewer is a member of, most recently active first.
    #[graphql(
        complexity = "page_cost(first, DEFAULT_CHATS_PAGE, child_complexity)",
        cache_control(no_cache)
    )]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ChatConnection> {
        let viewer = viewer(ctx)?;
        let size = PageSize::parse("first", first, DEFAULT_CHATS_PAGE)?;
        let after = match after {
            None => None,
            Some(text) => match Cursor::decode(&text)? {
                Cursor::Chats {
                    epoch,
                    activity,
                    chat,
                } => {
                    ensure_current_epoch(ctx, &chat, &epoch).await?;
                    Some((Reverse(activity), Reverse(chat)))
                }
                Cursor::Log { .. } | Cursor::Feed { .. } => {
                    return Err(ApiError::BadUserInput(
                        "this is a message cursor; `chats` needs a chats cursor".to_owned(),
                    ));
                }
            },
        };
        let store = store(ctx)?;
        let mut chats = store.chats_of(&viewer).await?;
        chats.sort_by_key(activity_order);
        let start = after.map_or(0, |key| chats.partition_point(|c| activity_order(c) <= key));
        let total = chats.len();
        let end = (start + size.get()).min(total);
        // A chats cursor carries the epoch of its chat's partition.
        let epochs = store.epochs().await?;
        let edges: Vec<ChatEdge> = chats
            .drain(start..end)
            .map(|chat| ChatEdge {
                cursor: Cursor::chats(
                    &epochs[store.partition_of(&chat.id).index()],
                    chat.last_activity,
                    &chat.id,
                ),
                node: ChatNode::new(chat),
            })
            .collect();
        let page_info = PageInfo {
            has_previous_page: start > 0,
            has_next_page: end < total,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        };
        Ok(ChatConnection { edges, page_info })
    }
}

#[derive(InputObject)]
pub struct CreateChatInput {
    title: String,
    /// Other members besides the creator, who is always a member.
    member_ids: Option<Vec<ID>>,
}

#[derive(Default)]
pub struct ChatMutation;

#[Object]
impl ChatMutation {
    async fn create_chat(&self, ctx: &Context<'_>, input: CreateChatInput) -> ApiResult<ChatNode> {
        let creator = viewer(ctx)?;
        policy(ctx)?.write(Action::CreateChat, &creator).await?;
        let title = ChatTitle::parse(&input.title)?;
        let ids = input.member_ids.unwrap_or_default();
        if ids.len() > MAX_INITIAL_MEMBERS {
            return Err(ApiError::BadUserInput(format!(
                "memberIds may list at most {MAX_INITIAL_MEMBERS} users; add more with addMember"
            )));
        }
        let mut others: Vec<UserId> = Vec::new();
        for id in ids {
            let id = user_id(&id)?;
            if id != creator && !others.contains(&id) {
                others.push(id);
            }
        }
        let chat = store(ctx)?.create_chat(&creator, &title, &others).await?;
        Ok(ChatNode::new(chat))
    }

    /// Any member may add a user to the chat. Adding a member twice is a no-op.
    async fn add_member(&self, ctx: &Context<'_>, chat_id: ID, user_id: ID) -> ApiResult<ChatNode> {
        let by = viewer(ctx)?;
        policy(ctx)?.write(Action::AddMember, &by).await?;
        let chat = ChatId::parse(&chat_id).ok_or(ApiError::NotFound)?;
        let user = self::user_id(&user_id)?;
        let chat = store(ctx)?.add_member(&chat, &by, &user).await?;
        Ok(ChatNode::new(chat))
    }

    /// Moves the viewer's read position forward to the message `cursor` names (never backward).
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        chat_id: ID,
        cursor: String,
    ) -> ApiResult<ChatNode> {
        let user = viewer(ctx)?;
        policy(ctx)?.write(Action::MarkRead, &user).await?;
        // A malformed cursor is BAD_USER_INPUT before the chat is looked at.
        let cursor = Cursor::decode(&cursor)?;
        let chat = ChatId::parse(&chat_id).ok_or(ApiError::NotFound)?;
        let position = chat_position(ctx, &chat, cursor).await?;
        let chat = store(ctx)?.mark_read(&chat, &user, position).await?;
        Ok(ChatNode::new(chat))
    }

    /// The viewer leaves the chat; they stop receiving its events at once.
    async fn leave_chat(&self, ctx: &Context<'_>, chat_id: ID) -> ApiResult<bool> {
        let user = viewer(ctx)?;
        let chat = ChatId::parse(&chat_id).ok_or(ApiError::NotFound)?;
        store(ctx)?.leave_chat(&chat, &user).await?;
        Ok(true)
    }
}
