//! Test harness: an in-process server on 127.0.0.1:0 with a temporary data directory, a raw
//! JSON WebSocket client and a tiny HTTP/1.1 client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use roomcast_server::auth::{mint, Claims};
use roomcast_server::validate::now_s;
use roomcast_server::Config;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const SECRET: &str = "test-secret-0123456789";

/// The frames of type `kind` among `frames`.
pub fn of_type<'a>(frames: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    frames.iter().filter(move |f| f["type"] == kind)
}

/// The stored message seqs among `frames`, in arrival order.
pub fn seqs(frames: &[Value]) -> Vec<u64> {
    of_type(frames, "message")
        .filter_map(|m| m["seq"].as_u64())
        .collect()
}
/// How long any single expected frame may take.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct Server {
    pub addr: SocketAddr,
    /// The internal listener (`/metrics`, `/livez`, `/readyz`, `/admin`), when the config asked
    /// for one (`internal_listen`, any port).
    pub internal: Option<SocketAddr>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), roomcast_server::ServerError>>>,
}

impl Server {
    /// A server with the test secret and defaults changed by `tweak`.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, tweak).await;
        s._tmp = Some(tmp);
        s
    }

    /// A server on an existing data directory (kept by the caller).
    pub async fn start_in(dir: &Path, tweak: impl FnOnce(&mut Config)) -> Server {
        // RUST_LOG=roomcast_server=debug shows the server's log in failing tests.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let mut config = Config::new(dir).with_secret(SECRET);
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let internal_listener = match config.internal_listen {
            Some(at) => Some(
                tokio::net::TcpListener::bind(at)
                    .await
                    .expect("bind internal"),
            ),
            None => None,
        };
        let internal = internal_listener
            .as_ref()
            .map(|l| l.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(roomcast_server::serve_full(
            config,
            listener,
            internal_listener,
            async move {
                let _ = stopped.await;
            },
            || {},
        ));
        Server {
            addr,
            internal,
            dir: dir.to_path_buf(),
            _tmp: None,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Graceful shutdown; returns the temporary directory so a restart can reuse it.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let result = tokio::time::timeout(Duration::from_secs(20), handle)
                .await
                .expect("server stops in time")
                .expect("server task");
            result.expect("serve returns Ok");
        }
        self._tmp.take()
    }

    pub fn token(&self, user: &str) -> String {
        token(user, Some(3600), None)
    }

    pub async fn client(&self, user: &str) -> Client {
        Client::hello(self.addr, user, &self.token(user)).await
    }

    /// alice and bob, both joined to `room` with join ref `r`; alice has read bob's presence,
    /// so the next frame either gets is what the test does next.
    pub async fn joined_pair(&self, r: u64, room: &str) -> (Client, Client) {
        let mut a = self.client("alice").await;
        let mut b = self.client("bob").await;
        a.join(r, room).await;
        b.join(r, room).await;
        a.expect("presence").await;
        (a, b)
    }

    pub async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        http(self.addr, method, path, token, body).await
    }
}

/// A token for `user` expiring in `ttl` seconds (negative: already expired; None: no exp).
pub fn token(user: &str, ttl: Option<i64>, rooms: Option<&[&str]>) -> String {
    token_with(SECRET, user, ttl, rooms)
}

/// An operator token (`"stats": true`) for `user`, valid for an hour.
pub fn operator_token(user: &str) -> String {
    let claims = Claims {
        sub: user.to_string(),
        exp: Some(now_s() + 3600),
        rooms: None,
    };
    roomcast_server::auth::mint_operator(SECRET, &claims).expect("mint")
}

pub fn token_with(secret: &str, user: &str, ttl: Option<i64>, rooms: Option<&[&str]>) -> String {
    let now = i64::try_from(now_s()).expect("now");
    let claims = Claims {
        sub: user.to_string(),
        exp: ttl.map(|t| u64::try_from(now + t).expect("exp")),
        rooms: rooms.map(|r| r.iter().map(|s| s.to_string()).collect()),
    };
    mint(secret, &claims).expect("mint")
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a read produced.
#[derive(Debug)]
pub enum Got {
    Frame(Value),
    Closed(Option<u16>),
    Error(String),
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .expect("websocket connect");
        Client { ws }
    }

    /// Connects, says hello as `user` (client id `c-<user>`, source `test`), expects welcome.
    pub async fn hello(addr: SocketAddr, user: &str, token: &str) -> Client {
        let mut c = Client::connect(addr).await;
        c.send(json!({"type":"hello","ref":1,"protocol":1,"token":token,
            "client":{"id":format!("c-{user}"),"source":"test","name":format!("{user}'s box")}}))
            .await;
        let welcome = c.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["user"], user);
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Sends `text`; false when the server already cut the socket (a reset mid-write).
    pub async fn try_send_text(&mut self, text: &str) -> bool {
        self.ws.send(Message::Text(text.into())).await.is_ok()
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .expect("send");
    }

    /// The next text frame or the end of the connection.
    pub async fn next(&mut self) -> Got {
        self.next_within(WAIT).await
    }

    pub async fn next_within(&mut self, wait: Duration) -> Got {
        loop {
            let item = match tokio::time::timeout(wait, self.ws.next()).await {
                Ok(item) => item,
                Err(_) => panic!("nothing received within {wait:?}"),
            };
            match item {
                None => return Got::Closed(None),
                Some(Err(e)) => return Got::Error(e.to_string()),
                Some(Ok(Message::Text(t))) => {
                    return Got::Frame(serde_json::from_str(t.as_str()).expect("server sends JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    // Keep polling so the close reply goes out, as a real client does.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(Ok(_)) = self.ws.next().await {}
                    })
                    .await;
                    return Got::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next text frame exactly as the server wrote it (panics on anything else).
    pub async fn recv_text(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => t.as_str().to_owned(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next text frame (panics on close).
    pub async fn recv(&mut self) -> Value {
        match self.next().await {
            Got::Frame(v) => v,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must have `type`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], kind, "expected {kind}, got {v}");
        v
    }

    /// Reads until the connection closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Got::Frame(_) => continue,
                Got::Closed(code) => return code,
                Got::Error(e) => panic!("expected a close frame, got error {e}"),
            }
        }
    }

    /// Ping/pong round trip: proves the connection is alive and that nothing else was queued
    /// before the pong.
    pub async fn roundtrip(&mut self, r: u64) {
        self.send(json!({"type":"ping","ref":r})).await;
        let pong = self.recv().await;
        assert_eq!(pong, json!({"type":"pong","ref":r}));
    }

    pub async fn join(&mut self, r: u64, room: &str) -> Value {
        self.send(json!({"type":"join","ref":r,"room":room})).await;
        let joined = self.expect("joined").await;
        assert_eq!(joined["ref"], r);
        joined
    }

    pub async fn publish(&mut self, r: u64, room: &str, id: &str, data: Value) -> Value {
        self.send(json!({"type":"publish","ref":r,"room":room,"id":id,"event":"chat.message","data":data}))
            .await;
        let ack = self.expect("ack").await;
        assert_eq!(ack["ref"], r);
        ack
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and JSON body (Null if none).
/// A POST always carries a (possibly empty) JSON body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let body = body.or((method == "POST").then_some(""));
    let (status, text) = http_text(addr, method, path, token, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// One HTTP/1.1 request (`Connection: close`); the status (0 if none could be read) and the
/// body as text. Content headers are sent only with a body.
pub async fn http_text(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = bearer {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(body) = body {
        req.push_str("Content-Type: application/json\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("http answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}
