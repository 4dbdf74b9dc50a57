// GET /chat: sign in, then the chat page.
import { StrictMode, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import "../page.css";
import "./chat.css";
import { SignInForm } from "../SignInForm";
import { auth } from "../session";
import { ChatApp } from "./ChatApp";

function ChatPage() {
  // A new snapshot after every refresh too; ChatApp only cares who it is.
  const session = useSyncExternalStore(auth.subscribe, auth.current);
  if (!session) {
    return (
      <div className="chat-signin">
        <div className="card">
          <h1>chat</h1>
          <p>Sign in, or pick a username and password to sign up.</p>
          <SignInForm />
          <a href="/">GraphiQL →</a>
        </div>
      </div>
    );
  }
  return <ChatApp key={session.userId} userId={session.userId} username={session.username} />;
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ChatPage />
  </StrictMode>,
);
