//! A TLS-terminating proxy for `wss://` tests: a certificate authority made on the spot, a
//! `localhost` / `127.0.0.1` server certificate it signs, TLS accepted on a free loopback
//! port and the plaintext forwarded to a real `roomcast-server`.
//!
//! Usage: `e2e-tls-proxy UPSTREAM_ADDR CA_DER_PATH`. Writes the CA certificate (DER) to
//! `CA_DER_PATH`, then prints `tls proxy listening on 127.0.0.1:PORT` and serves until
//! killed. The CA is in no trust store, so a client trusts the proxy only when given that
//! root: the Rust e2e suite and the FFI suite both check refusal without it and success with.

use std::error::Error;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// The CA's certificate (DER) and the server's chain and key, signed by it.
struct TestPki {
    ca_der: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn make_pki() -> Result<TestPki, rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Roomcast test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf.signed_by(&leaf_key, &ca)?;

    Ok(TestPki {
        ca_der: ca.der().to_vec(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(upstream), Some(ca_path)) = (args.next(), args.next()) else {
        return Err("usage: e2e-tls-proxy UPSTREAM_ADDR CA_DER_PATH".into());
    };
    let upstream: SocketAddr = upstream.parse()?;
    let pki = make_pki()?;
    std::fs::write(&ca_path, &pki.ca_der)?;

    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(pki.chain, pki.key)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "tls proxy listening on {}", listener.local_addr()?)?;
    stdout.flush()?;

    loop {
        let (tcp, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A client that refuses the certificate ends its handshake here: nothing to do.
            let (Ok(mut tls), Ok(mut plain)) = (
                acceptor.accept(tcp).await,
                TcpStream::connect(upstream).await,
            ) else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
        });
    }
}
