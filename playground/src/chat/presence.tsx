// Online dots: one `presence` subscription per open chat, for its members,
// started again when they change.
import { useEffect, useMemo, useState } from "react";
import { PresenceDocument } from "../generated/graphql";
import type { LiveSubscribe } from "./liveEvents";
import { fullTime, shortTime } from "./ui";

/** The server takes 1-500 ids per subscription. */
const MAX_IDS = 500;

export type Presence = { online: boolean; lastSeenAt: string | null };

/**
 * The presence of each of `userIds` (the first 500) by id; a user not in
 * it yet is unknown. After RATE_LIMITED it asks again when the server says
 * it may.
 */
export function usePresence(live: LiveSubscribe, userIds: string[]): Map<string, Presence> {
  const [known, setKnown] = useState<Map<string, Presence>>(() => new Map());
  const [attempt, setAttempt] = useState(0);
  // The same members in another order are the same subscription.
  const key = useMemo(() => [...new Set(userIds.slice(0, MAX_IDS))].sort().join(","), [userIds]);

  useEffect(() => {
    if (key === "") return;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const stop = live(
      PresenceDocument,
      { userIds: key.split(",") },
      {
        next: ({ presence }) =>
          setKnown((map) =>
            new Map(map).set(presence.user.id, { online: presence.online, lastSeenAt: presence.lastSeenAt ?? null }),
          ),
        error: (errors) => {
          const limited = errors.find((e) => e.extensions?.code === "RATE_LIMITED");
          if (!limited) return;
          const wait = Number(limited.extensions?.retryAfterMs);
          const delay = Math.min(Math.max(Number.isFinite(wait) ? wait : 0, 1_000), 60_000);
          retry = setTimeout(() => setAttempt((n) => n + 1), delay);
        },
      },
    );
    return () => {
      clearTimeout(retry);
      stop();
    };
  }, [live, key, attempt]);

  return known;
}

/** A green (online) or grey dot, titled "online", "last seen …" or "offline". */
export function PresenceDot({ presence }: { presence: Presence | undefined }) {
  const state = presence === undefined ? "unknown" : presence.online ? "online" : "offline";
  const label =
    presence === undefined
      ? "presence unknown"
      : presence.online
        ? "online"
        : presence.lastSeenAt
          ? `last seen ${shortTime(presence.lastSeenAt)}`
          : "offline";
  return (
    <span
      className={`presence-dot ${state}`}
      data-testid="presence-dot"
      data-state={state}
      role="img"
      aria-label={label}
      title={presence?.lastSeenAt && !presence.online ? `last seen ${fullTime(presence.lastSeenAt)}` : label}
    />
  );
}
