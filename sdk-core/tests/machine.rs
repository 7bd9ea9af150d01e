//! Deterministic tests of the sans-IO machine on a virtual clock against a simulated server.

mod support;

use std::time::Duration;

use roomcast_core::machine::{
    Action, ConnectionState, Error, Event, JoinOptions, OpId, PublishRequest, Reply, ResumeMode,
};
use roomcast_core::protocol::{ClientFrame, ErrorCode, ServerFrame};
use serde_json::json;
use support::{config, Client, Net};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn connect_and_join(net: &mut Net, i: usize, room: &str) {
    let now = net.now;
    let c = net.c(i).m.connect(now);
    let j = net.c(i).m.join(now, room, JoinOptions::default());
    net.settle();
    assert!(
        matches!(net.c(i).result(c), Some(Ok(Reply::Connected))),
        "{:?}",
        net.c(i).result(c)
    );
    assert!(
        matches!(net.c(i).result(j), Some(Ok(Reply::Joined(_)))),
        "{:?}",
        net.c(i).result(j)
    );
}

fn states(c: &Client) -> Vec<ConnectionState> {
    c.events
        .iter()
        .filter_map(|e| match e {
            Event::State(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn reconnect_delays(c: &Client) -> Vec<Duration> {
    states(c)
        .into_iter()
        .filter_map(|s| match s {
            ConnectionState::Reconnecting { delay, .. } => Some(delay),
            _ => None,
        })
        .collect()
}

#[test]
fn connects_joins_publishes_and_receives() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "room");
    connect_and_join(&mut net, 1, "room");
    let op = net.publish(0, "room", "m1");
    net.settle();
    match net.c(0).result(op) {
        Some(Ok(Reply::Published(ack))) => assert_eq!((ack.id.as_str(), ack.seq), ("m1", Some(1))),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.c(1).messages.len(), 1);
    assert_eq!(net.c(1).messages[0].id, "m1");
    assert!(net.c(0).messages.is_empty(), "no echo to the publisher");
    assert!(net
        .c(0)
        .events
        .iter()
        .any(|e| matches!(e, Event::Presence(p) if p.member.user == "b")));
    assert_eq!(
        states(net.c(0)),
        vec![
            ConnectionState::Connecting { attempt: 0 },
            ConnectionState::Connected
        ]
    );
}

#[test]
fn backoff_doubles_to_the_cap_with_jitter_and_resets_on_welcome() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 3)]);
    net.up = false;
    let now = net.now;
    let op = net.c(0).m.connect(now);
    net.service(0);
    net.advance(secs(200));
    let delays = reconnect_delays(net.c(0));
    let bases = [1, 2, 4, 8, 16, 30, 30, 30];
    assert!(delays.len() >= bases.len(), "{delays:?}");
    for (d, base) in delays.iter().zip(bases) {
        let base = secs(base);
        assert!(
            *d >= base / 2 && *d <= base,
            "{d:?} outside [{:?}, {base:?}]",
            base / 2
        );
    }
    assert!(
        net.c(0).result(op).is_none(),
        "connect keeps waiting while retrying"
    );

    net.start_server();
    net.advance(secs(31));
    assert!(matches!(net.c(0).result(op), Some(Ok(Reply::Connected))));
    // After a welcome the schedule starts again at 1 s.
    let before = reconnect_delays(net.c(0)).len();
    net.cut(0);
    let after = reconnect_delays(net.c(0));
    assert_eq!(after.len(), before + 1);
    assert!(after[before] <= secs(1), "{:?}", after[before]);
}

#[test]
fn gives_up_after_max_attempts() {
    let mut cfg = config("a", "ca");
    cfg.backoff.max_attempts = Some(3);
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    connect_and_join(&mut net, 0, "r");
    let op = net.publish(0, "r", "x");
    net.c(0).s2c.clear();
    net.c(0).c2s.clear();
    net.stop_server();
    net.advance(secs(120));
    assert_eq!(net.c(0).m.state(), ConnectionState::Closed);
    assert!(
        matches!(
            net.c(0).result(op),
            Some(Err(Error::GaveUp { attempts: 3 }))
        ),
        "{:?}",
        net.c(0).result(op)
    );
}

#[test]
fn reconnect_now_skips_the_wait() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    net.stop_server();
    net.advance(secs(20));
    assert!(matches!(
        net.c(0).m.state(),
        ConnectionState::Reconnecting { .. }
    ));
    net.start_server();
    let now = net.now;
    net.c(0).m.reconnect_now(now);
    net.settle();
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
    assert!(net.c(0).m.is_joined("r"), "rooms are rejoined");
}

fn client_pings(net: &Net) -> usize {
    net.server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Ping(p) if p.ref_id.is_some()))
        .count()
}

/// Steps the clock 100 ms at a time (at most `steps` times), dropping everything client 0
/// sends, until its connection is declared dead; returns how long that took.
fn silent_until_dead(net: &mut Net, steps: usize) -> Duration {
    let start = net.now;
    for _ in 0..steps {
        net.c(0).c2s.clear();
        net.now += Duration::from_millis(100);
        let now = net.now;
        if net.c(0).timeout.is_some_and(|t| t <= now) {
            net.c(0).m.handle_timeout(now);
        }
        net.service(0);
        if net.c(0).m.state() != ConnectionState::Connected {
            return now - start;
        }
    }
    panic!("still connected after {steps} steps of silence");
}

#[test]
fn reconnect_now_probes_a_live_connection() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    let before = client_pings(&net);
    let now = net.now;
    net.c(0).m.reconnect_now(now);
    net.settle();
    assert_eq!(client_pings(&net), before + 1, "a ping at once");
    net.advance(secs(6));
    assert_eq!(
        net.c(0).m.state(),
        ConnectionState::Connected,
        "the pong answered the probe"
    );

    // Probed again, and nothing reaches the server any more: dead after the probe's
    // timeout, long before the heartbeat (25 s) and its 10 s grace.
    let start = net.now;
    net.c(0).m.reconnect_now(start);
    let dead_at = silent_until_dead(&mut net, 100);
    assert!(
        dead_at >= roomcast_core::machine::PROBE_TIMEOUT
            && dead_at <= roomcast_core::machine::PROBE_TIMEOUT + Duration::from_millis(100),
        "{dead_at:?}"
    );
}

#[test]
fn heartbeat_pings_and_declares_silence_dead() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    net.server.heartbeat_ms = 1000;
    connect_and_join(&mut net, 0, "r");
    net.advance(Duration::from_millis(1000));
    let pings = net
        .server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Ping(p) if p.ref_id.is_some()))
        .count();
    assert_eq!(pings, 1);
    assert_eq!(
        net.c(0).m.state(),
        ConnectionState::Connected,
        "pongs keep it alive"
    );

    // The server stops answering: silence for heartbeat + 10 s kills the connection.
    let (conn, _) = net.c(0).conn.expect("connected");
    let dead_at = silent_until_dead(&mut net, 200);
    assert!(
        dead_at >= secs(11) && dead_at <= secs(11) + Duration::from_millis(100),
        "{dead_at:?}"
    );
    let closed = net
        .c(0)
        .actions
        .iter()
        .any(|a| matches!(a, Action::Close { conn: c, .. } if *c == conn));
    assert!(closed, "the dead socket is closed");
}

#[test]
fn answers_server_pings() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    net.c(0).s2c.push_back(r#"{"type":"ping"}"#.into());
    net.settle();
    assert!(net
        .server
        .received
        .iter()
        .any(|f| matches!(f, ClientFrame::Pong(p) if p.ref_id.is_none())));
}

#[test]
fn refreshes_the_token_before_it_expires() {
    let mut net = with_provider(120_000);
    assert_eq!(
        net.c(0).token_fetches,
        0,
        "the configured token is used first"
    );
    // 120 s lifetime: refresh 30 s before expiry (10% would be less than the 30 s minimum).
    net.advance(secs(89));
    assert_eq!(net.c(0).token_fetches, 0);
    net.advance(secs(2));
    assert_eq!(net.c(0).token_fetches, 1);
    let refreshes = net
        .server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Refresh(_)))
        .count();
    assert_eq!(refreshes, 1);
    // The next refresh is scheduled from the new expiry.
    net.advance(secs(90));
    assert_eq!(net.c(0).token_fetches, 2);
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
}

#[test]
fn unauthorized_close_asks_the_provider_for_a_fresh_token() {
    let mut cfg = config("a", "ca");
    cfg.token_provider = true;
    cfg.token = Some("expired".into());
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    net.c(0).token_answer = Some(Ok(Some("ok:a".into())));
    let now = net.now;
    let op = net.c(0).m.connect(now);
    net.settle();
    // The server refused the token; it would close with 4001.
    let conn = net.c(0).conn.map(|(c, _)| c).expect("socket");
    assert!(net
        .c(0)
        .events
        .iter()
        .any(|e| matches!(e, Event::Error(Error::Unauthorized(_)))));
    let now = net.now;
    net.c(0).m.handle_close(now, conn, Some(4001));
    net.c(0).conn = None;
    net.service(0);
    net.advance(secs(2));
    assert_eq!(net.c(0).token_fetches, 1);
    assert!(
        matches!(net.c(0).result(op), Some(Ok(Reply::Connected))),
        "{:?}",
        net.c(0).result(op)
    );
}

fn refresh_frames(net: &Net) -> usize {
    net.server
        .received
        .iter()
        .filter(|f| matches!(f, ClientFrame::Refresh(_)))
        .count()
}

#[test]
fn short_lived_tokens_are_refreshed_in_time_at_a_bounded_rate() {
    let mut net = with_provider(3_000);
    // 30 s of 3 s tokens, publishing every second: each token is refreshed halfway through
    // its life (1.5 s), never later than its expiry, never in a loop.
    let mut last_refresh = net.now;
    let mut refreshes = 0;
    for i in 0..300 {
        net.advance(Duration::from_millis(100));
        if i % 10 == 0 {
            net.publish(0, "r", &format!("m{i}"));
        }
        let n = refresh_frames(&net);
        if n > refreshes {
            assert!(net.now - last_refresh < secs(3), "refreshed before expiry");
            last_refresh = net.now;
            refreshes = n;
        }
    }
    net.settle();
    let fetches = net.c(0).token_fetches;
    assert!(
        (18..=22).contains(&fetches),
        "{fetches} provider calls in 30 s"
    );
    assert_eq!(refresh_frames(&net), fetches as usize);
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
    assert_eq!(net.c(0).m.queued(), 0, "every publish acked");
}

#[test]
fn a_provider_of_expiring_tokens_cannot_make_refresh_loop() {
    let mut cfg = config("a", "ca");
    cfg.token_provider = true;
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    // Every token the server sees has 500 ms left: a cache handing back a stale token.
    net.server.token_ttl_ms = Some(500);
    net.c(0).token_answer = Some(Ok(Some("ok:a".into())));
    connect_and_join(&mut net, 0, "r");
    net.advance(secs(60));
    // Intervals double from 1 s up to 60 s: 1 + 2 + 4 + 8 + 16 + 32 > 60 after 6 calls.
    let fetches = net.c(0).token_fetches;
    assert!(
        (4..=8).contains(&fetches),
        "{fetches} provider calls in 60 s"
    );

    // A provider that fails is asked again at the same growing intervals.
    net.c(0).token_answer = Some(Err("offline".into()));
    let before = net.c(0).token_fetches;
    net.advance(secs(120));
    let fetches = net.c(0).token_fetches - before;
    assert!(
        fetches <= 3,
        "{fetches} calls to a failing provider in 120 s"
    );
}

#[test]
fn a_rejected_token_settles_every_pending_operation() {
    let mut cfg = config("a", "ca");
    cfg.token = Some("revoked".into());
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    let now = net.now;
    let connect = net.c(0).m.connect(now);
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.settle();
    let conn = net.c(0).conn.map(|(c, _)| c).expect("socket");
    let now = net.now;
    net.c(0).m.handle_close(now, conn, Some(4001));
    net.service(0);
    assert_eq!(net.c(0).m.state(), ConnectionState::Unauthorized);
    for op in [connect, join] {
        assert!(
            matches!(net.c(0).result(op), Some(Err(Error::Unauthorized(_)))),
            "{:?}",
            net.c(0).result(op)
        );
    }
    // Calls made while unauthorized fail at once: nothing they would wait for can come.
    let now = net.now;
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.service(0);
    assert!(matches!(
        net.c(0).result(join),
        Some(Err(Error::Unauthorized(_)))
    ));
    // A new token and reconnect_now leave the state; a join then waits for its answer.
    net.c(0).m.set_token(now, "ok:a".into());
    net.c(0).m.reconnect_now(now);
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.c(0).conn = None;
    net.settle();
    assert!(matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))));
}

#[test]
fn a_room_joined_before_is_kept_and_its_queue_settled_when_unauthorized() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    net.cut(0);
    let op = net.publish(0, "r", "queued");
    // The reconnect finds the token revoked.
    let now = net.now;
    net.c(0).m.set_token(now, "revoked".into());
    net.advance(secs(2));
    let conn = net.c(0).conn.map(|(c, _)| c).expect("socket");
    let now = net.now;
    net.c(0).m.handle_close(now, conn, Some(4001));
    net.c(0).conn = None;
    net.service(0);
    assert_eq!(net.c(0).m.state(), ConnectionState::Unauthorized);
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::Unauthorized(_)))
    ));
    let now = net.now;
    net.c(0).m.set_token(now, "ok:a".into());
    net.c(0).m.reconnect_now(now);
    net.settle();
    assert!(net.c(0).m.is_joined("r"), "rejoined with the new token");
}

#[test]
fn unauthorized_without_a_provider_stops() {
    let mut cfg = config("a", "ca");
    cfg.token = Some("expired".into());
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    let now = net.now;
    let op = net.c(0).m.connect(now);
    net.settle();
    let conn = net.c(0).conn.map(|(c, _)| c).expect("socket");
    let now = net.now;
    net.c(0).m.handle_close(now, conn, Some(4001));
    net.service(0);
    assert_eq!(net.c(0).m.state(), ConnectionState::Unauthorized);
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::Unauthorized(_)))
    ));
    net.advance(secs(120));
    assert_eq!(
        net.c(0).m.state(),
        ConnectionState::Unauthorized,
        "no retries"
    );
    // A new token and reconnect_now bring it back.
    net.c(0).conn = None;
    let now = net.now;
    net.c(0).m.set_token(now, "ok:a".into());
    net.c(0).m.reconnect_now(now);
    net.settle();
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
}

#[test]
fn offline_queue_flushes_in_order_with_the_same_ids() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    net.stop_server();
    let ops: Vec<OpId> = (0..5)
        .map(|i| net.publish(0, "r", &format!("m{i}")))
        .collect();
    assert_eq!(net.c(0).m.queued(), 5);
    assert!(
        ops.iter().all(|op| net.c(0).result(*op).is_none()),
        "queued, not failed"
    );
    net.start_server();
    net.advance(secs(3));
    for (i, op) in ops.iter().enumerate() {
        match net.c(0).result(*op) {
            Some(Ok(Reply::Published(ack))) => assert_eq!(ack.seq, Some(i as u64 + 1)),
            other => panic!("{other:?}"),
        }
    }
    let ids: Vec<&str> = net.c(1).messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(net.c(0).m.queued(), 0);
}

#[test]
fn publish_lost_in_flight_is_resent_and_stored_once() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    let op = net.publish(0, "r", "once");
    // The server stores it, but the ack is lost with the connection.
    assert!(net.deliver_up(0));
    net.c(0).s2c.clear();
    net.cut(0);
    net.advance(secs(2));
    match net.c(0).result(op) {
        Some(Ok(Reply::Published(ack))) => assert_eq!(ack.seq, Some(1)),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.server.rooms["r"].log.len(), 1, "stored once");
    assert_eq!(net.c(1).messages.len(), 1, "delivered once");
    assert!(
        net.c(0).messages.is_empty(),
        "own message not shown back on resume"
    );
}

#[test]
fn queue_full_is_an_error_not_a_silent_drop() {
    let mut cfg = config("a", "ca");
    cfg.queue_capacity = 3;
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    connect_and_join(&mut net, 0, "r");
    net.stop_server();
    let ops: Vec<OpId> = (0..4)
        .map(|i| net.publish(0, "r", &format!("m{i}")))
        .collect();
    assert!(matches!(
        net.c(0).result(ops[3]),
        Some(Err(Error::QueueFull { capacity: 3 }))
    ));
    assert_eq!(net.c(0).m.queued(), 3);
}

#[test]
fn ephemeral_fails_at_once_offline_and_is_not_queued() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    let now = net.now;
    let req = PublishRequest {
        room: "r".into(),
        id: "t1".into(),
        event: "typing".into(),
        data: json!(true).into(),
        ephemeral: true,
        stream: false,
    };
    let op = net.c(0).m.publish(now, req.clone());
    net.settle();
    match net.c(0).result(op) {
        Some(Ok(Reply::Published(ack))) => assert_eq!(ack.seq, None),
        other => panic!("{other:?}"),
    }
    assert_eq!(net.c(1).messages.last().map(|m| m.seq), Some(None));
    net.stop_server();
    let op = net.c(0).m.publish(
        now,
        PublishRequest {
            id: "t2".into(),
            ..req
        },
    );
    net.service(0);
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::NotConnected))
    ));
    assert_eq!(net.c(0).m.queued(), 0);
}

#[test]
fn bad_requests_fail_with_clear_errors() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    let now = net.now;
    let big = PublishRequest {
        room: "r".into(),
        id: "big".into(),
        event: "e".into(),
        data: json!("x".repeat(70_000)).into(),
        ephemeral: false,
        stream: false,
    };
    let op = net.c(0).m.publish(now, big);
    let not_joined = net.c(0).m.publish(
        now,
        PublishRequest {
            room: "other".into(),
            id: "1".into(),
            event: "e".into(),
            data: json!(null).into(),
            ephemeral: false,
            stream: false,
        },
    );
    let bad_room = net.c(0).m.join(now, "no spaces", JoinOptions::default());
    net.server.forbidden.insert("secret".into());
    let forbidden = net.c(0).m.join(now, "secret", JoinOptions::default());
    net.settle();
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::TooLarge { max: 65536, .. }))
    ));
    assert!(matches!(net.c(0).result(not_joined), Some(Err(Error::NotJoined(r))) if r == "other"));
    assert!(matches!(
        net.c(0).result(bad_room),
        Some(Err(Error::InvalidRoom(_)))
    ));
    assert!(matches!(
        net.c(0).result(forbidden),
        Some(Err(Error::Forbidden(_)))
    ));
    assert!(!net.c(0).m.is_joined("secret"));
    assert_eq!(
        net.c(0).m.state(),
        ConnectionState::Connected,
        "nothing closed the connection"
    );
}

#[test]
fn malformed_server_frames_are_reported_and_ignored() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    for bad in [
        "not json",
        r#"{"type":"message"}"#,
        r#"{"type":"from_the_future","x":1}"#,
    ] {
        net.c(0).s2c.push_back(bad.into());
    }
    net.settle();
    let protocol_errors = net
        .c(0)
        .events
        .iter()
        .filter(|e| matches!(e, Event::Error(Error::Protocol(_))))
        .count();
    assert_eq!(
        protocol_errors, 2,
        "unknown types are ignored silently, malformed ones reported"
    );
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
}

#[test]
fn resume_replays_only_what_was_missed() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    net.publish(0, "r", "m1");
    net.settle();
    net.cut(1);
    net.publish(0, "r", "m2");
    net.publish(0, "r", "m3");
    net.settle();
    net.advance(secs(2));
    let ids: Vec<&str> = net.c(1).messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
    let joins: Vec<_> = net
        .server
        .received
        .iter()
        .filter_map(|f| match f {
            ClientFrame::Join(j) if j.room == "r" => Some((j.since, j.epoch.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(joins.last(), Some(&(Some(1), Some("e1".to_string()))));
}

/// Client `a` with a token provider that answers at once, connected and joined to `r`, on a
/// server whose tokens live `ttl_ms`.
fn with_provider(ttl_ms: u64) -> Net {
    let mut cfg = config("a", "ca");
    cfg.token_provider = true;
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    net.server.token_ttl_ms = Some(ttl_ms);
    net.c(0).token_answer = Some(Ok(Some("ok:a".into())));
    connect_and_join(&mut net, 0, "r");
    net
}

/// Clients `a` (0) and `b` (1) on one simulated server.
fn pair() -> Net {
    Net::new(vec![
        Client::new(config("a", "ca"), 1),
        Client::new(config("b", "cb"), 2),
    ])
}

fn gaps(c: &Client) -> Vec<roomcast_core::machine::Gap> {
    c.events
        .iter()
        .filter_map(|e| match e {
            Event::Gap(g) => Some(g.clone()),
            _ => None,
        })
        .collect()
}

fn seqs(c: &Client) -> Vec<u64> {
    c.messages.iter().filter_map(|m| m.seq).collect()
}

/// `seqs` is exactly 1..=last.
fn assert_contiguous(seqs: &[u64], last: u64) {
    let wrong = seqs
        .iter()
        .zip(1..)
        .find(|(&seq, want)| seq != *want)
        .map(|(seq, want)| (want, *seq));
    assert_eq!(wrong, None, "(expected, got) at the first difference");
    assert_eq!(seqs.len() as u64, last, "count");
}

fn history_requests(net: &Net) -> Vec<(Option<u64>, Option<u32>)> {
    net.server
        .received
        .iter()
        .filter_map(|f| match f {
            ClientFrame::History(h) => Some((h.before, h.limit)),
            _ => None,
        })
        .collect()
}

#[test]
fn resume_past_the_replay_limit_pages_the_rest_in() {
    let mut net = pair();
    net.server.replay_limit = 2;
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    net.publish(0, "r", "m0");
    net.settle();
    net.cut(1);
    for i in 1..1200 {
        net.publish(0, "r", &format!("m{i}"));
        if i % 100 == 0 {
            net.settle();
        }
    }
    net.settle();
    net.advance(secs(2));
    assert!(gaps(net.c(1)).is_empty(), "{:?}", gaps(net.c(1)));
    assert_contiguous(&seqs(net.c(1)), 1200);
    // Paged from the position up to the replayed ones, at most 500 at a time.
    assert_eq!(
        history_requests(&net),
        [
            (Some(502), Some(500)),
            (Some(1002), Some(500)),
            (Some(1199), Some(197))
        ]
    );
    assert_eq!(net.c(1).m.held_bytes(), 0);

    // Live messages meanwhile wait behind the paged ones.
    net.cut(1);
    for i in 1200..1210 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    net.advance(secs(2));
    let now = net.now;
    net.c(0).m.publish(
        now,
        PublishRequest {
            room: "r".into(),
            id: "live".into(),
            event: "chat.message".into(),
            data: json!(1).into(),
            ephemeral: false,
            stream: false,
        },
    );
    net.settle();
    assert_contiguous(&seqs(net.c(1)), 1211);
}

#[test]
fn a_stored_position_without_epoch_resumes_in_the_current_epoch() {
    let mut net = pair();
    net.server.replay_limit = 4;
    connect_and_join(&mut net, 0, "r");
    for i in 0..30 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    let now = net.now;
    net.c(1).m.connect(now);
    let since_10 = JoinOptions {
        since: Some(10),
        ..JoinOptions::default()
    };
    net.c(1).m.join(now, "r", since_10);
    net.settle();
    assert!(gaps(net.c(1)).is_empty());
    assert_eq!(seqs(net.c(1)), (11..=30).collect::<Vec<_>>());
    assert_eq!(net.c(1).m.position("r"), Some((30, Some("e1"))));
}

#[test]
fn latest_mode_takes_the_newest_and_reports_a_gap() {
    let mut net = pair();
    net.server.replay_limit = 2;
    connect_and_join(&mut net, 0, "r");
    let now = net.now;
    net.c(1).m.connect(now);
    let latest = JoinOptions {
        resume: ResumeMode::Latest,
        ..JoinOptions::default()
    };
    net.c(1).m.join(now, "r", latest);
    net.settle();
    net.cut(1);
    for i in 0..5 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    net.advance(secs(2));
    let gap = gaps(net.c(1)).first().cloned().expect("gap reported");
    assert_eq!((gap.since, gap.head), (Some(0), 5));
    assert_eq!(seqs(net.c(1)), [4, 5], "the newest replay-limit messages");
    assert!(history_requests(&net).is_empty());
}

#[test]
fn reset_history_is_a_gap_and_positions_restart() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    for i in 0..5 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    net.cut(1);
    net.server.epoch = "e2".into();
    net.advance(secs(2));
    let gaps = gaps(net.c(1));
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].previous_epoch.as_deref(), Some("e1"));
    assert_eq!(net.c(1).m.position("r"), Some((5, Some("e2"))));
}

#[test]
fn messages_gone_from_the_server_are_the_only_gap() {
    let mut net = pair();
    net.server.replay_limit = 3;
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    net.cut(1);
    for i in 0..20 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    // Retention removed seqs 1..=6 while client 1 was away.
    net.server.retained_from = 7;
    net.advance(secs(2));
    let gaps = gaps(net.c(1));
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!((gaps[0].since, gaps[0].head), (Some(0), 6));
    assert_eq!(seqs(net.c(1)), (7..=20).collect::<Vec<_>>());
}

#[test]
fn a_full_hold_buffer_bounds_memory_and_loses_nothing() {
    let mut b = config("b", "cb");
    b.hold_bytes = 600; // about three messages
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1), Client::new(b, 2)]);
    net.server.replay_limit = 50;
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    net.cut(1);
    for i in 0..40 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    let mut held_max = 0;
    for _ in 0..40 {
        net.advance(Duration::from_millis(100));
        held_max = held_max.max(net.c(1).m.held_bytes());
    }
    assert!(held_max <= 600, "{held_max}");
    assert!(gaps(net.c(1)).is_empty());
    assert_eq!(seqs(net.c(1)), (1..=40).collect::<Vec<_>>());
}

#[test]
fn suspended_delivery_is_paged_in_on_resume() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    net.publish(0, "r", "before");
    net.settle();
    net.c(1).m.suspend_delivery("r");
    for i in 0..30 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    assert_eq!(seqs(net.c(1)), [1], "nothing delivered while suspended");
    let now = net.now;
    net.c(1).m.resume_delivery(now, "r");
    net.settle();
    assert_eq!(seqs(net.c(1)), (1..=31).collect::<Vec<_>>());
    assert!(gaps(net.c(1)).is_empty());
}

#[test]
fn history_pages_and_times_out() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    for i in 0..5 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    let now = net.now;
    let op = net.c(0).m.history(now, "r", Some(5), 2);
    net.settle();
    match net.c(0).result(op) {
        Some(Ok(Reply::History(page))) => {
            let seqs: Vec<_> = page.messages.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, [Some(3), Some(4)]);
            assert!(page.more);
        }
        other => panic!("{other:?}"),
    }
    // No answer within the request timeout.
    let now = net.now;
    let op = net.c(0).m.history(now, "r", None, 10);
    net.service(0);
    net.c(0).c2s.clear();
    net.advance(secs(11));
    assert!(matches!(net.c(0).result(op), Some(Err(Error::Timeout))));
    let now = net.now;
    net.stop_server();
    let op = net.c(0).m.history(now, "r", None, 10);
    net.service(0);
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::NotConnected))
    ));
}

#[test]
fn pause_and_resume_keep_rooms_and_queue() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    let now = net.now;
    net.c(0).m.pause(now);
    net.settle();
    assert_eq!(net.c(0).m.state(), ConnectionState::Paused);
    let op = net.publish(0, "r", "while-paused");
    net.advance(secs(120));
    assert_eq!(
        net.c(0).m.state(),
        ConnectionState::Paused,
        "no reconnect while paused"
    );
    assert!(net.c(0).result(op).is_none());
    let now = net.now;
    net.c(0).m.resume(now);
    net.settle();
    assert!(matches!(net.c(0).result(op), Some(Ok(Reply::Published(_)))));
    assert_eq!(net.c(1).messages.len(), 1);
}

#[test]
fn close_fails_everything_pending() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    net.stop_server();
    let op = net.publish(0, "r", "x");
    let now = net.now;
    net.c(0).m.close(now);
    net.service(0);
    assert!(matches!(net.c(0).result(op), Some(Err(Error::Closed))));
    assert_eq!(net.c(0).m.state(), ConnectionState::Closed);
    assert_eq!(net.c(0).timeout, None);
    let op = net.publish(0, "r", "y");
    assert!(matches!(net.c(0).result(op), Some(Err(Error::Closed))));
}

#[test]
fn leave_stops_messages_and_fails_queued_publishes() {
    let mut net = pair();
    connect_and_join(&mut net, 0, "r");
    connect_and_join(&mut net, 1, "r");
    let now = net.now;
    let op = net.c(1).m.leave(now, "r");
    net.settle();
    assert!(matches!(net.c(1).result(op), Some(Ok(Reply::Left))));
    net.publish(0, "r", "after-leave");
    net.settle();
    assert!(net.c(1).messages.is_empty());
    assert!(net
        .c(0)
        .events
        .iter()
        .any(|e| matches!(e, Event::Presence(_))));
}

#[test]
fn rejoin_refused_drops_the_room_and_says_so() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    net.stop_server();
    let op = net.publish(0, "r", "x");
    net.server.forbidden.insert("r".into());
    net.start_server();
    net.advance(secs(2));
    assert!(net
        .c(0)
        .events
        .iter()
        .any(|e| matches!(e, Event::RoomLost { room, error: Error::Forbidden(_) } if room == "r")));
    assert!(matches!(
        net.c(0).result(op),
        Some(Err(Error::Forbidden(_)))
    ));
}

#[test]
fn server_error_on_publish_keeps_passing_failures_queued() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    let op = net.publish(0, "r", "x");
    let ref_id = match ClientFrame::decode(net.c(0).c2s.pop_front().as_deref().unwrap_or("")) {
        Ok(ClientFrame::Publish(p)) => p.ref_id,
        other => panic!("{other:?}"),
    };
    let frame = ServerFrame::Error(roomcast_core::protocol::ErrorFrame {
        ref_id: Some(ref_id),
        code: ErrorCode::Internal,
        message: "disk".into(),
    });
    net.c(0).s2c.push_back(frame.encode());
    net.settle();
    assert!(net.c(0).result(op).is_none(), "still queued");
    net.advance(secs(2));
    assert!(matches!(net.c(0).result(op), Some(Ok(Reply::Published(_)))));
}

#[test]
fn stale_socket_events_are_ignored() {
    let mut net = Net::new(vec![Client::new(config("a", "ca"), 1)]);
    connect_and_join(&mut net, 0, "r");
    let (old, _) = net.c(0).conn.expect("connected");
    net.cut(0);
    net.advance(secs(2));
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
    let now = net.now;
    net.c(0).m.handle_close(now, old, Some(1001));
    net.c(0).m.handle_frame(now, old, r#"{"type":"message","room":"r","seq":99,"id":"x","event":"e","data":1,"from":{"user":"u","client":"c","source":"s"},"ts":1}"#);
    net.service(0);
    assert_eq!(net.c(0).m.state(), ConnectionState::Connected);
    assert!(net.c(0).messages.is_empty());
}
