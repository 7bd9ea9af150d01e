//! The socketioxide server of roomcast-bench: the same shape as `bench/socketio/server.js`
//! (rooms, broadcast to the other members of a room, an ack to the publisher; no store, no
//! order, no auth), so the comparison is not only Rust against Node.js.
//!
//! Started by roomcast-bench as `roomcast-bench-socketioxide --port 0`; prints
//! `socketioxide listening on http://127.0.0.1:PORT` once bound. Loopback only.
//! socketioxide 0.18 has no connection state recovery, so there is no recovery switch.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::{SocketIo, TransportType};

/// Per-connection packet buffer. socketioxide's default (128) drops emits once a slow
/// receiver has 128 packets queued; roomcast-bench runs Roomcast with a 65536-frame outbound
/// queue and Socket.IO with Node's unbounded one, so this one is as deep.
const BUFFER: usize = 65536;
/// The same frame limit as roomcast-server's default and server.js's `maxHttpBufferSize`.
const MAX_PAYLOAD: u64 = 65536;

/// A publish as the generator sends it: `42<id>["publish",{room,id,event,data}]`.
#[derive(Deserialize)]
struct Publish {
    room: String,
    id: Value,
    event: Value,
    data: Value,
}

/// The broadcast, the same shape as server.js's (and a Roomcast `message` less `seq`).
#[derive(Serialize)]
struct Message<'a> {
    room: &'a str,
    id: &'a Value,
    event: &'a Value,
    data: &'a Value,
    from: From,
    ts: u64,
}

#[derive(Serialize)]
struct From {
    user: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn port_arg() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// Handlers are async closures: socketioxide 0.18 takes only async handlers.
async fn on_connect(socket: SocketRef) {
    socket.on(
        "join",
        async |socket: SocketRef, Data::<Value>(room), ack: AckSender| {
            let reply = match room.as_str() {
                Some(r) if !r.is_empty() && r.len() <= 128 => {
                    socket.join(r.to_owned());
                    serde_json::json!({ "room": r })
                }
                _ => serde_json::json!({ "error": "bad_request" }),
            };
            let _ = ack.send(&reply);
        },
    );
    socket.on(
        "publish",
        async |socket: SocketRef, Data::<Publish>(msg), ack: AckSender| {
            let joined = socket.rooms().iter().any(|r| r.as_ref() == msg.room);
            if !joined {
                let _ = ack.send(&serde_json::json!({ "error": "not_joined" }));
                return;
            }
            let ts = now_ms();
            let out = Message {
                room: &msg.room,
                id: &msg.id,
                event: &msg.event,
                data: &msg.data,
                from: From {
                    user: socket.id.to_string(),
                },
                ts,
            };
            // `to` excludes the sender, as `socket.to(room)` does in server.js.
            let _ = socket.to(msg.room.clone()).emit("message", &out).await;
            let _ = ack.send(&serde_json::json!({ "id": msg.id, "ts": ts }));
        },
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (layer, io) = SocketIo::builder()
        .transports([TransportType::Websocket])
        .max_buffer_size(BUFFER)
        .max_payload(MAX_PAYLOAD)
        .build_layer();
    io.ns("/", on_connect);
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port_arg())).await?;
    let addr = listener.local_addr()?;
    println!("socketioxide listening on http://{addr}");
    axum::serve(listener, app).await
}
