//! The store hook for the browser: the machine's records go to the package's JavaScript,
//! which keeps them in IndexedDB (`bindings/js/src/store.ts`), and what it kept comes back
//! at construction. Records cross as small arrays of strings and numbers, so this side needs
//! no serializer:
//! `["queued", room, id, event, dataJson]`, `["done", room, id]`,
//! `["position", room, epoch, seq]`, `["forget", room]`; a snapshot is
//! `{publishes: [[room, id, event, dataJson], ...], positions: [[room, epoch, seq], ...]}`.

use js_sys::{Array, Reflect};
use roomcast_core::machine::{Error, Record, Snapshot, StoredPosition, StoredPublish};
use roomcast_core::protocol::Payload;
use wasm_bindgen::JsValue;

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// One record as the array the JavaScript store takes.
pub(crate) fn record(r: &Record) -> JsValue {
    match r {
        Record::Queued(p) => {
            let a = Array::of3(&s("queued"), &s(&p.room), &s(&p.id));
            a.push(&s(&p.event));
            a.push(&s(p.data.json()));
            a.into()
        }
        Record::Done { room, id } => Array::of3(&s("done"), &s(room), &s(id)).into(),
        Record::Position(p) => {
            let a = Array::of3(&s("position"), &s(&p.room), &s(&p.epoch));
            a.push(&JsValue::from_f64(p.seq as f64));
            a.into()
        }
        Record::Forget { room } => Array::of2(&s("forget"), &s(room)).into(),
    }
}

fn invalid() -> Error {
    Error::InvalidConfig("restore must be a store snapshot {publishes, positions}".into())
}

fn rows(snapshot: &JsValue, key: &str) -> Result<Vec<Array>, Error> {
    let value = Reflect::get(snapshot, &s(key)).map_err(|_| invalid())?;
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if !Array::is_array(&value) {
        return Err(invalid());
    }
    Array::from(&value)
        .iter()
        .map(|row| {
            if Array::is_array(&row) {
                Ok(Array::from(&row))
            } else {
                Err(invalid())
            }
        })
        .collect()
}

fn text(row: &Array, at: u32) -> Result<String, Error> {
    row.get(at).as_string().ok_or_else(invalid)
}

/// Reads the snapshot the JavaScript store kept.
pub(crate) fn snapshot(value: &JsValue) -> Result<Snapshot, Error> {
    if !value.is_object() {
        return Err(invalid());
    }
    let mut snapshot = Snapshot::default();
    for row in rows(value, "publishes")? {
        let data = Payload::from_json(text(&row, 3)?).map_err(|_| invalid())?;
        snapshot.publishes.push(StoredPublish {
            room: text(&row, 0)?,
            id: text(&row, 1)?,
            event: text(&row, 2)?,
            data,
        });
    }
    for row in rows(value, "positions")? {
        let seq = row
            .get(2)
            .as_f64()
            .filter(|n| *n >= 0.0)
            .ok_or_else(invalid)?;
        snapshot.positions.push(StoredPosition {
            room: text(&row, 0)?,
            epoch: text(&row, 1)?,
            seq: seq as u64,
        });
    }
    Ok(snapshot)
}
