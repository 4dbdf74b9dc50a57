// The signed-in chat page: the list of chats, the open chat, and the live
// feed that keeps both current — new, edited and deleted messages,
// reactions, unread counts and read receipts.
import { useCallback, useEffect, useRef, useState } from "react";
import { GraphQLRequestError } from "../api";
import {
  AddMemberDocument,
  AddReactionDocument,
  ChatDetailsDocument,
  ChatHistoryDocument,
  CreateChatDocument,
  DeleteMessageDocument,
  EditMessageDocument,
  LeaveChatDocument,
  MarkReadDocument,
  MyChatsDocument,
  RemoveReactionDocument,
  SendMessageDocument,
  UserByNameDocument,
} from "../generated/graphql";
import { auth, SignedOutError } from "../session";
import { ChatList, type ChatSummary } from "./ChatList";
import { ChatView, type OpenChat } from "./ChatView";
import { FeedStatusLine } from "./FeedStatusLine";
import { LiveChannel, startFeed, type Feed, type FeedStatus, type LiveEvent } from "./liveEvents";
import { emptyThread, merge, moveReceipt, update, type Message, type Thread } from "./messages";
import { Avatar, Icon } from "./ui";

/** Messages loaded per history page. */
const PAGE = 20;

/** Every request carries the session's current token, renewed as it nears expiry. */
const request = auth.request.bind(auth);

export function ChatApp({ userId, username }: { userId: string; username: string }) {
  const [chats, setChats] = useState<ChatSummary[]>([]);
  const [open, setOpen] = useState<OpenChat | null>(null);
  const [thread, setThread] = useState<Thread>(emptyThread(null));
  const [status, setStatus] = useState<FeedStatus>({ state: "connecting" });
  const [error, setError] = useState<string | null>(null);
  const [signingOut, setSigningOut] = useState(false);
  const feed = useRef<Feed | null>(null);
  // Typing and presence subscriptions, on the feed's socket.
  const [channel] = useState(() => new LiveChannel());
  // The feed's handler outlives renders; it reads the open chat from here.
  const openId = useRef<string | null>(null);
  // Only the newest chat-list load may replace the list (an older answer
  // arriving late would bring back counts that were cleared since).
  const chatsLoad = useRef(0);
  // The cursor last given to markRead for the open chat (or its read cursor).
  const marked = useRef<string | null>(null);

  /** Runs `work`, showing its error; resolves to whether it succeeded. */
  const guard = useCallback(async (work: () => Promise<void>): Promise<boolean> => {
    setError(null);
    try {
      await work();
      return true;
    } catch (e) {
      // Signed out meanwhile: the sign-in screen replaces this page.
      if (e instanceof SignedOutError) return false;
      setError(e instanceof Error ? e.message : String(e));
      return false;
    }
  }, []);

  const loadChats = useCallback(async () => {
    const load = ++chatsLoad.current;
    const data = await request(MyChatsDocument, {});
    if (load === chatsLoad.current) setChats(data.chats.edges.map((edge) => edge.node));
  }, []);

  const closeChat = useCallback(() => {
    openId.current = null;
    marked.current = null;
    setOpen(null);
    setThread(emptyThread(null));
    history.replaceState(null, "", location.pathname);
  }, []);

  const openChat = useCallback(
    async (id: string) => {
      openId.current = id;
      setThread((current) => (current.chatId === id ? current : emptyThread(id)));
      const data = await request(ChatHistoryDocument, { chatId: id, last: PAGE });
      if (openId.current !== id || !data.chat) return;
      const { messages, ...chat } = data.chat;
      marked.current = chat.readCursor;
      setOpen(chat);
      // Live events that came while the page loaded are already in: merge.
      setThread((current) =>
        current.chatId === id
          ? merge(
              {
                ...current,
                loading: false,
                hasOlder: messages.pageInfo.hasPreviousPage,
                olderCursor: messages.pageInfo.startCursor ?? null,
              },
              messages.edges.map((edge) => edge.node),
            )
          : current,
      );
      history.replaceState(null, "", `#${encodeURIComponent(id)}`);
    },
    [],
  );

  /** Members and read receipts again, after someone joined or left. */
  const refreshChat = useCallback(
    async (id: string) => {
      const { chat } = await request(ChatDetailsDocument, { chatId: id });
      if (chat && openId.current === id) setOpen(chat);
    },
    [],
  );

  const setUnread = (chatId: string, change: (count: number) => number) =>
    setChats((list) => list.map((c) => (c.id === chatId ? { ...c, unreadCount: change(c.unreadCount) } : c)));

  const onEvent = (event: LiveEvent) => {
    const isOpen = event.chatId === openId.current;
    const inThread = (change: (thread: Thread) => Thread) =>
      setThread((current) => (current.chatId === event.chatId ? change(current) : current));
    switch (event.__typename) {
      case "MessageCreated": {
        const { message } = event;
        inThread((current) => merge(current, [message]));
        if (isOpen && message.sender.id !== userId) {
          // Sending moved the sender's read position to this message.
          setOpen((chat) =>
            chat && chat.id === event.chatId
              ? {
                  ...chat,
                  readReceipts: moveReceipt(
                    chat.readReceipts,
                    { user: message.sender, cursor: message.cursor, messageId: message.id, at: event.at },
                    thread.messages,
                  ),
                }
              : chat,
          );
        }
        if (!isOpen && message.sender.id !== userId) setUnread(event.chatId, (n) => n + 1);
        void loadChats();
        break;
      }
      case "MessageEdited":
      case "MessageDeleted":
        inThread((current) => update(current, event.message));
        // The last message shown in the list, and unread counts (a
        // deleted message is no longer unread), may have changed.
        void loadChats();
        break;
      case "ReactionAdded":
      case "ReactionRemoved":
        inThread((current) => update(current, event.message));
        break;
      case "ChatRead":
        if (event.user.id === userId) {
          // Read in another window: its badge goes here too.
          if (!isOpen) void loadChats();
        } else if (isOpen) {
          const receipt = { user: event.user, cursor: event.readCursor, messageId: event.messageId, at: event.at };
          setOpen((chat) =>
            chat && chat.id === event.chatId
              ? { ...chat, readReceipts: moveReceipt(chat.readReceipts, receipt, thread.messages) }
              : chat,
          );
        }
        break;
      case "MemberJoined":
      case "MemberLeft":
        if (isOpen) {
          if (event.__typename === "MemberLeft" && event.user.id === userId) closeChat();
          else void refreshChat(event.chatId);
        }
        void loadChats();
        break;
      case "ChatCreated":
        void loadChats();
        break;
    }
  };
  const eventHandler = useRef(onEvent);
  eventHandler.current = onEvent;

  useEffect(() => {
    void guard(async () => {
      await loadChats();
      const fromHash = decodeURIComponent(location.hash.slice(1));
      if (!fromHash) return;
      try {
        await openChat(fromHash);
      } catch (e) {
        // A chat left since, or a stale link: start with none open.
        if (e instanceof GraphQLRequestError && e.code === "NOT_FOUND") closeChat();
        else throw e;
      }
    });
    const running = startFeed(
      auth,
      {
        onEvent: (event) => eventHandler.current(event),
        onStatus: setStatus,
        onExpired: () => {
          void loadChats();
          if (openId.current) void openChat(openId.current);
        },
      },
      channel,
    );
    feed.current = running;
    return () => running.stop();
  }, [guard, loadChats, openChat, closeChat, channel]);

  // While a chat is open, what arrives in it is read: move the read position
  // to the newest message (a no-op for the server when it is already there).
  const newest: Message | undefined = open && thread.chatId === open.id ? thread.messages.at(-1) : undefined;
  useEffect(() => {
    if (!newest || marked.current === newest.cursor) return;
    marked.current = newest.cursor;
    // Sending moved the position already.
    if (newest.sender.id === userId) return;
    const { chatId, cursor } = newest;
    void guard(async () => {
      await request(MarkReadDocument, { chatId, cursor });
      setUnread(chatId, () => 0);
      await loadChats();
    });
  }, [newest, userId, guard, loadChats]);

  const createChat = async (title: string) => {
    await guard(async () => {
      const { createChat } = await request(CreateChatDocument, { title });
      await loadChats();
      await openChat(createChat.id);
    });
  };

  const addMember = async (username: string) => {
    await guard(async () => {
      if (!open) return;
      const { user } = await request(UserByNameDocument, { username });
      if (!user) throw new Error(`no user named ${username}`);
      const { addMember } = await request(AddMemberDocument, { chatId: open.id, userId: user.id });
      setOpen((chat) => (chat && chat.id === addMember.id ? { ...chat, members: addMember.members } : chat));
    });
  };

  const leave = () =>
    void guard(async () => {
      if (!open) return;
      await request(LeaveChatDocument, { chatId: open.id });
      closeChat();
      await loadChats();
    });

  const send = (body: string, replyToId: string | null) =>
    guard(async () => {
      if (!open) return;
      const chatId = open.id;
      const clientMessageId = crypto.randomUUID();
      const { sendMessage } = await request(SendMessageDocument, { chatId, body, clientMessageId, replyToId });
      setThread((current) => (current.chatId === chatId ? merge(current, [sendMessage]) : current));
    });

  /** A changed message from a mutation's answer. */
  const changed = (message: Message) =>
    setThread((current) => (current.chatId === message.chatId ? update(current, message) : current));

  const actions = {
    edit: (messageId: string, body: string) =>
      guard(async () => changed((await request(EditMessageDocument, { messageId, body })).editMessage)),
    remove: (messageId: string) =>
      guard(async () => changed((await request(DeleteMessageDocument, { messageId })).deleteMessage)),
    react: (messageId: string, emoji: string, add: boolean) =>
      guard(async () =>
        changed(
          add
            ? (await request(AddReactionDocument, { messageId, emoji })).addReaction
            : (await request(RemoveReactionDocument, { messageId, emoji })).removeReaction,
        ),
      ),
  };

  const older = async () => {
    await guard(async () => {
      if (!open || !thread.olderCursor) return;
      const chatId = open.id;
      const data = await request(ChatHistoryDocument, { chatId, last: PAGE, before: thread.olderCursor });
      const page = data.chat?.messages;
      if (!page) return;
      setThread((current) =>
        current.chatId === chatId
          ? merge(
              { ...current, hasOlder: page.pageInfo.hasPreviousPage, olderCursor: page.pageInfo.startCursor ?? null },
              page.edges.map((edge) => edge.node),
            )
          : current,
      );
    });
  };

  // Ends the session on the server; `auth` then takes the page to the sign-in screen.
  const signOut = () => {
    setSigningOut(true);
    void auth.signOut();
  };
  const signOutEverywhere = () => {
    setSigningOut(true);
    void auth.signOutEverywhere();
  };

  const unreadTotal = chats.reduce((sum, c) => sum + (c.id === open?.id ? 0 : c.unreadCount), 0);
  useEffect(() => {
    document.title = unreadTotal > 0 ? `(${unreadTotal}) chat-server · chat` : "chat-server · chat";
  }, [unreadTotal]);

  return (
    <div className="chat-app">
      <header className="app-bar">
        <span className="brand">
          <Icon name="send" /> chat
        </span>
        <FeedStatusLine status={status} onDrop={() => feed.current?.drop()} />
        <span className="me">
          <Avatar name={username} size="small" />
          <b data-testid="username">{username}</b>
        </span>
        <button type="button" className="quiet" data-testid="sign-out" disabled={signingOut} onClick={signOut}>
          Sign out
        </button>
        <button
          type="button"
          className="quiet"
          data-testid="sign-out-everywhere"
          disabled={signingOut}
          onClick={signOutEverywhere}
          title="End every session of this user, on every device"
        >
          Sign out everywhere
        </button>
        <a href="/">GraphiQL →</a>
      </header>
      {error && (
        <p className="error-banner" role="alert">
          <span>{error}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setError(null)}>
            <Icon name="close" />
          </button>
        </p>
      )}
      <main>
        <ChatList
          me={userId}
          chats={chats}
          openId={open?.id ?? thread.chatId}
          onOpen={(id) => void guard(() => openChat(id))}
          onCreate={createChat}
        />
        {open && thread.chatId === open.id ? (
          <ChatView
            key={open.id}
            me={userId}
            chat={open}
            thread={thread}
            live={channel.subscribe}
            onOlder={older}
            onSend={send}
            onAddMember={addMember}
            onLeave={leave}
            actions={actions}
          />
        ) : (
          <section className="chat-view placeholder">
            <p className="hint">{thread.chatId ? "Loading…" : "Open a chat on the left, or create one."}</p>
          </section>
        )}
      </main>
    </div>
  );
}
