//! The journal's record encoding: a frame of `[length u32 LE][crc32 u32 LE][body]`, the body a
//! tag byte and the record's fields, strings as `[length u32 LE][UTF-8]`, numbers little-endian.
//! Small and fixed, so a torn or flipped byte is always noticed and never misread.

use crate::machine::{Record, StoredPosition, StoredPublish};
use crate::protocol::Payload;

/// Frame header: body length and its CRC-32.
pub(crate) const HEADER: usize = 8;

/// Largest body accepted when reading: a publish is bounded by the server's frame limit, so
/// anything above this is damage, not data.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

const QUEUED: u8 = 1;
const DONE: u8 = 2;
const POSITION: u8 = 3;
const FORGET: u8 = 4;

/// Appends `record` as one frame to `out`.
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    match record {
        Record::Queued(p) => {
            out.push(QUEUED);
            for field in [&p.room, &p.id, &p.event] {
                put_str(out, field);
            }
            put_str(out, p.data.json());
        }
        Record::Done { room, id } => {
            out.push(DONE);
            put_str(out, room);
            put_str(out, id);
        }
        Record::Position(p) => {
            out.push(POSITION);
            put_str(out, &p.room);
            put_str(out, &p.epoch);
            out.extend_from_slice(&p.seq.to_le_bytes());
        }
        Record::Forget { room } => {
            out.push(FORGET);
            put_str(out, room);
        }
    }
    let body = &out[start + HEADER..];
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let crc = crc32fast::hash(body);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// What reading one frame at the start of `bytes` found.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    /// A whole, intact record and the bytes it took.
    Record(Record, usize),
    /// The bytes end inside the frame: a write cut short.
    Torn,
    /// A whole frame that fails its checksum or does not decode.
    Damaged,
}

/// Reads the frame at the start of `bytes` (which must not be empty).
pub(crate) fn decode(bytes: &[u8]) -> Frame {
    let Some(header) = bytes.get(..HEADER) else {
        return Frame::Torn;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_BODY {
        return Frame::Damaged;
    }
    let Some(body) = bytes.get(HEADER..HEADER + len) else {
        return Frame::Torn;
    };
    if crc32fast::hash(body) != crc {
        return Frame::Damaged;
    }
    match body_record(body) {
        Some(record) => Frame::Record(record, HEADER + len),
        None => Frame::Damaged,
    }
}

fn body_record(body: &[u8]) -> Option<Record> {
    let (&tag, mut rest) = body.split_first()?;
    let record = match tag {
        QUEUED => {
            let room = take_str(&mut rest)?;
            let id = take_str(&mut rest)?;
            let event = take_str(&mut rest)?;
            let data = Payload::from_json(take_str(&mut rest)?).ok()?;
            Record::Queued(StoredPublish {
                room,
                id,
                event,
                data,
            })
        }
        DONE => Record::Done {
            room: take_str(&mut rest)?,
            id: take_str(&mut rest)?,
        },
        POSITION => {
            let room = take_str(&mut rest)?;
            let epoch = take_str(&mut rest)?;
            let seq = u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
            Record::Position(StoredPosition { room, epoch, seq })
        }
        FORGET => Record::Forget {
            room: take_str(&mut rest)?,
        },
        _ => return None,
    };
    rest.is_empty().then_some(record)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn take_str(rest: &mut &[u8]) -> Option<String> {
    let len = u32::from_le_bytes(take(rest, 4)?.try_into().ok()?) as usize;
    String::from_utf8(take(rest, len)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Record> {
        vec![
            Record::Queued(StoredPublish {
                room: "chat:1".into(),
                id: "m-1".into(),
                event: "msg".into(),
                data: Payload::from_json(r#"{"text":"h\u00e9 \"x\"","n":[1,2.5e300]}"#)
                    .expect("json"),
            }),
            Record::Done {
                room: "chat:1".into(),
                id: "m-1".into(),
            },
            Record::Position(StoredPosition {
                room: "r".into(),
                epoch: "e-7".into(),
                seq: u64::MAX,
            }),
            Record::Forget { room: "r".into() },
        ]
    }

    #[test]
    fn every_record_round_trips() {
        for record in samples() {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            assert_eq!(decode(&bytes), Frame::Record(record, bytes.len()));
        }
    }

    #[test]
    fn every_cut_is_torn_and_every_flip_is_damage() {
        for record in samples() {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            for cut in 1..bytes.len() {
                assert_eq!(decode(&bytes[..cut]), Frame::Torn, "cut at {cut}");
            }
            for at in HEADER..bytes.len() {
                for bit in 0..8 {
                    let mut flipped = bytes.clone();
                    flipped[at] ^= 1 << bit;
                    assert_eq!(decode(&flipped), Frame::Damaged, "flip {at}:{bit}");
                }
            }
        }
    }
}
