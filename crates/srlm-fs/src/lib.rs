//! # srlm-fs
//!
//! Durable, all-or-nothing writes: the one writer every srlm crate uses (models, checkpoints,
//! JSON Lines sets, run records, reports). A file is written to a temporary name in the same
//! folder, synced, renamed into place, and the folder synced, so a crash or power loss leaves
//! either the old file or the whole new one — never half of it. It depends on nothing but the
//! standard library, `tempfile` and serde, so crates without a deep-learning framework (srlm-data's
//! importers) share it.
//!
//! The temporary file is created with `O_EXCL` under a random name (`tempfile`), so a link
//! planted beside the target cannot redirect the write. [`FolderLock`] keeps a second process
//! out of a folder another one is writing. [`Journal`] is the one append-only record of finished
//! work (JSON Lines, synced per append, a torn last line cut off on reopening) that lets a killed
//! run resume.
//!
//! ```
//! let dir = std::env::temp_dir().join(format!("srlm-fs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("report.json");
//! srlm_fs::write_atomic(&path, b"{\"ok\": true}")?;
//! assert_eq!(std::fs::read(&path).unwrap(), b"{\"ok\": true}");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), srlm_fs::FsError>(())
//! ```

mod journal;
mod lock;
mod pending;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use journal::{Journal, JournalError};
pub use lock::{FolderLock, LockError};
pub use pending::PendingFile;

/// A write, rename or sync failed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FsError {
    /// The file or folder.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: std::io::Error,
}

impl FsError {
    pub(crate) fn new(path: &Path, source: std::io::Error) -> Self {
        FsError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes `bytes` to `path` atomically and durably (temporary file, `fsync`, rename, `fsync`
/// of the folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let mut pending = PendingFile::create(path)?;
    pending
        .file()
        .write_all(bytes)
        .map_err(|e| FsError::new(pending.temporary_path(), e))?;
    pending.commit()
}

/// [`write_atomic`] for a writer that creates the file itself (a serialiser streaming to a
/// path): `write` writes the whole file at the temporary path it is given (a file this process
/// has just created exclusively, empty); that file is then synced and renamed to `path`. On
/// failure the temporary file is removed.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), FsError> {
    let pending = PendingFile::create(path)?;
    let tmp = pending.temporary_path().to_path_buf();
    write(&tmp).map_err(|e| FsError::new(&tmp, e))?;
    pending.commit()
}

/// Renames `from` (a file or a folder whose contents are already synced) to `to` and syncs the
/// folder holding `to`, so the rename survives a power loss.
pub fn rename_durable(from: &Path, to: &Path) -> Result<(), FsError> {
    std::fs::rename(from, to).map_err(|e| FsError::new(to, e))?;
    sync_dir(parent(to))
}

/// Syncs a folder's entries (its list of names) to disk. A no-op where folders cannot be opened
/// for syncing (Windows).
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FsError::new(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.jsonl");
        std::fs::write(&path, "old\n").unwrap();
        write_atomic(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the file itself");
    }

    #[test]
    fn a_writer_that_fails_half_way_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomic_with(&path, |tmp| {
            std::fs::write(tmp, "half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "only the file itself");
        write_atomic_with(&path, |tmp| std::fs::write(tmp, "new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_old_temporary_name_redirects_nothing() {
        // The old writer opened `.NAME.tmp-PID` with `File::create`, which follows a link there.
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("set.jsonl");
        let planted = dir
            .path()
            .join(format!(".set.jsonl.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomic(&path, b"new\n").unwrap();
        write_atomic_with(&path, |tmp| std::fs::write(tmp, "newer\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "newer\n");
    }

    #[test]
    fn a_write_into_a_missing_folder_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("no/such/file"), b"x").unwrap_err();
        assert!(err.path.starts_with(dir.path().join("no/such")), "{err}");
    }
}
