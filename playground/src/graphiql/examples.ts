// The operations GraphiQL opens with, one tab each. They are .graphql files
// so that codegen validates them against schema.graphql like every other
// operation of the playground.
import type { ComponentProps } from "react";
import type { GraphiQL } from "graphiql";
import signIn from "./examples/signIn.graphql?raw";
import refreshSession from "./examples/refreshSession.graphql?raw";
import createChat from "./examples/createChat.graphql?raw";
import sendMessage from "./examples/sendMessage.graphql?raw";
import editMessage from "./examples/editMessage.graphql?raw";
import addReaction from "./examples/addReaction.graphql?raw";
import readState from "./examples/readState.graphql?raw";
import chatEvents from "./examples/chatEvents.graphql?raw";

type TabDefinition = NonNullable<ComponentProps<typeof GraphiQL>["defaultTabs"]>[number];

const vars = (value: object) => JSON.stringify(value, null, 2);

export const exampleTabs: TabDefinition[] = [
  { query: "# Sign in with the panel above, then run this.\n{\n  me { id username }\n}\n" },
  { query: signIn, variables: vars({ username: "ada", password: "correct horse" }) },
  { query: refreshSession, variables: vars({ refreshToken: "<refreshToken from signIn>" }) },
  { query: createChat, variables: vars({ title: "general" }) },
  { query: sendMessage, variables: vars({ chatId: "<id from createChat>", body: "hello", replyToId: null }) },
  { query: editMessage, variables: vars({ messageId: "<id from sendMessage>", body: "hello, edited" }) },
  { query: addReaction, variables: vars({ messageId: "<id from sendMessage>", emoji: "👍" }) },
  { query: readState, variables: vars({ chatId: "<id from createChat>", cursor: "<a message's cursor>" }) },
  { query: chatEvents, variables: vars({ after: null }) },
];
