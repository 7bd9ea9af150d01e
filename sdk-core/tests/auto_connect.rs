//! A client used before `connect()` connects by itself: the first join, persisted publish or
//! history on a client never connected starts the same attempt `connect()` would, and every
//! operation ends as it would have after `connect()`. On the virtual clock.

mod support;

use std::time::Duration;

use roomcast_core::machine::{Action, ConnectionState, Error, JoinOptions, Reply};
use support::{config, Client, Net};

fn connects(c: &Client) -> usize {
    c.actions
        .iter()
        .filter(|a| matches!(a, Action::Connect { .. }))
        .count()
}

fn states(c: &Client) -> Vec<ConnectionState> {
    c.events
        .iter()
        .filter_map(|e| match e {
            roomcast_core::machine::Event::State(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn one() -> Net {
    Net::new(vec![Client::new(config("a", "ca"), 1)])
}

#[test]
fn join_without_connect_connects_joins_and_publishes() {
    let mut net = one();
    let now = net.now;
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.settle();
    assert!(
        matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))),
        "{:?}",
        net.c(0).result(join)
    );
    assert_eq!(connects(net.c(0)), 1);
    // The same transitions as after connect().
    assert_eq!(
        states(net.c(0)),
        [
            ConnectionState::Connecting { attempt: 0 },
            ConnectionState::Connected
        ]
    );
    let op = net.publish(0, "r", "m1");
    net.settle();
    assert!(matches!(net.c(0).result(op), Some(Ok(Reply::Published(_)))));
}

#[test]
fn connect_after_an_automatic_attempt_attaches_to_it() {
    let mut net = one();
    let now = net.now;
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.service(0);
    // connect() while that attempt is under way: no second socket, same handshake.
    let connect = net.c(0).m.connect(now);
    net.settle();
    assert_eq!(connects(net.c(0)), 1, "one socket");
    assert!(matches!(
        net.c(0).result(connect),
        Some(Ok(Reply::Connected))
    ));
    assert!(matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))));
    // And connect() at the same instant as the join, before it: also one socket.
    let mut net = one();
    let now = net.now;
    let connect = net.c(0).m.connect(now);
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.settle();
    assert_eq!(connects(net.c(0)), 1, "one socket");
    assert!(matches!(
        net.c(0).result(connect),
        Some(Ok(Reply::Connected))
    ));
    assert!(matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))));
}

#[test]
fn history_on_a_client_never_connected_gets_its_page() {
    let mut net = one();
    let now = net.now;
    net.c(0).m.join(now, "r", JoinOptions::default());
    net.settle();
    for i in 0..3 {
        net.publish(0, "r", &format!("m{i}"));
    }
    net.settle();
    // A second client that only reads history, never connected.
    net.clients.push(Client::new(config("b", "cb"), 2));
    let now = net.now;
    let op = net.c(1).m.history(now, "r", None, 10);
    net.settle();
    match net.c(1).result(op) {
        Some(Ok(Reply::History(page))) => assert_eq!(page.messages.len(), 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(connects(net.c(1)), 1);
}

#[test]
fn history_waiting_for_an_attempt_that_fails_is_not_connected() {
    let mut net = one();
    net.stop_server();
    let now = net.now;
    let op = net.c(0).m.history(now, "r", None, 10);
    net.settle();
    assert!(
        matches!(net.c(0).result(op), Some(Err(Error::NotConnected))),
        "{:?}",
        net.c(0).result(op)
    );
    // The join started meanwhile is held and completes once the server is back.
    let now = net.now;
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.settle();
    assert!(net.c(0).result(join).is_none(), "held while offline");
    net.start_server();
    net.advance(Duration::from_secs(5));
    assert!(matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))));
}

#[test]
fn a_rejected_token_fails_the_join_at_once() {
    let mut cfg = config("a", "ca");
    cfg.token = Some("revoked".into());
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    let now = net.now;
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    let history = net.c(0).m.history(now, "r", None, 10);
    net.settle();
    // The server refuses the token and closes with 4001, as the real one does.
    let conn = net.c(0).conn.map(|(c, _)| c).expect("socket");
    let now = net.now;
    net.c(0).m.handle_close(now, conn, Some(4001));
    net.service(0);
    assert_eq!(net.c(0).m.state(), ConnectionState::Unauthorized);
    for op in [join, history] {
        assert!(
            matches!(net.c(0).result(op), Some(Err(Error::Unauthorized(_)))),
            "{:?}",
            net.c(0).result(op)
        );
    }
}

#[test]
fn pause_before_anything_connects_nothing_until_resume() {
    let mut net = one();
    let now = net.now;
    net.c(0).m.pause(now);
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    let history = net.c(0).m.history(now, "r", None, 10);
    net.settle();
    net.advance(Duration::from_secs(60));
    assert_eq!(connects(net.c(0)), 0);
    assert!(net.c(0).result(join).is_none(), "the join is held");
    assert!(matches!(
        net.c(0).result(history),
        Some(Err(Error::NotConnected))
    ));
    let now = net.now;
    net.c(0).m.resume(now);
    net.settle();
    assert_eq!(connects(net.c(0)), 1);
    assert!(matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))));
}

#[test]
fn close_before_anything_connects_nothing_and_fails_later_calls() {
    let mut net = one();
    let now = net.now;
    net.c(0).m.close(now);
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    let history = net.c(0).m.history(now, "r", None, 10);
    net.settle();
    assert_eq!(connects(net.c(0)), 0);
    for op in [join, history] {
        assert!(matches!(net.c(0).result(op), Some(Err(Error::Closed))));
    }
}

#[test]
fn without_auto_connect_an_idle_client_fails_at_once() {
    let mut cfg = config("a", "ca");
    cfg.auto_connect = false;
    let mut net = Net::new(vec![Client::new(cfg, 1)]);
    let now = net.now;
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    let history = net.c(0).m.history(now, "r", None, 10);
    net.settle();
    assert_eq!(connects(net.c(0)), 0);
    for op in [join, history] {
        assert!(matches!(
            net.c(0).result(op),
            Some(Err(Error::NotConnected))
        ));
    }
    // connect() then works as always, and the join after it waits for the handshake.
    let now = net.now;
    net.c(0).m.connect(now);
    let join = net.c(0).m.join(now, "r", JoinOptions::default());
    net.settle();
    assert!(matches!(net.c(0).result(join), Some(Ok(Reply::Joined(_)))));
}
