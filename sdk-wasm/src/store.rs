//! The store hook for the browser: the machine's records go to the package's JavaScript,
//! which keeps them in IndexedDB (`bindings/js/src/store.ts`), and what it kept comes back
//! at construction. Records are small arrays of strings and numbers:
//! `["queued", room, id, event, dataJson]`, `["done", room, id]`,
//! `["position", room, epoch, seq]`, `["forget", room]`; a snapshot is
//! `{publishes: [[room, id, event, dataJson], ...], positions: [[room, epoch, seq], ...]}`.
//!
//! Both cross the boundary as one JSON text, written and read with the protocol's own JSON
//! code (`JSON.parse` / `JSON.stringify` on the JS side): a few bytes of module, where
//! building and reading `js_sys` arrays field by field took kilobytes.

use js_sys::JSON;
use roomcast_core::machine::{Error, Record, Snapshot, StoredPosition, StoredPublish};
use roomcast_core::protocol::json::{push_str, push_u64, Reader};
use roomcast_core::protocol::Payload;
use wasm_bindgen::JsValue;

/// Appends one record to `out`, a JSON array being written (`,` before all but the first).
pub(crate) fn record(out: &mut String, r: &Record) {
    out.push_str(if out.is_empty() { "[[\"" } else { ",[\"" });
    let (kind, room) = match r {
        Record::Queued(p) => ("queued", &p.room),
        Record::Done { room, .. } => ("done", room),
        Record::Position(p) => ("position", &p.room),
        Record::Forget { room } => ("forget", room),
    };
    out.push_str(kind);
    out.push_str("\",");
    push_str(out, room);
    match r {
        Record::Queued(p) => {
            for text in [&p.id, &p.event, p.data.json()] {
                out.push(',');
                push_str(out, text);
            }
        }
        Record::Done { id, .. } => {
            out.push(',');
            push_str(out, id);
        }
        Record::Position(p) => {
            out.push(',');
            push_str(out, &p.epoch);
            out.push(',');
            push_u64(out, p.seq);
        }
        Record::Forget { .. } => {}
    }
    out.push(']');
}

/// The records `record` wrote into `out`, as the JS array the store's writer takes.
pub(crate) fn records(mut out: String) -> JsValue {
    out.push(']');
    JSON::parse(&out).unwrap_or(JsValue::NULL)
}

fn invalid() -> Error {
    Error::InvalidConfig("restore must be a store snapshot {publishes, positions}".into())
}

/// The next element of a row, a string; `first` right after the row's `[`.
fn text(r: &mut Reader<'_>, first: bool) -> Option<String> {
    if !r.next_element(first).ok()? || r.peek_value() != Some(b'"') {
        return None;
    }
    Some(r.string().ok()?.into_owned())
}

/// Reads the snapshot text; `None` for anything but a snapshot. Elements past a row's own
/// are skipped, like keys other than `publishes` and `positions`.
fn read(json: &str) -> Option<Snapshot> {
    let mut snapshot = Snapshot::default();
    let r = &mut Reader::new(json);
    if !r.open_object().ok()? {
        return None;
    }
    let mut first = true;
    while r.next_key(first).ok()? {
        first = false;
        let key = r.key().ok()?;
        let publishes = key == "publishes";
        if !publishes && key != "positions" {
            r.skip().ok()?;
            continue;
        }
        if r.null().ok()? {
            continue;
        }
        if !r.open_array().ok()? {
            return None;
        }
        let mut first = true;
        while r.next_element(first).ok()? {
            first = false;
            if !r.open_array().ok()? {
                return None;
            }
            let room = text(r, true)?;
            if publishes {
                let (id, event) = (text(r, false)?, text(r, false)?);
                let data = Payload::from_json(text(r, false)?).ok()?;
                snapshot.publishes.push(StoredPublish {
                    room,
                    id,
                    event,
                    data,
                });
            } else {
                let epoch = text(r, false)?;
                if !r.next_element(false).ok()? {
                    return None;
                }
                let seq = r.u64().ok()??;
                snapshot.positions.push(StoredPosition { room, epoch, seq });
            }
            while r.next_element(false).ok()? {
                r.skip().ok()?;
            }
        }
    }
    r.end().ok()?;
    Some(snapshot)
}

/// Reads the snapshot the JavaScript store kept.
pub(crate) fn snapshot(value: &JsValue) -> Result<Snapshot, Error> {
    let text = JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(invalid)?;
    read(&text).ok_or_else(invalid)
}
