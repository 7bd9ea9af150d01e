//! `wss://`: the native client over TLS (rustls, the OS's trust store) to the real server,
//! through a TLS-terminating proxy whose certificate a test CA signed (`e2e-tls-proxy`).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use roomcast_core::{Client, ConnectionState, RoomEvent};
use support::{collect, token, Server};

/// The `e2e-tls-proxy` process in front of a server. Killed when dropped.
struct TlsProxy {
    child: Child,
    port: u16,
    /// The test CA's certificate (DER), which no trust store has.
    ca_der: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl TlsProxy {
    fn start(upstream: std::net::SocketAddr) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_path = dir.path().join("ca.der");
        let mut child = Command::new(env!("CARGO_BIN_EXE_e2e-tls-proxy"))
            .arg(upstream.to_string())
            .arg(&ca_path)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start e2e-tls-proxy");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("proxy printed its address");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("proxy address in {line:?}"));
        let ca_der = std::fs::read(&ca_path).expect("CA certificate");
        Self {
            child,
            port,
            ca_der,
            _dir: dir,
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_through_a_private_ca_works_with_its_root_and_is_refused_without() {
    let server = Server::start();
    let proxy = TlsProxy::start(server.addr);
    let url = format!("wss://localhost:{}/ws", proxy.port);

    let secure = Client::builder(&url)
        .token(token("tls-user", Duration::from_secs(600), &[]))
        .add_root_certificate_der(proxy.ca_der.clone())
        .build()
        .expect("client");
    tokio::time::timeout(Duration::from_secs(20), secure.connect())
        .await
        .expect("in time")
        .expect("TLS handshake and hello");
    let room = secure.room("tls");
    let mut events = room.events();
    room.join().await.expect("join over TLS");

    let plain = Client::builder(server.ws_url())
        .token(token("plain", Duration::from_secs(600), &[]))
        .build()
        .expect("client");
    plain.connect().await.expect("connect");
    let other = plain.join("tls").await.expect("join");
    other
        .publish("chat.message", &serde_json::json!({"content": "over tls"}))
        .await
        .expect("ack");
    let got = collect(&mut events, 1, Duration::from_secs(20), |e| match e {
        RoomEvent::Message(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(
        got[0].data.decode::<serde_json::Value>().unwrap()["content"],
        "over tls"
    );

    // The same endpoint without the CA's root: neither the OS's store nor anything else
    // trusts it, the handshake fails, the client keeps retrying and never reports itself
    // connected.
    let untrusting = Client::builder(&url)
        .token(token("x", Duration::from_secs(600), &[]))
        .build()
        .expect("client");
    let connect = untrusting.clone();
    let attempt = tokio::spawn(async move { connect.connect().await });
    let mut states = untrusting.state_changes();
    tokio::time::timeout(
        Duration::from_secs(20),
        states.wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. })),
    )
    .await
    .expect("in time")
    .expect("state");
    assert!(
        !attempt.is_finished(),
        "connect() is still waiting, not connected"
    );
    untrusting.close().await.expect("close");
    let result = attempt.await.expect("task");
    assert!(result.is_err(), "{result:?}");
}
