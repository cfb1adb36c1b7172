//! A file being written beside its target: created exclusively under a random name, renamed
//! into place when whole.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{parent, rename_durable, FsError};

/// A file being written to a temporary name beside `target`; [`PendingFile::commit`] syncs it
/// and renames it into place. Dropped uncommitted, the temporary file is removed.
///
/// The temporary name is random and the file is created with `O_EXCL` (`tempfile`), so nothing
/// planted in the folder — a link at a guessable name — can redirect the write.
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    temporary: tempfile::NamedTempFile,
}

impl PendingFile {
    /// Creates the temporary file in `target`'s folder (which must exist).
    pub fn create(target: &Path) -> Result<Self, FsError> {
        let dir = parent(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Permissions as `File::create` gives them (0666 less the umask), not tempfile's 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temporary = builder
            .tempfile_in(dir)
            .map_err(|e| FsError::new(&dir.join(format!(".{name}.*.tmp")), e))?;
        Ok(PendingFile {
            target: target.to_path_buf(),
            temporary,
        })
    }

    /// The open temporary file, to write into.
    pub fn file(&mut self) -> &mut File {
        self.temporary.as_file_mut()
    }

    /// Where the temporary file is (for a writer that opens the file by its path).
    pub fn temporary_path(&self) -> &Path {
        self.temporary.path()
    }

    /// The file this one will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs the file (whatever was written to it, through [`PendingFile::file`] or by its
    /// path), renames it to the target and syncs the folder.
    pub fn commit(self) -> Result<(), FsError> {
        let tmp = self.temporary.path().to_path_buf();
        // Reopened by path, so writes made through the path by another handle are synced too.
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| FsError::new(&tmp, e))?;
        let kept = self
            .temporary
            .into_temp_path()
            .keep()
            .map_err(|e| FsError::new(&tmp, e.error))?;
        if let Err(e) = rename_durable(&kept, &self.target) {
            let _ = std::fs::remove_file(&kept);
            return Err(e);
        }
        Ok(())
    }
}
