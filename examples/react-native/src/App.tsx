/** The example app: one chat screen on the room and server in config.ts, under the provider
 * that owns the client (made when the app mounts, closed when it unmounts). */
import React, { useCallback } from "react";
import { Platform } from "react-native";
import { Client } from "roomcast-react-native";
import { RoomcastProvider } from "roomcast-react-native/react";
import { ChatScreen } from "./ChatScreen";
import { config } from "./config";
import { useChat } from "./useChat";

export default function App() {
  const makeClient = useCallback(
    () =>
      new Client({
        url: config.url,
        token: config.token,
        name: config.name,
        source: Platform.OS, // "ios" or "android": the badge others see
      }),
    [],
  );
  return (
    <RoomcastProvider client={makeClient}>
      <Chat />
    </RoomcastProvider>
  );
}

function Chat() {
  const chat = useChat(config);
  return <ChatScreen chat={chat} />;
}
