//! Tokens from an identity provider: RS256/384/512, ES256/384 and EdDSA JWTs verified with
//! the provider's keys, from a JWKS (`--jwks-url https://.../.well-known/jwks.json`, or a
//! file with `--jwks-file`).
//!
//! - Keys are cached by `kid`. A token with an unknown `kid` fetches the JWKS again, at most
//!   once per [`REFETCH_EVERY`] (so a flood of made-up kids costs one fetch per interval); a
//!   fetch that fails keeps the cached keys (tokens of known kids go on working; an unknown
//!   kid is refused with `unauthorized`). The set is also refreshed every [`MAX_AGE`].
//! - A fetch is bounded: [`FETCH_TIMEOUT`], [`MAX_JWKS_BYTES`], at most [`MAX_KEYS`] keys.
//! - The algorithm comes from the key, never from the token alone: a key is used only with
//!   the algorithm its JWK names (or its type implies), so an HS256 token "signed" with a
//!   public key, or `alg: none`, is refused. HS256 tokens are only ever checked against the
//!   server's own secret (`auth`).
//! - `iss` and `aud` are checked when configured; `exp` is required (no leeway); the user id
//!   and the room patterns are read from configurable claims (`--jwt-user-claim`, default
//!   `sub`; `--jwt-rooms-claim`, default `rooms`: an array of patterns, absent = every room).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::auth::{AuthError, Claims};

/// Least time between two fetches caused by unknown kids.
pub const REFETCH_EVERY: Duration = Duration::from_secs(10);
/// Cached keys are refreshed when older than this (on the next token that needs a fetch or
/// a verification).
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// Longest fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWKS document read.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Most keys kept.
pub const MAX_KEYS: usize = 64;

/// Where the keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// `http://` or `https://` (verified by the system's trust store).
    Url(String),
    File(PathBuf),
}

/// The identity provider's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpSettings {
    pub source: JwksSource,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub user_claim: String,
    pub rooms_claim: String,
    /// Least time between two fetches caused by unknown kids ([`REFETCH_EVERY`]).
    pub refetch_every: Duration,
}

struct Key {
    key: DecodingKey,
    alg: Algorithm,
}

/// The provider's keys and how to check its tokens.
pub struct Jwks {
    settings: IdpSettings,
    keys: RwLock<HashMap<String, Arc<Key>>>,
    /// When the keys were last fetched (successfully or not) and last loaded.
    fetched: Mutex<(Option<Instant>, Option<Instant>)>,
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The algorithm a JWK is for: its `alg`, or what its key type implies.
fn key_alg(jwk: &Jwk) -> Option<Algorithm> {
    let named = jwk
        .common
        .key_algorithm
        .and_then(|a| a.to_string().parse::<Algorithm>().ok());
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    };
    let alg = named.or(implied)?;
    // Symmetric keys never come from a JWKS, and a named alg must fit the key type.
    let fits = matches!(
        (&jwk.algorithm, alg),
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) | (
            AlgorithmParameters::EllipticCurve(_),
            Algorithm::ES256 | Algorithm::ES384
        ) | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
    );
    fits.then_some(alg)
}

/// Reads the keys of a JWKS document (keys without `kid`, of an unknown type, or meant for
/// encryption are skipped).
pub fn parse_jwks(text: &str) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = HashMap::new();
    for jwk in set.keys.iter().take(MAX_KEYS) {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(
            jwk.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        ) {
            continue;
        }
        let Some(alg) = key_alg(jwk) else {
            continue;
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(kid, (key, alg));
            }
            Err(e) => tracing::warn!(kid, error = %e, "JWKS key skipped"),
        }
    }
    Ok(keys)
}

impl Jwks {
    /// Loads the keys once (a failure is logged: the first token fetches again).
    pub async fn start(settings: IdpSettings) -> Arc<Self> {
        let jwks = Arc::new(Jwks {
            settings,
            keys: RwLock::new(HashMap::new()),
            fetched: Mutex::new((None, None)),
            fetching: tokio::sync::Mutex::new(()),
        });
        jwks.refresh().await;
        jwks
    }

    fn key(&self, kid: &str) -> Option<Arc<Key>> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .cloned()
    }

    /// Fetches the keys now (one fetch at a time); true when they were loaded.
    async fn refresh(&self) -> bool {
        let _one = self.fetching.lock().await;
        let loaded = match &self.settings.source {
            JwksSource::Url(url) => tokio::time::timeout(FETCH_TIMEOUT, fetch(url))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {FETCH_TIMEOUT:?}"))),
            JwksSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
        }
        .and_then(|text| parse_jwks(&text));
        let now = Instant::now();
        let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        fetched.0 = Some(now);
        match loaded {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "JWKS loaded");
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys
                    .into_iter()
                    .map(|(kid, (key, alg))| (kid, Arc::new(Key { key, alg })))
                    .collect();
                fetched.1 = Some(now);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS not loaded; keeping the keys cached");
                false
            }
        }
    }

    /// Whether a fetch may run now: none ran within [`REFETCH_EVERY`].
    fn may_fetch(&self) -> bool {
        let fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        fetched
            .0
            .is_none_or(|at| at.elapsed() >= self.settings.refetch_every)
    }

    fn stale(&self) -> bool {
        let fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        fetched.1.is_none_or(|at| at.elapsed() >= MAX_AGE)
    }

    /// Verifies a provider's token: its key by `kid`, the key's algorithm, `exp`, `nbf`,
    /// `iss` and `aud`; maps its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("the token has no kid".into()))?;
        if self.stale() && self.may_fetch() {
            self.refresh().await;
        }
        let key = match self.key(&kid) {
            Some(k) => k,
            None if self.may_fetch() && self.refresh().await => self
                .key(&kid)
                .ok_or_else(|| AuthError::Invalid(format!("unknown key id {kid:?}")))?,
            None => return Err(AuthError::Invalid(format!("unknown key id {kid:?}"))),
        };
        if header.alg != key.alg {
            return Err(AuthError::Invalid(format!(
                "algorithm {:?} does not match the key's {:?}",
                header.alg, key.alg
            )));
        }
        let mut validation = Validation::new(key.alg);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.settings.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.settings.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                _ => AuthError::Invalid(e.to_string()),
            })?;
        self.map_claims(&data.claims)
    }

    fn map_claims(&self, claims: &Map<String, Value>) -> Result<Claims, AuthError> {
        let user = claims
            .get(&self.settings.user_claim)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                AuthError::Invalid(format!(
                    "no user id in claim {:?}",
                    self.settings.user_claim
                ))
            })?;
        let rooms = match claims.get(&self.settings.rooms_claim) {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| AuthError::Invalid("room patterns must be strings".into()))?,
            ),
            Some(_) => {
                return Err(AuthError::Invalid(format!(
                    "claim {:?} must be an array of room patterns",
                    self.settings.rooms_claim
                )))
            }
        };
        let exp = claims.get("exp").and_then(Value::as_u64);
        let claims = Claims {
            sub: user.to_string(),
            exp,
            rooms,
        };
        if claims
            .exp_ms()
            .is_some_and(|exp| exp <= crate::validate::now_ms())
        {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }
}

/// GETs `url` (`http://` or `https://`), at most [`MAX_JWKS_BYTES`]; the body on 200.
async fn fetch(url: &str) -> Result<String, String> {
    use http_body_util::BodyExt;
    use hyper_util::rt::TokioIo;

    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(format!("{url}: not an http:// or https:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let target = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    };
    let tcp = tokio::net::TcpStream::connect(&target)
        .await
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = if tls {
        let stream = tls_connect(host, tcp).await?;
        send(TokioIo::new(stream), request).await?
    } else {
        send(TokioIo::new(tcp), request).await?
    };
    if response.status() != hyper::StatusCode::OK {
        return Err(format!("{url} answered {}", response.status()));
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading {url}: {e}"))?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| format!("{url}: not UTF-8"))
}

async fn send<T>(
    io: T,
    request: hyper::Request<http_body_util::Empty<bytes::Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP request: {e}"))
}

async fn tls_connect(
    host: &str,
    tcp: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    use rustls::pki_types::ServerName;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(Vec::new(), provider.clone())
            .map_err(|e| format!("TLS trust store: {e}"))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous() // The platform verifier: it verifies, it is not a bypass.
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))
}
