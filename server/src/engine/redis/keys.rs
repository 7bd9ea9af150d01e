//! Where the Redis engine keeps things, the Lua scripts that change them atomically, and the
//! form of a message in a room's stream and on its channel.
//!
//! Keys of room R (the `{R}` hash tag keeps a room's keys in one cluster slot):
//! - `rc:{R}:meta` hash: `epoch`, `head` (last seq);
//! - `rc:{R}:ids` hash: message id → `seq:ts` (idempotency across nodes);
//! - `rc:{R}:log` stream: entry id `<seq>-1`, fields `m` (the message as JSON, without seq)
//!   and `o` (the publishing `node:conn`, so that node does not echo it back);
//! - `rc:{R}:presence` sorted set: `node:conn|member JSON`, scored by expiry (Unix ms);
//! - `rc:{R}:ch` Pub/Sub channel; `rc:rooms` set of room names (for `/stats`).
//!
//! Channel payloads are `kind|seq|origin|body`: `m|<seq>|<origin>|<epoch>|<message JSON>` from
//! the publish script, `e|0|<origin>|<frame>` (ephemeral) and `p|0|<origin>|<frame>`
//! (presence).

use redis::Value;
use roomcast_core::protocol::json::{self, push_str, push_u64, Object};
use roomcast_core::protocol::{write_message, Message};

/// Dedup by id, next seq, append, publish: one atomic step.
/// KEYS: meta, ids, log, rooms. ARGV: id, ts, message JSON, origin, new epoch, channel, room.
pub(super) const PUBLISH_LUA: &str = r"
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local sep = string.find(old, ':', 1, true)
  return {tonumber(string.sub(old, 1, sep - 1)), tonumber(string.sub(old, sep + 1)), 1}
end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[5])
local seq = redis.call('HINCRBY', KEYS[1], 'head', 1)
redis.call('XADD', KEYS[3], seq .. '-1', 'm', ARGV[3], 'o', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], seq .. ':' .. ARGV[2])
redis.call('SADD', KEYS[4], ARGV[7])
local epoch = redis.call('HGET', KEYS[1], 'epoch')
redis.call('PUBLISH', ARGV[6], 'm|' .. seq .. '|' .. ARGV[4] .. '|' .. epoch .. '|' .. ARGV[3])
return {seq, tonumber(ARGV[2]), 0}
";

/// The room's epoch (made on first use) and head. KEYS: meta. ARGV: new epoch.
pub(super) const HEAD_LUA: &str = r"
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1])
local v = redis.call('HMGET', KEYS[1], 'epoch', 'head')
return {v[1], tonumber(v[2] or '0')}
";

/// Every room with stored messages.
pub(super) const ROOMS_KEY: &str = "rc:rooms";
/// `origin` of a message no local connection should be spared (HTTP, expiry).
pub(super) const NO_ORIGIN: &str = "-";

pub(super) fn meta_key(room: &str) -> String {
    format!("rc:{{{room}}}:meta")
}
pub(super) fn ids_key(room: &str) -> String {
    format!("rc:{{{room}}}:ids")
}
pub(super) fn log_key(room: &str) -> String {
    format!("rc:{{{room}}}:log")
}
pub(super) fn presence_key(room: &str) -> String {
    format!("rc:{{{room}}}:presence")
}
pub(super) fn channel(room: &str) -> String {
    format!("rc:{{{room}}}:ch")
}
/// The room of a channel name.
pub(super) fn channel_room(ch: &str) -> Option<&str> {
    ch.strip_prefix("rc:{")?.strip_suffix("}:ch")
}

/// A stream entry as `(seq, message, origin)`.
pub(super) fn parse_entry(
    room: &str,
    id: &str,
    map: &std::collections::HashMap<String, Value>,
) -> Option<(u64, Message, String)> {
    let seq: u64 = id.split('-').next()?.parse().ok()?;
    let json: String = redis::from_redis_value(map.get("m")?).ok()?;
    let origin: String = map
        .get("o")
        .and_then(|v| redis::from_redis_value(v).ok())
        .unwrap_or_else(|| NO_ORIGIN.to_string());
    let mut message: Message = serde_json::from_str(&json).ok()?;
    message.seq = Some(seq);
    message.room = room.to_string();
    Some((seq, message, origin))
}

/// A message as the stream and the channel carry it: its JSON without `seq`, which the publish
/// script assigns (the same bytes serde_json writes for [`Message`]).
pub(super) fn message_json(message: &Message) -> String {
    let mut json = String::with_capacity(192 + message.data.json().len());
    let mut o = Object::open(&mut json);
    write_message(&mut o, message, true);
    o.end();
    json
}

/// The `message` frame for `body` (a message's JSON as [`message_json`] writes it) at `seq`,
/// spliced rather than decoded and encoded again: the body begins with its room, and the frame
/// only adds `type` before it and `seq` after it. Every node does this for every message of
/// its rooms. `None` when the body is not of that shape or not JSON; the caller then decodes
/// it.
pub(super) fn message_frame(room: &str, seq: u64, body: &str) -> Option<String> {
    let mut head = String::from(r#"{"room":"#);
    push_str(&mut head, room);
    let rest = body.strip_prefix(head.as_str())?;
    if !rest.starts_with(',') || json::validate(body).is_err() {
        return None;
    }
    let mut frame = String::with_capacity(body.len() + 40);
    frame.push_str(r#"{"type":"message","#);
    frame.push_str(&head[1..]);
    frame.push_str(r#","seq":"#);
    push_u64(&mut frame, seq);
    frame.push_str(rest);
    Some(frame)
}

#[cfg(test)]
mod tests {
    use roomcast_core::protocol::{Member, ServerFrame};

    use super::*;

    #[test]
    fn channel_messages_become_frames_without_decoding() {
        for room in ["conv-1", "with \"quotes\" and \\", "naïve\u{1}"] {
            let message = Message {
                room: room.into(),
                seq: None,
                id: "0193a0c4-0000-7000-8000-000000000001".into(),
                event: "chat.message".into(),
                data: roomcast_core::protocol::Payload::from_json(
                    r#"{"text":"hé \"x\""}"#.to_string(),
                )
                .expect("json"),
                from: Member {
                    user: "u".into(),
                    client: "c".into(),
                    source: "ios".into(),
                    name: Some("Ann".into()),
                },
                ts: 1_732_240_000_000,
                stream: None,
            };
            let body = message_json(&message);
            assert_eq!(body, serde_json::to_string(&message).expect("serde"));
            let frame = message_frame(room, 42, &body).expect("spliced");
            let mut with_seq = message.clone();
            with_seq.seq = Some(42);
            assert_eq!(frame, ServerFrame::Message(with_seq).encode());
        }
        // Another room's body, or a damaged one, is decoded instead.
        let body = r#"{"room":"a","id":"x"}"#;
        assert_eq!(message_frame("b", 1, body), None);
        assert_eq!(message_frame("a", 1, r#"{"room":"a","id":}"#), None);
    }
}
