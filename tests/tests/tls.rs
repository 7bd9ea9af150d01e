//! `wss://`: the native client over TLS (rustls) to the real server, through a
//! TLS-terminating proxy with a certificate made for the test.

mod support;

use std::sync::Arc;
use std::time::Duration;

use roomcast_core::{Client, ConnectionState, RoomEvent};
use support::{collect, token, Server};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Accepts TLS on a loopback port and forwards the plaintext to `upstream`. The certificate
/// (DER) is returned for the client to trust.
async fn tls_proxy(upstream: std::net::SocketAddr) -> (u16, Vec<u8>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert_der = certified.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut plain)) = (
                    acceptor.accept(tcp).await,
                    TcpStream::connect(upstream).await,
                ) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, cert_der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_trusted_certificate_works_and_an_untrusted_one_is_refused() {
    let server = Server::start();
    let (port, cert) = tls_proxy(server.addr).await;
    let url = format!("wss://localhost:{port}/ws");

    let secure = Client::builder(&url)
        .token(token("tls-user", Duration::from_secs(600), &[]))
        .add_root_certificate_der(cert)
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

    // The same endpoint without trusting the certificate: the handshake fails, the client
    // keeps retrying and never reports itself connected.
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
