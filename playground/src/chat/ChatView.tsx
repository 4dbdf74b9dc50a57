// The open chat: its header (title, members with online dots, adding one
// by username, leaving), the conversation (older pages with a button, a
// line between days), who is typing, and the composer.
import { Fragment, useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import type { OpenChatFragment } from "../generated/graphql";
import { Composer } from "./Composer";
import type { LiveSubscribe } from "./liveEvents";
import { MessageItem, type MessageActions } from "./MessageItem";
import { seenBy, type Message, type Receipt, type Thread } from "./messages";
import { PresenceDot, usePresence } from "./presence";
import { SingleFieldForm } from "./SingleFieldForm";
import { TypingLine, useTyping, useTypingSignal } from "./typing";
import { Avatar, dayLabel } from "./ui";

export type OpenChat = Omit<OpenChatFragment, "readReceipts"> & { readReceipts: Receipt[] };

/** Messages closer together than this, by one sender, share one avatar. */
const RUN_MS = 5 * 60 * 1000;

type Props = {
  me: string;
  chat: OpenChat;
  thread: Thread;
  /** Subscribes on the page's live socket (typing, presence). */
  live: LiveSubscribe;
  onOlder: () => Promise<void>;
  onSend: (body: string, replyToId: string | null) => Promise<boolean>;
  onAddMember: (username: string) => Promise<void>;
  onLeave: () => void;
  actions: Omit<MessageActions, "reply" | "show">;
};

export function ChatView({ me, chat, thread, live, onOlder, onSend, onAddMember, onLeave, actions }: Props) {
  const [replyingTo, setReplyingTo] = useState<Message | null>(null);
  const [editingId, setEditingId] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const messages = thread.messages;
  const seen = seenBy(messages, chat.readReceipts, me);
  const typingSignal = useTypingSignal(chat.id);
  const typing = useTyping(live, chat.id);
  const memberIds = useMemo(() => chat.members.map((m) => m.id), [chat.members]);
  const presence = usePresence(live, memberIds);

  // Keep the view where the reader expects it: at the bottom when the chat
  // opens and when a message arrives while reading the newest ones (or is
  // sent), still when an older page is put above, untouched otherwise.
  const before = useRef({ first: null as string | null, last: null as string | null, height: 0, atBottom: true });
  useLayoutEffect(() => {
    const box = list.current;
    if (!box) return;
    const first = messages[0]?.id ?? null;
    const last = messages.at(-1) ?? null;
    const was = before.current;
    if (was.first !== null && first !== was.first && last?.id === was.last) {
      box.scrollTop += box.scrollHeight - was.height;
    } else if (last && last.id !== was.last && (was.atBottom || last.sender.id === me)) {
      box.scrollTop = box.scrollHeight;
    } else if (was.atBottom) {
      // A reaction or an edit made the end taller: stay at the end.
      box.scrollTop = box.scrollHeight;
    }
    before.current = { first, last: last?.id ?? null, height: box.scrollHeight, atBottom: was.atBottom };
  });
  const onScroll = () => {
    const box = list.current;
    if (box) before.current.atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  };

  const show = useCallback((messageId: string) => {
    const target = list.current?.querySelector<HTMLElement>(`[data-id="${CSS.escape(messageId)}"]`);
    if (!target) return;
    target.scrollIntoView({ block: "center", behavior: "smooth" });
    target.classList.remove("flash");
    void target.offsetWidth; // restart the animation
    target.classList.add("flash");
  }, []);

  const all: MessageActions = { ...actions, reply: setReplyingTo, show };
  const others = chat.members.filter((m) => m.id !== me).length;

  return (
    <section className="chat-view" data-testid="chat-view" data-chat-id={chat.id}>
      <header>
        <Avatar name={chat.title} />
        <div className="chat-heading">
          <h2 data-testid="chat-title">{chat.title}</h2>
          <span className="members" data-testid="members" title={`${chat.members.length} members`}>
            {chat.members.map((m, i) => (
              <Fragment key={m.id}>
                {i > 0 && ", "}
                <span className="member" data-testid="member" data-user-id={m.id}>
                  <PresenceDot presence={presence.get(m.id)} />
                  {m.id === me ? `${m.username} (you)` : m.username}
                </span>
              </Fragment>
            ))}
          </span>
        </div>
        <SingleFieldForm
          className="add-member"
          testId="add-member-username"
          placeholder="Add member by username"
          button="Add"
          trim
          onSubmit={onAddMember}
        />
        <button type="button" className="leave" data-testid="leave-chat" onClick={onLeave} title="Leave this chat">
          Leave
        </button>
      </header>
      <ol className="messages" data-testid="messages" ref={list} onScroll={onScroll}>
        {thread.hasOlder && (
          <li className="older">
            <button type="button" data-testid="older" onClick={() => void onOlder()}>
              Load older messages
            </button>
          </li>
        )}
        {!thread.loading && messages.length === 0 && (
          <li className="empty">
            {others === 0 ? "Add someone by username, then say hello." : "No messages yet. Say hello!"}
          </li>
        )}
        {messages.map((m, i) => {
          const previous = messages[i - 1];
          const newDay = !previous || new Date(previous.createdAt).toDateString() !== new Date(m.createdAt).toDateString();
          const continued =
            !newDay &&
            previous.sender.id === m.sender.id &&
            Date.parse(m.createdAt) - Date.parse(previous.createdAt) < RUN_MS;
          return [
            newDay && (
              <li key={`day-${m.id}`} className="day" role="separator">
                <span>{dayLabel(m.createdAt)}</span>
              </li>
            ),
            <MessageItem
              key={m.id}
              message={m}
              mine={m.sender.id === me}
              continued={continued}
              editing={editingId === m.id}
              onEditing={(on) => setEditingId(on ? m.id : null)}
              seenBy={seen?.messageId === m.id ? seen.names : null}
              actions={all}
            />,
          ];
        })}
      </ol>
      <TypingLine users={typing} />
      <Composer
        replyingTo={replyingTo}
        onCancelReply={() => setReplyingTo(null)}
        onSend={onSend}
        typing={typingSignal}
      />
    </section>
  );
}
