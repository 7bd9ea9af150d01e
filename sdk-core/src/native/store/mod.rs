//! The native client's store: the offline queue and the rooms' positions in a directory the
//! app gives, so that a client opened after a kill sends every unacknowledged publish once and
//! resumes where the app was (see [`Config::persist`](crate::machine::Config::persist)).
//!
//! One append-only journal (`journal`) of checksummed records ([`codec`]), written in groups:
//! every record the machine produced in one round goes out in one `write` and one
//! `fdatasync`, so a burst of publishes costs one disk flush, and appending does nothing else.
//! When the journal grows past four times what is live (and past [`COMPACT_MIN`]), the live
//! state, read back from the journal, is written to a new file that replaces it atomically
//! (`rename`). An exclusive lock (`lock`) keeps a second process out.
//!
//! Damage: a record cut short at the end (a kill mid-write) is dropped silently, as is a last
//! record that fails its checksum (the part of a write that reached the disk). Damage anywhere
//! else means the file cannot be trusted: it is moved aside to `journal.corrupt` and the client
//! starts empty, with [`Opened::damage`] saying so. A failed write is cut back off the file, so
//! what the disk holds is always whole records.

mod codec;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::machine::{Error, Record, Snapshot, StoredPosition, StoredPublish};

use codec::Frame;

const MAGIC: &[u8; 8] = b"RCSTORE1";
const JOURNAL: &str = "journal";
const LOCK: &str = "lock";

/// The journal is never compacted below this size.
pub const COMPACT_MIN: u64 = 1024 * 1024;

/// A store opened by one client.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    file: File,
    /// Length of the journal: everything before it is whole records.
    len: u64,
    /// Compact when the journal reaches this length.
    compact_at: u64,
    /// Publishes queued and not done (`room` NUL `id`), and the rooms' positions: enough to
    /// compact without reading the journal back while nothing is queued, the usual case.
    queued: HashSet<String>,
    positions: BTreeMap<String, StoredPosition>,
    _lock: File,
}

/// What [`FileStore::open`] found.
#[derive(Debug)]
pub struct Opened {
    pub store: FileStore,
    /// The state to [`restore`](crate::machine::Machine::restore).
    pub snapshot: Snapshot,
    /// The journal was damaged and moved aside; the client starts empty.
    pub damage: Option<Error>,
}

impl FileStore {
    /// Opens (creating it if needed) the store in `dir`, or fails with
    /// [`Error::StoreLocked`] when another process has it open.
    pub fn open(dir: &Path) -> Result<Opened, Error> {
        let io = |e: io::Error| Error::Storage(format!("{}: {e}", dir.display()));
        fs::create_dir_all(dir).map_err(io)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::StoreLocked(dir.display().to_string()))
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let path = dir.join(JOURNAL);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (live, len, damage) = match read_journal(&bytes) {
            Ok((live, len)) => (live, len, None),
            Err(at) => {
                let aside = dir.join(format!("{JOURNAL}.corrupt"));
                drop(file);
                fs::rename(&path, &aside).map_err(io)?;
                file = OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(io)?;
                let error = Error::Storage(format!(
                    "the store's journal is damaged at byte {at}; it was moved to {} and the \
                     client starts empty",
                    aside.display()
                ));
                tracing::warn!(%error, "roomcast store");
                (Live::default(), 0, Some(error))
            }
        };
        let snapshot = live.snapshot();
        let mut store = FileStore {
            dir: dir.to_path_buf(),
            file,
            len: len as u64,
            compact_at: COMPACT_MIN,
            queued: snapshot
                .publishes
                .iter()
                .map(|p| queue_key(&p.room, &p.id))
                .collect(),
            positions: snapshot
                .positions
                .iter()
                .map(|p| (p.room.clone(), p.clone()))
                .collect(),
            _lock: lock,
        };
        if store.len < MAGIC.len() as u64 {
            // New, or created by a process killed before the header was written.
            store.rewrite(&Snapshot::default()).map_err(io)?;
        } else {
            store.file.set_len(store.len).map_err(io)?;
            store.file.seek(SeekFrom::End(0)).map_err(io)?;
            store.maybe_compact().map_err(io)?;
        }
        Ok(Opened {
            store,
            snapshot,
            damage,
        })
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Journal length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the journal holds no record.
    pub fn is_empty(&self) -> bool {
        self.len <= MAGIC.len() as u64
    }

    /// Writes `records` in one write and one data flush. On failure nothing of them stays in
    /// the journal.
    pub fn append(&mut self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for record in records {
            codec::encode(record, &mut bytes);
        }
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Cut the partial write off, so the journal stays whole records.
            let _ = self.file.set_len(self.len);
            let _ = self.file.seek(SeekFrom::Start(self.len));
            return Err(e);
        }
        self.len += bytes.len() as u64;
        for record in records {
            match record {
                Record::Queued(p) => {
                    self.queued.insert(queue_key(&p.room, &p.id));
                }
                Record::Done { room, id } => {
                    self.queued.remove(&queue_key(room, id));
                }
                Record::Position(p) => {
                    self.positions.insert(p.room.clone(), p.clone());
                }
                Record::Forget { room } => {
                    self.positions.remove(room);
                }
            }
        }
        self.maybe_compact()
    }

    /// Compacts once the journal reaches `compact_at` and nothing is queued (acks keep up, the
    /// usual case): the live state is then the rooms' positions. Only a journal that reaches
    /// four times that with publishes still queued (a long time offline) is read back to find
    /// what is live. Appends stay a write, a flush and a set update.
    fn maybe_compact(&mut self) -> io::Result<()> {
        if self.len < self.compact_at {
            return Ok(());
        }
        if self.queued.is_empty() {
            // Nothing queued: the live state is the positions alone.
            let live = Snapshot {
                publishes: Vec::new(),
                positions: self.positions.values().cloned().collect(),
            };
            return self.rewrite(&live);
        }
        if self.len < self.compact_at.saturating_mul(4) {
            // Publishes in flight are usually acked within the next groups: wait for an empty
            // queue rather than read the journal back now.
            return Ok(());
        }
        let bytes = fs::read(self.dir.join(JOURNAL))?;
        let live = match read_journal(&bytes) {
            Ok((live, _)) => live.snapshot(),
            // Written by this process a moment ago: damage now is the disk's, not ours to fix.
            Err(at) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the journal reads back damaged at byte {at}"),
                ))
            }
        };
        let size = encode_state(&live).len() as u64;
        if size.saturating_mul(4) > self.len {
            // Mostly live: not worth rewriting yet.
            self.compact_at = size.saturating_mul(4).max(COMPACT_MIN);
            return Ok(());
        }
        self.rewrite(&live)
    }

    /// Replaces the journal with `live` alone: a new file, flushed, then renamed over the old
    /// one, so a kill at any point leaves one whole journal.
    fn rewrite(&mut self, live: &Snapshot) -> io::Result<()> {
        let bytes = encode_state(live);
        let tmp = self.dir.join(format!("{JOURNAL}.tmp"));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(JOURNAL))?;
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        file.seek(SeekFrom::End(0))?;
        self.file = file;
        self.len = bytes.len() as u64;
        self.compact_at = self.len.saturating_mul(4).max(COMPACT_MIN);
        Ok(())
    }
}

/// The live state while reading a journal, with an index, so that applying a record costs the
/// same however many publishes are queued (a [`Snapshot`] is a plain list, scanned per record).
#[derive(Debug, Default)]
struct Live {
    next: u64,
    publishes: BTreeMap<u64, StoredPublish>,
    index: HashMap<(String, String), u64>,
    positions: BTreeMap<String, StoredPosition>,
}

impl Live {
    fn apply(&mut self, record: &Record) {
        match record {
            Record::Queued(p) => {
                let key = (p.room.clone(), p.id.clone());
                if !self.index.contains_key(&key) {
                    self.next += 1;
                    self.index.insert(key, self.next);
                    self.publishes.insert(self.next, p.clone());
                }
            }
            Record::Done { room, id } => {
                if let Some(n) = self.index.remove(&(room.clone(), id.clone())) {
                    self.publishes.remove(&n);
                }
            }
            Record::Position(p) => {
                self.positions.insert(p.room.clone(), p.clone());
            }
            Record::Forget { room } => {
                self.positions.remove(room);
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            publishes: self.publishes.values().cloned().collect(),
            positions: self.positions.values().cloned().collect(),
        }
    }
}

/// The key of a queued publish: room names cannot hold NUL.
fn queue_key(room: &str, id: &str) -> String {
    let mut key = String::with_capacity(room.len() + 1 + id.len());
    key.push_str(room);
    key.push('\0');
    key.push_str(id);
    key
}

/// The journal header followed by one record per live publish and position.
fn encode_state(state: &Snapshot) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    for p in &state.publishes {
        codec::encode(&Record::Queued(p.clone()), &mut bytes);
    }
    for p in &state.positions {
        codec::encode(
            &Record::Position(StoredPosition {
                room: p.room.clone(),
                epoch: p.epoch.clone(),
                seq: p.seq,
            }),
            &mut bytes,
        );
    }
    bytes
}

/// Reads a journal: the state and the length of its whole records, or the offset of damage
/// that is not a cut-short last record.
fn read_journal(bytes: &[u8]) -> Result<(Live, usize), usize> {
    let mut state = Live::default();
    if bytes.len() < MAGIC.len() {
        // Empty, or a header cut short: nothing was ever recorded after it.
        return if MAGIC.starts_with(bytes) {
            Ok((state, 0))
        } else {
            Err(0)
        };
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(0);
    }
    let mut at = MAGIC.len();
    while at < bytes.len() {
        match codec::decode(&bytes[at..]) {
            Frame::Record(record, used) => {
                state.apply(&record);
                at += used;
            }
            Frame::Torn => break,
            Frame::Damaged if reaches_end(&bytes[at..]) => break,
            Frame::Damaged => return Err(at),
        }
    }
    Ok((state, at))
}

/// Whether the frame at the start of `rest` claims to run to the end of the file: the last
/// write, of which the disk may hold only part.
fn reaches_end(rest: &[u8]) -> bool {
    let Some(header) = rest.get(..4) else {
        return true;
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    codec::HEADER.saturating_add(len) >= rest.len()
}

#[cfg(test)]
mod tests;
