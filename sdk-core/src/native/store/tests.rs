// Dropped byte ranges are compared as lists of ranges, often of one.
#![allow(clippy::single_range_in_vec_init)]

use super::*;
use crate::machine::{StoredPosition, StoredPublish};

type State = KeptState<Record>;
use crate::protocol::Payload;

fn publish(room: &str, n: usize) -> StoredPublish {
    StoredPublish {
        room: room.into(),
        id: format!("id-{n}"),
        event: "msg".into(),
        data: Payload::from_json(format!(r#"{{"n":{n},"text":"line {n}"}}"#)).expect("json"),
        stream: false,
    }
}

fn position(room: &str, seq: u64) -> StoredPosition {
    StoredPosition {
        room: room.into(),
        epoch: "e1".into(),
        seq,
    }
}

fn open(dir: &Path) -> Opened {
    FileStore::open(dir).expect("open")
}

fn journal(dir: &Path) -> PathBuf {
    dir.join(JOURNAL)
}

/// The state after `records`.
fn state_of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Snapshot {
    let mut state = State::default();
    for r in records {
        state.apply(r, Record::clone);
    }
    state.snapshot()
}

/// The records of [`sample`], written in two groups: the first two, then the other three.
fn sample_records() -> Vec<Record> {
    vec![
        Record::Queued(publish("a", 1)),
        Record::Queued(publish("a", 2)),
        Record::Queued(publish("b", 3)),
        Record::Done {
            room: "a".into(),
            id: "id-1".into(),
        },
        Record::Position(position("a", 41)),
    ]
}

/// A journal with three publishes, one acked, and a position; returns the state.
fn sample(dir: &Path) -> Snapshot {
    let mut opened = open(dir);
    let records = sample_records();
    opened.store.append(&records[..2]).expect("append");
    opened.store.append(&records[2..]).expect("append");
    state_of(&records)
}

/// Where each record of a journal starts, and where the last one ends.
fn boundaries(bytes: &[u8], format: Format) -> Vec<usize> {
    let mut at = MAGIC_LEN;
    let mut starts = vec![at];
    while at < bytes.len() {
        let Frame::Record(_, used) = codec::decode(&bytes[at..], format) else {
            panic!("a whole journal");
        };
        at += used;
        starts.push(at);
    }
    starts
}

/// How many records of the journal `full` (record boundaries `starts`) `bytes` holds intact
/// from its start: a zero-filled tail can restore a record's own trailing zeros.
fn intact(full: &[u8], starts: &[usize], bytes: &[u8]) -> usize {
    starts[1..]
        .iter()
        .take_while(|end| **end <= bytes.len() && bytes[..**end] == full[..**end])
        .count()
}

/// A version 1 journal of `records`, as the store wrote before version 2.
fn v1_journal(records: &[Record]) -> Vec<u8> {
    let mut bytes = Format::V1.magic().to_vec();
    for r in records {
        codec::encode_v1(r, &mut bytes);
    }
    bytes
}

#[test]
fn kept_state_comes_back() {
    let dir = tempdir();
    let expected = sample(dir.path());
    let opened = open(dir.path());
    assert_eq!(opened.snapshot, expected);
    assert_eq!(opened.snapshot.publishes.len(), 2);
    assert!(opened.damage.is_none());
    assert!(opened.repair.is_none());
    assert_eq!(
        &fs::read(journal(dir.path())).expect("read")[..MAGIC_LEN],
        b"RCSTORE2"
    );
}

#[test]
fn a_second_opener_is_refused() {
    let dir = tempdir();
    let _first = open(dir.path());
    match FileStore::open(dir.path()) {
        Err(Error::StoreLocked(at)) => assert!(at.contains(&*dir.path().to_string_lossy())),
        other => panic!("expected StoreLocked, got {other:?}"),
    }
}

#[test]
fn a_write_cut_at_any_byte_keeps_every_whole_record() {
    let dir = tempdir();
    sample(dir.path());
    let path = journal(dir.path());
    let full = fs::read(&path).expect("read");
    let starts = boundaries(&full, Format::V2);
    let records = sample_records();
    for cut in 0..full.len() {
        fs::write(&path, &full[..cut]).expect("write");
        let opened = open(dir.path());
        // Records whose frame ends at or before the cut.
        let whole = starts[1..].iter().filter(|end| **end <= cut).count();
        let last_end = starts[whole];
        assert_eq!(opened.snapshot, state_of(&records[..whole]), "cut at {cut}");
        assert!(opened.damage.is_none(), "cut at {cut}");
        if cut <= MAGIC_LEN || cut == last_end {
            assert!(opened.repair.is_none(), "cut at {cut}");
        } else {
            let repair = opened.repair.expect("a torn tail is reported");
            assert_eq!(
                repair,
                Repair {
                    dropped: vec![last_end as u64..cut as u64],
                    kept: whole,
                    zeros: false,
                    torn_tail: true,
                    aside: None,
                },
                "cut at {cut}"
            );
        }
        // The tail was cut off the journal: a second open finds it clean.
        drop(opened.store);
        let again = open(dir.path());
        assert!(again.repair.is_none(), "cut at {cut}");
        assert_eq!(again.snapshot, state_of(&records[..whole]), "cut at {cut}");
        assert!(!dir.path().join(CORRUPT).exists());
    }
}

#[test]
fn a_torn_last_group_keeps_the_groups_before_it_and_its_whole_records() {
    let dir = tempdir();
    let mut opened = open(dir.path());
    let records = sample_records();
    opened.store.append(&records[..2]).expect("append");
    let group_start = opened.store.len() as usize;
    opened.store.append(&records[2..]).expect("append");
    drop(opened);
    let path = journal(dir.path());
    let full = fs::read(&path).expect("read");
    let starts = boundaries(&full, Format::V2);
    // The group's write reached the disk up to `k` bytes, the rest of its length as zeros
    // (the file's size was updated, its data not) or not at all.
    for k in 0..full.len() - group_start {
        for zero_filled in [false, true] {
            let mut bytes = full[..group_start + k].to_vec();
            if zero_filled {
                bytes.resize(full.len(), 0);
            }
            fs::write(&path, &bytes).expect("write");
            let opened = open(dir.path());
            let whole = intact(&full, &starts, &bytes);
            assert!(whole >= 2, "the first group is whole");
            assert_eq!(opened.snapshot, state_of(&records[..whole]), "k {k}");
            assert!(opened.damage.is_none(), "k {k}");
            let cut_at = starts[whole];
            if cut_at == bytes.len() {
                assert!(opened.repair.is_none(), "k {k}");
                continue;
            }
            let repair = opened.repair.expect("reported");
            assert_eq!(repair.dropped, vec![cut_at as u64..bytes.len() as u64]);
            assert_eq!(repair.kept, whole);
            assert!(repair.torn_tail);
            assert_eq!(repair.zeros, bytes[cut_at..].iter().all(|&b| b == 0));
            assert_eq!(fs::metadata(&path).expect("journal").len(), cut_at as u64);
        }
    }
}

#[test]
fn a_zero_filled_tail_of_any_length_keeps_every_record() {
    let dir = tempdir();
    let expected = sample(dir.path());
    let path = journal(dir.path());
    let full = fs::read(&path).expect("read");
    for n in 1..=512 {
        let mut bytes = full.clone();
        bytes.resize(full.len() + n, 0);
        fs::write(&path, &bytes).expect("write");
        let opened = open(dir.path());
        assert_eq!(opened.snapshot, expected, "{n} zeros");
        assert!(opened.damage.is_none(), "{n} zeros");
        assert_eq!(
            opened.repair,
            Some(Repair {
                dropped: vec![full.len() as u64..bytes.len() as u64],
                kept: 5,
                zeros: true,
                torn_tail: true,
                aside: None,
            }),
            "{n} zeros"
        );
        assert_eq!(fs::read(&path).expect("read"), full, "{n} zeros cut off");
    }
}

/// Flips each bit of the length field of record `index` of the sample journal, in `format`.
fn flip_each_length_bit(format: Format, index: usize) {
    let records = sample_records();
    let full = match format {
        Format::V1 => v1_journal(&records),
        Format::V2 => {
            let dir = tempdir();
            sample(dir.path());
            fs::read(journal(dir.path())).expect("read")
        }
    };
    let starts = boundaries(&full, format);
    let (start, end) = (starts[index], starts[index + 1]);
    let last = index + 1 == records.len();
    let without: Vec<Record> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, r)| r.clone())
        .collect();
    let expected = state_of(&without);
    for bit in 0..32 {
        let dir = tempdir();
        let path = journal(dir.path());
        let mut bytes = full.clone();
        bytes[start + bit / 8] ^= 1 << (bit % 8);
        fs::write(&path, &bytes).expect("write");
        let opened = open(dir.path());
        let context = format!("{format:?}, record {index}, bit {bit}");
        assert_eq!(opened.snapshot, expected, "{context}");
        let repair = opened.repair.expect("reported");
        assert_eq!(repair.kept, records.len() - 1, "{context}");
        if last {
            // Nothing follows: a corrupt length cannot be told from a cut write, and only
            // this record is lost.
            assert_eq!(repair.dropped, vec![start as u64..end as u64], "{context}");
            assert!(repair.torn_tail, "{context}");
            assert!(opened.damage.is_none(), "{context}");
        } else {
            // The record is lost, every record after it kept, and the damage reported.
            assert_eq!(repair.dropped, vec![start as u64..end as u64], "{context}");
            assert!(!repair.torn_tail, "{context}");
            assert_eq!(repair.aside, Some(dir.path().join(CORRUPT)), "{context}");
            assert!(
                matches!(&opened.damage, Some(Error::Storage(m)) if m.contains(CORRUPT)),
                "{context}: {:?}",
                opened.damage
            );
            assert_eq!(fs::read(dir.path().join(CORRUPT)).expect("aside"), bytes);
        }
        // What was kept is the journal now, in the current format.
        drop(opened.store);
        let again = open(dir.path());
        assert!(again.repair.is_none(), "{context}");
        assert_eq!(again.snapshot, expected, "{context}");
    }
}

#[test]
fn a_flipped_length_bit_in_the_middle_loses_that_record_only() {
    for index in 0..4 {
        flip_each_length_bit(Format::V2, index);
    }
}

#[test]
fn a_flipped_length_bit_in_the_last_record_loses_that_record_only() {
    flip_each_length_bit(Format::V2, 4);
}

#[test]
fn a_flipped_length_bit_in_a_version_1_journal_is_damage_too() {
    // Version 1 does not checksum the length: a length pointing past the end read as a cut
    // write and everything after it was dropped silently. Resynchronising finds the records
    // after it.
    for index in 0..5 {
        flip_each_length_bit(Format::V1, index);
    }
}

#[test]
fn a_flipped_byte_inside_keeps_the_records_around_it() {
    let dir = tempdir();
    sample(dir.path());
    let path = journal(dir.path());
    let mut bytes = fs::read(&path).expect("read");
    let starts = boundaries(&bytes, Format::V2);
    // Inside the second record's body: later records follow it, so this is not a cut-short
    // last write.
    bytes[starts[1] + HEADER + 3] ^= 0x40;
    fs::write(&path, &bytes).expect("write");
    let opened = open(dir.path());
    assert!(
        matches!(opened.damage, Some(Error::Storage(ref m)) if m.contains("corrupt")),
        "{:?}",
        opened.damage
    );
    let mut records = sample_records();
    records.remove(1);
    assert_eq!(opened.snapshot, state_of(&records));
    assert_eq!(
        opened.repair.as_ref().map(|r| r.dropped.clone()),
        Some(vec![starts[1] as u64..starts[2] as u64])
    );
    assert_eq!(
        fs::read(dir.path().join("journal.corrupt")).expect("aside"),
        bytes
    );
    // The repaired journal works.
    let mut store = opened.store;
    store
        .append(&[Record::Queued(publish("c", 9))])
        .expect("append");
    drop(store);
    let again = open(dir.path());
    assert!(again.repair.is_none());
    assert_eq!(
        again.snapshot.publishes,
        vec![publish("b", 3), publish("c", 9)]
    );
}

#[test]
fn a_zeroed_stretch_in_the_middle_keeps_the_records_after_it() {
    let dir = tempdir();
    let mut opened = open(dir.path());
    let records: Vec<Record> = (0..20).map(|n| Record::Queued(publish("a", n))).collect();
    for r in &records {
        opened
            .store
            .append(std::slice::from_ref(r))
            .expect("append");
    }
    drop(opened);
    let path = journal(dir.path());
    let full = fs::read(&path).expect("read");
    let starts = boundaries(&full, Format::V2);
    // A 512-byte sector of zeros from the middle of record 5 on.
    let from = starts[5] + 7;
    let to = from + 512;
    let mut bytes = full.clone();
    bytes[from..to].fill(0);
    fs::write(&path, &bytes).expect("write");
    let opened = open(dir.path());
    let lost: Vec<usize> = (0..20)
        .filter(|&i| starts[i + 1] > from && starts[i] < to)
        .collect();
    assert!(lost.len() >= 2, "{lost:?}");
    let kept: Vec<Record> = (0..20)
        .filter(|i| !lost.contains(i))
        .map(|i| records[i].clone())
        .collect();
    assert_eq!(opened.snapshot, state_of(&kept));
    let repair = opened.repair.expect("reported");
    let first = lost[0];
    let after = lost[lost.len() - 1] + 1;
    assert_eq!(
        repair.dropped,
        vec![starts[first] as u64..starts[after] as u64]
    );
    assert_eq!(repair.kept, kept.len());
    assert!(!repair.zeros && !repair.torn_tail);
    assert!(opened.damage.is_some());
}

#[test]
fn a_foreign_file_is_kept_aside_and_the_client_starts_empty() {
    let dir = tempdir();
    fs::write(journal(dir.path()), b"not a roomcast journal").expect("write");
    let opened = open(dir.path());
    assert!(opened.damage.is_some());
    assert!(opened.snapshot.is_empty());
    assert_eq!(
        fs::read(dir.path().join(CORRUPT)).expect("aside"),
        b"not a roomcast journal"
    );
    let repair = opened.repair.expect("reported");
    assert_eq!(repair.dropped, vec![0..22]);
    assert!(!repair.torn_tail);
}

#[test]
fn a_header_cut_short_is_a_new_store() {
    for cut in 0..MAGIC_LEN {
        for format in [Format::V1, Format::V2] {
            let dir = tempdir();
            fs::write(journal(dir.path()), &format.magic()[..cut]).expect("write");
            let opened = open(dir.path());
            assert!(opened.damage.is_none() && opened.repair.is_none());
            assert!(opened.snapshot.is_empty());
            assert_eq!(opened.store.len(), MAGIC_LEN as u64);
        }
    }
}

/// A version 1 journal as the store before version 2 wrote it, byte for byte (made with
/// Python's `zlib.crc32`, independently of this crate's encoder): `Queued(room "a", id
/// "id-1", event "msg", data {"n":1})`, `Queued(a, id-2, msg, {"n":2})`, `Done(a, id-1)`,
/// `Position(a, epoch "e1", seq 41)`.
const V1_JOURNAL: &str = "\
    524353544f524531200000001e8acf850101000000610400000069642d31030000006d7367070000007b226e\
    223a317d20000000745fb40d0101000000610400000069642d32030000006d7367070000007b226e223a327d\
    0e000000527e155a0201000000610400000069642d3114000000616e88850301000000610200000065312900\
    000000000000";

#[test]
fn a_version_1_journal_opens_and_is_rewritten_as_version_2() {
    let records = sample_records();
    let dir = tempdir();
    let path = journal(dir.path());
    fs::write(&path, v1_journal(&records)).expect("write");
    let opened = open(dir.path());
    assert!(opened.damage.is_none() && opened.repair.is_none());
    assert_eq!(opened.snapshot, state_of(&records));
    assert_eq!(&fs::read(&path).expect("read")[..MAGIC_LEN], b"RCSTORE2");
    let mut store = opened.store;
    store
        .append(&[Record::Queued(publish("c", 9))])
        .expect("append");
    drop(store);
    let again = open(dir.path());
    assert!(again.repair.is_none());
    let mut all = records.clone();
    all.push(Record::Queued(publish("c", 9)));
    assert_eq!(again.snapshot, state_of(&all));
}

#[test]
fn a_version_1_journal_written_before_opens() {
    let dir = tempdir();
    fs::write(journal(dir.path()), hex(V1_JOURNAL)).expect("write");
    let opened = open(dir.path());
    assert!(opened.damage.is_none(), "{:?}", opened.damage);
    assert!(opened.repair.is_none(), "{:?}", opened.repair);
    let data = |n: u32| Payload::from_json(format!(r#"{{"n":{n}}}"#)).expect("json");
    assert_eq!(
        opened.snapshot,
        Snapshot {
            publishes: vec![StoredPublish {
                room: "a".into(),
                id: "id-2".into(),
                event: "msg".into(),
                data: data(2),
                stream: false,
            }],
            positions: vec![position("a", 41)],
            appends: Vec::new(),
        }
    );
}

#[test]
fn a_version_1_journal_with_a_torn_or_zeroed_tail_keeps_its_whole_records() {
    let records = sample_records();
    let full = v1_journal(&records);
    let starts = boundaries(&full, Format::V1);
    let dir = tempdir();
    let path = journal(dir.path());
    for cut in starts[0] + 1..full.len() {
        for zeros in [0, 300] {
            let mut bytes = full[..cut].to_vec();
            bytes.resize(cut + zeros, 0);
            fs::write(&path, &bytes).expect("write");
            let opened = open(dir.path());
            let whole = intact(&full, &starts, &bytes);
            assert_eq!(opened.snapshot, state_of(&records[..whole]), "cut {cut}");
            assert!(opened.damage.is_none(), "cut {cut}");
            if starts[whole] == bytes.len() {
                assert!(opened.repair.is_none(), "cut {cut}");
            } else {
                let repair = opened.repair.expect("reported");
                assert!(repair.torn_tail, "cut {cut}");
                assert_eq!(
                    repair.dropped,
                    vec![starts[whole] as u64..bytes.len() as u64]
                );
            }
        }
    }
}

fn big_publish(n: usize, body_len: usize) -> StoredPublish {
    let mut p = publish("a", n);
    // Tag, four strings' lengths, room, id, event, and the JSON string's quotes.
    let fixed = 1 + 4 * 4 + p.room.len() + p.id.len() + p.event.len() + 2;
    p.data = Payload::from_json(format!(r#""{}""#, "x".repeat(body_len - fixed))).expect("json");
    p
}

#[test]
fn a_record_over_the_limit_is_refused_and_nothing_of_its_group_written() {
    let dir = tempdir();
    let mut opened = open(dir.path());
    let store = &mut opened.store;
    store
        .append(&[Record::Queued(publish("a", 1))])
        .expect("append");
    let before = store.len();
    let group = [
        Record::Queued(publish("a", 2)),
        Record::Queued(big_publish(3, MAX_BODY + 1)),
    ];
    let error = store.append(&group).expect_err("refused");
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("limit"), "{error}");
    assert_eq!(store.len(), before);
    assert_eq!(fs::metadata(journal(dir.path())).expect("m").len(), before);
    // The store goes on.
    store
        .append(&[Record::Queued(publish("a", 4))])
        .expect("append");
    drop(opened);
    let again = open(dir.path());
    assert!(again.repair.is_none());
    assert_eq!(
        again.snapshot.publishes,
        vec![publish("a", 1), publish("a", 4)]
    );
}

#[test]
fn a_record_at_the_limit_is_kept_through_a_compaction() {
    let dir = tempdir();
    let mut opened = open(dir.path());
    let big = big_publish(1, MAX_BODY);
    let mut frame = Vec::new();
    assert_eq!(
        codec::encode(&Record::Queued(big.clone()), &mut frame),
        MAX_BODY
    );
    opened
        .store
        .append(&[
            Record::Queued(big.clone()),
            Record::Position(position("a", 3)),
        ])
        .expect("append");
    opened.store.compact().expect("compact");
    drop(opened);
    let again = open(dir.path());
    assert!(again.repair.is_none());
    assert_eq!(again.snapshot.publishes, vec![big]);
    assert_eq!(again.snapshot.positions, vec![position("a", 3)]);
}

/// Bursts of publishes queued and acked; `keep_every` of them stay queued (0: none).
/// Returns the largest journal length seen and checks that reopening gives the live state.
fn load(
    store: &mut FileStore,
    expected: &mut State,
    bursts: std::ops::Range<usize>,
    keep_every: usize,
) -> u64 {
    let mut largest = 0;
    for burst in bursts {
        let mut records = Vec::new();
        for i in 0..50 {
            let n = burst * 50 + i;
            let mut p = publish("a", n);
            // 2 KB each, so that a few dozen groups pass the compaction thresholds.
            p.data = Payload::from_json(format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(2000)))
                .expect("json");
            records.push(Record::Queued(p));
        }
        // The acks come back in the next group, with the position.
        let mut acks: Vec<Record> = (0..50)
            .map(|i| burst * 50 + i)
            .filter(|n| keep_every == 0 || n % keep_every != 0)
            .map(|n| Record::Done {
                room: "a".into(),
                id: format!("id-{n}"),
            })
            .collect();
        acks.push(Record::Position(position("a", burst as u64)));
        store.append(&records).expect("append queued");
        store.append(&acks).expect("append acks");
        for r in records.into_iter().chain(acks) {
            expected.apply(&r, Record::clone);
        }
        largest = largest.max(store.len());
    }
    largest
}

#[test]
fn compaction_keeps_the_live_state_and_bounds_the_journal() {
    for (bursts, keep_every) in [(30, 0), (70, 40), (70, 3)] {
        let dir = tempdir();
        let mut opened = open(dir.path());
        let mut expected = State::default();
        let largest = load(&mut opened.store, &mut expected, 0..bursts, keep_every);
        let live = opened.store.live.len;
        assert!(
            largest <= COMPACT_MIN.max(4 * live) + 128 * 1024,
            "journal grew to {largest} bytes, live {live}"
        );
        assert!(opened.store.compaction_error().is_none());
        drop(opened);
        let again = open(dir.path());
        assert!(again.repair.is_none());
        assert_eq!(again.snapshot, expected.snapshot());
    }
}

#[test]
fn compaction_writes_the_live_state_from_memory() {
    let dir = tempdir();
    let mut opened = open(dir.path());
    let mut expected = State::default();
    load(&mut opened.store, &mut expected, 0..5, 10);
    // Garble what the journal holds so far: a compaction that read it back would find
    // damage; one written from memory does not read it.
    let path = journal(dir.path());
    let garbled = vec![0x5a; opened.store.len() as usize - MAGIC_LEN];
    {
        let mut file = OpenOptions::new().write(true).open(&path).expect("open");
        file.seek(SeekFrom::Start(MAGIC_LEN as u64)).expect("seek");
        file.write_all(&garbled).expect("write");
    }
    let before = opened.store.len();
    opened.store.compact().expect("compact");
    assert!(opened.store.len() < before);
    drop(opened);
    let again = open(dir.path());
    assert!(again.repair.is_none(), "{:?}", again.repair);
    assert_eq!(again.snapshot, expected.snapshot());
}

#[test]
fn a_failing_compaction_fails_no_append_and_is_retried() {
    let dir = tempdir();
    // A directory where compaction writes its temporary file.
    let tmp = dir.path().join(TMP);
    let mut opened = open(dir.path());
    fs::create_dir(&tmp).expect("mkdir");
    let mut expected = State::default();
    // Every append succeeds, past the compaction threshold several times over.
    let largest = load(&mut opened.store, &mut expected, 0..40, 0);
    assert!(largest > 2 * COMPACT_MIN, "{largest}");
    assert_eq!(opened.store.len(), largest);
    assert!(opened.store.compaction_error().is_some());
    // Reopening meanwhile keeps everything (and compaction at open fails the same way).
    drop(opened);
    let mut opened = open(dir.path());
    assert!(opened.repair.is_none());
    assert_eq!(opened.snapshot, expected.snapshot());
    assert!(opened.store.compaction_error().is_some());
    // The obstacle gone, the next appends compact once the retry interval has passed.
    fs::remove_dir(&tmp).expect("rmdir");
    load(&mut opened.store, &mut expected, 40..50, 0);
    assert!(opened.store.compaction_error().is_none());
    assert!(opened.store.len() < COMPACT_MIN, "{}", opened.store.len());
    drop(opened);
    let again = open(dir.path());
    assert!(again.repair.is_none());
    assert_eq!(again.snapshot, expected.snapshot());
}

#[test]
fn a_failing_compaction_is_not_retried_at_every_append() {
    let dir = tempdir();
    let tmp = dir.path().join(TMP);
    let mut opened = open(dir.path());
    fs::create_dir(&tmp).expect("mkdir");
    let mut expected = State::default();
    load(&mut opened.store, &mut expected, 0..30, 0);
    let failed_at = opened.store.retry_at;
    assert!(failed_at > COMPACT_MIN);
    assert!(opened.store.len() < failed_at);
    // Removed now, but nothing is tried before the journal reaches the retry length.
    fs::remove_dir(&tmp).expect("rmdir");
    // A position with a 4 KB epoch: the journal grows fast, the live state stays small.
    let one = [Record::Position(StoredPosition {
        room: "a".into(),
        epoch: "e".repeat(4096),
        seq: 7,
    })];
    while opened.store.len() + 4200 < failed_at {
        opened.store.append(&one).expect("append");
        assert!(opened.store.compaction_error().is_some());
    }
    while opened.store.compaction_error().is_some() {
        opened.store.append(&one).expect("append");
    }
    assert!(opened.store.len() < COMPACT_MIN);
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
