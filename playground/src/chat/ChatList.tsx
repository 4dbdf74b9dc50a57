// The left column: my chats (most recently active first) and a form to
// start a new one.
import type { MyChatsQuery } from "../generated/graphql";
import { SingleFieldForm } from "./SingleFieldForm";

export type ChatSummary = MyChatsQuery["chats"]["edges"][number]["node"];

type Props = {
  chats: ChatSummary[];
  openId: string | null;
  unread: Record<string, number>;
  onOpen: (id: string) => void;
  onCreate: (title: string) => Promise<void>;
};

export function ChatList({ chats, openId, unread, onOpen, onCreate }: Props) {
  return (
    <nav className="chat-list">
      <SingleFieldForm
        testId="new-chat-title"
        placeholder="new chat title"
        button="Create"
        trim
        onSubmit={onCreate}
      />
      <ul>
        {chats.map((chat) => (
          <li key={chat.id}>
            <button
              type="button"
              data-testid="chat-item"
              className={chat.id === openId ? "open" : ""}
              onClick={() => onOpen(chat.id)}
            >
              {chat.title}
              {unread[chat.id] ? <span className="unread"> ({unread[chat.id]})</span> : null}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
