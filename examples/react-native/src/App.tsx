/** The example app: one chat screen on the room and server in config.ts. */
import React from "react";
import { ChatScreen } from "./ChatScreen";
import { config } from "./config";
import { useChat } from "./useChat";

export default function App() {
  const chat = useChat(config);
  return <ChatScreen chat={chat} />;
}
