// GET /chat: sign in, then the chat page.
import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import "../page.css";
import "./chat.css";
import { SignInForm } from "../SignInForm";
import { loadSession, saveSession, type Session } from "../session";
import { ChatApp } from "./ChatApp";

function ChatPage() {
  const [session, setSession] = useState<Session | null>(loadSession);
  if (!session) {
    return (
      <div className="auth-panel">
        <strong>chat</strong>
        <SignInForm onSignedIn={setSession} />
        <a href="/">GraphiQL →</a>
      </div>
    );
  }
  return (
    <ChatApp
      session={session}
      onSignOut={() => {
        saveSession(null);
        setSession(null);
      }}
    />
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ChatPage />
  </StrictMode>,
);
