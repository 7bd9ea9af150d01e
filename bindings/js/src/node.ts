/** Entry for Node (20+, with a global `WebSocket`: Node 22+, or `--experimental-websocket`). */
import { readFileSync } from "node:fs";
import { initSync } from "../wasm/roomcast_wasm.js";

initSync({ module: readFileSync(new URL("../wasm/roomcast_wasm_bg.wasm", import.meta.url)) });

export * from "./api.js";
