//! Durable, all-or-nothing writes: the one writer every crate uses. A file is written to a
//! temporary name in the same folder, synced, renamed into place, and the folder synced, so a
//! crash or power loss leaves either the old file or the whole new one — never half of it.

use std::io::Write;
use std::path::Path;

use crate::error::{ModelError, Result};

/// Writes `bytes` to `path` atomically and durably (temporary file, `fsync`, rename, `fsync`
/// of the folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(ModelError::io(&tmp, e));
    }
    rename_durable(&tmp, path)
}

/// Renames `from` (a file or a folder whose contents are already synced) to `to` and syncs the
/// folder holding `to`, so the rename survives a power loss.
pub fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| ModelError::io(to, e))?;
    sync_dir(parent(to))
}

/// Syncs a folder's entries (its list of names) to disk. A no-op where folders cannot be opened
/// for syncing (Windows).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ModelError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
