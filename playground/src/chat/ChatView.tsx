// The open chat: members, adding one by username, the history (with a
// button to page back), and the box to send a message.
import { useState, type FormEvent } from "react";
import type { Thread } from "./messages";

type Props = {
  title: string;
  members: { id: string; username: string }[];
  thread: Thread;
  onOlder: () => Promise<void>;
  onSend: (body: string) => Promise<void>;
  onAddMember: (username: string) => Promise<void>;
};

export function ChatView({ title, members, thread, onOlder, onSend, onAddMember }: Props) {
  const [body, setBody] = useState("");
  const [member, setMember] = useState("");

  async function send(event: FormEvent) {
    event.preventDefault();
    if (!body.trim()) return;
    await onSend(body);
    setBody("");
  }

  async function add(event: FormEvent) {
    event.preventDefault();
    if (!member.trim()) return;
    await onAddMember(member.trim());
    setMember("");
  }

  return (
    <section className="chat-view">
      <header>
        <h2 data-testid="chat-title">{title}</h2>
        <span data-testid="members">{members.map((m) => m.username).join(", ")}</span>
        <form onSubmit={(e) => void add(e)}>
          <input
            data-testid="add-member-username"
            placeholder="add member by username"
            value={member}
            onChange={(e) => setMember(e.target.value)}
          />
          <button type="submit">Add</button>
        </form>
      </header>
      <ol className="messages" data-testid="messages">
        {thread.hasOlder && (
          <li>
            <button type="button" data-testid="older" onClick={() => void onOlder()}>
              Load older messages
            </button>
          </li>
        )}
        {thread.messages.map((m) => (
          <li key={m.id} data-testid="message">
            <time dateTime={m.createdAt}>{new Date(m.createdAt).toLocaleTimeString()}</time>{" "}
            <b>{m.sender.username}</b>: <span className="body">{m.body}</span>
          </li>
        ))}
      </ol>
      <form className="composer" onSubmit={(e) => void send(e)}>
        <input
          data-testid="message-input"
          placeholder="message"
          value={body}
          onChange={(e) => setBody(e.target.value)}
        />
        <button type="submit">Send</button>
      </form>
    </section>
  );
}
