//! The journal's record encoding: a frame of `[length u32 LE][crc32 u32 LE][body]`, the body a
//! tag byte and the record's fields, strings as `[length u32 LE][UTF-8]`, numbers little-endian.
//! Small and fixed, so a torn or flipped byte is always noticed and never misread.
//!
//! Two formats, named by the journal's 8-byte header. [`Format::V2`] (`RCSTORE2`, written
//! today) checksums the length field and the body together, so a flipped bit in a length is
//! damage like any other; [`Format::V1`] (`RCSTORE1`, written before) checksums the body
//! alone, so a corrupt length could only be told from a cut-short write by what follows it.
//! Version 1 journals are still read; the store rewrites them as version 2 when it opens them.

use crate::machine::{Record, StoredAppend, StoredPosition, StoredPublish};
use crate::protocol::{Payload, StreamState};

/// Frame header: body length and the CRC-32.
pub(crate) const HEADER: usize = 8;

/// Largest body written and read: a publish is bounded by the server's frame limit, so a
/// longer length read back is damage, not data, and a longer record is refused when appended.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// Length of a journal's header (its format's magic).
pub(crate) const MAGIC_LEN: usize = 8;

/// A journal's format, named by its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `RCSTORE1`: the CRC-32 covers the body only.
    V1,
    /// `RCSTORE2`: the CRC-32 covers the length field and the body.
    V2,
}

impl Format {
    /// The format written today.
    pub(crate) const CURRENT: Format = Format::V2;

    pub(crate) fn magic(self) -> &'static [u8; MAGIC_LEN] {
        match self {
            Format::V1 => b"RCSTORE1",
            Format::V2 => b"RCSTORE2",
        }
    }

    /// The format whose header `magic` is.
    pub(crate) fn of(magic: &[u8]) -> Option<Format> {
        [Format::V1, Format::V2]
            .into_iter()
            .find(|f| f.magic() == magic)
    }

    /// Whether `bytes` is the start of some format's header: a header cut short.
    pub(crate) fn is_header_prefix(bytes: &[u8]) -> bool {
        [Format::V1, Format::V2]
            .into_iter()
            .any(|f| f.magic().starts_with(bytes))
    }

    fn checksum(self, len: [u8; 4], body: &[u8]) -> u32 {
        match self {
            Format::V1 => crc32fast::hash(body),
            Format::V2 => {
                let mut hasher = crc32fast::Hasher::new();
                hasher.update(&len);
                hasher.update(body);
                hasher.finalize()
            }
        }
    }
}

const QUEUED: u8 = 1;
const DONE: u8 = 2;
const POSITION: u8 = 3;
const FORGET: u8 = 4;
/// A publish that opens a stream: `QUEUED`'s fields.
const QUEUED_STREAM: u8 = 5;
/// A stream's piece or cancel: room, id, text, then `n` (u64, `u64::MAX` for a cancel) and
/// its end (a byte: 0 none, else the state's place in `StreamState::ALL`).
const QUEUED_APPEND: u8 = 6;
/// A piece or cancel settled: room, id, then `n` as above.
const DONE_APPEND: u8 = 7;

/// `n` of a cancel, in a record.
const CANCEL: u64 = u64::MAX;

fn end_byte(end: Option<StreamState>) -> u8 {
    end.and_then(|e| StreamState::ALL.iter().position(|s| *s == e))
        .map_or(0, |at| at as u8)
}

fn end_of(byte: u8) -> Option<Option<StreamState>> {
    match byte {
        0 => Some(None),
        b => StreamState::ALL.get(usize::from(b)).map(|s| Some(*s)),
    }
}

/// Appends `record` as one frame of the current format to `out`; returns the body's length,
/// which the caller must check against [`MAX_BODY`] (a longer frame reads back as damage).
pub(crate) fn encode(record: &Record, out: &mut Vec<u8>) -> usize {
    encode_as(Format::CURRENT, record, out)
}

fn encode_as(format: Format, record: &Record, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    match record {
        Record::Queued(p) => {
            out.push(if p.stream { QUEUED_STREAM } else { QUEUED });
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
        Record::QueuedAppend(a) => {
            out.push(QUEUED_APPEND);
            put_str(out, &a.room);
            put_str(out, &a.id);
            put_str(out, &a.text);
            out.extend_from_slice(&a.n.unwrap_or(CANCEL).to_le_bytes());
            out.push(end_byte(a.end));
        }
        Record::DoneAppend { room, id, n } => {
            out.push(DONE_APPEND);
            put_str(out, room);
            put_str(out, id);
            out.extend_from_slice(&n.unwrap_or(CANCEL).to_le_bytes());
        }
    }
    let body = &out[start + HEADER..];
    let body_len = body.len();
    let len = u32::try_from(body_len).unwrap_or(u32::MAX).to_le_bytes();
    let crc = format.checksum(len, body);
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + HEADER].copy_from_slice(&crc.to_le_bytes());
    body_len
}

/// Appends `record` as one frame of version 1, as the store wrote before version 2: for tests
/// that open journals written by earlier releases.
#[cfg(test)]
pub(crate) fn encode_v1(record: &Record, out: &mut Vec<u8>) {
    encode_as(Format::V1, record, out);
}

/// The length of the frame [`encode`] makes of a position.
pub(crate) fn position_len(p: &StoredPosition) -> usize {
    HEADER + 1 + 4 + p.room.len() + 4 + p.epoch.len() + 8
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
    /// A whole frame that fails its checksum or does not decode, or a length over
    /// [`MAX_BODY`].
    Damaged,
}

/// The body length a frame header claims, or `None` when it is over [`MAX_BODY`] (damage).
pub(crate) fn body_len(header: &[u8; HEADER]) -> Option<usize> {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    (len <= MAX_BODY).then_some(len)
}

/// Reads the frame of `format` at the start of `bytes` (which must not be empty). The body's
/// layout is checked before its checksum, so that trying every offset of a damaged stretch
/// (the store resynchronising) rarely reads more than a few bytes at each.
pub(crate) fn decode(bytes: &[u8], format: Format) -> Frame {
    let Some(header) = bytes.first_chunk::<HEADER>() else {
        return Frame::Torn;
    };
    let Some(len) = body_len(header) else {
        return Frame::Damaged;
    };
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let Some(body) = bytes.get(HEADER..HEADER + len) else {
        return Frame::Torn;
    };
    if !well_formed(body) {
        return Frame::Damaged;
    }
    let len_field = [header[0], header[1], header[2], header[3]];
    if format.checksum(len_field, body) != crc {
        return Frame::Damaged;
    }
    match body_record(body) {
        Some(record) => Frame::Record(record, HEADER + len),
        None => Frame::Damaged,
    }
}

/// Whether `body` has a known tag and exactly the fields it names (their contents unchecked).
fn well_formed(body: &[u8]) -> bool {
    let Some((&tag, mut rest)) = body.split_first() else {
        return false;
    };
    let (strings, tail) = match tag {
        QUEUED | QUEUED_STREAM => (4, 0),
        DONE => (2, 0),
        QUEUED_APPEND => (3, 9),
        DONE_APPEND => (2, 8),
        POSITION => (2, 8),
        FORGET => (1, 0),
        _ => return false,
    };
    for _ in 0..strings {
        let Some(len) = take(&mut rest, 4) else {
            return false;
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if take(&mut rest, len).is_none() {
            return false;
        }
    }
    rest.len() == tail
}

fn body_record(body: &[u8]) -> Option<Record> {
    let (&tag, mut rest) = body.split_first()?;
    let record = match tag {
        QUEUED | QUEUED_STREAM => {
            let room = take_str(&mut rest)?;
            let id = take_str(&mut rest)?;
            let event = take_str(&mut rest)?;
            let data = Payload::from_json(take_str(&mut rest)?).ok()?;
            Record::Queued(StoredPublish {
                room,
                id,
                event,
                data,
                stream: tag == QUEUED_STREAM,
            })
        }
        QUEUED_APPEND => {
            let room = take_str(&mut rest)?;
            let id = take_str(&mut rest)?;
            let text = take_str(&mut rest)?;
            let n = u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
            let end = end_of(*take(&mut rest, 1)?.first()?)?;
            Record::QueuedAppend(StoredAppend {
                room,
                id,
                n: (n != CANCEL).then_some(n),
                text,
                end,
            })
        }
        DONE_APPEND => {
            let room = take_str(&mut rest)?;
            let id = take_str(&mut rest)?;
            let n = u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
            Record::DoneAppend {
                room,
                id,
                n: (n != CANCEL).then_some(n),
            }
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
                stream: false,
            }),
            Record::Queued(StoredPublish {
                room: "chat:1".into(),
                id: "s-1".into(),
                event: "assistant.reply".into(),
                data: Payload::from_json(r#"{"role":"assistant"}"#).expect("json"),
                stream: true,
            }),
            Record::QueuedAppend(StoredAppend {
                room: "chat:1".into(),
                id: "s-1".into(),
                n: Some(7),
                text: "h\u{e9}llo ".into(),
                end: None,
            }),
            Record::QueuedAppend(StoredAppend {
                room: "chat:1".into(),
                id: "s-1".into(),
                n: Some(8),
                text: String::new(),
                end: Some(StreamState::Failed),
            }),
            Record::QueuedAppend(StoredAppend {
                room: "chat:1".into(),
                id: "s-1".into(),
                n: None,
                text: String::new(),
                end: Some(StreamState::Cancelled),
            }),
            Record::DoneAppend {
                room: "chat:1".into(),
                id: "s-1".into(),
                n: Some(7),
            },
            Record::DoneAppend {
                room: "chat:1".into(),
                id: "s-1".into(),
                n: None,
            },
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
    fn every_record_round_trips_in_both_formats() {
        for record in samples() {
            let mut bytes = Vec::new();
            let body = encode(&record, &mut bytes);
            assert_eq!(body + HEADER, bytes.len());
            assert_eq!(
                decode(&bytes, Format::V2),
                Frame::Record(record.clone(), bytes.len())
            );
            let mut old = Vec::new();
            encode_v1(&record, &mut old);
            assert_eq!(decode(&old, Format::V1), Frame::Record(record, old.len()));
        }
    }

    #[test]
    fn a_frame_read_as_the_other_format_is_damage() {
        for record in samples() {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            assert_eq!(decode(&bytes, Format::V1), Frame::Damaged);
            let mut old = Vec::new();
            encode_v1(&record, &mut old);
            assert_eq!(decode(&old, Format::V2), Frame::Damaged);
        }
    }

    #[test]
    fn the_position_length_is_the_encoded_length() {
        for record in samples() {
            if let Record::Position(p) = &record {
                let mut bytes = Vec::new();
                encode(&record, &mut bytes);
                assert_eq!(position_len(p), bytes.len());
            }
        }
    }

    #[test]
    fn every_cut_is_torn_and_every_flip_is_caught() {
        for record in samples() {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            for cut in 1..bytes.len() {
                assert_eq!(
                    decode(&bytes[..cut], Format::V2),
                    Frame::Torn,
                    "cut at {cut}"
                );
            }
            // With the next frame after it, as in a journal: a flipped length bit then
            // points inside the buffer as often as past it.
            let mut next = bytes.clone();
            encode(&record, &mut next);
            for at in 0..bytes.len() {
                for bit in 0..8 {
                    for buffer in [&bytes, &next] {
                        let mut flipped = buffer.clone();
                        flipped[at] ^= 1 << bit;
                        let frame = decode(&flipped, Format::V2);
                        if at >= 4 {
                            assert_eq!(frame, Frame::Damaged, "flip {at}:{bit}");
                        } else {
                            // A length past the buffer reads as a cut, which the store
                            // tells from a torn write by what follows it.
                            let len = u32::from_le_bytes([
                                flipped[0], flipped[1], flipped[2], flipped[3],
                            ]) as usize;
                            let expected = if len <= MAX_BODY && HEADER + len > flipped.len() {
                                Frame::Torn
                            } else {
                                Frame::Damaged
                            };
                            assert_eq!(frame, expected, "flip {at}:{bit}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zeros_are_never_a_record() {
        for n in 1..64 {
            let zeros = vec![0u8; n];
            for format in [Format::V1, Format::V2] {
                assert!(
                    !matches!(decode(&zeros, format), Frame::Record(..)),
                    "{n} zeros"
                );
            }
        }
    }
}
