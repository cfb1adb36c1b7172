//! Streaming JSON Lines: a reader that reports every bad line as `file:line: what is wrong`
//! (stopping, or skipping and counting), and a writer that never leaves half a file.

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{DataError, Result};
use crate::source::open_text;

/// What to do with a bad line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadLines {
    /// Stop the read with the line's error (the default).
    #[default]
    Fail,
    /// Skip it, count it, and keep its error in the [`SkipReport`].
    Skip,
}

/// The lines a skipping read left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SkipReport {
    /// How many lines were skipped.
    pub skipped: usize,
    /// The first skipped lines' errors (`file:line: reason`), at most [`SkipReport::KEPT`].
    pub errors: Vec<String>,
}

impl SkipReport {
    /// How many skipped lines keep their message.
    pub const KEPT: usize = 100;

    /// Counts one skipped line and keeps its message (the first [`SkipReport::KEPT`]).
    pub fn record(&mut self, error: &DataError) {
        tracing::warn!(%error, "skipping bad line");
        self.skipped += 1;
        if self.errors.len() < Self::KEPT {
            self.errors.push(error.to_string());
        }
    }

    /// Adds another report's counts and messages to this one.
    pub fn merge(&mut self, other: SkipReport) {
        self.skipped += other.skipped;
        let room = Self::KEPT.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
    }
}

/// In [`BadLines::Fail`] mode returns `error`; in [`BadLines::Skip`] mode records it.
pub(crate) fn reject(mode: BadLines, report: &mut SkipReport, error: DataError) -> Result<()> {
    match mode {
        BadLines::Fail => Err(error),
        BadLines::Skip => {
            report.record(&error);
            Ok(())
        }
    }
}

/// Reads records of type `T`, one JSON value a line, without loading the file whole. Blank
/// lines are ignored; gzip-compressed files (`.jsonl.gz`) are decompressed on the fly.
pub struct JsonlReader<T> {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    line: usize,
    mode: BadLines,
    report: SkipReport,
    buffer: Vec<u8>,
    max_line_bytes: usize,
    _record: PhantomData<T>,
}

/// Reads one line (through its `\n`) into `buffer`, keeping at most `limit` bytes of it.
/// The rest of a longer line is read and dropped, or, with `stop_early`, left unread (the
/// caller stops: an endless line such as `/dev/zero`'s is then never read to its end).
/// Returns the bytes read of the line (0 at the end of the input) and whether it was longer
/// than `limit`.
fn read_line_bounded(
    reader: &mut dyn BufRead,
    buffer: &mut Vec<u8>,
    limit: usize,
    stop_early: bool,
) -> std::io::Result<(usize, bool)> {
    let mut total = 0;
    loop {
        if stop_early && buffer.len() > limit {
            return Ok((total, true));
        }
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((total, total > limit));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (limit + 1).saturating_sub(buffer.len());
        buffer.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        total += take;
        if done {
            // The newline itself does not count against the limit.
            return Ok((total, total - 1 > limit));
        }
    }
}

impl<T: DeserializeOwned> JsonlReader<T> {
    /// Opens `path`.
    pub fn open(path: &Path, mode: BadLines) -> Result<Self> {
        Ok(JsonlReader {
            path: path.to_path_buf(),
            reader: open_text(path)?,
            line: 0,
            mode,
            report: SkipReport::default(),
            buffer: Vec::new(),
            max_line_bytes: Self::MAX_LINE_BYTES,
            _record: PhantomData,
        })
    }

    /// The default of [`JsonlReader::with_max_line_bytes`]: 64 MiB.
    pub const MAX_LINE_BYTES: usize = 64 << 20;

    /// Lines longer than `bytes` are bad lines (an error, or skipped and counted), read without
    /// being held: memory stays bounded on any input (a file with no newline, `/dev/zero`).
    pub fn with_max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// What was skipped so far.
    pub fn report(&self) -> &SkipReport {
        &self.report
    }

    /// The number of the last line read (1-based).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parse(&self) -> std::result::Result<Option<T>, String> {
        let text = std::str::from_utf8(&self.buffer)
            .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| format!("column {}: {e}", e.column()))
    }
}

impl<T: DeserializeOwned> Iterator for JsonlReader<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buffer.clear();
            let stop_early = self.mode == BadLines::Fail;
            let read = read_line_bounded(
                &mut self.reader,
                &mut self.buffer,
                self.max_line_bytes,
                stop_early,
            );
            let parsed = match read {
                Ok((0, _)) => return None,
                Ok((_, true)) => Err(format!(
                    "the line is longer than the limit of {} bytes",
                    self.max_line_bytes
                )),
                Ok((_, false)) => self.parse(),
                Err(source) => {
                    return Some(Err(DataError::Io {
                        path: self.path.clone(),
                        source,
                    }))
                }
            };
            self.line += 1;
            match parsed {
                Ok(Some(record)) => return Some(Ok(record)),
                Ok(None) => continue,
                Err(reason) => {
                    let error = DataError::BadLine {
                        path: self.path.clone(),
                        line: self.line,
                        reason,
                    };
                    match self.mode {
                        BadLines::Fail => return Some(Err(error)),
                        BadLines::Skip => self.report.record(&error),
                    }
                }
            }
        }
    }
}

/// Reads a whole file; an empty file (no records) is an error.
pub fn read_jsonl<T: DeserializeOwned>(
    path: &Path,
    mode: BadLines,
) -> Result<(Vec<T>, SkipReport)> {
    let mut reader = JsonlReader::open(path, mode)?;
    let records = reader.by_ref().collect::<Result<Vec<T>>>()?;
    if records.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((records, reader.report))
}

/// Writes records to a temporary file beside `path` and renames it into place on
/// [`AtomicJsonlWriter::finish`]; dropped unfinished, it removes the temporary file.
pub struct AtomicJsonlWriter {
    pending: Option<(srlm_fs::PendingFile, BufWriter<File>)>,
    count: usize,
}

impl AtomicJsonlWriter {
    /// Starts writing `path` (the temporary file is created exclusively, under a random name).
    pub fn create(path: &Path) -> Result<Self> {
        let mut pending = srlm_fs::PendingFile::create(path)?;
        let file = pending.file().try_clone().map_err(|source| DataError::Io {
            path: pending.temporary_path().to_path_buf(),
            source,
        })?;
        Ok(AtomicJsonlWriter {
            pending: Some((pending, BufWriter::new(file))),
            count: 0,
        })
    }

    fn io(&self, source: std::io::Error) -> DataError {
        DataError::Io {
            path: self
                .pending
                .as_ref()
                .map(|(p, _)| p.temporary_path().to_path_buf())
                .unwrap_or_default(),
            source,
        }
    }

    /// Appends one record.
    pub fn push<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let line = serde_json::to_string(record).map_err(|e| self.io(std::io::Error::other(e)))?;
        let result = match self.pending.as_mut() {
            Some((_, w)) => w
                .write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n")),
            None => Err(std::io::Error::other("writer already finished")),
        };
        result.map_err(|e| self.io(e))?;
        self.count += 1;
        Ok(())
    }

    /// Flushes, syncs and renames into place; returns the number of records.
    pub fn finish(mut self) -> Result<usize> {
        let Some((pending, mut writer)) = self.pending.take() else {
            return Ok(self.count);
        };
        if let Err(e) = writer.flush() {
            return Err(DataError::Io {
                path: pending.temporary_path().to_path_buf(),
                source: e,
            });
        }
        drop(writer);
        pending.commit()?;
        Ok(self.count)
    }
}

/// Writes all `records` atomically.
pub fn write_jsonl<'a, T: Serialize + 'a>(
    path: &Path,
    records: impl IntoIterator<Item = &'a T>,
) -> Result<usize> {
    let mut writer = AtomicJsonlWriter::create(path)?;
    for record in records {
        writer.push(record)?;
    }
    writer.finish()
}
