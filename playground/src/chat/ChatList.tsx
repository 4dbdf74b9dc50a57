// The left column: my chats (most recently active first) and a form to
// start a new one.
import { useState, type FormEvent } from "react";
import type { MyChatsQuery } from "../generated/graphql";

export type ChatSummary = MyChatsQuery["chats"]["edges"][number]["node"];

type Props = {
  chats: ChatSummary[];
  openId: string | null;
  unread: Record<string, number>;
  onOpen: (id: string) => void;
  onCreate: (title: string) => Promise<void>;
};

export function ChatList({ chats, openId, unread, onOpen, onCreate }: Props) {
  const [title, setTitle] = useState("");

  async function create(event: FormEvent) {
    event.preventDefault();
    if (!title.trim()) return;
    await onCreate(title.trim());
    setTitle("");
  }

  return (
    <nav className="chat-list">
      <form onSubmit={(e) => void create(e)}>
        <input
          data-testid="new-chat-title"
          placeholder="new chat title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
        />
        <button type="submit">Create</button>
      </form>
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
