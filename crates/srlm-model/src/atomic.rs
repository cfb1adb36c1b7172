//! Durable, all-or-nothing writes ([`srlm_fs`]), with the model crate's error type.

use std::path::Path;

use crate::error::{ModelError, Result};

fn model_error(e: srlm_fs::FsError) -> ModelError {
    ModelError::io(e.path, e.source)
}

/// Writes `bytes` to `path` atomically and durably (temporary file, `fsync`, rename, `fsync`
/// of the folder): [`srlm_fs::write_atomic`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    srlm_fs::write_atomic(path, bytes).map_err(model_error)
}

/// Writes `path` atomically and durably through `write`, which creates the file at the
/// temporary path it is given: [`srlm_fs::write_atomic_with`].
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    srlm_fs::write_atomic_with(path, write).map_err(model_error)
}

/// Renames `from` (a file or a folder whose contents are already synced) to `to` and syncs the
/// folder holding `to`: [`srlm_fs::rename_durable`].
pub fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    srlm_fs::rename_durable(from, to).map_err(model_error)
}

/// Syncs a folder's entries to disk: [`srlm_fs::sync_dir`].
pub fn sync_dir(dir: &Path) -> Result<()> {
    srlm_fs::sync_dir(dir).map_err(model_error)
}
