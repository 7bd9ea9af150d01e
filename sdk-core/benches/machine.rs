//! Cost of the sans-IO machine's frame handling, against the cost of merely parsing the same
//! frames as JSON (the floor any client pays), measured in the same run.
//!
//! `cargo bench -p roomcast-core --bench machine` (criterion, wall time). The same work runs
//! once under callgrind, which counts instructions and so stays stable on a busy machine:
//!
//! ```sh
//! cargo bench -p roomcast-core --bench machine --no-run
//! for mode in receive-baseline receive publish-baseline publish; do
//!     valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!         target/release/deps/machine-* $mode 2>&1 | grep refs
//! done
//! ```
//!
//! Each mode runs its 1000 frames [`COUNTED_ROUNDS`] times after one untimed setup, so the
//! set-up's instructions are a small, equal share of every mode.

use std::hint::black_box;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
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
                stream: None,
            })
            .encode()
        })
        .collect()
}

/// The baseline of a publish round: an equivalent publish frame encoded as JSON.
fn encode_publishes() {
    for i in 0..BATCH {
        let v = json!({"type":"publish","ref":i,"room":"r","id":format!("id-{i}"),"event":"chat.message","data":{"content":"Hello"}});
        black_box(v.to_string());
    }
}

/// 1000 publish rounds: publish, the frame sent, its ack handled.
fn publish_rounds((mut m, conn, now): (Machine, ConnId, Instant)) {
    for i in 0..BATCH {
        m.publish(
            now,
            PublishRequest {
                room: "r".into(),
                id: format!("id-{i}"),
                event: "chat.message".into(),
                data: json!({"content": "Hello"}).into(),
                ephemeral: false,
                stream: false,
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
}

/// The baseline of receiving: the frames parsed as JSON.
fn parse_frames(frames: &[String]) {
    for f in frames {
        black_box(serde_json::from_str::<Value>(f).expect("json"));
    }
}

/// The frames through the machine: decoded, deduplicated, routed to an event.
fn receive_frames((mut m, conn, now): (Machine, ConnId, Instant), frames: &[String]) {
    for f in frames {
        m.handle_frame(now, conn, f);
        let _ = black_box(m.poll_output());
    }
}

fn incoming(c: &mut Criterion) {
    let frames = message_frames();
    let mut g = c.benchmark_group("incoming_message");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("baseline_json_parse", |b| b.iter(|| parse_frames(&frames)));
    g.bench_function("machine_handle_frame", |b| {
        b.iter_batched(
            connected,
            |machine| receive_frames(machine, &frames),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn publish_ack(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish_and_ack");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("baseline_encode_publish_json", |b| b.iter(encode_publishes));
    g.bench_function("machine_publish_transmit_ack", |b| {
        b.iter_batched(connected, publish_rounds, BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, incoming, publish_ack);

/// Rounds of 1000 frames a callgrind mode runs.
const COUNTED_ROUNDS: usize = 20;

/// One callgrind mode: the body of the matching criterion benchmark, `COUNTED_ROUNDS` times.
fn counted(mode: &str) -> bool {
    let frames = message_frames();
    match mode {
        "receive-baseline" => {
            for _ in 0..COUNTED_ROUNDS {
                parse_frames(&frames);
            }
        }
        "receive" => {
            for _ in 0..COUNTED_ROUNDS {
                receive_frames(connected(), &frames);
            }
        }
        "publish-baseline" => {
            for _ in 0..COUNTED_ROUNDS {
                encode_publishes();
            }
        }
        "publish" => {
            for _ in 0..COUNTED_ROUNDS {
                publish_rounds(connected());
            }
        }
        _ => return false,
    }
    true
}

fn main() {
    if let Some(mode) = std::env::args().nth(1).filter(|a| !a.starts_with('-')) {
        if counted(&mode) {
            return;
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
