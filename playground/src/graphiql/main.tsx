// GET /: GraphiQL with the sign-in panel above it.
import { StrictMode, useEffect, useMemo, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import "../page.css";
import { AuthPanel } from "./AuthPanel";
import { connect } from "./fetcher";
import { exampleTabs } from "./examples";
import { auth } from "../session";

function Playground() {
  const session = useSyncExternalStore(auth.subscribe, auth.current);
  // A refreshed token keeps the socket (each connection asks for the
  // current token); another user, or none, gets a new one.
  const userId = session?.userId ?? null;
  const connection = useMemo(connect, [userId]);
  useEffect(() => () => void connection.socket.dispose(), [connection]);

  return (
    <div className="playground">
      <AuthPanel session={session} />
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
