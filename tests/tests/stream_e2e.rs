//! Streamed messages end to end with real processes: `roomcast stream` fed by a generator
//! while a proxy cuts the reader's connection every second or so and the server is killed -9
//! once; the reader's text equals the input byte for byte, a late joiner gets the text so far
//! in one message, and `history` holds the whole reply.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use roomcast_core::{RoomEvent, StreamState};
use support::{cli_bin, cli_data_home, client, token, Proxy, Server, StreamView};

/// `roomcast stream` into room `conv` of `server` as user `bot`, reading a piped stdin.
fn stream_cli(server: &Server) -> Command {
    let mut cmd = Command::new(cli_bin());
    cmd.args(["stream", "--url", &server.ws_url(), "--room", "conv"])
        .env(
            "ROOMCAST_TOKEN",
            token("bot", Duration::from_secs(600), &[]),
        )
        .env("XDG_DATA_HOME", cli_data_home())
        .stdin(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_stream_reaches_a_cut_reader_through_a_server_kill_byte_for_byte() {
    let mut server = Server::start();
    let mut proxy = Proxy::start(server.addr).await;
    let reader = client(&proxy.ws_url(), "reader");
    let room = reader.room("conv");
    let mut events = room.events();
    room.join().await.expect("join");
    proxy.chaos(Duration::from_millis(400), Duration::from_millis(1500), 7);

    // The generator: 2 000 pieces, some of them multi-byte, at about 400 a second.
    let pieces: Vec<String> = (0..2000).map(|i| format!("w{i}·é ")).collect();
    let input: String = pieces.concat();
    let mut producer = stream_cli(&server)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("roomcast stream");
    let mut stdin = producer.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        for piece in pieces {
            if stdin.write_all(piece.as_bytes()).is_err() {
                return;
            }
            let _ = stdin.flush();
            std::thread::sleep(Duration::from_micros(2500));
        }
    });

    tokio::time::sleep(Duration::from_secs(2)).await;
    server.restart(); // kill -9, then up again on the same address and data
    let fed = tokio::task::spawn_blocking(move || feeder.join()).await;
    assert!(fed.is_ok());
    let status = tokio::task::spawn_blocking(move || producer.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "roomcast stream: {status}");
    proxy.calm();

    let view = StreamView::default()
        .until_end(&mut events, Duration::from_secs(60))
        .await;
    assert!(proxy.severed() > 0, "the proxy cut the reader");
    assert_eq!(view.end, Some(StreamState::Done));
    let text = view.text.unwrap_or_default();
    assert_eq!(text.len(), input.len());
    assert!(text == input, "the reader's text differs from the input");

    // A late joiner: `history` holds the whole reply in one message (the room's first, seq 1).
    let late = client(&server.ws_url(), "late");
    let page = late
        .room("conv")
        .history(Some(2), 1)
        .await
        .expect("history");
    let reply = page
        .messages
        .iter()
        .find_map(|m| m.stream.clone())
        .expect("the reply in history");
    assert_eq!(reply.state, StreamState::Done);
    assert!(reply.text == input, "history's text differs from the input");
    assert!(page.appends.is_empty(), "folded: no pieces of its own");
    reader.close().await.expect("close");
    late.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_mid_reply_gets_the_text_so_far_then_the_rest() {
    let server = Server::start();
    let writer = client(&server.ws_url(), "bot");
    let wroom = writer.join("conv").await.expect("join");
    let mut stream = wroom
        .stream("assistant.reply", &serde_json::json!({"role": "assistant"}))
        .expect("stream");
    stream.opened().expect("opened").await.expect("opened ack");
    let mut acks = Vec::new();
    for i in 0..50 {
        acks.push(stream.append(format!("a{i} ")));
    }
    for ack in acks {
        ack.await.expect("ack");
    }

    let late = client(&server.ws_url(), "late");
    let room = late.room("conv");
    let mut events = room.events();
    room.join().await.expect("join");
    for i in 50..60 {
        stream.append(format!("b{i} ")).await.expect("ack");
    }
    stream.finish().await.expect("finish");

    let view = StreamView::default()
        .until_end(&mut events, Duration::from_secs(20))
        .await;
    let expected: String = (0..50)
        .map(|i| format!("a{i} "))
        .chain((50..60).map(|i| format!("b{i} ")))
        .collect();
    assert_eq!(view.text.as_deref(), Some(expected.as_str()));
    assert_eq!(view.end, Some(StreamState::Done));
    writer.close().await.expect("close");
    late.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_cancels_a_reply_and_the_cli_writer_stops() {
    let server = Server::start();
    let reader = client(&server.ws_url(), "reader");
    let room = reader.room("conv");
    let mut events = room.events();
    room.join().await.expect("join");
    let mut producer = stream_cli(&server)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("roomcast stream");
    let mut stdin = producer.stdin.take().expect("stdin");
    stdin.write_all(b"partial ").expect("write");
    stdin.flush().expect("flush");
    // The opening message and the first piece reach the reader; it cancels.
    let mut view = StreamView::default();
    let mut id = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while view.count == 0 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => {
                if let RoomEvent::Message(m) = &event {
                    id = Some(m.id.clone());
                }
                view.see(&event);
            }
            Ok(None) | Err(_) => break,
        }
    }
    let id = id.expect("the opening message");
    room.cancel_stream(&id).await.expect("cancel");
    // The writer's next piece is refused; its input ends and it reports the failure.
    stdin.write_all(b"more").expect("write");
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || producer.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("stream_ended") || stderr.contains("ended"),
        "{stderr}"
    );
    let page = reader
        .room("conv")
        .history(None, 10)
        .await
        .expect("history");
    let reply = page
        .messages
        .iter()
        .find_map(|m| m.stream.clone())
        .expect("reply");
    assert_eq!(
        (reply.state, reply.text.as_str()),
        (StreamState::Cancelled, "partial ")
    );
    reader.close().await.expect("close");
}
