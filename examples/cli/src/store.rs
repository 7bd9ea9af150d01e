//! Where each command keeps its offline queue and room position between runs.
//!
//! By default one store per command, user and room under the user's data directory
//! (`$XDG_DATA_HOME/roomcast/stores` on Linux, `~/Library/Application Support/roomcast/stores`
//! on macOS), so `roomcast publish` and `roomcast chat` keep unsent messages across a kill and
//! `roomcast listen` continues after the last message it printed. A store keeps the client id
//! it was created with, so later runs are the same client to the server.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use roomcast_core::{Client, ClientBuilder, Error};

use crate::Connection;

/// The store a command runs with, if any.
pub(crate) fn dir(conn: &Connection, command: &str) -> Option<PathBuf> {
    if conn.no_store {
        return None;
    }
    if let Some(dir) = &conn.store {
        return Some(dir.clone());
    }
    let base = dirs::data_dir()?.join("roomcast").join("stores");
    let user = token_user(&conn.token).unwrap_or_else(|| "unknown".to_owned());
    Some(
        base.join(command)
            .join(component(&user))
            .join(component(&conn.room)),
    )
}

/// Builds the client on the store in `dir`; when another running process holds that store,
/// says so and builds one that keeps everything in memory. Without an explicit client id, the
/// store's own is used.
pub(crate) fn build(
    builder: impl Fn() -> ClientBuilder,
    dir: Option<&Path>,
    explicit_id: bool,
) -> Result<Client, Error> {
    let Some(dir) = dir else {
        return builder().build();
    };
    let stored = if explicit_id {
        builder()
    } else {
        builder().client_id(client_id(dir))
    };
    match stored.store(dir).build() {
        Err(Error::StoreLocked(at)) => {
            eprintln!(
                "-- the store {at} is in use by another roomcast process; this one keeps its \
                 queue in memory only"
            );
            builder().build()
        }
        Ok(client) => {
            if let Some(damage) = client.store_damage() {
                eprintln!("-- {damage}");
            }
            Ok(client)
        }
        Err(e) => Err(e),
    }
}

/// The client id kept in the store's directory (created on first use).
fn client_id(dir: &Path) -> String {
    let path = dir.join("client-id");
    if let Ok(id) = fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return id.to_owned();
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let _ = fs::create_dir_all(dir).and_then(|()| fs::write(&path, &id));
    id
}

/// The `sub` claim of a JWT, read without checking the signature (the server does that): it
/// only names the store.
fn token_user(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// A path component for any room or user name: unsafe bytes as `%XX`.
fn component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_components() {
        assert_eq!(component("chat:1/../x"), "chat%3A1%2F%2E%2E%2Fx");
        assert_eq!(component("plain-room_2"), "plain-room_2");
        assert_eq!(component(""), "%");
    }

    #[test]
    fn the_user_comes_from_the_token() {
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"alice","exp":1}"#);
        assert_eq!(
            token_user(&format!("h.{claims}.s")).as_deref(),
            Some("alice")
        );
        assert_eq!(token_user("not-a-jwt"), None);
    }
}
