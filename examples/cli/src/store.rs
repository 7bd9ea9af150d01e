//! Where each command keeps its offline queue and room position between runs.
//!
//! By default one store per command, user and room under the user's data directory
//! (`$XDG_DATA_HOME/roomcast/stores` on Linux, `~/Library/Application Support/roomcast/stores`
//! on macOS), so `roomcast publish` and `roomcast chat` keep unsent messages across a kill and
//! `roomcast listen` continues after the last message it printed. A store keeps the client id
//! it was created with (in `client-id`, written to a temporary file, flushed and linked into
//! place, so a crash never leaves it half written and two first runs agree on one), so later
//! runs are the same client to the server.
//!
//! A default store's directory names are `{prefix}-{hash}` for the user and the room: the
//! prefix is the name's first 48 characters, lowercased, with anything but `a-z 0-9 - _` as
//! `_` (for people reading the directory), the hash 16 hex digits of the exact name's 64-bit
//! FNV-1a. So names that differ only in case (`Room`, `room`) get their own stores on
//! case-insensitive file systems too, and no name makes a file name longer than 65 bytes. A
//! store under the earlier naming (the name percent-encoded) is moved to the new name on first
//! use, so what it kept is not left behind.
//!
//! A store given with `--store DIR` (or `ROOMCAST_STORE`) belongs to the first command, user
//! and room that ran on it (recorded in `owner`): a store keeps one room position and one
//! queue, so another command, user or room on it would skip messages the first never printed
//! (a `publish` moving a `listen`'s position past its own messages) or wait for another room's
//! queue. Such a run stops with an error naming the store's owner instead.
//!
//! A store in use by another running process cannot be shared: the command then warns on
//! stderr (`roomcast: warning: ...`) and runs with its queue and position in memory only, so
//! what it has not sent when it exits is lost and the next run does not continue from it.

use std::fs::{self, File};
use std::io::{self, Write};
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
    let base = dirs::data_dir()?
        .join("roomcast")
        .join("stores")
        .join(command);
    let user = token_user(&conn.token).unwrap_or_else(|| "unknown".to_owned());
    let dir = base.join(component(&user)).join(component(&conn.room));
    let earlier = base
        .join(earlier_component(&user))
        .join(earlier_component(&conn.room));
    if !dir.exists() && earlier.is_dir() {
        // Best effort: on failure the command starts a new store, as before the move.
        let _ = dir
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::rename(&earlier, &dir));
    }
    Some(dir)
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
                "roomcast: warning: the store {at} is in use by another roomcast process; this \
                 run keeps its queue and position in memory only: what it has not sent when it \
                 exits is lost, and the next run does not continue from it (use --store DIR \
                 for a store of its own, or --no-store to silence this)"
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

/// Checks that the store `dir` given with `--store` belongs to `command` for `conn`'s user and
/// room, recording them as its owner on first use.
pub(crate) fn claim(conn: &Connection, command: &str, dir: &Path) -> Result<(), Error> {
    let user = token_user(&conn.token).unwrap_or_else(|| "unknown".to_owned());
    let owner = format!("{command}\n{user}\n{}\n", conn.room);
    let path = dir.join("owner");
    for _ in 0..2 {
        match fs::read_to_string(&path) {
            Ok(found) if found == owner => return Ok(()),
            Ok(found) if !found.trim().is_empty() => {
                return Err(not_the_owner(conn, command, dir, &found))
            }
            // Not claimed yet: claim it, then read back who won (another first run may have).
            _ => write_atomically(dir, &path, &owner).map_err(|e| {
                Error::InvalidConfig(format!("cannot use the store {}: {e}", dir.display()))
            })?,
        }
    }
    Err(Error::InvalidConfig(format!(
        "cannot record the owner of the store {}",
        dir.display()
    )))
}

/// The error for a run on a store another command, user or room owns (`found`).
fn not_the_owner(conn: &Connection, command: &str, dir: &Path, found: &str) -> Error {
    let user = token_user(&conn.token).unwrap_or_else(|| "unknown".to_owned());
    let mut lines = found.lines();
    let (c, u, r) = (
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
        lines.next().unwrap_or_default(),
    );
    Error::InvalidConfig(format!(
        "the store {} belongs to `roomcast {c}` for user {u:?} in room {r:?}; a store keeps one \
         room's position and queue, so `{command}` for user {user:?} in room {:?} needs a \
         store of its own (another --store DIR, or none for the default one per command, user \
         and room)",
        dir.display(),
        conn.room
    ))
}

/// The client id kept in the store's directory (created on first use).
fn client_id(dir: &Path) -> String {
    let path = dir.join("client-id");
    if let Some(id) = read_id(&path) {
        return id;
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Err(e) = write_atomically(dir, &path, &id) {
        eprintln!(
            "roomcast: warning: cannot keep the client id in {}: {e}",
            path.display()
        );
    }
    // Another process's first run may have linked its id first: that one is the store's.
    read_id(&path).unwrap_or(id)
}

fn read_id(path: &Path) -> Option<String> {
    let id = fs::read_to_string(path).ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// Writes `id` to `path` in `dir` whole or not at all: a temporary file, flushed, then
/// linked into place (never replacing what another process put there first; an empty file,
/// a crash of an earlier version mid-write, is replaced), and the directory flushed.
fn write_atomically(dir: &Path, path: &Path, id: &str) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(id.as_bytes())?;
        file.sync_all()?;
        if fs::hard_link(&tmp, path).is_err() {
            if read_id(path).is_some() {
                return Ok(());
            }
            // Empty, or a file system without hard links.
            fs::rename(&tmp, path)?;
        }
        sync_dir(dir)
    })();
    let _ = fs::remove_file(&tmp);
    result
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
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

/// Characters of a name kept in its directory name's readable prefix.
const PREFIX_CHARS: usize = 48;

/// A directory name for any room or user name, distinct for distinct names even on a
/// case-insensitive file system, and at most 65 bytes: a readable prefix and a hash of the
/// exact name.
fn component(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(PREFIX_CHARS)
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_') => c,
            _ => '_',
        })
        .collect();
    out.push_str(&format!("-{:016x}", fnv1a(name.as_bytes())));
    out
}

/// 64-bit FNV-1a: small, and fixed forever (the store's name depends on it; std's hashers may
/// change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The directory name earlier versions used: unsafe bytes as `%XX` (names that differ only in
/// case collide on case-insensitive file systems, and long names overflow file name limits).
fn earlier_component(name: &str) -> String {
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
    fn names_become_safe_distinct_short_components() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let safe = |c: &str| {
            c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b))
        };
        let names = [
            "chat:1/../x",
            "plain-room_2",
            "",
            "Room",
            "room",
            "ROOM",
            ".",
            "..",
            "a:b",
            "a.b",
            "a_b",
        ];
        let mut seen = std::collections::HashSet::new();
        for name in names {
            let c = component(name);
            assert!(safe(&c), "{name:?} -> {c}");
            assert!(seen.insert(c.clone()), "{name:?} -> {c} twice");
        }
        assert!(component("plain-room_2").starts_with("plain-room_2-"));
        assert_eq!(component("Room"), component("Room"));
        for long in ["a:".repeat(64), "é".repeat(128), "x".repeat(10_000)] {
            assert!(component(&long).len() <= 65, "{}", component(&long));
        }
    }

    #[test]
    fn the_earlier_naming_is_kept_for_the_move() {
        assert_eq!(earlier_component("chat:1/../x"), "chat%3A1%2F%2E%2E%2Fx");
        assert_eq!(earlier_component("plain-room_2"), "plain-room_2");
        assert_eq!(earlier_component(""), "%");
    }

    #[test]
    fn the_client_id_is_written_once_and_kept() {
        let dir = std::env::temp_dir().join(format!(
            "roomcast-cli-client-id-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos()
        ));
        let store = dir.join("new");
        let id = client_id(&store);
        assert_eq!(client_id(&store), id);
        assert_eq!(fs::read_to_string(store.join("client-id")).expect("id"), id);
        let names: Vec<_> = fs::read_dir(&store)
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec!["client-id"], "no temporary file left");
        // An empty file (an earlier version killed mid-write) gets a new id.
        fs::write(store.join("client-id"), "").expect("write");
        let new = client_id(&store);
        assert_ne!(new, id);
        assert_eq!(
            fs::read_to_string(store.join("client-id")).expect("id"),
            new
        );
        // An id already there is never replaced.
        write_atomically(&store, &store.join("client-id"), "other").expect("write");
        assert_eq!(client_id(&store), new);
        fs::remove_dir_all(&dir).expect("clean up");
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
