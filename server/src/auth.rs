//! JWT (HS256) verification and minting, and the dev-mode secret.
//!
//! Claims: `sub` (required), `exp` (seconds; required unless in dev mode), optional `rooms`
//! (patterns with `*`, see [`roomcast_core::protocol::room_matches`]). No leeway: a token is
//! valid while `now < exp`, and a connection is closed at `exp` exactly (4001), so the
//! welcome's `token_exp` is the real deadline.
//!
//! An operator token also carries `"stats": true`: it may read the per-room detail of `/stats`
//! (room names, message counts, client sources), which anonymous callers do not see.

use std::io::Write;
use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use roomcast_core::protocol::room_matches;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::validate::now_ms;

/// File, in the data directory, holding the dev-mode secret.
pub const DEV_SECRET_FILE: &str = "dev-jwt-secret";

/// The claims Roomcast reads from a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Expiry, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Room patterns the token may join; `None` (no claim): every room. A `"rooms": null`
    /// claim is refused rather than read as "every room": an issuer that meant to limit the
    /// token and wrote null must not hand out every room.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "rooms_not_null"
    )]
    pub rooms: Option<Vec<String>>,
}

/// `rooms`, present: it must be an array (a missing claim is `None` through `default`).
fn rooms_not_null<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Vec::<String>::deserialize(d).map(Some)
}

impl Claims {
    /// Whether these claims allow `room`.
    pub fn permits(&self, room: &str) -> bool {
        match &self.rooms {
            None => true,
            Some(patterns) => patterns.iter().any(|p| room_matches(p, room)),
        }
    }

    /// Expiry in Unix milliseconds, as sent in `welcome` and `refreshed`.
    pub fn exp_ms(&self) -> Option<u64> {
        self.exp.map(|s| s.saturating_mul(1000))
    }
}

/// Why a token was refused.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("token expired")]
    Expired,
    #[error("token not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("the token is not an operator token (no \"stats\": true claim)")]
    NotOperator,
}

/// The claim that makes a token an operator's, read apart from [`Claims`] so that user
/// tokens and the code that mints them stay as they are.
#[derive(Deserialize)]
struct OperatorClaim {
    #[serde(default)]
    stats: bool,
}

/// What an operator token carries: the user claims plus `"stats": true`.
#[derive(Serialize)]
struct OperatorToken<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    stats: bool,
}

/// Problems setting up or using the secret.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("cannot read or write the dev secret {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the JWT secret is empty")]
    Empty,
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

/// Verifies tokens with one secret, and an identity provider's tokens with its keys.
#[derive(Clone)]
pub struct Auth {
    key: DecodingKey,
    validation: Validation,
    dev_mode: bool,
    idp: Option<std::sync::Arc<crate::jwks::Jwks>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("dev_mode", &self.dev_mode)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Verifier for `secret`; in dev mode `exp` is optional.
    pub fn new(secret: &str, dev_mode: bool) -> Result<Self, SecretError> {
        if secret.is_empty() {
            return Err(SecretError::Empty);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.validate_exp = true;
        // A token whose `nbf` (not before) is still ahead is not valid yet.
        validation.validate_nbf = true;
        if dev_mode {
            validation.set_required_spec_claims(&["sub"]);
        } else {
            validation.set_required_spec_claims(&["sub", "exp"]);
        }
        Ok(Auth {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            dev_mode,
            idp: None,
        })
    }

    /// Also accepts the tokens of an identity provider (see `jwks`).
    pub fn with_idp(mut self, idp: std::sync::Arc<crate::jwks::Jwks>) -> Self {
        self.idp = Some(idp);
        self
    }

    /// Checks a token of either kind: HS256 against the server's secret, any other algorithm
    /// against the identity provider's keys (none configured: refused).
    pub async fn verify_any(&self, token: &str) -> Result<Claims, AuthError> {
        let alg = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(e.to_string()))?
            .alg;
        match (alg, &self.idp) {
            (Algorithm::HS256, _) => self.verify(token),
            (_, Some(idp)) => idp.verify(token).await,
            (other, None) => Err(AuthError::Invalid(format!(
                "algorithm {other:?} is not accepted (HS256 only without --jwks-url)"
            ))),
        }
    }

    /// Whether tokens without `exp` are accepted.
    pub fn dev_mode(&self) -> bool {
        self.dev_mode
    }

    /// Checks a token's signature, algorithm and expiry and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => AuthError::NotYetValid,
                _ => AuthError::Invalid(e.to_string()),
            },
        )?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(AuthError::Invalid("empty sub".into()));
        }
        if let Some(exp) = claims.exp_ms() {
            if exp <= now_ms() {
                return Err(AuthError::Expired);
            }
        }
        Ok(claims)
    }

    /// Checks a token as [`Auth::verify`] does, and that it carries `"stats": true`.
    pub fn verify_operator(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = self.verify(token)?;
        let operator = jsonwebtoken::decode::<OperatorClaim>(token, &self.key, &self.validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        if operator.claims.stats {
            Ok(claims)
        } else {
            Err(AuthError::NotOperator)
        }
    }
}

/// Signs `claims` plus `"stats": true` with `secret`: an operator token (see [`Auth::verify_operator`]).
pub fn mint_operator(secret: &str, claims: &Claims) -> Result<String, SecretError> {
    sign(
        secret,
        &OperatorToken {
            claims,
            stats: true,
        },
    )
}

/// Signs `claims` with `secret` (HS256).
pub fn mint(secret: &str, claims: &Claims) -> Result<String, SecretError> {
    sign(secret, claims)
}

fn sign(secret: &str, claims: &impl Serialize) -> Result<String, SecretError> {
    if secret.is_empty() {
        return Err(SecretError::Empty);
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| SecretError::Sign(e.to_string()))
}

/// Reads `<data_dir>/dev-jwt-secret`, creating it (and the directory) with a fresh random
/// secret when missing.
pub fn load_or_create_dev_secret(data_dir: &Path) -> Result<String, SecretError> {
    let path = data_dir.join(DEV_SECRET_FILE);
    let io = |source| SecretError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(io)?;
    file.write_all(secret.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(secret)
}

/// The secret a server with this optional explicit secret uses, and whether that is dev mode.
pub fn resolve_secret(
    explicit: Option<&str>,
    data_dir: &Path,
) -> Result<(String, bool), SecretError> {
    match explicit {
        Some(s) if !s.is_empty() => Ok((s.to_string(), false)),
        Some(_) => Err(SecretError::Empty),
        None => Ok((load_or_create_dev_secret(data_dir)?, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::now_s;

    fn claims(exp: Option<u64>) -> Claims {
        Claims {
            sub: "u1".into(),
            exp,
            rooms: None,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let auth = Auth::new("s3cret", false).unwrap();
        let t = mint("s3cret", &claims(Some(now_s() + 60))).unwrap();
        assert_eq!(auth.verify(&t).unwrap().sub, "u1");
        let old = mint("s3cret", &claims(Some(now_s() - 10))).unwrap();
        assert!(matches!(auth.verify(&old), Err(AuthError::Expired)));
        let no_exp = mint("s3cret", &claims(None)).unwrap();
        assert!(auth.verify(&no_exp).is_err());
        let dev = Auth::new("s3cret", true).unwrap();
        assert!(dev.verify(&no_exp).is_ok());
        let other = mint("other", &claims(Some(now_s() + 60))).unwrap();
        assert!(auth.verify(&other).is_err());
        assert!(auth.verify("garbage").is_err());
    }

    #[test]
    fn nbf_and_null_rooms() {
        let auth = Auth::new("s3cret", false).unwrap();
        let sign = |v: serde_json::Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &v,
                &EncodingKey::from_secret(b"s3cret"),
            )
            .unwrap()
        };
        let exp = now_s() + 600;
        let later = sign(serde_json::json!({"sub":"u1","exp":exp,"nbf":now_s() + 300}));
        assert!(matches!(auth.verify(&later), Err(AuthError::NotYetValid)));
        let now = sign(serde_json::json!({"sub":"u1","exp":exp,"nbf":now_s() - 1}));
        assert!(auth.verify(&now).is_ok());
        let null = sign(serde_json::json!({"sub":"u1","exp":exp,"rooms":null}));
        assert!(matches!(auth.verify(&null), Err(AuthError::Invalid(_))));
        let none = sign(serde_json::json!({"sub":"u1","exp":exp}));
        assert_eq!(auth.verify(&none).unwrap().rooms, None);
        let some = sign(serde_json::json!({"sub":"u1","exp":exp,"rooms":["a-*"]}));
        assert!(auth.verify(&some).unwrap().permits("a-1"));
    }

    #[test]
    fn operator_tokens() {
        let auth = Auth::new("s3cret", false).unwrap();
        let op = mint_operator("s3cret", &claims(Some(now_s() + 60))).unwrap();
        assert_eq!(auth.verify_operator(&op).unwrap().sub, "u1");
        assert_eq!(auth.verify(&op).unwrap().sub, "u1");
        let user = mint("s3cret", &claims(Some(now_s() + 60))).unwrap();
        assert!(matches!(
            auth.verify_operator(&user),
            Err(AuthError::NotOperator)
        ));
        let forged = mint_operator("other", &claims(Some(now_s() + 60))).unwrap();
        assert!(matches!(
            auth.verify_operator(&forged),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn rooms_claim() {
        let mut c = claims(None);
        assert!(c.permits("anything"));
        c.rooms = Some(vec!["conv-*".into(), "lobby".into()]);
        assert!(c.permits("conv-1"));
        assert!(c.permits("lobby"));
        assert!(!c.permits("job-1"));
    }

    #[test]
    fn dev_secret_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_dev_secret(dir.path()).unwrap();
        let b = load_or_create_dev_secret(dir.path()).unwrap();
        assert_eq!(a, b);
        assert!(a.len() >= 32);
    }
}
