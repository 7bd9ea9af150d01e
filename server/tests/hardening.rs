//! Hostile clients against a real server on loopback: deep payloads and raw bytes a library
//! client would refuse to send.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{http_text, token, Server, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// JSON arrays nested `n` deep around `1`.
fn nested(n: usize) -> String {
    format!("{}1{}", "[".repeat(n), "]".repeat(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_payloads_are_refused_at_publish() {
    let s = Server::start(|_| {}).await;
    let (mut a, mut b) = s.joined_pair(1, "deep").await;
    for (r, depth) in [(2u64, 65usize), (3, 129), (4, 5000)] {
        let frame = format!(
            r#"{{"type":"publish","ref":{r},"room":"deep","id":"d{r}","event":"e","data":{}}}"#,
            nested(depth)
        );
        a.send_text(&frame).await;
        let e = a.expect("error").await;
        assert_eq!(
            (e["ref"].clone(), e["code"].clone()),
            (json!(r), json!("bad_request")),
            "{e}"
        );
        // Ephemeral publishes are held to the same limit.
        let frame = frame.replace("\"event\":\"e\"", "\"event\":\"e\",\"ephemeral\":true");
        a.send_text(&frame).await;
        let e = a.expect("error").await;
        assert_eq!(e["code"], "bad_request", "{e}");
    }
    // 64 levels is the limit: accepted, delivered verbatim.
    let ok = nested(64);
    a.send_text(&format!(
        r#"{{"type":"publish","ref":5,"room":"deep","id":"d5","event":"e","data":{ok}}}"#
    ))
    .await;
    assert_eq!(a.expect("ack").await["seq"], 1);
    assert!(b.recv_text().await.contains(&ok));

    let tok = token("u1", Some(600), None);
    for depth in [65usize, 5000] {
        let body = format!(
            r#"{{"id":"h{depth}","event":"e","data":{}}}"#,
            nested(depth)
        );
        let (status, body) = http_text(
            s.addr,
            "POST",
            "/rooms/deep/messages",
            Some(&tok),
            Some(&body),
        )
        .await;
        let e: Value = serde_json::from_str(&body).expect("json error");
        assert_eq!(
            (status, e["code"].clone()),
            (400, json!("bad_request")),
            "{body}"
        );
    }
    let (status, _) = http_text(
        s.addr,
        "POST",
        "/rooms/deep/messages",
        Some(&tok),
        Some(&format!(r#"{{"id":"h64","event":"e","data":{ok}}}"#)),
    )
    .await;
    assert_eq!(status, 201);
    // Only the two accepted ones were stored.
    let (status, page) = http_text(s.addr, "GET", "/rooms/deep/messages", Some(&tok), None).await;
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&page).expect("page");
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["d5", "h64"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_payload_already_stored_is_served_as_stored() {
    // A store written before the limit existed (or by hand) holds a 300-deep payload.
    let s = Server::start(|_| {}).await;
    let mut a = s.client("alice").await;
    a.join(1, "old").await;
    a.publish(2, "old", "m1", json!({"fine": true})).await;
    let dir = s.stop().await.expect("temp dir");
    let deep = nested(300);
    {
        let db = rusqlite::Connection::open(dir.path().join("roomcast.db")).expect("open db");
        db.execute(
            "UPDATE messages SET data = ?1 WHERE room = 'old' AND id = 'm1'",
            [&deep],
        )
        .expect("update");
    }
    let s = Server::start_in(dir.path(), |_| {}).await;
    let tok = token("u1", Some(600), None);
    let (status, body) = http_text(s.addr, "GET", "/rooms/old/messages", Some(&tok), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&deep), "{body}");
    // Over WebSocket too, in history and in a replay.
    let mut a = s.client("alice").await;
    a.send(json!({"type":"history","ref":2,"room":"old"})).await;
    let page = a.recv_text().await;
    assert!(page.contains(&deep) && page.contains("\"ref\":2"), "{page}");
    a.send(json!({"type":"join","ref":3,"room":"old","since":0}))
        .await;
    assert!(a.recv_text().await.contains(&deep));
    a.expect("joined").await;
    s.stop().await;
    drop(dir);
}

/// A WebSocket opened by hand, for frames no library client would send.
async fn raw_ws(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut byte))
            .await
            .expect("upgrade answer in time")
            .expect("read");
        assert_eq!(n, 1, "closed during the upgrade");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// One WebSocket frame: `first` is the first byte (FIN, RSV bits, opcode).
fn ws_frame(first: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        let key = [0x12u8, 0x34, 0x56, 0x78];
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;
const PING: u8 = 0x9;

/// Reads server frames until a close frame (its code) or the end of the stream (`None`).
async fn close_code(stream: &mut TcpStream) -> Option<u16> {
    let read = async {
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await.ok()?;
            let len = match head[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    stream.read_exact(&mut l).await.ok()?;
                    usize::from(u16::from_be_bytes(l))
                }
                127 => {
                    let mut l = [0u8; 8];
                    stream.read_exact(&mut l).await.ok()?;
                    usize::try_from(u64::from_be_bytes(l)).ok()?
                }
                n => usize::from(n),
            };
            let mut payload = vec![0u8; len];
            stream.read_exact(&mut payload).await.ok()?;
            if head[0] & 0x0f == 0x8 {
                return payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("the server ends the connection in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_get_their_close_code() {
    let s = Server::start(|_| {}).await;
    let hello = serde_json::to_vec(&json!({"type":"hello","ref":1,"protocol":1,
        "token":s.token("alice"),"client":{"id":"c","source":"test"}}))
    .expect("hello");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "invalid UTF-8",
            ws_frame(FIN | TEXT, true, b"{\"type\":\xff\xfe}"),
            1007,
        ),
        (
            "invalid UTF-8 across fragments",
            [
                ws_frame(TEXT, true, b"{\"a\":\"\xe2\x82"),
                ws_frame(FIN | CONTINUATION, true, b"\xff\"}"),
            ]
            .concat(),
            1007,
        ),
        (
            "unmasked client frame",
            ws_frame(FIN | TEXT, false, b"{}"),
            1002,
        ),
        ("reserved opcode", ws_frame(FIN | 0x3, true, b"{}"), 1002),
        (
            "reserved control opcode",
            ws_frame(FIN | 0xb, true, b""),
            1002,
        ),
        (
            "RSV1 without an extension",
            ws_frame(FIN | RSV1 | TEXT, true, b"{}"),
            1002,
        ),
        (
            "continuation first",
            ws_frame(FIN | CONTINUATION, true, b"{}"),
            1002,
        ),
        ("fragmented ping", ws_frame(PING, true, b"x"), 1002),
        (
            "oversized ping",
            ws_frame(FIN | PING, true, &[b'x'; 200]),
            1002,
        ),
    ];
    for (name, bytes, code) in cases {
        for after_hello in [false, true] {
            let mut ws = raw_ws(s.addr).await;
            if after_hello {
                ws.write_all(&ws_frame(FIN | TEXT, true, &hello))
                    .await
                    .expect("hello");
            }
            ws.write_all(&bytes).await.expect("write");
            assert_eq!(
                close_code(&mut ws).await,
                Some(code),
                "{name} (after hello: {after_hello})"
            );
        }
    }
    // The server is fine, and a well-behaved client is served.
    let mut c = s.client("bob").await;
    c.roundtrip(2).await;
    s.stop().await;
}

/// Reads until the server closes the connection (`Ok` with what it sent) or `within` passes.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Result<String, String> {
    let mut seen = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    match tokio::time::timeout(within, read).await {
        Ok(()) => Ok(String::from_utf8_lossy(&seen).into_owned()),
        Err(_) => Err(format!(
            "still open after {within:?}, got {:?}",
            String::from_utf8_lossy(&seen)
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_and_idle_sockets_are_capped_and_timed_out() {
    let s = Server::start(|c| {
        c.max_sockets_per_ip = 20;
        c.request_timeout_ms = 2000;
    })
    .await;
    // Fill this address's sockets with requests whose head never ends.
    let started = Instant::now();
    let mut half_open = Vec::new();
    for _ in 0..20 {
        let mut t = TcpStream::connect(s.addr).await.expect("connect");
        t.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        half_open.push(t);
    }
    // One more from the same address is closed at once, long before any timeout.
    for _ in 0..5 {
        let mut t = TcpStream::connect(s.addr).await.expect("connect");
        let _ = t.write_all(b"GET /health HTTP/1.1\r\n").await;
        let got = until_closed(&mut t, Duration::from_millis(1500)).await;
        assert_eq!(got.as_deref(), Ok(""), "over the cap");
    }
    // The half-open ones are closed once the head is overdue.
    for t in &mut half_open {
        let got = until_closed(t, Duration::from_secs(6)).await;
        assert!(got.is_ok(), "half-open request: {got:?}");
    }
    assert!(started.elapsed() >= Duration::from_millis(1900));
    drop(half_open);

    // A kept-alive connection that goes quiet after its response is closed too.
    let mut idle = TcpStream::connect(s.addr).await.expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let got = until_closed(&mut idle, Duration::from_secs(6)).await;
    assert!(
        got.as_deref().is_ok_and(|r| r.starts_with("HTTP/1.1 200")),
        "{got:?}"
    );

    // A body that trickles in slower than the timeout gets 408.
    let tok = token("u1", Some(600), None);
    let mut slow = TcpStream::connect(s.addr).await.expect("connect");
    slow.write_all(
        format!(
            "POST /rooms/r/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\":"
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let got = until_closed(&mut slow, Duration::from_secs(6)).await;
    assert!(
        got.as_deref().is_ok_and(|r| r.starts_with("HTTP/1.1 408")),
        "{got:?}"
    );

    // A body declared over the limit gets the documented JSON 413 without being read.
    let (status, body) = {
        let mut big = TcpStream::connect(s.addr).await.expect("connect");
        big.write_all(
            format!(
                "POST /rooms/r/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"id\":",
                2 << 20
            )
            .as_bytes(),
        )
        .await
        .expect("write");
        let got = until_closed(&mut big, Duration::from_secs(6))
            .await
            .expect("answer");
        let (head, body) = got.split_once("\r\n\r\n").unwrap_or((&got, ""));
        (head.to_string(), body.to_string())
    };
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    let e: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(e["code"], "too_large", "{body}");

    // Well-behaved clients are served throughout.
    let (status, _) = s.http("GET", "/health", None, None).await;
    assert_eq!(status, 200);
    let mut c = s.client("alice").await;
    c.roundtrip(2).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_server_backs_off_and_recovers() {
    // The binary with 64 file descriptors and no per-address cap: 120 half-open sockets run
    // it out of descriptors, so accept fails with EMFILE until timeouts free some.
    let dir = tempfile::tempdir().expect("tempdir");
    let script = format!(
        "ulimit -n 64 && exec {} --listen 127.0.0.1:0 --data {} --jwt-secret s \
         --max-sockets-per-ip 0 --request-timeout-ms 1000",
        env!("CARGO_BIN_EXE_roomcast-server"),
        dir.path().display()
    );
    let mut child = KillOnDrop(
        std::process::Command::new("sh")
            .args(["-c", &script])
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let addr: SocketAddr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a listening line in time");
        if let Some(a) = line.strip_prefix("roomcast-server listening on http://") {
            break a.trim().parse().expect("address");
        }
    };
    let mut half_open = Vec::new();
    for _ in 0..120 {
        let mut t = TcpStream::connect(addr).await.expect("connect");
        let _ = t.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await;
        half_open.push(t);
    }
    // Queued behind all of them, a well-behaved request is still answered.
    let (status, health) = tokio::time::timeout(
        Duration::from_secs(20),
        common::http(addr, "GET", "/health", None, None),
    )
    .await
    .expect("served while the half-open sockets time out");
    assert_eq!(status, 200, "{health}");
    drop(half_open);
}

/// A child process killed (and reaped) when the test ends, passing or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A token signed with the test secret from raw claims.
fn raw_token(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(common::SECRET.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smaller_holes_are_closed() {
    let s = Server::start(|_| {}).await;
    let now = roomcast_server::validate::now_s();

    // A frame whose `type` is not a string keeps its `ref` in the error.
    let mut a = s.client("alice").await;
    for bad in [
        r#"{"type":5,"ref":7}"#,
        r#"{"type":null,"ref":7}"#,
        r#"{"type":["join"],"ref":7}"#,
    ] {
        a.send_text(bad).await;
        let e = a.expect("error").await;
        assert_eq!(
            (e["ref"].clone(), e["code"].clone()),
            (json!(7), json!("bad_request")),
            "{bad}: {e}"
        );
    }

    // Rooms `.` and `..` are refused over WebSocket and HTTP.
    for room in [".", ".."] {
        a.send(json!({"type":"join","ref":8,"room":room})).await;
        let e = a.expect("error").await;
        assert_eq!(
            (e["ref"].clone(), e["code"].clone()),
            (json!(8), json!("bad_request")),
            "{e}"
        );
    }
    let tok = s.token("alice");
    let (status, e) = s
        .http("GET", "/rooms/%2E%2E/messages", Some(&tok), None)
        .await;
    assert_eq!(
        (status, e["code"].clone()),
        (400, json!("bad_request")),
        "{e}"
    );
    let (status, e) = s
        .http(
            "POST",
            "/rooms/%2E/messages",
            Some(&tok),
            Some(r#"{"id":"x","event":"e"}"#),
        )
        .await;
    assert_eq!(
        (status, e["code"].clone()),
        (400, json!("bad_request")),
        "{e}"
    );
    a.roundtrip(9).await;

    // `nbf` in the future: not valid yet, at hello and over HTTP.
    let early = raw_token(json!({"sub":"carol","exp":now + 600,"nbf":now + 300}));
    let mut c = common::Client::connect(s.addr).await;
    c.send(
        json!({"type":"hello","ref":1,"protocol":1,"token":early,"client":{"id":"c","source":"t"}}),
    )
    .await;
    assert_eq!(c.expect("error").await["code"], "unauthorized");
    assert_eq!(c.closed().await, Some(4001));
    let (status, _) = s.http("GET", "/rooms/r/messages", Some(&early), None).await;
    assert_eq!(status, 401);

    // `"rooms": null` is refused, not read as "every room".
    let null_rooms = raw_token(json!({"sub":"dave","exp":now + 600,"rooms":null}));
    let (status, e) = s
        .http("GET", "/rooms/r/messages", Some(&null_rooms), None)
        .await;
    assert_eq!(
        (status, e["code"].clone()),
        (401, json!("unauthorized")),
        "{e}"
    );
    let mut d = common::Client::connect(s.addr).await;
    d.send(json!({"type":"hello","ref":1,"protocol":1,"token":null_rooms,"client":{"id":"d","source":"t"}}))
        .await;
    assert_eq!(d.expect("error").await["code"], "unauthorized");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_joins_to_new_rooms_is_created_once_and_kept() {
    let s = Server::start(|c| c.max_rooms_per_conn = 1000).await;
    let mut a = s.client("alice").await;
    let n = 400u64;
    // Pipelined: the store gets many joins of new rooms per round and creates them together.
    let frames: String = (0..n)
        .map(|i| json!({"type":"join","ref":100 + i,"room":format!("burst-{i}")}).to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for frame in frames.lines() {
        a.send_text(frame).await;
    }
    let mut epochs = std::collections::HashMap::new();
    for _ in 0..n {
        let j = a.expect("joined").await;
        epochs.insert(
            j["room"].as_str().expect("room").to_string(),
            j["epoch"].as_str().expect("epoch").to_string(),
        );
    }
    assert_eq!(epochs.len() as u64, n);
    a.roundtrip(2).await;
    drop(a);
    let dir = s.stop().await.expect("temp dir");
    // The rooms (and their epochs) were committed.
    let s = Server::start_in(dir.path(), |c| c.max_rooms_per_conn = 1000).await;
    let mut b = s.client("bob").await;
    for i in [0, n / 2, n - 1] {
        let room = format!("burst-{i}");
        let j = b.join(i + 10, &room).await;
        assert_eq!(j["epoch"].as_str(), epochs.get(&room).map(String::as_str));
    }
    s.stop().await;
    drop(dir);
}

/// A small deterministic generator (xorshift64*): reproducible cases without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// `text` with a few bytes overwritten, inserted or cut.
    fn mutate(&mut self, text: &[u8]) -> Vec<u8> {
        let mut out = text.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(out.len() + 1);
            match self.below(3) {
                0 if at < out.len() => out[at] = self.next() as u8,
                1 => out.insert(at, self.next() as u8),
                _ => out.truncate(at.max(1)),
            }
        }
        out
    }
}

/// Bytes for a plain TCP connection to the HTTP side.
fn hostile_http(rng: &mut Rng, tok: &str) -> Vec<u8> {
    let post = format!(
        "POST /rooms/r/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\
         Content-Length: 40\r\n\r\n{{\"id\":\"a\",\"event\":\"e\",\"data\":[[[[\"x\"]]]]}}"
    );
    let upgrade = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    match rng.below(5) {
        0 => {
            let n = rng.below(512);
            rng.bytes(n)
        }
        1 => rng.mutate(b"GET /rooms/r/messages?before=3&limit=9 HTTP/1.1\r\nHost: x\r\n\r\n"),
        2 => rng.mutate(post.as_bytes()),
        3 => rng.mutate(upgrade.as_bytes()),
        _ => {
            let n = 1024 + rng.below(64 * 1024);
            format!("GET /health HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(n)).into_bytes()
        }
    }
}

/// Frames for an upgraded WebSocket: broken framing, invalid UTF-8, deep or mangled JSON.
fn hostile_ws(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let payload = match rng.below(6) {
            0 => {
                let n = rng.below(300);
                rng.bytes(n)
            }
            1 => {
                let depth = rng.below(20_000);
                format!(
                    r#"{{"type":"publish","ref":1,"room":"r","id":"x","event":"e","data":{}}}"#,
                    nested(depth)
                )
                .into_bytes()
            }
            2 => rng.mutate(br#"{"type":"join","ref":2,"room":"r","since":0}"#),
            3 => rng.mutate(br#"{"type":"publish","ref":3,"room":"r","id":"i","event":"e","data":{"a":[1,"\u00e9"]}}"#),
            4 => br#"{"type":"history","ref":4,"room":"r","limit":500}"#.to_vec(),
            _ => vec![0xff, 0xfe, b'{', 0xc3],
        };
        // Mostly text frames, sometimes any first byte (opcode, RSV, FIN); sometimes unmasked;
        // sometimes cut short (a length that lies).
        let first = if rng.below(3) == 0 {
            rng.next() as u8
        } else {
            FIN | TEXT
        };
        let mut frame = ws_frame(first, rng.below(8) != 0, &payload);
        if rng.below(6) == 0 {
            let keep = rng.below(frame.len());
            frame.truncate(keep);
        }
        out.extend(frame);
    }
    out
}

/// Counts panics anywhere in this process (the server runs in it).
static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bytes_never_panic_hang_or_take_the_server_down() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            default(info);
        }));
    });
    let s = Server::start(|c| {
        c.request_timeout_ms = 500;
        c.max_frame = 4096;
    })
    .await;
    let tok = s.token("alice");
    let hello = serde_json::to_vec(&json!({"type":"hello","ref":1,"protocol":1,
        "token":tok,"client":{"id":"c","source":"test"}}))
    .expect("hello");
    let join = br#"{"type":"join","ref":2,"room":"r"}"#;
    // A few seconds of cases from 4 workers; ROOMCAST_HOSTILE_SECS runs longer.
    let secs = std::env::var("ROOMCAST_HOSTILE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3u64);
    let until = Instant::now() + Duration::from_secs(secs);
    let mut workers = Vec::new();
    for seed in 1..=4u64 {
        let (addr, tok, hello) = (s.addr, tok.clone(), hello.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
            let mut cases = 0u64;
            while Instant::now() < until {
                let (mut stream, bytes) = if rng.below(2) == 0 {
                    let t = TcpStream::connect(addr).await.expect("connect");
                    (t, hostile_http(&mut rng, &tok))
                } else {
                    let mut t = raw_ws(addr).await;
                    if rng.below(4) != 0 {
                        let mut first = ws_frame(FIN | TEXT, true, &hello);
                        first.extend(ws_frame(FIN | TEXT, true, join));
                        t.write_all(&first).await.expect("hello");
                    }
                    (t, hostile_ws(&mut rng))
                };
                // The server may close before reading everything: a failed write is fine.
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                let end = until_closed(&mut stream, Duration::from_secs(5)).await;
                assert!(end.is_ok(), "case {cases} (seed {seed}) hung: {end:?}");
                cases += 1;
            }
            cases
        }));
    }
    let mut cases = 0;
    for w in workers {
        cases += w.await.expect("worker");
    }
    eprintln!("hostile bytes: {cases} cases");
    assert!(cases > 20, "only {cases} cases ran");
    assert_eq!(
        PANICS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a panic"
    );
    // Still up and serving.
    let (status, _) = s.http("GET", "/health", None, None).await;
    assert_eq!(status, 200);
    let mut c = s.client("bob").await;
    c.join(1, "r").await;
    c.roundtrip(2).await;
    s.stop().await;
}
