// The Socket.IO 4 server that roomcast-bench compares Roomcast against: rooms, broadcast to the
// other members of a room, and an ack to the publisher, nothing more (no persistence, no seq,
// no auth), which is the usual shape of a Socket.IO chat server.
//
// Started by roomcast-bench as `node server.js --port 0`; prints
// `socket.io listening on http://127.0.0.1:PORT` once bound. Loopback only.
//
// `--recovery` (or SOCKETIO_RECOVERY=1) turns on Socket.IO's own answer to reconnects,
// `connectionStateRecovery`: the server keeps each room broadcast for two minutes and a client
// that reconnects with its session id and last offset gets what it missed and its rooms back.
// The churn benchmark runs this server with and without it.
"use strict";

const { createServer } = require("node:http");
const { Server } = require("socket.io");

function portArg() {
  const i = process.argv.indexOf("--port");
  const port = i >= 0 ? Number(process.argv[i + 1]) : 0;
  return Number.isInteger(port) && port >= 0 && port < 65536 ? port : 0;
}

const recovery =
  process.argv.includes("--recovery") || process.env.SOCKETIO_RECOVERY === "1";

const httpServer = createServer();
const io = new Server(httpServer, {
  // The generator speaks the WebSocket transport directly, as Socket.IO clients do once
  // upgraded; no long-polling, no client bundle.
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  // Same frame limit as roomcast-server's default.
  maxHttpBufferSize: 65536,
  // Socket.IO's documented defaults; the churn clients are offline for about 2 s.
  ...(recovery
    ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true } }
    : {}),
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    if (typeof room !== "string" || room.length === 0 || room.length > 128) {
      if (typeof ack === "function") ack({ error: "bad_request" });
      return;
    }
    socket.join(room);
    if (typeof ack === "function") ack({ room });
  });

  socket.on("publish", (msg, ack) => {
    if (!msg || typeof msg.room !== "string" || !socket.rooms.has(msg.room)) {
      if (typeof ack === "function") ack({ error: "not_joined" });
      return;
    }
    const ts = Date.now();
    // Same shape as a Roomcast `message` event, less `seq` (Socket.IO has no order or store).
    socket.to(msg.room).emit("message", {
      room: msg.room,
      id: msg.id,
      event: msg.event,
      data: msg.data,
      from: { user: socket.id },
      ts,
    });
    if (typeof ack === "function") ack({ id: msg.id, ts });
  });
});

httpServer.listen(portArg(), "127.0.0.1", () => {
  const { port } = httpServer.address();
  if (recovery) console.log("socket.io: connectionStateRecovery on");
  console.log(`socket.io listening on http://127.0.0.1:${port}`);
});

process.on("SIGTERM", () => process.exit(0));
