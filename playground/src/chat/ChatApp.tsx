// The signed-in chat page: the list of chats, the open chat, and the live
// feed that keeps both current.
import { useCallback, useEffect, useRef, useState } from "react";
import { request } from "../api";
import {
  AddMemberDocument,
  ChatHistoryDocument,
  CreateChatDocument,
  MyChatsDocument,
  SendMessageDocument,
  UserByNameDocument,
} from "../generated/graphql";
import type { Session } from "../session";
import { ChatList, type ChatSummary } from "./ChatList";
import { ChatView } from "./ChatView";
import { startFeed, type Feed, type FeedStatus, type LiveEvent } from "./liveEvents";
import { emptyThread, merge, type Thread } from "./messages";
import { FeedStatusLine } from "./FeedStatusLine";

/** Messages loaded per history page. */
const PAGE = 20;

type OpenChat = { id: string; title: string; members: { id: string; username: string }[] };

export function ChatApp({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const { token } = session;
  const [chats, setChats] = useState<ChatSummary[]>([]);
  const [open, setOpen] = useState<OpenChat | null>(null);
  const [thread, setThread] = useState<Thread>(emptyThread);
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [status, setStatus] = useState<FeedStatus>({ state: "connecting" });
  const [error, setError] = useState<string | null>(null);
  const feed = useRef<Feed | null>(null);
  // The feed's handler outlives renders; it reads the open chat from here.
  const openId = useRef<string | null>(null);

  const guard = useCallback(
    (work: () => Promise<void>) => async () => {
      setError(null);
      try {
        await work();
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      }
    },
    [],
  );

  const loadChats = useCallback(async () => {
    const data = await request(MyChatsDocument, {}, token);
    setChats(data.chats.edges.map((edge) => edge.node));
  }, [token]);

  const openChat = useCallback(
    async (id: string) => {
      const data = await request(ChatHistoryDocument, { chatId: id, last: PAGE }, token);
      if (!data.chat) return;
      const { messages, ...chat } = data.chat;
      openId.current = id;
      setOpen(chat);
      setThread(
        merge(
          { messages: [], hasOlder: messages.pageInfo.hasPreviousPage, olderCursor: messages.pageInfo.startCursor ?? null },
          messages.edges.map((edge) => edge.node),
        ),
      );
      setUnread((counts) => ({ ...counts, [id]: 0 }));
      history.replaceState(null, "", `#${encodeURIComponent(id)}`);
    },
    [token],
  );

  const onEvent = useCallback(
    (event: LiveEvent) => {
      switch (event.__typename) {
        case "MessageCreated":
          if (event.chatId === openId.current) {
            setThread((current) => merge(current, [event.message]));
          } else {
            setUnread((counts) => ({ ...counts, [event.chatId]: (counts[event.chatId] ?? 0) + 1 }));
          }
          void loadChats();
          break;
        case "MemberJoined":
        case "MemberLeft":
          if (event.chatId === openId.current && event.user.id !== session.userId) {
            void openChat(event.chatId);
          }
          void loadChats();
          break;
        case "ChatCreated":
          void loadChats();
          break;
      }
    },
    [loadChats, openChat, session.userId],
  );

  useEffect(() => {
    void guard(async () => {
      await loadChats();
      const fromHash = decodeURIComponent(location.hash.slice(1));
      if (fromHash) await openChat(fromHash);
    })();
    const running = startFeed(token, {
      onEvent,
      onStatus: setStatus,
      onExpired: () => {
        void loadChats();
        if (openId.current) void openChat(openId.current);
      },
    });
    feed.current = running;
    return () => running.stop();
  }, [token, guard, loadChats, openChat, onEvent]);

  const createChat = async (title: string) =>
    guard(async () => {
      const { createChat } = await request(CreateChatDocument, { title }, token);
      await loadChats();
      await openChat(createChat.id);
    })();

  const addMember = async (username: string) =>
    guard(async () => {
      if (!open) return;
      const { user } = await request(UserByNameDocument, { username }, token);
      if (!user) throw new Error(`no user named ${username}`);
      const { addMember } = await request(AddMemberDocument, { chatId: open.id, userId: user.id }, token);
      setOpen({ ...open, members: addMember.members });
    })();

  const send = async (body: string) =>
    guard(async () => {
      if (!open) return;
      const clientMessageId = crypto.randomUUID();
      const { sendMessage } = await request(SendMessageDocument, { chatId: open.id, body, clientMessageId }, token);
      setThread((current) => merge(current, [sendMessage]));
    })();

  const older = async () =>
    guard(async () => {
      if (!open || !thread.olderCursor) return;
      const data = await request(
        ChatHistoryDocument,
        { chatId: open.id, last: PAGE, before: thread.olderCursor },
        token,
      );
      const page = data.chat?.messages;
      if (!page) return;
      setThread((current) =>
        merge(
          { ...current, hasOlder: page.pageInfo.hasPreviousPage, olderCursor: page.pageInfo.startCursor ?? null },
          page.edges.map((edge) => edge.node),
        ),
      );
    })();

  return (
    <div className="chat-app">
      <header className="auth-panel">
        <strong>chat</strong>
        <span>
          Signed in as <b data-testid="username">{session.username}</b>
        </span>
        <FeedStatusLine status={status} onDrop={() => feed.current?.drop()} />
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
        <a href="/">GraphiQL →</a>
      </header>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <main>
        <ChatList
          chats={chats}
          openId={open?.id ?? null}
          unread={unread}
          onOpen={(id) => void guard(() => openChat(id))()}
          onCreate={createChat}
        />
        {open ? (
          <ChatView
            key={open.id}
            title={open.title}
            members={open.members}
            thread={thread}
            onOlder={older}
            onSend={send}
            onAddMember={addMember}
          />
        ) : (
          <p className="hint">Open a chat, or create one.</p>
        )}
      </main>
    </div>
  );
}
