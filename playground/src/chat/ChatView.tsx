// The open chat: members, adding one by username, the history (with a
// button to page back), and the box to send a message.
import type { Thread } from "./messages";
import { SingleFieldForm } from "./SingleFieldForm";

type Props = {
  title: string;
  members: { id: string; username: string }[];
  thread: Thread;
  onOlder: () => Promise<void>;
  onSend: (body: string) => Promise<void>;
  onAddMember: (username: string) => Promise<void>;
};

export function ChatView({ title, members, thread, onOlder, onSend, onAddMember }: Props) {
  return (
    <section className="chat-view">
      <header>
        <h2 data-testid="chat-title">{title}</h2>
        <span data-testid="members">{members.map((m) => m.username).join(", ")}</span>
        <SingleFieldForm
          testId="add-member-username"
          placeholder="add member by username"
          button="Add"
          trim
          onSubmit={onAddMember}
        />
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
      <SingleFieldForm
        className="composer"
        testId="message-input"
        placeholder="message"
        button="Send"
        trim={false}
        onSubmit={onSend}
      />
    </section>
  );
}
