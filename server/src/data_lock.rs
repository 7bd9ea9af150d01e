//! The exclusive lock on the data directory.
//!
//! Two servers on one SQLite store would each assign seqs from their own cached room heads and
//! fail each other's writes. The first server takes an exclusive advisory lock (`flock` on
//! Unix, `LockFileEx` on Windows) on `roomcast.lock` in the data directory and holds it while it
//! runs; a second one fails at once. The operating system drops the lock when the process ends,
//! however it ends, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "roomcast.lock";

/// Why the data directory could not be locked.
#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "the data directory {dir} is in use by another roomcast-server (lock {lock} is held); \
         stop that server or give this one another --data directory"
    )]
    InUse { dir: PathBuf, lock: PathBuf },
    #[error("cannot lock the data directory with {lock}: {source}")]
    Io {
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// Holds the data directory's lock until dropped.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

impl DataLock {
    /// Creates `dir` if needed and locks it, or fails at once when another process holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let lock = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            lock: lock.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(DataLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse {
                dir: dir.to_path_buf(),
                lock,
            }),
            Err(TryLockError::Error(source)) => Err(LockError::Io { lock, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataLock::acquire(dir.path()).expect("first lock");
        let second = DataLock::acquire(dir.path());
        assert!(matches!(second, Err(LockError::InUse { .. })), "{second:?}");
        drop(first);
        assert!(DataLock::acquire(dir.path()).is_ok());
    }
}
