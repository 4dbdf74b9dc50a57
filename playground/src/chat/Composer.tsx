// The box at the bottom of the open chat: a "replying to …" bar when a
// reply is being written (it can be cancelled), a text area that grows with
// its text (Enter sends, Shift+Enter breaks the line), and Send. What the
// user types here tells the others in the chat "… is typing".
import { useEffect, useLayoutEffect, useRef, useState, type FocusEvent, type FormEvent, type KeyboardEvent } from "react";
import { snippet, type Message } from "./messages";
import type { TypingSignal } from "./typing";
import { Icon } from "./ui";

type Props = {
  replyingTo: Message | null;
  onCancelReply: () => void;
  /** Sends; resolves to whether it was sent (the text is kept otherwise). */
  onSend: (body: string, replyToId: string | null) => Promise<boolean>;
  /** Told of every change of the text, and of leaving the box. */
  typing: TypingSignal;
};

export function Composer({ replyingTo, onCancelReply, onSend, typing }: Props) {
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  // Grow with the text, up to the limit the stylesheet sets.
  useLayoutEffect(() => {
    const box = input.current;
    if (!box) return;
    box.style.height = "auto";
    box.style.height = `${box.scrollHeight}px`;
  }, [value]);

  // Choosing a message to answer puts the cursor here.
  useEffect(() => {
    if (replyingTo) input.current?.focus();
  }, [replyingTo]);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!value.trim() || busy) return;
    setBusy(true);
    try {
      if (await typing.sending(() => onSend(value, replyingTo?.id ?? null))) {
        setValue("");
        onCancelReply();
      }
    } finally {
      setBusy(false);
    }
  }

  function keys(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    } else if (event.key === "Escape" && replyingTo) {
      onCancelReply();
    }
  }

  function left(event: FocusEvent<HTMLTextAreaElement>) {
    // Focus going to Send (or the reply bar's buttons) is not leaving:
    // a click on Send sends, and that ends the typing state by itself.
    if (event.relatedTarget instanceof Node && event.currentTarget.form?.contains(event.relatedTarget)) return;
    typing.blurred();
  }

  return (
    <form className="composer" onSubmit={(e) => void submit(e)}>
      {replyingTo && (
        <div className="replying" data-testid="replying-to">
          <Icon name="reply" />
          <div className="replying-text">
            <span>
              Replying to <b>{replyingTo.sender.username}</b>
            </span>
            <span className="replying-snippet">{snippet(replyingTo.body, 120)}</span>
          </div>
          <button type="button" className="icon-button" data-testid="cancel-reply" aria-label="Cancel reply" title="Cancel reply" onClick={onCancelReply}>
            <Icon name="close" />
          </button>
        </div>
      )}
      <div className="composer-row">
        <textarea
          ref={input}
          data-testid="message-input"
          aria-label="Message"
          placeholder={replyingTo ? `Reply to ${replyingTo.sender.username}…` : "Write a message…"}
          rows={1}
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            typing.changed(e.target.value);
          }}
          onBlur={left}
          onKeyDown={keys}
        />
        <button type="submit" className="send" disabled={busy} title="Send (Enter)">
          <Icon name="send" />
          <span>Send</span>
        </button>
      </div>
    </form>
  );
}
