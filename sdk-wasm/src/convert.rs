//! Rust values to JS values and back. Values cross as JSON text: the protocol's own JSON writer
//! on this side, `JSON.parse` / `JSON.stringify` on the JS side. Smaller in the bundle than a
//! structural converter, and payloads stay exactly the JSON the wire carries.

use js_sys::JSON;
use roomcast_core::machine::{ConnectionState, Error, Gap, JoinInfo, PublishAck, Reply};
use roomcast_core::protocol::json::Object;
use roomcast_core::protocol::{
    write_append, write_member, write_members, write_message, Append, HistoryPage, Message,
    Payload, Presence,
};
use wasm_bindgen::JsValue;

use crate::error::set;

/// JSON text this crate wrote (or a payload the machine validated) as a JS value.
fn parse(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or(JsValue::NULL)
}

/// A plain JS object with the fields `fill` writes.
fn object(fill: impl FnOnce(&mut Object<'_>)) -> JsValue {
    let mut json = String::with_capacity(128);
    let mut o = Object::open(&mut json);
    fill(&mut o);
    o.end();
    parse(&json)
}

/// An app's payload as JSON. `undefined`, functions and cyclic objects are refused.
pub(crate) fn from_js(value: &JsValue) -> Result<Payload, Error> {
    let text = JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::InvalidPayload("not representable as JSON".into()))?;
    Payload::from_json(text).map_err(|e| Error::InvalidPayload(e.message()))
}

/// A message split into its payload and its meta (everything else), as handlers get them.
pub(crate) fn message_parts(m: &Message) -> (JsValue, JsValue) {
    (parse(m.data.json()), object(|o| write_message(o, m, false)))
}

/// A streamed message's piece: `{room, seq, of, id, n, text, end?, from, ts}`.
pub(crate) fn append(a: &Append) -> JsValue {
    object(|o| write_append(o, a))
}

/// `{room, event, member}`.
pub(crate) fn presence(p: &Presence) -> JsValue {
    object(|o| {
        o.str("room", &p.room).str("event", p.event.as_str());
        write_member(o.object("member"), &p.member);
    })
}

/// `{state, attempt?, delayMs?}`.
pub(crate) fn state_info(state: ConnectionState) -> JsValue {
    object(|o| {
        o.str("state", state.name());
        match state {
            ConnectionState::Connecting { attempt } => {
                o.u64("attempt", attempt.into());
            }
            ConnectionState::Reconnecting { attempt, delay } => {
                // Whole ms without `as_millis`, whose u128 would pull 128-bit division in.
                let ms = delay.as_secs() * 1000 + u64::from(delay.subsec_millis());
                o.u64("attempt", attempt.into()).u64("delayMs", ms);
            }
            _ => {}
        }
    })
}

/// `JoinInfo` of the `.d.ts`.
pub(crate) fn join_info(j: &JoinInfo) -> JsValue {
    object(|o| {
        o.str("room", &j.room)
            .u64("seq", j.seq)
            .str("epoch", &j.epoch)
            .bool("recovered", j.recovered);
        write_members(o, "presence", &j.presence);
        o.bool("rejoin", j.rejoin);
    })
}

/// `Gap` of the `.d.ts`.
pub(crate) fn gap(g: &Gap) -> JsValue {
    object(|o| {
        o.str("room", &g.room)
            .u64_or_null("since", g.since)
            .str_or_null("previousEpoch", g.previous_epoch.as_deref())
            .u64("head", g.head)
            .str("epoch", &g.epoch);
    })
}

/// The value a request's promise resolves with (joins resolve through their own mapping).
pub(crate) fn reply(r: &Reply) -> JsValue {
    match r {
        Reply::Joined(j) => join_info(j),
        Reply::Published(PublishAck { id, seq, ts }) => object(|o| {
            o.str("id", id).u64_or_null("seq", *seq).u64("ts", *ts);
        }),
        Reply::History(HistoryPage { messages, more, .. }) => object(|o| {
            let mut list = o.array("messages");
            for m in messages {
                let mut item = list.object();
                write_message(&mut item, m, true);
                item.end();
            }
            list.end();
            o.bool("more", *more);
        }),
        Reply::Connected | Reply::Left | Reply::Closed => JsValue::UNDEFINED,
    }
}

/// `{room, id, event, data, ack}` for a restored publish.
pub(crate) fn pending(p: &roomcast_core::machine::StoredPublish, ack: &js_sys::Promise) -> JsValue {
    let o = object(|o| {
        o.str("room", &p.room)
            .str("id", &p.id)
            .str("event", &p.event)
            .raw("data", p.data.json());
    });
    set(&o, "ack", ack);
    o
}

/// `{seq, epoch}`, a room's position (`epoch` null before the first join).
pub(crate) fn position(seq: u64, epoch: Option<&str>) -> JsValue {
    object(|o| {
        o.u64("seq", seq).str_or_null("epoch", epoch);
    })
}
