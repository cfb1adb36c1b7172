//! An append-only JSON Lines journal of finished units of work: each append is written and
//! synced before it returns, so a process killed mid-write leaves at most a torn last line,
//! which reopening cuts off; every complete line is a finished unit that is never redone. The
//! loop's stages and the judge's completion cache both keep one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::FsError;

/// A journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, writing, truncating or syncing the file failed.
    #[error(transparent)]
    Io(#[from] FsError),
    /// A complete line is not an entry (the file is damaged beyond a torn last line), or an
    /// entry could not be written as JSON.
    #[error("{path}:{line}: {reason}")]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// An append-only JSON Lines log of finished units, each a `T`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("units.jsonl");
/// let mut journal = srlm_fs::Journal::<u32>::open(&path)?;
/// journal.append(7)?;
/// journal.append_all(vec![8, 9])?;
/// assert_eq!(srlm_fs::Journal::<u32>::open(&path)?.entries(), &[7, 8, 9]);
/// # Ok::<(), srlm_fs::JournalError>(())
/// ```
#[derive(Debug)]
pub struct Journal<T> {
    path: PathBuf,
    file: File,
    entries: Vec<T>,
    torn_bytes: usize,
}

impl<T: Serialize + DeserializeOwned> Journal<T> {
    /// Opens (or creates, with its folder) the journal at `path`, reading its finished units and
    /// cutting off a torn last line ([`Journal::torn_bytes`] says how long it was). Any other
    /// line that is not a `T` is an error naming the line.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let io = |e| FsError::new(path, e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| FsError::new(dir, e))?;
        }
        let mut entries = Vec::new();
        let mut torn_bytes = 0;
        if path.exists() {
            let bytes = std::fs::read(path).map_err(io)?;
            let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            for (index, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                let entry = serde_json::from_slice(line).map_err(|e| JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: index + 1,
                    reason: e.to_string(),
                })?;
                entries.push(entry);
            }
            if complete < bytes.len() {
                torn_bytes = bytes.len() - complete;
                let file = OpenOptions::new().write(true).open(path).map_err(io)?;
                file.set_len(complete as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            entries,
            torn_bytes,
        })
    }

    /// The finished units, in order.
    pub fn entries(&self) -> &[T] {
        &self.entries
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of a torn last line that [`Journal::open`] cut off (0 when the last run finished
    /// its write).
    pub fn torn_bytes(&self) -> usize {
        self.torn_bytes
    }

    /// Records a finished unit durably.
    pub fn append(&mut self, entry: T) -> Result<(), JournalError> {
        self.append_all(vec![entry])
    }

    /// Records several finished units durably, in one write and one sync.
    pub fn append_all(&mut self, entries: Vec<T>) -> Result<(), JournalError> {
        let mut text = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let line = serde_json::to_vec(entry).map_err(|e| JournalError::Corrupt {
                path: self.path.clone(),
                line: self.entries.len() + i + 1,
                reason: e.to_string(),
            })?;
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        self.file
            .write_all(&text)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| FsError::new(&self.path, e))?;
        self.entries.extend(entries);
        Ok(())
    }

    /// The units, consuming the journal (the file stays).
    pub fn into_entries(self) -> Vec<T> {
        self.entries
    }
}
