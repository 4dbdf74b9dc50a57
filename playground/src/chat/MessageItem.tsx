// One message of the open chat: the sender and time, an "edited" mark, the
// quote of the message it replies to, the body (or the inline editor, or
// the tombstone of a deleted message), its reactions, the actions on hover,
// and, under the viewer's last message, who has seen it.
import { useCallback, useState, type FormEvent, type KeyboardEvent } from "react";
import { snippet, type Message } from "./messages";
import { EmojiPicker, ReactionChips } from "./Reactions";
import { Avatar, clockTime, fullTime, Icon } from "./ui";

/** What can be done to a message; each resolves to whether it worked. */
export type MessageActions = {
  reply: (message: Message) => void;
  edit: (messageId: string, body: string) => Promise<boolean>;
  remove: (messageId: string) => Promise<boolean>;
  react: (messageId: string, emoji: string, add: boolean) => Promise<boolean>;
  /** Scrolls to a loaded message and flashes it (from a reply's quote). */
  show: (messageId: string) => void;
};

type Props = {
  message: Message;
  mine: boolean;
  /** The previous message is by the same sender, shortly before: no avatar. */
  continued: boolean;
  editing: boolean;
  onEditing: (editing: boolean) => void;
  /** Names for "Seen by …" under this message, when it is the viewer's last. */
  seenBy: string[] | null;
  actions: MessageActions;
};

export function MessageItem({ message: m, mine, continued, editing, onEditing, seenBy, actions }: Props) {
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const closePicker = useCallback(() => setPicking(false), []);
  const deleted = m.deletedAt !== null;
  const classes = ["message", mine ? "mine" : "theirs", deleted ? "deleted" : "", continued ? "continued" : ""];

  return (
    <li
      className={classes.filter(Boolean).join(" ")}
      data-testid="message"
      data-id={m.id}
      data-deleted={deleted}
    >
      {!mine && (continued ? <span className="avatar-gap" /> : <Avatar name={m.sender.username} />)}
      <div className="stack">
        <div className="bubble">
          <div className="meta">
            <b className="sender" data-testid="sender">
              {mine ? "You" : m.sender.username}
            </b>
            <time dateTime={m.createdAt} title={fullTime(m.createdAt)}>
              {clockTime(m.createdAt)}
            </time>
            {m.editedAt && !deleted && (
              <span className="edited" data-testid="edited" title={`edited ${fullTime(m.editedAt)}`}>
                edited
              </span>
            )}
          </div>
          {m.replyTo && (
            <button
              type="button"
              className={m.replyTo.deletedAt ? "quote deleted" : "quote"}
              data-testid="reply-quote"
              title="Show the message this replies to"
              onClick={() => actions.show(m.replyTo!.id)}
            >
              <b className="quote-sender">{m.replyTo.sender.username}</b>
              <span className="quote-text">{m.replyTo.deletedAt ? "message deleted" : snippet(m.replyTo.body)}</span>
            </button>
          )}
          {editing ? (
            <EditForm
              body={m.body}
              onSave={async (body) => {
                if (body === m.body || (await actions.edit(m.id, body))) onEditing(false);
              }}
              onCancel={() => onEditing(false)}
            />
          ) : deleted ? (
            <p className="body tombstone">message deleted</p>
          ) : (
            <p className="body">{m.body}</p>
          )}
          {confirming && (
            <div className="confirm" role="alertdialog" aria-label="Delete this message?">
              <span>Delete this message?</span>
              <button
                type="button"
                className="danger"
                data-testid="confirm-delete"
                onClick={() => void actions.remove(m.id).then(() => setConfirming(false))}
              >
                Delete
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </div>
          )}
        </div>
        <ReactionChips
          messageId={m.id}
          reactions={m.reactions}
          enabled={!deleted}
          onToggle={(emoji, add) => void actions.react(m.id, emoji, add)}
          onOpenPicker={() => setPicking((open) => !open)}
        />
        {picking && (
          <EmojiPicker
            messageId={m.id}
            reactions={m.reactions}
            onPick={(emoji, add) => void actions.react(m.id, emoji, add)}
            onClose={closePicker}
          />
        )}
        {seenBy && seenBy.length > 0 && (
          <div className="seen-by" data-testid="seen-by">
            Seen by {seenBy.join(", ")}
          </div>
        )}
      </div>
      {!deleted && !editing && !confirming && (
        <div className="actions" role="toolbar" aria-label="Message actions">
          <button type="button" data-testid="reply-action" title="Reply" aria-label="Reply" onClick={() => actions.reply(m)}>
            <Icon name="reply" />
          </button>
          <button
            type="button"
            data-testid="react-action"
            data-picker-toggle={m.id}
            title="React"
            aria-label="React"
            onClick={() => setPicking((open) => !open)}
          >
            <Icon name="react" />
          </button>
          {mine && (
            <>
              <button type="button" data-testid="edit-action" title="Edit" aria-label="Edit" onClick={() => onEditing(true)}>
                <Icon name="edit" />
              </button>
              <button
                type="button"
                data-testid="delete-action"
                title="Delete"
                aria-label="Delete"
                onClick={() => setConfirming(true)}
              >
                <Icon name="delete" />
              </button>
            </>
          )}
        </div>
      )}
    </li>
  );
}

/** The body in a text box: Enter saves, Shift+Enter breaks the line, Escape cancels. */
function EditForm({ body, onSave, onCancel }: { body: string; onSave: (body: string) => Promise<void>; onCancel: () => void }) {
  const [value, setValue] = useState(body);
  const [busy, setBusy] = useState(false);

  async function save(event?: FormEvent) {
    event?.preventDefault();
    if (!value.trim() || busy) return;
    setBusy(true);
    try {
      await onSave(value);
    } finally {
      setBusy(false);
    }
  }

  function keys(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      void save();
    } else if (event.key === "Escape") {
      onCancel();
    }
  }

  return (
    <form className="edit-form" onSubmit={(e) => void save(e)}>
      <textarea
        data-testid="edit-input"
        aria-label="Edit message"
        value={value}
        rows={Math.min(6, value.split("\n").length)}
        autoFocus
        onFocus={(e) => e.currentTarget.setSelectionRange(value.length, value.length)}
        onChange={(e) => setValue(e.target.value)}
        onKeyDown={keys}
      />
      <div className="edit-buttons">
        <span className="hint-keys">Enter to save · Esc to cancel</span>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="edit-save" disabled={busy || !value.trim()}>
          Save
        </button>
      </div>
    </form>
  );
}
