//! Tokens from an identity provider: ES256 keys generated here, a JWKS served by a local
//! HTTP server; issuer and audience, claim mapping, rotation (a new kid fetched), an
//! unreachable JWKS (cached keys still work, a new kid is refused), `alg: none` and
//! algorithm confusion refused, HS256 tokens of the server's secret still accepted.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use roomcast_server::jwks::{IdpSettings, JwksSource};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ISS: &str = "https://idp.test/";
const AUD: &str = "roomcast";

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An ES256 key: its JWK and a signer.
struct Key {
    kid: String,
    jwk: Value,
    signer: EncodingKey,
    public_pem: String,
}

fn key(kid: &str) -> Key {
    let pair = rcgen::KeyPair::generate().expect("key");
    let raw = pair.public_key_raw();
    assert_eq!((raw.len(), raw[0]), (65, 4), "an uncompressed P-256 point");
    Key {
        kid: kid.into(),
        jwk: json!({"kty":"EC","crv":"P-256","x":b64url(&raw[1..33]),"y":b64url(&raw[33..]),
                    "kid":kid,"alg":"ES256","use":"sig"}),
        signer: EncodingKey::from_ec_der(&pair.serialize_der()),
        public_pem: pair.public_key_pem(),
    }
}

fn now() -> u64 {
    roomcast_server::validate::now_s()
}

fn sign(k: &Key, claims: Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(k.kid.clone());
    jsonwebtoken::encode(&header, &claims, &k.signer).expect("sign")
}

fn good_claims(user: &str) -> Value {
    json!({"uid": user, "iss": ISS, "aud": AUD, "exp": now() + 600, "perms": ["support:*"]})
}

/// A JWKS over HTTP on loopback: the document can be changed, the server stopped.
struct Idp {
    addr: SocketAddr,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<Mutex<u32>>,
    task: tokio::task::JoinHandle<()>,
}

impl Idp {
    async fn start(keys: &[&Key]) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let jwks = Arc::new(Mutex::new(
            json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}),
        ));
        let fetches = Arc::new(Mutex::new(0));
        let (doc, count) = (Arc::clone(&jwks), Arc::clone(&fetches));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let body = doc.lock().expect("lock").to_string();
                *count.lock().expect("lock") += 1;
                tokio::spawn(async move {
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf).await;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(answer.as_bytes()).await;
                });
            }
        });
        Idp {
            addr,
            jwks,
            fetches,
            task,
        }
    }

    fn serve(&self, keys: &[&Key]) {
        *self.jwks.lock().expect("lock") =
            json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
    }

    fn fetches(&self) -> u32 {
        *self.fetches.lock().expect("lock")
    }
}

async fn status(server: &Server, room: &str, token: &str) -> u16 {
    server
        .http("GET", &format!("/rooms/{room}/messages"), Some(token), None)
        .await
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_an_identity_provider() {
    let k1 = key("k1");
    let idp = Idp::start(&[&k1]).await;
    let url = format!("http://{}/.well-known/jwks.json", idp.addr);
    let server = Server::start(move |c| {
        c.idp = Some(IdpSettings {
            source: JwksSource::Url(url),
            issuer: Some(ISS.into()),
            audience: Some(AUD.into()),
            user_claim: "uid".into(),
            rooms_claim: "perms".into(),
            refetch_every: Duration::from_millis(300),
        });
    })
    .await;

    // Claim mapping: the user from `uid`, the rooms from `perms`.
    let token = sign(&k1, good_claims("ann"));
    let mut c = Client::connect(server.addr).await;
    c.send(json!({"type":"hello","ref":1,"protocol":1,"token":token,"client":{"id":"c","source":"test"}}))
        .await;
    let welcome = c.expect("welcome").await;
    assert_eq!(welcome["user"], "ann");
    c.join(2, "support:1").await;
    c.send(json!({"type":"join","ref":3,"room":"sales"})).await;
    assert_eq!(c.expect("error").await["code"], "forbidden");
    assert_eq!(status(&server, "support:1", &token).await, 200);
    assert_eq!(status(&server, "sales", &token).await, 403);

    // Issuer, audience, expiry, a missing user claim.
    let mut wrong = good_claims("ann");
    wrong["iss"] = json!("https://evil.test/");
    assert_eq!(status(&server, "support:1", &sign(&k1, wrong)).await, 401);
    let mut wrong = good_claims("ann");
    wrong["aud"] = json!("other-app");
    assert_eq!(status(&server, "support:1", &sign(&k1, wrong)).await, 401);
    let mut wrong = good_claims("ann");
    wrong["exp"] = json!(now() - 1);
    assert_eq!(status(&server, "support:1", &sign(&k1, wrong)).await, 401);
    let mut wrong = good_claims("ann");
    wrong.as_object_mut().expect("object").remove("exp");
    assert_eq!(status(&server, "support:1", &sign(&k1, wrong)).await, 401);
    let mut wrong = good_claims("ann");
    wrong.as_object_mut().expect("object").remove("uid");
    assert_eq!(status(&server, "support:1", &sign(&k1, wrong)).await, 401);

    // alg none, and HS256 "signed" with the provider's public key: refused.
    let head = b64url(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let body = b64url(good_claims("ann").to_string().as_bytes());
    assert_eq!(
        status(&server, "support:1", &format!("{head}.{body}.")).await,
        401
    );
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    for secret in [k1.public_pem.as_bytes(), k1.jwk.to_string().as_bytes()] {
        let forged = jsonwebtoken::encode(
            &header,
            &good_claims("ann"),
            &EncodingKey::from_secret(secret),
        )
        .expect("sign");
        assert_eq!(status(&server, "support:1", &forged).await, 401);
    }
    // A token naming another algorithm than its key's.
    let mut header = Header::new(Algorithm::ES384);
    header.kid = Some("k1".into());
    let other = jsonwebtoken::encode(&header, &good_claims("ann"), &k1.signer);
    if let Ok(other) = other {
        assert_eq!(status(&server, "support:1", &other).await, 401);
    }
    // The server's own HS256 tokens still work.
    assert_eq!(status(&server, "sales", &server.token("bob")).await, 200);

    // Rotation: a new key is fetched when a token names it.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let k2 = key("k2");
    idp.serve(&[&k1, &k2]);
    let before = idp.fetches();
    assert_eq!(
        status(&server, "support:1", &sign(&k2, good_claims("ann"))).await,
        200
    );
    assert_eq!(idp.fetches(), before + 1, "one fetch for the new kid");
    // Unknown kids are bounded: a burst of them costs at most one fetch per interval.
    let k9 = key("k9");
    for _ in 0..5 {
        assert_eq!(
            status(&server, "support:1", &sign(&k9, good_claims("ann"))).await,
            401
        );
    }
    assert!(idp.fetches() <= before + 2, "{} fetches", idp.fetches());

    // The JWKS goes away: cached keys go on working, a new kid is refused.
    let Idp { task, .. } = idp;
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        status(&server, "support:1", &sign(&k1, good_claims("ann"))).await,
        200
    );
    let k3 = key("k3");
    assert_eq!(
        status(&server, "support:1", &sign(&k3, good_claims("ann"))).await,
        401
    );
    assert_eq!(
        status(&server, "support:1", &sign(&k2, good_claims("ann"))).await,
        200
    );
    server.stop().await;
}
