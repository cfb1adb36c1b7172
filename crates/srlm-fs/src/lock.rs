//! One process per folder: an advisory lock on `FOLDER/.lock`, held while the value lives.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "{folder} is in use by another process{} (lock {lock}); wait for it to finish or stop it",
        holder.map(|p| format!(" (PID {p})")).unwrap_or_default()
    )]
    Held {
        /// The folder.
        folder: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The holder's process id, as it wrote it in the lock file.
        holder: Option<u32>,
    },
    /// The lock file could not be created, read or locked.
    #[error("{path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// An exclusive advisory lock on a folder (`FOLDER/.lock`, holding the holder's PID), released
/// when dropped or when the process dies — a run killed with `kill -9` leaves no stale lock.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let held = srlm_fs::FolderLock::acquire(dir.path())?;
/// let err = srlm_fs::FolderLock::acquire(dir.path()).unwrap_err();
/// assert!(err.to_string().contains(&format!("PID {}", std::process::id())), "{err}");
/// drop(held);
/// srlm_fs::FolderLock::acquire(dir.path())?;
/// # Ok::<(), srlm_fs::LockError>(())
/// ```
#[derive(Debug)]
pub struct FolderLock {
    path: PathBuf,
    _file: File,
}

impl FolderLock {
    /// The lock file's name in a locked folder.
    pub const FILE_NAME: &'static str = ".lock";

    /// Locks `folder` (which must exist), or says which process holds it. Never waits.
    pub fn acquire(folder: &Path) -> Result<Self, LockError> {
        let path = folder.join(Self::FILE_NAME);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    folder: folder.to_path_buf(),
                    lock: path.clone(),
                    holder: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(FolderLock { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = FolderLock::acquire(dir.path()).unwrap();
        match FolderLock::acquire(dir.path()) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(held);
        FolderLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_io_error_naming_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = FolderLock::acquire(&dir.path().join("no")).unwrap_err();
        assert!(err.to_string().contains(".lock"), "{err}");
    }
}
