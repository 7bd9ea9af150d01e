//! The native client used before `connect()`, against the real server: the first join or
//! history connects by itself, a rejected token fails the join promptly, and a client closed
//! before anything connects nothing.

mod support;

use std::time::{Duration, Instant};

use roomcast_core::{Client, Error};
use support::{client, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_history_and_publish_without_connect() {
    let server = Server::start();
    let writer = client(&server.ws_url(), "alice");
    let room = writer.join("auto").await.expect("joins without connect()");
    let ack = room.publish("n", &1).await.expect("acked");
    assert_eq!(ack.seq, Some(1));
    let reader = client(&server.ws_url(), "bob");
    let page = reader
        .room("auto")
        .history(None, 10)
        .await
        .expect("a page without connect()");
    assert_eq!(page.messages.len(), 1);
    // connect() now is the connection history made.
    reader.connect().await.expect("connect");
    writer.close().await.expect("close");
    reader.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_fails_the_join_promptly() {
    let server = Server::start();
    let c = Client::builder(server.ws_url())
        .token("not-a-token")
        .client_id("bad")
        .source("test")
        .build()
        .expect("client");
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(10), c.join("auto")).await;
    assert!(
        matches!(result, Ok(Err(Error::Unauthorized(_)))),
        "{:?}",
        result.map(|r| r.map(|room| room.name().to_owned()))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_before_anything_connects_nothing() {
    let server = Server::start();
    let c = client(&server.ws_url(), "carol");
    c.close().await.expect("close");
    let result = tokio::time::timeout(Duration::from_secs(2), c.join("auto")).await;
    assert!(matches!(result, Ok(Err(Error::Closed))));
}
