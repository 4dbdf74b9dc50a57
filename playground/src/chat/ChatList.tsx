// The left column: a form to start a chat, and my chats (most recently
// active first), each with its last message and a badge of unread ones.
import type { MyChatsQuery } from "../generated/graphql";
import { snippet } from "./messages";
import { SingleFieldForm } from "./SingleFieldForm";
import { Avatar, shortTime } from "./ui";

export type ChatSummary = MyChatsQuery["chats"]["edges"][number]["node"];

type Props = {
  me: string;
  chats: ChatSummary[];
  openId: string | null;
  onOpen: (id: string) => void;
  onCreate: (title: string) => Promise<void>;
};

export function ChatList({ me, chats, openId, onOpen, onCreate }: Props) {
  return (
    <nav className="chat-list" aria-label="Chats">
      <SingleFieldForm
        className="new-chat"
        testId="new-chat-title"
        placeholder="New chat title"
        button="Create"
        trim
        onSubmit={onCreate}
      />
      {chats.length === 0 && <p className="empty">No chats yet: create one, or ask someone to add you.</p>}
      <ul>
        {chats.map((chat) => {
          // The open chat is being read: its count is cleared as it is marked.
          const unread = chat.id === openId ? 0 : chat.unreadCount;
          const last = chat.lastMessage;
          return (
            <li key={chat.id}>
              <button
                type="button"
                data-testid="chat-item"
                data-chat-id={chat.id}
                className={[chat.id === openId ? "open" : "", unread > 0 ? "has-unread" : ""].join(" ").trim()}
                aria-current={chat.id === openId ? "true" : undefined}
                onClick={() => onOpen(chat.id)}
              >
                <Avatar name={chat.title} />
                <span className="chat-item-text">
                  <span className="chat-item-top">
                    <span className="chat-item-title">{chat.title}</span>
                    {last && <time dateTime={last.createdAt}>{shortTime(last.createdAt)}</time>}
                  </span>
                  <span className="chat-item-bottom">
                    <span className={last?.deletedAt ? "chat-item-last deleted" : "chat-item-last"}>
                      {last
                        ? `${last.sender.id === me ? "You" : last.sender.username}: ${
                            last.deletedAt ? "message deleted" : snippet(last.body, 60)
                          }`
                        : "No messages yet"}
                    </span>
                    {unread > 0 && (
                      <span className="badge" data-testid="unread-badge" aria-label={`${unread} unread`}>
                        {unread > 99 ? "99+" : unread}
                      </span>
                    )}
                  </span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
