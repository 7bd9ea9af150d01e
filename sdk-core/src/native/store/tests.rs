use super::*;
use crate::machine::StoredPublish;
use crate::protocol::Payload;

fn publish(room: &str, n: usize) -> StoredPublish {
    StoredPublish {
        room: room.into(),
        id: format!("id-{n}"),
        event: "msg".into(),
        data: Payload::from_json(format!(r#"{{"n":{n},"text":"line {n}"}}"#)).expect("json"),
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

/// A journal with three publishes, one acked, and a position.
fn sample(dir: &Path) -> Snapshot {
    let mut opened = open(dir);
    let records = vec![
        Record::Queued(publish("a", 1)),
        Record::Queued(publish("a", 2)),
        Record::Queued(publish("b", 3)),
        Record::Done {
            room: "a".into(),
            id: "id-1".into(),
        },
        Record::Position(position("a", 41)),
    ];
    opened.store.append(&records[..2]).expect("append");
    opened.store.append(&records[2..]).expect("append");
    let mut expected = Live::default();
    for r in &records {
        expected.apply(r);
    }
    expected.snapshot()
}

#[test]
fn kept_state_comes_back() {
    let dir = tempdir();
    let expected = sample(dir.path());
    let opened = open(dir.path());
    assert_eq!(opened.snapshot, expected);
    assert_eq!(opened.snapshot.publishes.len(), 2);
    assert!(opened.damage.is_none());
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
    let path = dir.path().join(JOURNAL);
    let full = fs::read(&path).expect("read");
    // The state after each whole record, to compare with what survives a cut.
    let mut boundaries = vec![(MAGIC.len(), Snapshot::default())];
    let mut at = MAGIC.len();
    let mut state = Live::default();
    while at < full.len() {
        let Frame::Record(record, used) = codec::decode(&full[at..]) else {
            panic!("whole journal");
        };
        state.apply(&record);
        at += used;
        boundaries.push((at, state.snapshot()));
    }
    for cut in 0..full.len() {
        fs::write(&path, &full[..cut]).expect("write");
        let opened = open(dir.path());
        let whole = boundaries
            .iter()
            .rev()
            .find(|(end, _)| *end <= cut)
            .map_or_else(Snapshot::default, |(_, s)| s.clone());
        assert_eq!(opened.snapshot, whole, "cut at {cut}");
        assert!(opened.damage.is_none(), "cut at {cut}");
        drop(opened);
    }
}

#[test]
fn a_flipped_byte_inside_moves_the_journal_aside() {
    let dir = tempdir();
    sample(dir.path());
    let path = dir.path().join(JOURNAL);
    let mut bytes = fs::read(&path).expect("read");
    // Inside the first record's body: later records follow it, so this is not a cut-short
    // last write.
    bytes[MAGIC.len() + codec::HEADER + 3] ^= 0x40;
    fs::write(&path, &bytes).expect("write");
    let opened = open(dir.path());
    assert!(
        matches!(opened.damage, Some(Error::Storage(ref m)) if m.contains("corrupt")),
        "{:?}",
        opened.damage
    );
    assert!(opened.snapshot.is_empty());
    assert_eq!(
        fs::read(dir.path().join("journal.corrupt")).expect("aside"),
        bytes
    );
    // The fresh journal works.
    let mut store = opened.store;
    store
        .append(&[Record::Queued(publish("c", 9))])
        .expect("append");
    drop(store);
    assert_eq!(open(dir.path()).snapshot.publishes, vec![publish("c", 9)]);
}

#[test]
fn a_foreign_file_is_moved_aside() {
    let dir = tempdir();
    fs::write(dir.path().join(JOURNAL), b"not a roomcast journal").expect("write");
    let opened = open(dir.path());
    assert!(opened.damage.is_some());
    assert!(opened.snapshot.is_empty());
}

/// Bursts of publishes queued and acked; `keep_every` of them stay queued (0: none).
/// Returns the largest journal length seen and checks that reopening gives the live state.
fn load(dir: &Path, bursts: usize, keep_every: usize) -> u64 {
    let mut opened = open(dir);
    let mut expected = Live::default();
    let mut largest = 0;
    for burst in 0..bursts {
        let mut records = Vec::new();
        for i in 0..50 {
            let n = burst * 50 + i;
            let mut p = publish("a", n);
            // 2 KB each, so that a few dozen groups pass the compaction thresholds.
            p.data = Payload::from_json(format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(2000)))
                .expect("json");
            records.push(Record::Queued(p));
        }
        for r in &records {
            expected.apply(r);
        }
        opened.store.append(&records).expect("append queued");
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
        for r in &acks {
            expected.apply(r);
        }
        opened.store.append(&acks).expect("append acks");
        largest = largest.max(opened.store.len());
    }
    drop(opened);
    assert_eq!(open(dir).snapshot, expected.snapshot());
    largest
}

#[test]
fn compaction_keeps_the_live_state_and_bounds_the_journal() {
    // Acks keep up: compacted as soon as the journal passes the threshold.
    let dir = tempdir();
    let largest = load(dir.path(), 30, 0);
    assert!(
        largest <= COMPACT_MIN + 128 * 1024,
        "journal grew to {largest} bytes"
    );

    // Some publishes stay queued (a long time offline): read back past four times it.
    let dir = tempdir();
    let largest = load(dir.path(), 70, 40);
    assert!(
        largest <= 4 * COMPACT_MIN + 128 * 1024,
        "journal grew to {largest} bytes"
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}
