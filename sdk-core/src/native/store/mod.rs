//! The native client's store: the offline queue and the rooms' positions in a directory the
//! app gives, so that a client opened after a kill sends every unacknowledged publish once and
//! resumes where the app was (see [`Config::persist`](crate::machine::Config::persist)).
//!
//! One append-only journal (`journal`) of checksummed records ([`codec`]), written in groups:
//! every record the machine produced in one round goes out in one `write` and one
//! `fdatasync`, so a burst of publishes costs one disk flush. A record longer than the codec's
//! limit (16 MiB) is refused: the whole group fails and nothing of it is written. The store
//! keeps the live state in memory (the queued publishes' encoded records and the rooms'
//! positions), so when the journal grows past four times what is live (and past
//! [`COMPACT_MIN`]) that state is written to a new file that replaces the journal atomically
//! (`rename`, then an `fsync` of the directory), without reading the journal back. A failed
//! compaction does not fail the append that triggered it (its records are already durable):
//! it is retried once the journal has grown by [`COMPACT_RETRY`], and
//! [`FileStore::compaction_error`] reports it meanwhile. An exclusive lock (`lock`) keeps a
//! second process out.
//!
//! Reading at open streams the journal (a buffered reader; only from the first damage on, a
//! rare case, is the rest of the file read into memory to resynchronise) and keeps every whole
//! record that passes its checksum (the version 2 checksum covers the length field too, so a
//! corrupt length is damage, never a cut). What it cannot read is reported in
//! [`Opened::repair`]:
//! - **A torn tail**: bytes after the last whole record that hold no whole record (the last
//!   write cut short by a crash or power loss, or zeros a file system left there, of any
//!   length). Everything before is kept and the tail is cut off; this is not
//!   [`Opened::damage`], since a write that did not finish its flush was never reported
//!   durable.
//! - **A hole**: damage followed by whole records. The store resynchronises: it tries every
//!   following offset and resumes at the first one that holds a whole record (its CRC-32 over
//!   length and body matches and the body decodes exactly, which random or zeroed bytes do
//!   with a probability of about 2^-32 per offset), so every whole record before and after the
//!   hole is kept and only the records inside it are lost. Records are independent (a queued
//!   publish, its `done`, a room's latest position), so a lost one costs at most that record:
//!   a lost `done` resends a publish the server deduplicates, a lost position is superseded by
//!   any later one. Dropping everything after the hole instead would lose publishes reported
//!   durable and move positions back. A record could only be misread where damage hides the
//!   start of a record whose own id or event name contains a whole encoded record. The
//!   journal as found is kept as `journal.corrupt` for inspection, the kept records are
//!   written as a new journal, and [`Opened::damage`] says what was lost. A hole in the last
//!   write (its pages reaching the disk out of order before a power loss) is reported the same
//!   way: the store cannot tell it from damage to records already durable.
//! - **A header that is not a journal's**: the file is kept as `journal.corrupt` and the
//!   client starts empty, with [`Opened::damage`].
//!
//! A version 1 journal (before the checksum covered the length) is read the same way and
//! rewritten as version 2 at open. New journals and rewritten ones are written to
//! `journal.tmp`, flushed, renamed over `journal` and the directory flushed, so a kill at any
//! point leaves one whole journal. A failed write is cut back off the file, so what the disk
//! holds is always whole records.

mod codec;

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::machine::{Applied, Error, KeptState, Record, Snapshot};

use codec::{Format, Frame, HEADER, MAGIC_LEN, MAX_BODY};

const JOURNAL: &str = "journal";
const TMP: &str = "journal.tmp";
const CORRUPT: &str = "journal.corrupt";
const LOCK: &str = "lock";

/// Buffer of the streamed read at open.
const READ_BUFFER: usize = 64 * 1024;

/// The journal is never compacted below this size.
pub const COMPACT_MIN: u64 = 1024 * 1024;

/// After a failed compaction, how much the journal grows before the next attempt.
pub const COMPACT_RETRY: u64 = 64 * 1024;

/// A store opened by one client.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    file: File,
    /// Length of the journal: everything before it is whole records.
    len: u64,
    /// What a compaction would write.
    live: Live,
    /// No compaction is tried before the journal reaches this length (after a failure).
    retry_at: u64,
    /// Why the last compaction failed, until one succeeds.
    compaction_error: Option<io::Error>,
    /// The directory's `fsync` after the journal was created or replaced failed: tried
    /// again before the next write, which fails with nothing written if it fails again.
    dir_unsynced: bool,
    _lock: File,
}

/// What [`FileStore::open`] found.
#[derive(Debug)]
pub struct Opened {
    pub store: FileStore,
    /// The state to [`restore`](crate::machine::Machine::restore).
    pub snapshot: Snapshot,
    /// Records the store had reported durable may have been lost: a hole in the journal (the
    /// records in it are lost, those before and after kept) or a header that is not a
    /// journal's (the client starts empty). The journal as found was kept as
    /// `journal.corrupt`; [`Opened::repair`] says where the damage was. `None` for a clean
    /// journal and for one whose only damage was a torn tail.
    pub damage: Option<Error>,
    /// What was dropped from the journal, whenever anything was, a torn tail included.
    pub repair: Option<Repair>,
}

/// What opening a store dropped from its journal: the bytes that held no whole record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// Byte ranges of the journal as found that were dropped, in order. Records that were in
    /// them are lost; how many is unknown (the damage hides where they began).
    pub dropped: Vec<Range<u64>>,
    /// Whole records read and kept, before and after the dropped ranges.
    pub kept: usize,
    /// Whether every dropped byte was zero (what some file systems leave after a crash).
    pub zeros: bool,
    /// Whether the only damage was a torn tail: the last write cut short (a kill or power loss
    /// before its flush completed), or zeros after the last whole record. Such a write was
    /// never reported durable, so [`Opened::damage`] is `None`.
    pub torn_tail: bool,
    /// Where the journal as found was kept for inspection (`journal.corrupt`), unless the only
    /// damage was a torn tail.
    pub aside: Option<PathBuf>,
}

impl Repair {
    /// Bytes dropped in all.
    pub fn dropped_bytes(&self) -> u64 {
        self.dropped.iter().map(|r| r.end - r.start).sum()
    }

    fn describe(&self) -> String {
        let ranges: Vec<String> = self
            .dropped
            .iter()
            .map(|r| format!("{}..{}", r.start, r.end))
            .collect();
        let what = if self.zeros {
            "zeros"
        } else {
            "no whole record"
        };
        let mut text = format!(
            "the store's journal was damaged: {} bytes at {} held {what} and were dropped \
             (the records in them are lost); {} whole records were kept",
            self.dropped_bytes(),
            ranges.join(", "),
            self.kept
        );
        if let Some(aside) = &self.aside {
            text.push_str(&format!(
                "; the journal as found was kept as {}",
                aside.display()
            ));
        }
        text
    }
}

impl FileStore {
    /// Opens (creating it if needed) the store in `dir`, or fails with
    /// [`Error::StoreLocked`] when another process has it open. Damage is repaired as the
    /// module documentation says and reported in [`Opened::repair`] and [`Opened::damage`];
    /// an I/O error (a repair or a version 1 journal's rewrite that cannot be written
    /// included) fails with [`Error::Storage`].
    pub fn open(dir: &Path) -> Result<Opened, Error> {
        let io = |e: io::Error| Error::Storage(format!("{}: {e}", dir.display()));
        let created = fs::symlink_metadata(dir).is_err();
        fs::create_dir_all(dir).map_err(io)?;
        if created {
            // Best effort: the store's own directory entry in its parent.
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
            let _ = sync_dir(parent.unwrap_or(Path::new(".")));
        }
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
        let existing = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(e)),
        };
        let found = match &existing {
            Some(file) => read_journal(file).map_err(io)?,
            None => Found::default(),
        };
        let snapshot = found.state.snapshot();
        let live = Live::of(&found.state);
        let holes = found.holes();
        let repair = (!found.dropped.is_empty()).then(|| Repair {
            dropped: found.dropped.clone(),
            kept: found.kept,
            zeros: found.zeros,
            torn_tail: !holes && !found.foreign,
            aside: (holes || found.foreign).then(|| dir.join(CORRUPT)),
        });
        let reuse = found.format == Some(Format::V2) && !holes;
        let (file, len, dir_synced) = match existing {
            // Whole records only, or a torn tail to cut off.
            Some(file) if reuse => {
                if found.end < found.file_len {
                    file.set_len(found.end).map_err(io)?;
                    file.sync_data().map_err(io)?;
                }
                (file, found.end, Ok(()))
            }
            // New, a header cut short, a version 1 journal, holes, or not a journal.
            existing => {
                drop(existing);
                let written = write_journal(dir, &live, holes || found.foreign).map_err(io)?;
                (written.file, written.len, written.dir_synced)
            }
        };
        let mut file = file;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        let damage = repair.as_ref().filter(|_| holes || found.foreign).map(|r| {
            Error::Storage(if found.foreign {
                format!(
                    "the store's journal is not a Roomcast journal; it was kept as {} and the \
                     client starts empty",
                    dir.join(CORRUPT).display()
                )
            } else {
                r.describe()
            })
        });
        if let Some(repair) = &repair {
            tracing::warn!(
                dropped = ?repair.dropped,
                kept = repair.kept,
                torn_tail = repair.torn_tail,
                "roomcast store: {}",
                damage
                    .as_ref()
                    .map_or_else(|| "a torn tail was cut off".to_owned(), |d| d.to_string())
            );
        }
        let mut store = FileStore {
            dir: dir.to_path_buf(),
            file,
            len,
            live,
            retry_at: 0,
            compaction_error: None,
            dir_unsynced: dir_synced.is_err(),
            _lock: lock,
        };
        store.maybe_compact();
        Ok(Opened {
            store,
            snapshot,
            damage,
            repair,
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
        self.len <= MAGIC_LEN as u64
    }

    /// Why the last compaction failed, until one succeeds. Appends go on regardless (their
    /// records are durable before compaction is tried); the journal only grows meanwhile.
    pub fn compaction_error(&self) -> Option<&io::Error> {
        self.compaction_error.as_ref()
    }

    /// Writes `records` in one write and one data flush. On failure nothing of them stays in
    /// the journal: a failed write or flush, a record over the codec's limit (16 MiB: refused
    /// before anything is written, with [`io::ErrorKind::InvalidInput`]), or a directory that
    /// still cannot be flushed after the journal was replaced. Once the records are durable
    /// this returns `Ok`, whatever a compaction it triggers does.
    pub fn append(&mut self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for record in records {
            let body = codec::encode(record, &mut bytes);
            if body > MAX_BODY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a record of {body} bytes is over the store's limit of {MAX_BODY}: \
                         nothing of its group was written"
                    ),
                ));
            }
        }
        if self.dir_unsynced {
            sync_dir(&self.dir)?;
            self.dir_unsynced = false;
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
        let mut at = 0;
        for record in records {
            let len = HEADER + frame_body_len(&bytes[at..]);
            self.live.apply(record, &bytes[at..at + len]);
            at += len;
        }
        self.maybe_compact();
        Ok(())
    }

    /// Compacts once the journal is past four times the live state and [`COMPACT_MIN`]. A
    /// failure is kept for [`compaction_error`](Self::compaction_error) and tried again once
    /// the journal has grown by [`COMPACT_RETRY`].
    fn maybe_compact(&mut self) {
        let threshold = COMPACT_MIN
            .max(self.live.len.saturating_mul(4))
            .max(self.retry_at);
        if self.len < threshold {
            return;
        }
        if let Err(error) = self.compact() {
            self.retry_at = self.len.saturating_add(COMPACT_RETRY);
            if self.compaction_error.is_none() {
                tracing::warn!(
                    %error,
                    "roomcast store: compaction failed; appends go on and it is tried again \
                     as the journal grows"
                );
            }
            self.compaction_error = Some(error);
        }
    }

    /// Replaces the journal with the live state alone.
    fn compact(&mut self) -> io::Result<()> {
        let written = write_journal(&self.dir, &self.live, false)?;
        self.file = written.file;
        self.len = written.len;
        self.retry_at = 0;
        if self.compaction_error.take().is_some() {
            tracing::info!("roomcast store: compaction works again");
        }
        if let Err(error) = written.dir_synced {
            tracing::warn!(%error, "roomcast store: the compacted journal's directory flush failed");
            self.dir_unsynced = true;
        }
        Ok(())
    }
}

/// The body length in the header of the frame at the start of `frame`, one
/// [`codec::encode`] wrote.
fn frame_body_len(frame: &[u8]) -> usize {
    u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize
}

/// The live state as a compaction writes it: the queued publishes' encoded records in queue
/// order and the rooms' positions.
#[derive(Debug, Default)]
struct Live {
    state: KeptState<Box<[u8]>>,
    /// Length of a journal of this state alone.
    len: u64,
}

impl Live {
    fn of(state: &KeptState<Record>) -> Live {
        let mut live = Live {
            len: MAGIC_LEN as u64,
            ..Live::default()
        };
        let mut frame = Vec::new();
        for record in state.queue() {
            frame.clear();
            codec::encode(record, &mut frame);
            live.apply(record, &frame);
        }
        for p in state.positions() {
            live.apply(&Record::Position(p.clone()), &[]);
        }
        live
    }

    /// Applies `record`, whose encoded frame is `frame`.
    fn apply(&mut self, record: &Record, frame: &[u8]) {
        match self.state.apply(record, |_| frame.into()) {
            Applied::Queued => self.len += frame.len() as u64,
            Applied::Done(frame) => self.len -= frame.len() as u64,
            Applied::Position(old) => {
                if let Record::Position(p) = record {
                    self.len += codec::position_len(p) as u64;
                }
                if let Some(old) = old {
                    self.len -= codec::position_len(&old) as u64;
                }
            }
            Applied::Forgotten(old) => self.len -= codec::position_len(&old) as u64,
            Applied::Unchanged => {}
        }
    }

    /// Writes the journal of this state alone; returns its length.
    fn write(&self, out: &mut impl Write) -> io::Result<u64> {
        out.write_all(Format::CURRENT.magic())?;
        for frame in self.state.queue() {
            out.write_all(frame)?;
        }
        let mut frame = Vec::new();
        for p in self.state.positions() {
            frame.clear();
            codec::encode(&Record::Position(p.clone()), &mut frame);
            out.write_all(&frame)?;
        }
        Ok(self.len)
    }
}

/// A journal just written in place of the old one.
struct Written {
    /// Open at its end.
    file: File,
    len: u64,
    /// The directory's flush after the rename (the new journal is in place either way).
    dir_synced: io::Result<()>,
}

/// Writes `live` as a new journal: `journal.tmp`, flushed, then (with `keep_aside`, the old
/// journal linked or copied to `journal.corrupt` first) renamed over `journal` and the
/// directory flushed. An error means the old journal is still in place.
fn write_journal(dir: &Path, live: &Live, keep_aside: bool) -> io::Result<Written> {
    let tmp = dir.join(TMP);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&tmp)?;
    let result = (|| {
        let len = {
            let mut out = BufWriter::with_capacity(READ_BUFFER, &mut file);
            let len = live.write(&mut out)?;
            out.flush()?;
            len
        };
        file.sync_all()?;
        if keep_aside {
            keep_journal_aside(dir)?;
        }
        fs::rename(&tmp, dir.join(JOURNAL))?;
        Ok(len)
    })();
    match result {
        Ok(len) => Ok(Written {
            file,
            len,
            dir_synced: sync_dir(dir),
        }),
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Keeps the journal as found as `journal.corrupt` (replacing an older one), without moving
/// it: a kill before the repaired journal replaces it leaves it to be read again.
fn keep_journal_aside(dir: &Path) -> io::Result<()> {
    let (journal, aside) = (dir.join(JOURNAL), dir.join(CORRUPT));
    match fs::remove_file(&aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if fs::hard_link(&journal, &aside).is_err() {
        fs::copy(&journal, &aside)?;
    }
    Ok(())
}

/// Flushes a directory's entries (a file created or renamed in it).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory as a file; its renames are journaled by NTFS.
        let _ = dir;
        Ok(())
    }
}

/// What reading a journal found.
#[derive(Debug)]
struct Found {
    /// `None`: no journal, an empty one, or a header cut short (nothing was recorded).
    format: Option<Format>,
    /// The header is not a journal's.
    foreign: bool,
    state: KeptState<Record>,
    /// Whole records read.
    kept: usize,
    /// End of the last whole record.
    end: u64,
    file_len: u64,
    dropped: Vec<Range<u64>>,
    /// Whether every dropped byte is zero.
    zeros: bool,
}

impl Default for Found {
    fn default() -> Found {
        Found {
            format: None,
            foreign: false,
            state: KeptState::default(),
            kept: 0,
            end: 0,
            file_len: 0,
            dropped: Vec::new(),
            zeros: true,
        }
    }
}

impl Found {
    /// Whether damage was followed by whole records (not a torn tail).
    fn holes(&self) -> bool {
        !self.foreign && self.dropped.iter().any(|r| r.end < self.file_len)
    }

    fn record(&mut self, record: Record, end: u64) {
        self.state.apply(&record, Record::clone);
        self.kept += 1;
        self.end = end;
    }

    fn drop_range(&mut self, range: Range<u64>, bytes: &[u8]) {
        self.zeros &= bytes.iter().all(|&b| b == 0);
        self.dropped.push(range);
    }
}

/// Reads a journal, streaming its whole records; from the first damage on (rare), the rest of
/// the file is read into memory to resynchronise.
fn read_journal(file: &File) -> io::Result<Found> {
    let file_len = file.metadata()?.len();
    let mut found = Found {
        file_len,
        ..Found::default()
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut magic = [0u8; MAGIC_LEN];
    let got = read_up_to(&mut reader, &mut magic)?;
    if got < MAGIC_LEN && Format::is_header_prefix(&magic[..got]) {
        // Empty, or a header cut short: nothing was ever recorded after it.
        return Ok(found);
    }
    let Some(format) = Format::of(&magic[..got]) else {
        found.foreign = true;
        let mut rest = Vec::new();
        reader.seek(SeekFrom::Start(0))?;
        reader.read_to_end(&mut rest)?;
        found.drop_range(0..file_len, &rest);
        return Ok(found);
    };
    found.format = Some(format);
    found.end = MAGIC_LEN as u64;
    let mut at = MAGIC_LEN as u64;
    let mut frame = Vec::new();
    while at < file_len {
        let mut header = [0u8; HEADER];
        if file_len - at < HEADER as u64 {
            break;
        }
        reader.read_exact(&mut header)?;
        let Some(len) = codec::body_len(&header) else {
            break;
        };
        if at + (HEADER + len) as u64 > file_len {
            break;
        }
        frame.clear();
        frame.extend_from_slice(&header);
        frame.resize(HEADER + len, 0);
        reader.read_exact(&mut frame[HEADER..])?;
        match codec::decode(&frame, format) {
            Frame::Record(record, used) => {
                at += used as u64;
                found.record(record, at);
            }
            Frame::Torn | Frame::Damaged => break,
        }
    }
    if at < file_len {
        reader.seek(SeekFrom::Start(at))?;
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest)?;
        resync(&rest, at, format, &mut found);
    }
    Ok(found)
}

/// Reads the part of a journal from offset `base` on, which does not start with a whole
/// record: each damaged stretch is dropped up to the next offset that holds a whole record,
/// and the whole records from there are kept.
fn resync(rest: &[u8], base: u64, format: Format, found: &mut Found) {
    let mut at = 0;
    while at < rest.len() {
        let next = (at + 1..rest.len()).find_map(|i| match codec::decode(&rest[i..], format) {
            Frame::Record(record, used) => Some((i, record, used)),
            Frame::Torn | Frame::Damaged => None,
        });
        let stop = next.as_ref().map_or(rest.len(), |(i, ..)| *i);
        found.drop_range(base + at as u64..base + stop as u64, &rest[at..stop]);
        let Some((i, record, used)) = next else {
            return;
        };
        at = i + used;
        found.record(record, base + at as u64);
        while at < rest.len() {
            match codec::decode(&rest[at..], format) {
                Frame::Record(record, used) => {
                    at += used;
                    found.record(record, base + at as u64);
                }
                Frame::Torn | Frame::Damaged => break,
            }
        }
    }
}

/// Reads into `buf` until it is full or the reader ends; returns how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests;
