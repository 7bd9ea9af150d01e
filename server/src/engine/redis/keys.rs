//! Where the Redis engine keeps things, the Lua scripts that change them atomically, and the
//! form of a message (or a stream's append) in a room's stream and on its channel.
//!
//! Keys of room R (the `{R}` hash tag keeps a room's keys in one cluster slot):
//! - `rc:{R}:meta` hash: `epoch`, `head` (last seq);
//! - `rc:{R}:ids` hash: message id → `seq:ts` (idempotency across nodes);
//! - `rc:{R}:log` stream: entry id `<seq>-1`, fields `m` (a message as JSON, without seq) or
//!   `a` (a stream's append as JSON, without seq), and `o` (the publishing `node:conn`, so that
//!   node does not echo it back);
//! - `rc:{R}:stream:<id>` hash, one per stream: `of` (the opening seq), `user` (the opener),
//!   `n` (appends stored), `state`, `bytes`, `last` (ms of the last append or the opening),
//!   `etext`/`eend` (the final append's text and end, once ended), and `a:<n>` → `seq:ts`
//!   for each append (idempotency by `(room, id, n)`);
//! - `rc:{R}:text:<id>` string: the stream's text so far, grown with `APPEND` (so folding
//!   reads it in one `GET`, and an append never rereads what came before);
//! - `rc:{R}:presence` sorted set: `node:conn|member JSON`, scored by expiry (Unix ms);
//! - `rc:{R}:ch` Pub/Sub channel; `rc:rooms` set of room names (for `/stats`);
//! - `rc:streams` sorted set of open streams, `R|id` scored by the last append's ms (for the
//!   idle end; room names never hold `|`).
//!
//! Channel payloads are `kind|seq|origin|body`: `m|<seq>|<origin>|<epoch>|<message JSON>` from
//! the publish script, `a|<seq>|<origin>|<epoch>|<append JSON>` from the append script,
//! `e|0|<origin>|<frame>` (ephemeral) and `p|0|<origin>|<frame>` (presence).

use redis::Value;
use roomcast_core::protocol::json::{self, push_str, push_u64, Object};
use roomcast_core::protocol::{
    write_member, write_message, Append, Member, Message, ServerFrame, StreamState,
};

/// Dedup by id, next seq, append, publish: one atomic step; a stream's opening publish also
/// creates the stream's state and enters it in the open streams.
/// KEYS: meta, ids, log, rooms, stream, open streams. ARGV: id, ts, message JSON, origin, new
/// epoch, channel, room, `1` for a stream (else empty), the publisher's user, open-streams
/// member.
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
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[5], 'of', seq, 'user', ARGV[9], 'n', 0, 'state', 'open',
    'bytes', 0, 'last', ARGV[2])
  redis.call('ZADD', KEYS[6], ARGV[2], ARGV[10])
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
redis.call('PUBLISH', ARGV[6], 'm|' .. seq .. '|' .. ARGV[4] .. '|' .. epoch .. '|' .. ARGV[3])
return {seq, tonumber(ARGV[2]), 0}
";

/// An append, a cancel or an idle end, checked against the stream's state and stored: next
/// seq, the entry in the room's stream, the text `APPEND`ed to the stream's text, the state
/// updated, and the channel told; one atomic step, O(1) in the text before it. The checks and
/// their order are the SQLite engine's (`write_append`).
///
/// KEYS: meta, log, stream, text, open streams. ARGV: op (`a` append, `c` cancel, `i` idle
/// end), n, text, end (empty: none), the sender's user, ts, the append's JSON in three parts
/// (before `of`, between `of` and `n`, after `n`), origin, channel, the text limit in bytes,
/// the idle limit in ms, open-streams member, new epoch.
///
/// Returns `{kind, seq, ts, n, of, state}`: kind `ok` (stored now), `dup` (stored before: the
/// original), or a refusal: `not_found`, `forbidden`, `ended` (`state` says how), `gap`,
/// `too_large`, `skip` (an idle end no longer due), `lost` (an ack missing from the state).
pub(super) const APPEND_LUA: &str = r"
local s = redis.call('HMGET', KEYS[3], 'of', 'user', 'n', 'state', 'bytes', 'last', 'etext', 'eend')
if not s[1] then
  if ARGV[1] == 'i' then redis.call('ZREM', KEYS[5], ARGV[14]) end
  return {'not_found', 0, 0, 0, 0, ''}
end
local of = tonumber(s[1])
local count = tonumber(s[3])
local state = s[4]
local ended = state ~= 'open'
local ts = tonumber(ARGV[6])
local function stored(k)
  local old = redis.call('HGET', KEYS[3], 'a:' .. k)
  if not old then return {'lost', 0, 0, 0, of, state} end
  local sep = string.find(old, ':', 1, true)
  return {'dup', tonumber(string.sub(old, 1, sep - 1)), tonumber(string.sub(old, sep + 1)),
    tonumber(k), of, state}
end
if ARGV[1] == 'a' then
  if ARGV[5] ~= s[2] then return {'forbidden', 0, 0, 0, of, state} end
  local n = tonumber(ARGV[2])
  if ended and n + 1 == count and not (s[7] == ARGV[3] and s[8] == ARGV[4]) then
    return {'ended', 0, 0, 0, of, state}
  end
  if n < count then return stored(ARGV[2]) end
  if ended then return {'ended', 0, 0, 0, of, state} end
  if n > count then return {'gap', 0, 0, count, of, state} end
  if tonumber(s[5]) + string.len(ARGV[3]) > tonumber(ARGV[12]) then
    return {'too_large', 0, 0, 0, of, state}
  end
elseif ARGV[1] == 'c' then
  if ended then return stored(string.format('%d', count - 1)) end
else
  if ended or ts - tonumber(s[6]) < tonumber(ARGV[13]) then
    if ended then redis.call('ZREM', KEYS[5], ARGV[14]) end
    return {'skip', 0, 0, 0, of, state}
  end
end
redis.call('HSETNX', KEYS[1], 'epoch', ARGV[15])
local seq = redis.call('HINCRBY', KEYS[1], 'head', 1)
local body = ARGV[7] .. s[1] .. ARGV[8] .. string.format('%d', count) .. ARGV[9]
redis.call('XADD', KEYS[2], seq .. '-1', 'a', body, 'o', ARGV[10])
redis.call('APPEND', KEYS[4], ARGV[3])
redis.call('HSET', KEYS[3], 'n', count + 1, 'bytes', tonumber(s[5]) + string.len(ARGV[3]),
  'last', ARGV[6], 'a:' .. string.format('%d', count), seq .. ':' .. ARGV[6])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], 'state', ARGV[4], 'etext', ARGV[3], 'eend', ARGV[4])
  redis.call('ZREM', KEYS[5], ARGV[14])
else
  redis.call('ZADD', KEYS[5], ARGV[6], ARGV[14])
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
redis.call('PUBLISH', ARGV[11], 'a|' .. seq .. '|' .. ARGV[10] .. '|' .. epoch .. '|' .. body)
return {'ok', seq, ts, count, of, ARGV[4]}
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
pub(super) fn stream_key(room: &str, id: &str) -> String {
    format!("rc:{{{room}}}:stream:{id}")
}
pub(super) fn text_key(room: &str, id: &str) -> String {
    format!("rc:{{{room}}}:text:{id}")
}
/// Every open stream of every room, for the idle end.
pub(super) const OPEN_STREAMS_KEY: &str = "rc:streams";
/// A stream's member in [`OPEN_STREAMS_KEY`].
pub(super) fn open_member(room: &str, id: &str) -> String {
    format!("{room}|{id}")
}
pub(super) fn channel(room: &str) -> String {
    format!("rc:{{{room}}}:ch")
}
/// The room of a channel name.
pub(super) fn channel_room(ch: &str) -> Option<&str> {
    ch.strip_prefix("rc:{")?.strip_suffix("}:ch")
}

/// A stored item of a room's stream: a message or a stream's append.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    Message(Message),
    Append(Append),
}

impl Entry {
    /// The item as the frame a member receives.
    pub(super) fn into_frame(self) -> ServerFrame {
        match self {
            Entry::Message(m) => ServerFrame::Message(m),
            Entry::Append(a) => ServerFrame::Append(a),
        }
    }
}

/// A stream entry as `(seq, entry, origin)`.
pub(super) fn parse_entry(
    room: &str,
    id: &str,
    map: &std::collections::HashMap<String, Value>,
) -> Option<(u64, Entry, String)> {
    let seq: u64 = id.split('-').next()?.parse().ok()?;
    let origin: String = map
        .get("o")
        .and_then(|v| redis::from_redis_value(v).ok())
        .unwrap_or_else(|| NO_ORIGIN.to_string());
    if let Some(v) = map.get("a") {
        let json: String = redis::from_redis_value(v).ok()?;
        // The frame form has `seq`, which the stored JSON leaves to the entry id.
        let frame = sequenced_frame("append", room, seq, &json)?;
        let mut append: Append = serde_json::from_str(&frame).ok()?;
        append.room = room.to_string();
        return Some((seq, Entry::Append(append), origin));
    }
    let json: String = redis::from_redis_value(map.get("m")?).ok()?;
    let mut message: Message = serde_json::from_str(&json).ok()?;
    message.seq = Some(seq);
    message.room = room.to_string();
    Some((seq, Entry::Message(message), origin))
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

/// An append as the stream and the channel carry it, in the three parts the append script
/// joins around the stream's `of` and the append's `n` (which only the script knows):
/// `{"room":R,"of":` · `,"id":I,"n":` · `,"text":T,"end":E,"from":F,"ts":TS}`. Joined, it
/// is an `append` frame's JSON without `type` and `seq`, fields in the frame's order.
pub(super) fn append_parts(
    room: &str,
    id: &str,
    text: &str,
    end: Option<StreamState>,
    from: &Member,
    ts: u64,
) -> [String; 3] {
    let mut before_of = String::from(r#"{"room":"#);
    push_str(&mut before_of, room);
    before_of.push_str(r#","of":"#);
    let mut before_n = String::from(r#","id":"#);
    push_str(&mut before_n, id);
    before_n.push_str(r#","n":"#);
    let mut rest = String::with_capacity(text.len() + 128);
    rest.push_str(r#","text":"#);
    push_str(&mut rest, text);
    if let Some(end) = end {
        rest.push_str(r#","end":"#);
        push_str(&mut rest, end.as_str());
    }
    rest.push_str(r#","from":"#);
    write_member(Object::open(&mut rest), from);
    rest.push_str(r#","ts":"#);
    push_u64(&mut rest, ts);
    rest.push('}');
    [before_of, before_n, rest]
}

/// The `message` frame for `body` (a message's JSON as [`message_json`] writes it) at `seq`,
/// spliced rather than decoded and encoded again: the body begins with its room, and the frame
/// only adds `type` before it and `seq` after it. Every node does this for every message of
/// its rooms. `None` when the body is not of that shape or not JSON; the caller then decodes
/// it.
pub(super) fn message_frame(room: &str, seq: u64, body: &str) -> Option<String> {
    sequenced_frame("message", room, seq, body)
}

/// The `append` frame for `body` (an append's JSON as [`append_parts`] make it) at `seq`,
/// spliced like [`message_frame`].
pub(super) fn append_frame(room: &str, seq: u64, body: &str) -> Option<String> {
    sequenced_frame("append", room, seq, body)
}

/// A frame of type `kind` from a stored body that begins with its room: `type` before the
/// room, `seq` after it.
fn sequenced_frame(kind: &str, room: &str, seq: u64, body: &str) -> Option<String> {
    let mut head = String::from(r#"{"room":"#);
    push_str(&mut head, room);
    let rest = body.strip_prefix(head.as_str())?;
    if !rest.starts_with(',') || json::validate(body).is_err() {
        return None;
    }
    let mut frame = String::with_capacity(body.len() + 40);
    frame.push_str(r#"{"type":""#);
    frame.push_str(kind);
    frame.push_str(r#"","#);
    frame.push_str(&head[1..]);
    frame.push_str(r#","seq":"#);
    push_u64(&mut frame, seq);
    frame.push_str(rest);
    Some(frame)
}

#[cfg(test)]
mod tests {
    use roomcast_core::protocol::StreamInfo;

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

    #[test]
    fn appends_are_joined_and_spliced_into_frames() {
        let from = Member {
            user: "u".into(),
            client: "server".into(),
            source: "server".into(),
            name: None,
        };
        for (text, end) in [
            ("hé \"x\"\n", None),
            ("", Some(StreamState::Cancelled)),
            ("last", Some(StreamState::Done)),
        ] {
            let [a, b, c] = append_parts("conv-1", "id|{x}", text, end, &from, 1_732_240_000_000);
            let body = format!("{a}58{b}3{c}");
            let frame = append_frame("conv-1", 61, &body).expect("spliced");
            let append = Append {
                room: "conv-1".into(),
                seq: 61,
                of: 58,
                id: "id|{x}".into(),
                n: 3,
                text: text.into(),
                end,
                from: from.clone(),
                ts: 1_732_240_000_000,
            };
            assert_eq!(frame, ServerFrame::Append(append.clone()).encode());
            let map = std::collections::HashMap::from([
                ("a".to_string(), Value::BulkString(body.into_bytes())),
                ("o".to_string(), Value::BulkString(b"n:1".to_vec())),
            ]);
            let (seq, entry, origin) = parse_entry("conv-1", "61-1", &map).expect("parsed");
            assert_eq!((seq, origin.as_str()), (61, "n:1"));
            assert!(matches!(entry, Entry::Append(a) if a == append));
        }
        // An opening message keeps its stream state through the stream.
        let message = Message {
            room: "conv-1".into(),
            seq: None,
            id: "s".into(),
            event: "assistant.reply".into(),
            data: roomcast_core::protocol::Payload::default(),
            from,
            ts: 1,
            stream: Some(StreamInfo {
                state: StreamState::Open,
                text: String::new(),
                n: 0,
            }),
        };
        let map = std::collections::HashMap::from([(
            "m".to_string(),
            Value::BulkString(message_json(&message).into_bytes()),
        )]);
        let (_, entry, origin) = parse_entry("conv-1", "9-1", &map).expect("parsed");
        assert_eq!(origin, NO_ORIGIN);
        assert!(
            matches!(entry, Entry::Message(m) if m.stream == message.stream && m.seq == Some(9))
        );
    }
}
