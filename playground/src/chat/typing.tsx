// "… is typing": the composer tells the server while its user types in a
// chat (`setTyping`), and the line above the composer shows who else is
// typing there, from the chat's `typing` subscription.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { SetTypingDocument, TypingDocument, type TypingSubscription } from "../generated/graphql";
import { auth } from "../session";
import type { LiveSubscribe } from "./liveEvents";

/** The server forgets a `true` after 6 s; keystrokes renew it this often. */
const RENEW_MS = 2_500;

export type TypingSignal = {
  /** The composer's text changed (by the user). */
  changed: (text: string) => void;
  /** The composer lost focus (not to its own Send button). */
  blurred: () => void;
  /** Runs `send`; a message sent clears the state on the server, so no `false` follows it. */
  sending: (send: () => Promise<boolean>) => Promise<boolean>;
};

/**
 * Tells the server whether the viewer is typing in `chatId`: `true` on the
 * first keystroke and again every RENEW_MS while keystrokes continue;
 * `false` when the text is cleared, the composer is left, or the chat is
 * closed (this unmounts). Calls go out one after another, in order; their
 * errors (rate limited, signed out, the chat left) are dropped, as typing
 * goes on whatever the server says.
 */
export function useTypingSignal(chatId: string): TypingSignal {
  const state = useRef({ on: false, renewedAt: 0, queue: Promise.resolve() });

  const tell = useCallback(
    (typing: boolean) => {
      const s = state.current;
      s.on = typing;
      if (typing) s.renewedAt = Date.now();
      s.queue = s.queue.then(() => auth.request(SetTypingDocument, { chatId, typing })).then(
        () => {},
        () => {},
      );
    },
    [chatId],
  );

  // Switching chats (or leaving one) unmounts the view: stop typing there.
  useEffect(
    () => () => {
      if (state.current.on) tell(false);
    },
    [tell],
  );

  return useMemo(
    () => ({
      changed(text) {
        const s = state.current;
        if (text.trim() === "") {
          if (s.on) tell(false);
        } else if (!s.on || Date.now() - s.renewedAt >= RENEW_MS) {
          tell(true);
        }
      },
      blurred() {
        if (state.current.on) tell(false);
      },
      async sending(send) {
        // A `true` still on its way could land after the message and
        // start the typing state again: let it arrive first.
        await state.current.queue;
        const sent = await send();
        if (sent) state.current.on = false;
        return sent;
      },
    }),
    [tell],
  );
}

export type TypingUser = TypingSubscription["typing"]["users"][number];

/** Who is typing in `chatId` now (the viewer never is), in the order they started. */
export function useTyping(live: LiveSubscribe, chatId: string): TypingUser[] {
  const [users, setUsers] = useState<TypingUser[]>([]);
  useEffect(() => {
    setUsers([]);
    return live(
      TypingDocument,
      { chatId },
      {
        next: ({ typing }) => {
          if (typing.chatId === chatId) setUsers(typing.users);
        },
        // No lapse can be seen meanwhile: show no one until the set comes again.
        error: () => setUsers([]),
        paused: () => setUsers([]),
      },
    );
  }, [live, chatId]);
  return users;
}

/** "Ada is typing…", "Ada and Bob are typing…", "Ada, Bob and 2 others are typing…". */
export function typingText(names: string[]): string {
  switch (names.length) {
    case 0:
      return "";
    case 1:
      return `${names[0]} is typing…`;
    case 2:
      return `${names[0]} and ${names[1]} are typing…`;
    case 3:
      return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
    default:
      return `${names[0]}, ${names[1]} and ${names.length - 2} others are typing…`;
  }
}

/** The line between the messages and the composer; empty when no one is typing. */
export function TypingLine({ users }: { users: TypingUser[] }) {
  return (
    <div className="typing-line" data-testid="typing-indicator" data-count={users.length} role="status" aria-live="polite">
      {users.length > 0 && (
        <>
          <span className="typing-dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          <span className="typing-text">{typingText(users.map((u) => u.username))}</span>
        </>
      )}
    </div>
  );
}
