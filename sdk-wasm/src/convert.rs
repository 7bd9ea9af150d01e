//! Rust values to JS values and back. Payloads cross as JSON text (`JSON.parse` /
//! `JSON.stringify` on the JS side, serde_json here): smaller in the bundle than a structural
//! converter, and exactly the JSON the wire carries.

use js_sys::{Reflect, JSON};
use roomcast_core::machine::{ConnectionState, Error, Gap, JoinInfo, PublishAck, Reply};
use roomcast_core::protocol::{HistoryPage, Member, Message, Payload};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::set;

/// `value` as a plain JS object, through JSON. Our own types always serialize; `null` if not.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| JSON::parse(&text).ok())
        .unwrap_or(JsValue::NULL)
}

/// An app's payload as JSON. `undefined`, functions and cyclic objects are refused.
pub(crate) fn from_js(value: &JsValue) -> Result<Payload, Error> {
    let text = JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::InvalidPayload("not representable as JSON".into()))?;
    Payload::from_json(text).map_err(|e| Error::InvalidPayload(e.to_string()))
}

/// A message split into its payload and its meta (everything else), as handlers get them.
pub(crate) fn message_parts(m: &Message) -> (JsValue, JsValue) {
    let meta = to_js(m);
    let key = JsValue::from_str("data");
    let data = Reflect::get(&meta, &key).unwrap_or(JsValue::NULL);
    let _ = Reflect::delete_property(meta.unchecked_ref::<js_sys::Object>(), &key);
    (data, meta)
}

/// `{state, attempt?, delayMs?}`.
pub(crate) fn state_info(state: ConnectionState) -> JsValue {
    let info = js_sys::Object::new().into();
    set(&info, "state", &JsValue::from_str(state.name()));
    match state {
        ConnectionState::Connecting { attempt } => {
            set(&info, "attempt", &JsValue::from(attempt));
        }
        ConnectionState::Reconnecting { attempt, delay } => {
            set(&info, "attempt", &JsValue::from(attempt));
            set(&info, "delayMs", &JsValue::from(delay.as_millis() as f64));
        }
        _ => {}
    }
    info
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinView<'a> {
    room: &'a str,
    seq: u64,
    epoch: &'a str,
    recovered: bool,
    presence: &'a [Member],
    rejoin: bool,
}

pub(crate) fn join_info(j: &JoinInfo) -> JsValue {
    to_js(&JoinView {
        room: &j.room,
        seq: j.seq,
        epoch: &j.epoch,
        recovered: j.recovered,
        presence: &j.presence,
        rejoin: j.rejoin,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GapView<'a> {
    room: &'a str,
    since: Option<u64>,
    previous_epoch: Option<&'a str>,
    head: u64,
    epoch: &'a str,
}

pub(crate) fn gap(g: &Gap) -> JsValue {
    to_js(&GapView {
        room: &g.room,
        since: g.since,
        previous_epoch: g.previous_epoch.as_deref(),
        head: g.head,
        epoch: &g.epoch,
    })
}

#[derive(Serialize)]
struct AckView<'a> {
    id: &'a str,
    seq: Option<u64>,
    ts: u64,
}

#[derive(Serialize)]
struct PageView<'a> {
    messages: &'a [Message],
    more: bool,
}

/// The value a request's promise resolves with (joins resolve through their own mapping).
pub(crate) fn reply(r: &Reply) -> JsValue {
    match r {
        Reply::Joined(j) => join_info(j),
        Reply::Published(PublishAck { id, seq, ts }) => to_js(&AckView {
            id,
            seq: *seq,
            ts: *ts,
        }),
        Reply::History(HistoryPage { messages, more, .. }) => to_js(&PageView {
            messages,
            more: *more,
        }),
        Reply::Connected | Reply::Left | Reply::Closed => JsValue::UNDEFINED,
    }
}

/// `{room, id, event, data, ack}` for a restored publish.
pub(crate) fn pending(p: &roomcast_core::machine::StoredPublish, ack: &js_sys::Promise) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "room", &JsValue::from_str(&p.room));
    set(&o, "id", &JsValue::from_str(&p.id));
    set(&o, "event", &JsValue::from_str(&p.event));
    set(
        &o,
        "data",
        &JSON::parse(p.data.json()).unwrap_or(JsValue::NULL),
    );
    set(&o, "ack", ack);
    o.into()
}
