//! The store hook for the browser: the machine's records go to the package's JavaScript,
//! which keeps them in IndexedDB (`bindings/js/src/store.ts`), and what it kept comes back
//! at construction. Records are small arrays of strings and numbers:
//! `["queued", room, id, event, dataJson, stream]` (`stream` 1 when the publish opens a
//! stream, else 0), `["done", room, id]`, `["position", room, epoch, seq]`, `["forget", room]`,
//! and a stream's piece `["append", room, id, n, text, end]` (`n` null for a cancel, `end`
//! "" while open) and `["append-done", room, id, n]`; a snapshot is
//! `{publishes: [[room, id, event, dataJson, stream?], ...], positions: [[room, epoch, seq],
//! ...], appends: [[room, id, n, text, end], ...]}`.
//!
//! Both cross the boundary as one JSON text, written and read with the protocol's own JSON
//! code (`JSON.parse` / `JSON.stringify` on the JS side): a few bytes of module, where
//! building and reading `js_sys` arrays field by field took kilobytes.

use js_sys::JSON;
use roomcast_core::machine::{
    Error, Record, Snapshot, StoredAppend, StoredPosition, StoredPublish,
};
use roomcast_core::protocol::json::{push_str, push_u64, Reader};
use roomcast_core::protocol::{Payload, StreamState};
use wasm_bindgen::JsValue;

/// Appends one record to `out`, a JSON array being written (`,` before all but the first).
pub(crate) fn record(out: &mut String, r: &Record) {
    out.push_str(if out.is_empty() { "[[\"" } else { ",[\"" });
    let (kind, room) = match r {
        Record::Queued(p) => ("queued", &p.room),
        Record::Done { room, .. } => ("done", room),
        Record::Position(p) => ("position", &p.room),
        Record::Forget { room } => ("forget", room),
        Record::QueuedAppend(a) => ("append", &a.room),
        Record::DoneAppend { room, .. } => ("append-done", room),
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
            out.push_str(if p.stream { ",1" } else { ",0" });
        }
        Record::QueuedAppend(a) => {
            out.push(',');
            push_str(out, &a.id);
            push_n(out, a.n);
            out.push(',');
            push_str(out, &a.text);
            out.push(',');
            push_str(out, a.end.map_or("", StreamState::as_str));
        }
        Record::DoneAppend { id, n, .. } => {
            out.push(',');
            push_str(out, id);
            push_n(out, *n);
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

/// `,n`, or `,null` for a cancel's.
fn push_n(out: &mut String, n: Option<u64>) {
    out.push(',');
    match n {
        Some(n) => push_u64(out, n),
        None => out.push_str("null"),
    }
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

/// The next element of a row, a piece's index (`null` for a cancel's).
fn index(r: &mut Reader<'_>) -> Option<Option<u64>> {
    if !r.next_element(false).ok()? {
        return None;
    }
    if r.null().ok()? {
        return Some(None);
    }
    Some(Some(r.u64().ok()??))
}

/// Reads the snapshot text; `None` for anything but a snapshot. Elements past a row's own
/// are skipped, like keys other than `publishes`, `positions` and `appends`.
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
        let appends = key == "appends";
        if !publishes && !appends && key != "positions" {
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
            // Whether the row's `]` was read already.
            let mut closed = false;
            if publishes {
                let (id, event) = (text(r, false)?, text(r, false)?);
                let data = Payload::from_json(text(r, false)?).ok()?;
                // Rows kept before streams existed have no flag.
                let stream = if r.next_element(false).ok()? {
                    r.u64().ok()? == Some(1)
                } else {
                    closed = true;
                    false
                };
                snapshot.publishes.push(StoredPublish {
                    room,
                    id,
                    event,
                    data,
                    stream,
                });
            } else if appends {
                let id = text(r, false)?;
                let n = index(r)?;
                let text_ = text(r, false)?;
                let end = StreamState::from_wire(&text(r, false)?);
                snapshot.appends.push(StoredAppend {
                    room,
                    id,
                    n,
                    text: text_,
                    end,
                });
            } else {
                let epoch = text(r, false)?;
                if !r.next_element(false).ok()? {
                    return None;
                }
                let seq = r.u64().ok()??;
                snapshot.positions.push(StoredPosition { room, epoch, seq });
            }
            while !closed && r.next_element(false).ok()? {
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
