//! A room with a streamed reply in it (written by a backend over HTTP), resumed by a native
//! client past the server's replay limit: the appends' seqs are stored, so the resume pages
//! through them without reporting a gap, and every message reaches the client once.

mod support;

use std::time::Duration;

use roomcast_core::{JoinOptions, RoomEvent};
use support::{client, token, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// POST `body` to `path` with a bearer token; the status code.
async fn post(server: &Server, path: &str, bearer: &str, body: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).await.expect("read");
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_pages_through_a_streamed_reply_without_a_gap() {
    let server = Server::start_with(&["--replay-limit", "3"]);
    let bot = token("bot", Duration::from_secs(600), &[]);
    let writer = client(&server.ws_url(), "alice");
    let room = writer.join("conv").await.expect("join");
    room.publish("chat.message", &"question")
        .await
        .expect("acked");
    // The assistant's reply: one opening message and 8 appends, then two more messages.
    let opened = post(
        &server,
        "/rooms/conv/messages",
        &bot,
        r#"{"id":"reply-1","event":"assistant.reply","data":{},"stream":true}"#,
    )
    .await;
    assert_eq!(opened, 201);
    for n in 0..8 {
        let end = if n == 7 { r#","end":"done""# } else { "" };
        let body = format!(r#"{{"n":{n},"text":"w{n} "{end}}}"#);
        let status = post(&server, "/rooms/conv/messages/reply-1/append", &bot, &body).await;
        assert_eq!(status, 201, "append {n}");
    }
    room.publish("chat.message", &"thanks")
        .await
        .expect("acked");
    room.publish("chat.message", &"bye").await.expect("acked");

    // A reader resuming from the start, past the replay limit of 3.
    let reader = client(&server.ws_url(), "bob");
    let r = reader.room("conv");
    let mut events = r.events();
    r.join_with(JoinOptions {
        since: Some(0),
        ..Default::default()
    })
    .await
    .expect("join");
    let mut seen = Vec::new();
    let mut gaps = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 4 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(RoomEvent::Message(m))) => seen.push(m.id.clone()),
            Ok(Some(RoomEvent::Gap(g))) => gaps.push(g),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    assert!(gaps.is_empty(), "no gap: the appends are stored, {gaps:?}");
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[1], "reply-1");
    writer.close().await.expect("close");
    reader.close().await.expect("close");
}
