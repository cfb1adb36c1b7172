//! A stage's journal: one JSON line per finished unit of work, appended and synced before the
//! next unit starts. A process killed mid-write leaves at most a torn last line, which reopening
//! cuts off; every complete line is a finished unit that is never redone.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{LoopError, Result};

/// An append-only JSON Lines log of finished units.
#[derive(Debug)]
pub struct Journal<T> {
    path: PathBuf,
    file: File,
    entries: Vec<T>,
}

impl<T: Serialize + DeserializeOwned> Journal<T> {
    /// Opens (or creates) the journal at `path`, reading its finished units and cutting off a
    /// torn last line.
    pub fn open(path: &Path) -> Result<Self> {
        let mut entries = Vec::new();
        if path.exists() {
            let bytes = std::fs::read(path).map_err(|e| LoopError::io(path, e))?;
            let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            for (index, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let entry = serde_json::from_slice(line).map_err(|e| LoopError::Corrupt {
                    path: path.to_path_buf(),
                    line: index + 1,
                    reason: e.to_string(),
                })?;
                entries.push(entry);
            }
            if complete < bytes.len() {
                tracing::warn!(
                    file = %path.display(),
                    bytes = bytes.len() - complete,
                    "cutting off a torn last line (the previous run stopped mid-write)"
                );
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| LoopError::io(path, e))?;
                file.set_len(complete as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| LoopError::io(path, e))?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| LoopError::io(path, e))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            entries,
        })
    }

    /// The finished units, in order.
    pub fn entries(&self) -> &[T] {
        &self.entries
    }

    /// Records a finished unit durably.
    pub fn append(&mut self, entry: T) -> Result<()> {
        let mut line = serde_json::to_vec(&entry).map_err(|e| LoopError::Corrupt {
            path: self.path.clone(),
            line: self.entries.len() + 1,
            reason: e.to_string(),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| LoopError::io(&self.path, e))?;
        self.entries.push(entry);
        Ok(())
    }

    /// The units, consuming the journal (the file stays until the stage's output is written).
    pub fn into_entries(self) -> Vec<T> {
        self.entries
    }
}
