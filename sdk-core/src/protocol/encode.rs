//! Frames to JSON text, through the protocol's own JSON writer: `"type"` first, then the
//! fields in the order the structs declare them, optional ones left out when absent (but
//! `token_exp`, which is `null` when the token never expires).

use super::json::{str_len, Array, Object};
use super::{Append, ClientFrame, Member, Message, ServerFrame, StreamInfo};

impl ClientFrame {
    /// The frame's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Hello(_) => "hello",
            ClientFrame::Join(_) => "join",
            ClientFrame::Leave(_) => "leave",
            ClientFrame::Publish(_) => "publish",
            ClientFrame::History(_) => "history",
            ClientFrame::Refresh(_) => "refresh",
            ClientFrame::Ping(_) => "ping",
            ClientFrame::Pong(_) => "pong",
            ClientFrame::Append(_) => "append",
            ClientFrame::Cancel(_) => "cancel",
        }
    }

    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(128);
        let mut o = Object::open(&mut out);
        o.str("type", self.kind());
        match self {
            ClientFrame::Hello(h) => {
                o.u64("ref", h.ref_id)
                    .u64("protocol", u64::from(h.protocol))
                    .str("token", &h.token);
                let mut c = o.object("client");
                c.str("id", &h.client.id)
                    .str("source", &h.client.source)
                    .opt_str("name", h.client.name.as_deref());
                c.end();
            }
            ClientFrame::Join(j) => {
                o.u64("ref", j.ref_id)
                    .str("room", &j.room)
                    .opt_u64("since", j.since)
                    .opt_str("epoch", j.epoch.as_deref());
            }
            ClientFrame::Leave(l) => {
                o.u64("ref", l.ref_id).str("room", &l.room);
            }
            ClientFrame::Publish(p) => {
                let mut text = PublishText {
                    ref_id: p.ref_id,
                    room: &p.room,
                    id: &p.id,
                    event: &p.event,
                    data: p.data.json(),
                    ephemeral: p.ephemeral,
                }
                .encode();
                if p.stream {
                    // `stream` follows `ephemeral`, as the struct declares them.
                    text.pop();
                    text.push_str(r#","stream":true}"#);
                }
                return text;
            }
            ClientFrame::Append(a) => {
                o.u64("ref", a.ref_id)
                    .str("room", &a.room)
                    .str("id", &a.id)
                    .u64("n", a.n)
                    .str("text", &a.text)
                    .opt_str("end", a.end.map(|e| e.as_str()));
            }
            ClientFrame::Cancel(c) => {
                o.u64("ref", c.ref_id).str("room", &c.room).str("id", &c.id);
            }
            ClientFrame::History(h) => {
                o.u64("ref", h.ref_id)
                    .str("room", &h.room)
                    .opt_u64("before", h.before)
                    .opt_u64("limit", h.limit.map(u64::from));
            }
            ClientFrame::Refresh(r) => {
                o.u64("ref", r.ref_id).str("token", &r.token);
            }
            ClientFrame::Ping(p) => {
                o.opt_u64("ref", p.ref_id);
            }
            ClientFrame::Pong(p) => {
                o.opt_u64("ref", p.ref_id);
            }
        }
        o.end();
        out
    }
}

/// A `publish` frame's fields, borrowed: the machine sends and sizes queued publishes without
/// copying them into a [`ClientFrame`] first.
pub(crate) struct PublishText<'a> {
    pub ref_id: u64,
    pub room: &'a str,
    pub id: &'a str,
    pub event: &'a str,
    /// The payload's JSON text.
    pub data: &'a str,
    pub ephemeral: bool,
}

impl PublishText<'_> {
    /// The frame as `ClientFrame::Publish(..).encode()` writes it.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::with_capacity(self.len());
        let mut o = Object::open(&mut out);
        o.str("type", "publish")
            .u64("ref", self.ref_id)
            .str("room", self.room)
            .str("id", self.id)
            .str("event", self.event)
            .raw("data", self.data);
        if self.ephemeral {
            o.bool("ephemeral", true);
        }
        o.end();
        out
    }

    /// The length of [`encode`](Self::encode)'s text, computed without writing it.
    pub(crate) fn len(&self) -> usize {
        const FIXED: usize = r#"{"type":"publish","ref":,"room":,"id":,"event":,"data":}"#.len();
        let mut digits = 1;
        let mut n = self.ref_id;
        while n >= 10 {
            n /= 10;
            digits += 1;
        }
        FIXED
            + digits
            + str_len(self.room)
            + str_len(self.id)
            + str_len(self.event)
            + self.data.len()
            + if self.ephemeral {
                r#","ephemeral":true"#.len()
            } else {
                0
            }
    }
}

impl ServerFrame {
    /// The frame's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerFrame::Welcome(_) => "welcome",
            ServerFrame::Joined(_) => "joined",
            ServerFrame::Left(_) => "left",
            ServerFrame::Ack(_) => "ack",
            ServerFrame::Message(_) => "message",
            ServerFrame::Presence(_) => "presence",
            ServerFrame::History(_) => "history",
            ServerFrame::Refreshed(_) => "refreshed",
            ServerFrame::Ping(_) => "ping",
            ServerFrame::Pong(_) => "pong",
            ServerFrame::Error(_) => "error",
            ServerFrame::Append(_) => "append",
        }
    }

    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        // Room for a message's fields besides its payload, so it is written without growing.
        let payload = match self {
            ServerFrame::Message(m) => {
                m.data.json().len() + m.stream.as_ref().map_or(0, |s| s.text.len())
            }
            ServerFrame::Append(a) => a.text.len(),
            _ => 0,
        };
        let mut out = String::with_capacity(256 + payload);
        let mut o = Object::open(&mut out);
        o.str("type", self.kind());
        match self {
            ServerFrame::Welcome(w) => {
                o.u64("ref", w.ref_id)
                    .str("session", &w.session)
                    .str("user", &w.user)
                    .u64("heartbeat_ms", w.heartbeat_ms)
                    .u64("max_frame", w.max_frame as u64)
                    .u64_or_null("token_exp", w.token_exp);
            }
            ServerFrame::Joined(j) => {
                o.u64("ref", j.ref_id)
                    .str("room", &j.room)
                    .u64("seq", j.seq)
                    .str("epoch", &j.epoch)
                    .bool("recovered", j.recovered);
                write_members(&mut o, "presence", &j.presence);
            }
            ServerFrame::Left(l) => {
                o.u64("ref", l.ref_id).str("room", &l.room);
            }
            ServerFrame::Ack(a) => {
                o.u64("ref", a.ref_id)
                    .str("id", &a.id)
                    .opt_u64("n", a.n)
                    .opt_u64("seq", a.seq)
                    .u64("ts", a.ts);
            }
            ServerFrame::Message(m) => write_message(&mut o, m, true),
            ServerFrame::Presence(p) => {
                o.str("room", &p.room).str("event", p.event.as_str());
                write_member(o.object("member"), &p.member);
            }
            ServerFrame::History(h) => {
                o.u64("ref", h.ref_id).str("room", &h.room);
                write_history_items(&mut o, "messages", &h.messages, &h.appends);
                o.bool("more", h.more);
            }
            ServerFrame::Refreshed(r) => {
                o.u64("ref", r.ref_id).u64_or_null("token_exp", r.token_exp);
            }
            ServerFrame::Ping(p) => {
                o.opt_u64("ref", p.ref_id);
            }
            ServerFrame::Pong(p) => {
                o.opt_u64("ref", p.ref_id);
            }
            ServerFrame::Error(e) => {
                o.opt_u64("ref", e.ref_id)
                    .str("code", e.code.as_str())
                    .str("message", &e.message);
            }
            ServerFrame::Append(a) => write_append(&mut o, a),
        }
        o.end();
        out
    }
}

/// A message's fields into `o` (a `message` frame's without its `type`, a history entry's);
/// `data: false` leaves the payload out.
pub fn write_message(o: &mut Object<'_>, m: &Message, data: bool) {
    o.str("room", &m.room)
        .opt_u64("seq", m.seq)
        .str("id", &m.id)
        .str("event", &m.event);
    if data {
        o.raw("data", m.data.json());
    }
    write_member(o.object("from"), &m.from);
    o.u64("ts", m.ts);
    if let Some(stream) = &m.stream {
        write_stream(o.object("stream"), stream);
    }
}

/// A stream's state as the object `o`, which this closes.
fn write_stream(mut o: Object<'_>, s: &StreamInfo) {
    o.str("state", s.state.as_str())
        .str("text", &s.text)
        .u64("n", s.n);
    o.end();
}

/// An append's fields into `o` (an `append` frame's without its `type`).
pub fn write_append(o: &mut Object<'_>, a: &Append) {
    o.str("room", &a.room)
        .u64("seq", a.seq)
        .u64("of", a.of)
        .str("id", &a.id)
        .u64("n", a.n)
        .str("text", &a.text)
        .opt_str("end", a.end.map(|e| e.as_str()));
    write_member(o.object("from"), &a.from);
    o.u64("ts", a.ts);
}

/// A history page's items under `key`: `messages` and `appends` (each ascending by seq)
/// merged into one list in seq order, appends as items with `"type":"append"`.
pub fn write_history_items(
    o: &mut Object<'_>,
    key: &str,
    messages: &[Message],
    appends: &[Append],
) {
    let mut list = o.array(key);
    let mut appends = appends.iter().peekable();
    for m in messages {
        let seq = m.seq.unwrap_or(0);
        while let Some(a) = appends.next_if(|a| a.seq < seq) {
            write_append_item(list.object(), a);
        }
        let mut item = list.object();
        write_message(&mut item, m, true);
        item.end();
    }
    for a in appends {
        write_append_item(list.object(), a);
    }
    list.end();
}

/// An append as a history item: `"type":"append"` first, then its fields; closes `o`.
fn write_append_item(mut o: Object<'_>, a: &Append) {
    o.str("type", "append");
    write_append(&mut o, a);
    o.end();
}

/// A member as the object `o`, which this closes.
pub fn write_member(mut o: Object<'_>, m: &Member) {
    o.str("user", &m.user)
        .str("client", &m.client)
        .str("source", &m.source)
        .opt_str("name", m.name.as_deref());
    o.end();
}

/// `members` as an array under `key`.
pub fn write_members(o: &mut Object<'_>, key: &str, members: &[Member]) {
    let mut list: Array<'_> = o.array(key);
    for m in members {
        write_member(list.object(), m);
    }
    list.end();
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::PublishText;

    proptest! {
        /// The machine sizes publishes by `len` and sends `encode`: they must agree, escapes,
        /// control characters and non-ASCII text included.
        #[test]
        fn publish_len_is_the_encoded_length(
            ref_id in any::<u64>(),
            room in any::<String>(),
            id in any::<String>(),
            event in "[\\x00-\\x7f]{0,12}|\\PC{0,12}",
            data in prop::sample::select(vec!["null", "{\"a\":\"\\u00e9\"}", "[1,2,3]", "\"x\""]),
            ephemeral in any::<bool>(),
        ) {
            let frame = PublishText { ref_id, room: &room, id: &id, event: &event, data, ephemeral };
            prop_assert_eq!(frame.len(), frame.encode().len());
        }
    }
}
