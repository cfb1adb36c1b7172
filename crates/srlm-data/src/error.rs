//! The error type of `srlm-data`.

use std::path::PathBuf;

/// What can go wrong reading or writing data sets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// One line of a JSON Lines file is bad.
    #[error("{path}:{line}: {reason}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong (invalid JSON, missing field, wrong type, invalid UTF-8, ...).
        reason: String,
    },
    /// The file holds no records.
    #[error("{path}: no records")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
