/**
 * Where to connect and as whom. Edit before running: a token from
 * `cargo run -q -p roomcast-server -- token --user ben` (dev mode), and the server's address
 * as the device sees it (the iOS simulator reaches the Mac as 127.0.0.1, the Android
 * emulator as 10.0.2.2, a device by the machine's LAN address).
 */
import { Platform } from "react-native";

export const config = {
  url: Platform.OS === "android" ? "ws://10.0.2.2:4000/ws" : "ws://127.0.0.1:4000/ws",
  token: "PASTE A TOKEN HERE",
  room: "conv-demo",
  name: "Ben",
};
