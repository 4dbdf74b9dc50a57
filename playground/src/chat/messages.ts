// The messages of the chats on screen: history pages and live events merged
// into one list per chat, without duplicates (a resumed feed and a history
// load may both bring the same message).
import type { ChatMessageFragment } from "../generated/graphql";

export type Message = ChatMessageFragment;

/** One chat's loaded messages, oldest first, and how to page further back. */
export type Thread = {
  messages: Message[];
  hasOlder: boolean;
  olderCursor: string | null;
};

/** `thread` with `incoming` added: deduplicated by id, in time order. */
export function merge(thread: Thread, incoming: Message[]): Thread {
  const byId = new Map(thread.messages.map((m) => [m.id, m]));
  for (const message of incoming) byId.set(message.id, message);
  const messages = [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { ...thread, messages };
}

export const emptyThread: Thread = { messages: [], hasOlder: false, olderCursor: null };
