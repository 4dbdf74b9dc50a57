// GET /: GraphiQL with the sign-in panel above it.
import { StrictMode, useEffect, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import "../page.css";
import { AuthPanel } from "./AuthPanel";
import { connect } from "./fetcher";
import { exampleTabs } from "./examples";
import { loadSession, saveSession, type Session } from "../session";

function Playground() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const connection = useMemo(() => connect(session?.token ?? null), [session]);
  // A new token means a new socket: close the old one's subscriptions.
  useEffect(() => () => void connection.socket.dispose(), [connection]);

  function changeSession(next: Session | null) {
    saveSession(next);
    setSession(next);
  }

  return (
    <div className="playground">
      <AuthPanel session={session} onChange={changeSession} />
      <div className="graphiql-host">
        <GraphiQL fetcher={connection.fetcher} defaultTabs={exampleTabs} />
      </div>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Playground />
  </StrictMode>,
);
