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
      <div className="chat-signin">
        <div className="card">
          <h1>chat</h1>
          <p>Sign in, or pick a username and password to sign up.</p>
          <SignInForm onSignedIn={setSession} />
          <a href="/">GraphiQL →</a>
        </div>
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
