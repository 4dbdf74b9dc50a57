// The messages of the open chat: history pages and live events merged into
// one list, without duplicates (a resumed feed and a history load may both
// bring the same message), kept current as messages are edited, deleted and
// reacted to; and who has seen what.
import type { ChatMessageFragment, ReceiptFragment } from "../generated/graphql";

export type Message = ChatMessageFragment;
export type Receipt = ReceiptFragment;

/** One chat's loaded messages, oldest first, and how to page further back. */
export type Thread = {
  /** The chat these messages belong to (null: no chat is open). */
  chatId: string | null;
  messages: Message[];
  hasOlder: boolean;
  olderCursor: string | null;
  /** The first page is still on its way. */
  loading: boolean;
};

export function emptyThread(chatId: string | null): Thread {
  return { chatId, messages: [], hasOlder: false, olderCursor: null, loading: chatId !== null };
}

/** `thread` with `incoming` added: deduplicated by id, in time order. */
export function merge(thread: Thread, incoming: Message[]): Thread {
  const byId = new Map(thread.messages.map((m) => [m.id, m]));
  for (const message of incoming) byId.set(message.id, message);
  const messages = [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { ...thread, messages };
}

/**
 * `thread` with a newer copy of a message (edited, deleted, reacted to): the
 * message itself is replaced, and the quotes of it in replies follow. A
 * message that is not loaded is not added (it belongs to an older page).
 */
export function update(thread: Thread, message: Message): Thread {
  let changed = false;
  const messages = thread.messages.map((m) => {
    if (m.id === message.id) {
      changed = true;
      return message;
    }
    if (m.replyTo?.id === message.id) {
      changed = true;
      return {
        ...m,
        replyTo: { id: message.id, body: message.body, deletedAt: message.deletedAt, sender: message.sender },
      };
    }
    return m;
  });
  return changed ? { ...thread, messages } : thread;
}

/**
 * `receipts` with `next` as its user's read position: replaced, or added
 * for a member who had none. A position that is known to be behind the one
 * held is ignored (positions only move forward).
 */
export function moveReceipt(receipts: Receipt[], next: Receipt, messages: Message[]): Receipt[] {
  const index = receipts.findIndex((r) => r.user.id === next.user.id);
  if (index < 0) return [...receipts, next];
  const place = (id: string) => messages.findIndex((m) => m.id === id);
  const held = place(receipts[index].messageId);
  const moved = place(next.messageId);
  if (held >= 0 && moved >= 0 && moved < held) return receipts;
  return receipts.map((r, i) => (i === index ? next : r));
}

/**
 * The viewer's last (not deleted) message among those loaded, and the other
 * members whose read position is at it or later.
 */
export function seenBy(messages: Message[], receipts: Receipt[], me: string): { messageId: string; names: string[] } | null {
  let mine = -1;
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    if (messages[i].sender.id === me && !messages[i].deletedAt) {
      mine = i;
      break;
    }
  }
  if (mine < 0) return null;
  const place = new Map(messages.map((m, i) => [m.id, i]));
  const names = receipts
    .filter((r) => r.user.id !== me && (place.get(r.messageId) ?? -1) >= mine)
    .map((r) => r.user.username);
  return { messageId: messages[mine].id, names };
}

/** A one-line excerpt of a message body. */
export function snippet(body: string, length = 80): string {
  const line = body.replace(/\s+/g, " ").trim();
  return line.length > length ? `${line.slice(0, length - 1)}…` : line;
}
