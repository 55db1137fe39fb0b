//! HDF5 files locked through a descriptor that child processes never inherit.
//!
//! HDF5 (sec2 driver) opens files without `O_CLOEXEC` and `flock`s them. A
//! process spawned by any thread while a file is open inherits that
//! descriptor, and with it the lock, which then outlives our close: the next
//! open of the same path fails with "unable to lock file" (`EAGAIN`) until the
//! child exits. So qwave turns HDF5's own locking off and takes the same kind
//! of lock (`flock`, exclusive to write, shared to read) on a descriptor Rust
//! opens close-on-exec. Other HDF5 programs (h5py, h5dump) still see the lock.
//! A child caught between fork and exec still holds a copy for that moment,
//! so a busy lock is retried for up to [`LOCK_WAIT`] before giving up.

use std::fs;
use std::ops::Deref;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a busy lock is retried before the open fails.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// An open HDF5 file and the lock guarding it; both released on drop.
pub(crate) struct LockedFile {
    file: hdf5::File,
    _lock: fs::File,
}

impl Deref for LockedFile {
    type Target = hdf5::File;
    fn deref(&self) -> &hdf5::File {
        &self.file
    }
}

impl LockedFile {
    /// Closes the HDF5 file (reporting errors), then releases the lock.
    pub(crate) fn close(self) -> hdf5::Result<()> {
        self.file.close()
    }
}

/// Creates (truncates) `path` for writing, locked exclusively.
pub(crate) fn create(path: &Path) -> hdf5::Result<LockedFile> {
    let lock = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| hdf5::Error::from(format!("cannot open for locking: {e}")))?;
    take_lock(&lock, fs::File::try_lock)?;
    let file = hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .create(path)?;
    Ok(LockedFile { file, _lock: lock })
}

/// Opens `path` read-only, with a shared lock.
pub(crate) fn open(path: &Path) -> hdf5::Result<LockedFile> {
    let lock =
        fs::File::open(path).map_err(|e| hdf5::Error::from(format!("unable to open file: {e}")))?;
    take_lock(&lock, fs::File::try_lock_shared)?;
    let file = hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .open(path)?;
    Ok(LockedFile { file, _lock: lock })
}

fn take_lock(
    file: &fs::File,
    try_lock: fn(&fs::File) -> Result<(), fs::TryLockError>,
) -> hdf5::Result<()> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match try_lock(file) {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(hdf5::Error::from(format!(
                    "file is in use (locked by another program for {LOCK_WAIT:?})"
                )))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(hdf5::Error::from(format!("cannot lock file: {e}")))
            }
        }
    }
}
