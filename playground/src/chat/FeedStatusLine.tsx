// The live feed's state: live, resumed (and how much it caught up), or
// reconnecting. The button cuts the socket to show the resume at work.
import type { FeedStatus } from "./liveEvents";

export function FeedStatusLine({ status, onDrop }: { status: FeedStatus; onDrop: () => void }) {
  let text: string;
  switch (status.state) {
    case "connecting":
      text = "connecting…";
      break;
    case "reconnecting":
      text = `offline (${status.reason}); reconnecting…`;
      break;
    case "live":
      text = status.resumedFrom
        ? `live; resumed after the last event seen, ${status.caughtUp} missed event(s) caught up`
        : "live";
      break;
  }
  return (
    <span className="feed-status" data-testid="feed-status" data-state={status.state}>
      <span className="dot" aria-hidden="true" />
      <span className="feed-text">{text}</span>{" "}
      <button type="button" onClick={onDrop} title="Close the WebSocket; the feed resumes from its last cursor">
        Drop connection
      </button>
    </span>
  );
}
