//! Cost of the sans-IO machine's frame handling, against the cost of merely parsing the same
//! frames as JSON (the floor any client pays), measured in the same run.
//!
//! `cargo bench -p roomcast-core --bench machine`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use roomcast_core::machine::{
    Action, Config, ConnId, JoinOptions, Machine, Output, PublishRequest,
};
use roomcast_core::protocol::{Joined, Member, Message, ServerFrame, Welcome};
use serde_json::{json, Value};
use web_time::Instant;

const BATCH: u64 = 1000;

/// A machine connected, with room `r` joined at seq 0.
fn connected() -> (Machine, ConnId, Instant) {
    let mut config = Config::new("ws://bench/ws", "c1", "bench");
    config.token = Some("t".into());
    config.queue_capacity = 100_000;
    let mut m = Machine::new(config, 1);
    let now = Instant::now();
    m.connect(now);
    let conn = loop {
        match m.poll_output() {
            Output::Action(Action::Connect { conn, .. }) => break conn,
            Output::Timeout(_) => panic!("no connect action"),
            _ => continue,
        }
    };
    m.handle_open(now, conn, 0);
    let hello = next_transmit(&mut m);
    let hello: Value = serde_json::from_str(&hello).expect("json");
    let welcome = ServerFrame::Welcome(Welcome {
        ref_id: hello["ref"].as_u64().expect("ref"),
        session: "s".into(),
        user: "u".into(),
        heartbeat_ms: 25_000,
        max_frame: 65_536,
        token_exp: None,
    });
    m.handle_frame(now, conn, &welcome.encode());
    m.join(now, "r", JoinOptions::default());
    let join: Value = serde_json::from_str(&next_transmit(&mut m)).expect("json");
    let joined = ServerFrame::Joined(Joined {
        ref_id: join["ref"].as_u64().expect("ref"),
        room: "r".into(),
        seq: 0,
        epoch: "e".into(),
        recovered: true,
        presence: vec![],
    });
    m.handle_frame(now, conn, &joined.encode());
    while !matches!(m.poll_output(), Output::Timeout(_)) {}
    (m, conn, now)
}

/// The next frame the machine sends, skipping other outputs.
fn next_transmit(m: &mut Machine) -> String {
    loop {
        match m.poll_output() {
            Output::Transmit(text) => return text,
            Output::Timeout(_) => panic!("nothing to send"),
            _ => continue,
        }
    }
}

fn message_frames() -> Vec<String> {
    (1..=BATCH)
        .map(|seq| {
            ServerFrame::Message(Message {
                room: "r".into(),
                seq: Some(seq),
                id: format!("0193a0c4-0000-7000-8000-{seq:012}"),
                event: "chat.message".into(),
                data:
                    json!({"role": "user", "content": "Hello, this is a typical short chat line."})
                        .into(),
                from: Member {
                    user: "u2".into(),
                    client: "c-2".into(),
                    source: "ios".into(),
                    name: None,
                },
                ts: 1_732_240_000_000 + seq,
            })
            .encode()
        })
        .collect()
}

fn incoming(c: &mut Criterion) {
    let frames = message_frames();
    let mut g = c.benchmark_group("incoming_message");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("baseline_json_parse", |b| {
        b.iter(|| {
            for f in &frames {
                black_box(serde_json::from_str::<Value>(f).expect("json"));
            }
        })
    });
    g.bench_function("machine_handle_frame", |b| {
        b.iter_batched(
            connected,
            |(mut m, conn, now)| {
                for f in &frames {
                    m.handle_frame(now, conn, f);
                    let _ = black_box(m.poll_output());
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn publish_ack(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish_and_ack");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("baseline_encode_publish_json", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let v = json!({"type":"publish","ref":i,"room":"r","id":format!("id-{i}"),"event":"chat.message","data":{"content":"Hello"}});
                black_box(v.to_string());
            }
        })
    });
    g.bench_function("machine_publish_transmit_ack", |b| {
        b.iter_batched(
            connected,
            |(mut m, conn, now)| {
                for i in 0..BATCH {
                    m.publish(
                        now,
                        PublishRequest {
                            room: "r".into(),
                            id: format!("id-{i}"),
                            event: "chat.message".into(),
                            data: json!({"content": "Hello"}).into(),
                            ephemeral: false,
                        },
                    );
                    let sent = next_transmit(&mut m);
                    let ref_id = sent
                        .split("\"ref\":")
                        .nth(1)
                        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|s| s.parse::<u64>().ok())
                        .expect("ref");
                    let ack = format!(
                        r#"{{"type":"ack","ref":{ref_id},"id":"id-{i}","seq":{},"ts":1}}"#,
                        i + 1
                    );
                    m.handle_frame(now, conn, &ack);
                    let _ = black_box(m.poll_output());
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, incoming, publish_ack);
criterion_main!(benches);
