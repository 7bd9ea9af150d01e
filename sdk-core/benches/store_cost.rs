//! The CPU the client's store adds to a publish: the same 20 000 publish rounds (publish,
//! frame sent, ack received) through the machine without a store and with the file store
//! (records written in groups, as the native driver does). Run each mode under callgrind,
//! which counts instructions and is stable on a busy machine:
//!
//! ```sh
//! cargo bench -p roomcast-core --bench store_cost --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/store_cost-* off
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/store_cost-* on
//! ```
//!
//! The flushes' wait on the device is not CPU and not counted here; the client_store bench
//! of the e2e crate measures it (time to durable) and the throughput with a real server.

use roomcast_core::machine::{
    Action, Config, ConnId, Event, JoinOptions, Machine, Output, PublishRequest, Record,
};
use roomcast_core::protocol::{Ack, ClientFrame, Joined, ServerFrame, Welcome};
use roomcast_core::{FileStore, Payload};
use web_time::Instant;

const ROUNDS: u64 = 20_000;
/// Publishes in flight at once, written to the store as one group.
const GROUP: u64 = 100;

fn main() {
    let on = match std::env::args().nth(1).as_deref() {
        Some("on") => true,
        Some("off") => false,
        // `cargo bench` runs it with harness flags: measure both, briefly.
        _ => return both(),
    };
    run(on);
}

fn both() {
    for on in [false, true] {
        let started = std::time::Instant::now();
        run(on);
        println!(
            "store {}: {ROUNDS} publish rounds in {:?}",
            if on { "on" } else { "off" },
            started.elapsed()
        );
    }
}

/// The machine and what its drain produced.
struct Bench {
    m: Machine,
    now: Instant,
    conn: ConnId,
    records: Vec<Record>,
    last_record: u64,
    refs: Vec<u64>,
}

impl Bench {
    /// Answers the handshake and the join at once; keeps records and publish refs.
    fn drain(&mut self) {
        loop {
            match self.m.poll_output() {
                Output::Action(Action::Connect { conn, .. }) => {
                    self.conn = conn;
                    self.m.handle_open(self.now, conn, 0);
                }
                Output::Persist { n, record } => {
                    self.records.push(record);
                    self.last_record = n;
                }
                Output::Transmit(text) => match ClientFrame::decode(&text) {
                    Ok(ClientFrame::Hello(h)) => self.answer(ServerFrame::Welcome(Welcome {
                        ref_id: h.ref_id,
                        session: "s".into(),
                        user: "u".into(),
                        heartbeat_ms: 25_000,
                        max_frame: 65_536,
                        token_exp: None,
                    })),
                    Ok(ClientFrame::Join(j)) => self.answer(ServerFrame::Joined(Joined {
                        ref_id: j.ref_id,
                        room: "r".into(),
                        seq: 0,
                        epoch: "e".into(),
                        recovered: true,
                        presence: vec![],
                    })),
                    Ok(ClientFrame::Publish(p)) => self.refs.push(p.ref_id),
                    _ => {}
                },
                Output::Event(Event::Completed { result: Err(e), .. }) => panic!("{e}"),
                Output::Event(_) | Output::Action(_) => {}
                Output::Timeout(_) => return,
            }
        }
    }

    fn answer(&mut self, frame: ServerFrame) {
        self.m.handle_frame(self.now, self.conn, &frame.encode());
    }
}

fn run(on: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = on.then(|| FileStore::open(dir.path()).expect("store").store);
    let mut config = Config::new("ws://bench/ws", "c1", "bench");
    config.token = Some("t".into());
    config.queue_capacity = 100_000;
    config.persist = on;
    let now = Instant::now();
    let mut b = Bench {
        m: Machine::new(config, 1),
        now,
        conn: ConnId(0),
        records: Vec::new(),
        last_record: 0,
        refs: Vec::new(),
    };
    b.m.connect(now);
    b.m.join(now, "r", JoinOptions::default());
    b.drain();
    let data = Payload::from_json(
        r#"{"role":"user","content":"Hello, this is a typical short chat line."}"#,
    )
    .expect("json");
    let mut seq = 0;
    for _ in 0..ROUNDS / GROUP {
        for i in 0..GROUP {
            b.m.publish(
                now,
                PublishRequest {
                    room: "r".into(),
                    id: format!("0193a0c4-0000-7000-8000-{:012}", seq + i),
                    event: "chat.message".into(),
                    data: data.clone(),
                    ephemeral: false,
                    stream: false,
                },
            );
        }
        // One group written and reported, then the frames go out and the acks come back.
        loop {
            b.drain();
            if b.records.is_empty() {
                break;
            }
            let n = b.last_record;
            if let Some(store) = store.as_mut() {
                store.append(&b.records).expect("append");
            }
            b.records.clear();
            b.m.persisted(now, n, Ok(()));
        }
        for ref_id in std::mem::take(&mut b.refs) {
            seq += 1;
            b.answer(ServerFrame::Ack(Ack {
                ref_id,
                id: String::new(),
                n: None,
                seq: Some(seq),
                ts: 0,
            }));
        }
    }
    b.drain();
    if let Some(store) = store.as_mut() {
        store.append(&b.records).expect("append");
    }
    assert_eq!(b.m.queued(), 0);
}
