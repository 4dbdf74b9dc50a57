// A message's reactions as chips (emoji and count, highlighted when the
// viewer is among those who reacted; a click adds or takes back the
// viewer's own), and the small picker of common emoji to add one.
import { useEffect, useRef } from "react";
import type { Message } from "./messages";

/** The emoji the picker offers. */
export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢"];

type Group = Message["reactions"][number];

/** "ada, bob and 3 others reacted with 👍" */
function who(group: Group): string {
  const names = group.users.map((u) => u.username);
  const others = group.count - names.length;
  const list = others > 0 ? `${names.join(", ")} and ${others} other${others === 1 ? "" : "s"}` : names.join(", ");
  return `${list} reacted with ${group.emoji}`;
}

type ChipsProps = {
  messageId: string;
  reactions: Group[];
  /** Whether the viewer may react (not on a deleted message). */
  enabled: boolean;
  onToggle: (emoji: string, add: boolean) => void;
  onOpenPicker: () => void;
};

export function ReactionChips({ messageId, reactions, enabled, onToggle, onOpenPicker }: ChipsProps) {
  if (reactions.length === 0) return null;
  return (
    <div className="reactions" data-testid="reactions">
      {reactions.map((group) => (
        <button
          type="button"
          key={group.emoji}
          className={group.reactedByMe ? "chip mine" : "chip"}
          data-testid="reaction"
          data-emoji={group.emoji}
          data-mine={group.reactedByMe}
          aria-pressed={group.reactedByMe}
          title={who(group)}
          disabled={!enabled}
          onClick={() => onToggle(group.emoji, !group.reactedByMe)}
        >
          <span className="emoji">{group.emoji}</span>
          <span className="count" data-testid="reaction-count">
            {group.count}
          </span>
        </button>
      ))}
      {enabled && (
        <button
          type="button"
          className="chip add"
          title="Add a reaction"
          aria-label="Add a reaction"
          data-picker-toggle={messageId}
          onClick={onOpenPicker}
        >
          +
        </button>
      )}
    </div>
  );
}

type PickerProps = {
  messageId: string;
  reactions: Group[];
  onPick: (emoji: string, add: boolean) => void;
  onClose: () => void;
};

/**
 * The row of common emoji; picking one the viewer already used takes it
 * back. A press anywhere else closes it (but this message's own toggle
 * buttons, which open and close it themselves).
 */
export function EmojiPicker({ messageId, reactions, onPick, onClose }: PickerProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const outside = (event: MouseEvent) => {
      const target = event.target as Element;
      if (box.current?.contains(target)) return;
      if (target.closest?.("[data-picker-toggle]")?.getAttribute("data-picker-toggle") === messageId) return;
      onClose();
    };
    const escape = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose();
    };
    document.addEventListener("mousedown", outside);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("mousedown", outside);
      document.removeEventListener("keydown", escape);
    };
  }, [messageId, onClose]);

  const mine = new Set(reactions.filter((g) => g.reactedByMe).map((g) => g.emoji));
  return (
    <div className="emoji-picker" role="menu" data-testid="emoji-picker" ref={box}>
      {COMMON_EMOJI.map((emoji) => (
        <button
          type="button"
          role="menuitem"
          key={emoji}
          className={mine.has(emoji) ? "mine" : ""}
          data-testid="emoji-option"
          data-emoji={emoji}
          aria-label={`React with ${emoji}`}
          onClick={() => {
            onPick(emoji, !mine.has(emoji));
            onClose();
          }}
        >
          {emoji}
        </button>
      ))}
    </div>
  );
}
