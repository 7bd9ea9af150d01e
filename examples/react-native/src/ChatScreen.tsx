/**
 * The chat screen: connection badge (with "Retry now" while waiting to reconnect), who is in
 * the room with their source badge, the conversation (our own messages marked until the
 * server acknowledges them), a typing line and the composer. Roomcast itself is in useChat.
 */
import React, { useState } from "react";
import { FlatList, Pressable, StyleSheet, Text, TextInput, View } from "react-native";
import type { Chat, Line } from "./useChat";

export function ChatScreen({ chat }: { chat: Chat }) {
  const [draft, setDraft] = useState("");
  return (
    <View style={styles.screen}>
      <View style={styles.header}>
        <Text style={styles.status}>{chat.status}</Text>
        {chat.status.startsWith("Reconnecting") && (
          <Pressable onPress={chat.retryNow}>
            <Text style={styles.link}>Retry now</Text>
          </Pressable>
        )}
      </View>
      <Text style={styles.members}>
        {chat.members.map((m) => `${m.name ?? m.user} (${m.source})`).join(", ") || "nobody here yet"}
      </Text>
      <FlatList
        style={styles.list}
        data={chat.lines}
        keyExtractor={(l) => l.key}
        renderItem={({ item }: { item: Line }) => <Message line={item} />}
      />
      {chat.typing.length > 0 && <Text style={styles.typing}>{chat.typing.join(", ")} typing…</Text>}
      <View style={styles.composer}>
        <TextInput
          style={styles.input}
          value={draft}
          placeholder="Message"
          onChangeText={(text) => {
            setDraft(text);
            chat.typed();
          }}
          onSubmitEditing={() => {
            chat.send(draft);
            setDraft("");
          }}
        />
        <Pressable
          onPress={() => {
            chat.send(draft);
            setDraft("");
          }}
        >
          <Text style={styles.link}>Send</Text>
        </Pressable>
      </View>
    </View>
  );
}

function Message({ line }: { line: Line }) {
  return (
    <View style={styles.message}>
      <Text style={styles.badge}>{line.source}</Text>
      <Text style={styles.text}>
        <Text style={styles.from}>{line.from}: </Text>
        {line.content}
        {line.pending ? " 🕓" : ""}
      </Text>
    </View>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1, padding: 12, paddingTop: 48 },
  header: { flexDirection: "row", justifyContent: "space-between" },
  status: { fontWeight: "600" },
  link: { color: "#0a62d0", fontWeight: "600" },
  members: { color: "#666", marginVertical: 6 },
  list: { flex: 1 },
  message: { flexDirection: "row", alignItems: "center", marginVertical: 3 },
  badge: { fontSize: 11, color: "#fff", backgroundColor: "#555", borderRadius: 4, paddingHorizontal: 4, marginRight: 6 },
  text: { flexShrink: 1 },
  from: { fontWeight: "600" },
  typing: { color: "#666", fontStyle: "italic", marginVertical: 4 },
  composer: { flexDirection: "row", alignItems: "center", gap: 8 },
  input: { flex: 1, borderWidth: 1, borderColor: "#ccc", borderRadius: 6, padding: 8 },
});
