//! The admin API's writes on the SQLite store, run by the store thread in order with
//! publishes: resetting a room's history (a new epoch) and erasing a user's messages
//! (tombstones that keep their seq and id).

use rusqlite::{params, Connection};

use super::{new_epoch, StoreError};

/// The `event` of an erased message.
pub const ERASED_EVENT: &str = "roomcast.erased";

/// Deletes every item of `room` and gives it a new epoch with head 0: the new epoch.
pub(super) fn reset_room(conn: &mut Connection, room: &str) -> Result<String, StoreError> {
    let epoch = new_epoch();
    let tx = conn.transaction()?;
    for sql in [
        "DELETE FROM messages WHERE room = ?1",
        "DELETE FROM appends WHERE room = ?1",
        "DELETE FROM streams WHERE room = ?1",
    ] {
        tx.execute(sql, params![room])?;
    }
    tx.execute(
        "INSERT INTO rooms (name, epoch, head, trimmed) VALUES (?1, ?2, 0, 0) \
         ON CONFLICT (name) DO UPDATE SET epoch = ?2, head = 0, trimmed = 0",
        params![room, epoch],
    )?;
    tx.commit()?;
    Ok(epoch)
}

/// Replaces every message and append `user` stored (in `room`, or in every room) with a
/// tombstone: same room, seq, id and ts; `event` [`ERASED_EVENT`], `data` null, an empty
/// `from`; an append's text empty (its `n` and `end` stay, so streams still count). Streams
/// `user` opened lose their owner (no one may append to them any more). Returns how many
/// items were erased.
pub(super) fn erase_user(
    conn: &mut Connection,
    user: &str,
    room: Option<&str>,
) -> Result<u64, StoreError> {
    let tx = conn.transaction()?;
    let scope = if room.is_some() { " AND room = ?2" } else { "" };
    let blank = "from_user = '', from_client = '', from_source = '', from_name = NULL";
    let messages = format!(
        "UPDATE messages SET event = '{ERASED_EVENT}', data = 'null', {blank} \
         WHERE from_user = ?1{scope}"
    );
    let appends = format!("UPDATE appends SET text = '', {blank} WHERE from_user = ?1{scope}");
    let streams = format!("UPDATE streams SET user = '' WHERE user = ?1{scope}");
    let mut n = 0;
    for sql in [&messages, &appends] {
        n += match room {
            Some(r) => tx.execute(sql, params![user, r])?,
            None => tx.execute(sql, params![user])?,
        };
    }
    match room {
        Some(r) => tx.execute(&streams, params![user, r])?,
        None => tx.execute(&streams, params![user])?,
    };
    tx.commit()?;
    Ok(n as u64)
}
