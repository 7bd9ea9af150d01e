//! Property: two clients publishing into one room through random connection cuts, server
//! restarts and partial deliveries. Once the network heals, every publish has completed, the
//! server stored each exactly once, and every client has seen every message of the others
//! exactly once, in seq order.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;
use roomcast_core::machine::{Event, JoinOptions, OpId, Reply};
use support::{config, Client, Net};

const ROOM: &str = "conv";
const CLIENTS: usize = 2;

#[derive(Debug, Clone)]
enum Step {
    Publish(usize),
    Open(usize),
    Up(usize),
    Down(usize),
    Cut(usize),
    Restart,
    Advance(u64),
    Settle,
    /// Publishes this many at once (outages longer than the replay limit).
    Burst(usize, u8),
    /// The app's handlers fall behind: delivery of the room stops, then resumes.
    Suspend(usize),
    ResumeDelivery(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let c = 0..CLIENTS;
    let c2 = 0..CLIENTS;
    prop_oneof![
        4 => c.clone().prop_map(Step::Publish),
        2 => c.clone().prop_map(Step::Open),
        6 => c.clone().prop_map(Step::Up),
        6 => c.clone().prop_map(Step::Down),
        2 => c.prop_map(Step::Cut),
        1 => Just(Step::Restart),
        2 => (0u64..5_000).prop_map(Step::Advance),
        1 => Just(Step::Settle),
        1 => (c2.clone(), 1u8..30).prop_map(|(i, n)| Step::Burst(i, n)),
        1 => c2.clone().prop_map(Step::Suspend),
        1 => c2.prop_map(Step::ResumeDelivery),
    ]
}

/// Resume-related settings of one run: the server's replay limit and each room's hold buffer.
#[derive(Debug, Clone, Copy)]
struct Limits {
    replay_limit: usize,
    hold_bytes: usize,
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        1usize..8,
        prop_oneof![Just(200usize), Just(1_000), Just(4 << 20)],
    )
        .prop_map(|(replay_limit, hold_bytes)| Limits {
            replay_limit,
            hold_bytes,
        })
}

fn run(steps: &[Step], seed: u64, overlap: u64, limits: Limits) -> Result<(), TestCaseError> {
    let clients = (0..CLIENTS)
        .map(|i| {
            let mut config = config(&format!("u{i}"), &format!("c{i}"));
            config.hold_bytes = limits.hold_bytes;
            Client::new(config, seed + i as u64)
        })
        .collect();
    let mut net = Net::new(clients);
    net.server.replay_overlap = overlap;
    net.server.replay_limit = limits.replay_limit;
    for i in 0..CLIENTS {
        let now = net.now;
        net.c(i).m.connect(now);
        net.c(i).m.join(
            now,
            ROOM,
            JoinOptions {
                since: Some(0),
                ..JoinOptions::default()
            },
        );
    }
    net.settle();

    let mut published: Vec<(usize, OpId, String)> = Vec::new();
    let publish =
        |net: &mut Net, published: &mut Vec<(usize, OpId, String)>, i: usize, id: String| {
            let op = net.publish(i, ROOM, &id);
            published.push((i, op, id));
        };
    let mut held_max = 0;
    for (n, s) in steps.iter().enumerate() {
        match *s {
            Step::Publish(i) => publish(&mut net, &mut published, i, format!("{i}-{n}")),
            Step::Burst(i, count) => {
                for k in 0..count {
                    publish(&mut net, &mut published, i, format!("{i}-{n}-{k}"));
                }
                // Delivered to the server, so the outage of the other client outlasts it.
                while net.deliver_up(i) {}
            }
            Step::Suspend(i) => net.c(i).m.suspend_delivery(ROOM),
            Step::ResumeDelivery(i) => {
                let now = net.now;
                net.c(i).m.resume_delivery(now, ROOM);
                net.service(i);
            }
            Step::Open(i) => {
                net.deliver_open(i);
            }
            Step::Up(i) => {
                net.deliver_up(i);
            }
            Step::Down(i) => {
                net.deliver_down(i);
            }
            Step::Cut(i) => net.cut(i),
            Step::Restart => {
                net.stop_server();
                net.advance(Duration::from_millis(700));
                net.start_server();
            }
            Step::Advance(ms) => net.advance(Duration::from_millis(ms)),
            Step::Settle => net.settle(),
        }
        for c in &net.clients {
            held_max = held_max.max(c.m.held_bytes());
        }
    }
    // The hold buffer is bounded (per room; one room here), whatever happened.
    prop_assert!(
        held_max <= limits.hold_bytes,
        "held {} bytes over a bound of {}",
        held_max,
        limits.hold_bytes
    );

    // Heal: the server stays up, delivery resumes, and time moves on until everything
    // completes.
    net.start_server();
    for i in 0..CLIENTS {
        let now = net.now;
        net.c(i).m.resume_delivery(now, ROOM);
        net.service(i);
    }
    for _ in 0..40 {
        net.settle();
        let done = published
            .iter()
            .all(|(i, op, _)| net.clients[*i].result(*op).is_some());
        let caught_up = net
            .clients
            .iter()
            .all(|c| c.m.queued() == 0 && c.m.is_joined(ROOM));
        if done && caught_up {
            break;
        }
        net.advance(Duration::from_secs(5));
    }
    net.settle();

    let log = net
        .server
        .rooms
        .get(ROOM)
        .map(|r| r.log.clone())
        .unwrap_or_default();
    let stored: Vec<&str> = log.iter().map(|m| m.id.as_str()).collect();
    let unique: BTreeSet<&str> = stored.iter().copied().collect();
    prop_assert_eq!(unique.len(), stored.len(), "stored twice: {:?}", stored);
    prop_assert_eq!(stored.len(), published.len(), "every publish stored");

    let seq_of: BTreeMap<&str, u64> = log
        .iter()
        .map(|m| (m.id.as_str(), m.seq.unwrap_or(0)))
        .collect();
    for (i, op, id) in &published {
        match net.clients[*i].result(*op) {
            Some(Ok(Reply::Published(ack))) => {
                prop_assert_eq!(
                    ack.seq,
                    seq_of.get(id.as_str()).copied(),
                    "ack seq of {}",
                    id
                );
            }
            other => return Err(TestCaseError::fail(format!("publish {id} ended {other:?}"))),
        }
    }

    for (i, client) in net.clients.iter().enumerate() {
        // The server lost nothing, so no gap may be reported.
        let gaps: Vec<_> = client
            .events
            .iter()
            .filter(|e| matches!(e, Event::Gap(_)))
            .collect();
        prop_assert!(gaps.is_empty(), "client {} reported {:?}", i, gaps);
        let seqs: Vec<u64> = client.messages.iter().filter_map(|m| m.seq).collect();
        prop_assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "client {} order/dups: {:?}",
            i,
            seqs
        );
        let got: BTreeSet<&str> = client.messages.iter().map(|m| m.id.as_str()).collect();
        let expected: BTreeSet<&str> = published
            .iter()
            .filter(|(p, _, _)| *p != i)
            .map(|(_, _, id)| id.as_str())
            .collect();
        prop_assert_eq!(
            got,
            expected,
            "client {} saw every message of the others",
            i
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_loss_no_duplicates_order_kept(
        steps in prop::collection::vec(step(), 1..160),
        seed in any::<u64>(),
        overlap in 0u64..3,
        limits in limits(),
    ) {
        run(&steps, seed, overlap, limits)?;
    }
}
