//! The error type of `srlm-data`.

use std::path::PathBuf;

/// What can go wrong reading, building or writing data sets.
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
    /// One line (or record) of an input file is bad.
    #[error("{path}:{line}: {reason}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number (of the record's start, for multi-line formats).
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
    /// A setting or an argument is out of its range.
    #[error("invalid setting: {0}")]
    InvalidConfig(String),
    /// A preference pair whose chosen and rejected answers are the same text.
    #[error("pair {number}: chosen and rejected are the same text; a pair must prefer one answer to another")]
    NoPreference {
        /// 1-based position of the pair in its set.
        number: usize,
    },
    /// Tokenising or rendering with the model's tokenizer and chat template failed.
    #[cfg(feature = "model")]
    #[error("record {index}: {source}")]
    Encode {
        /// The record's position in its set (0-based).
        index: usize,
        /// The model's error.
        #[source]
        source: srlm_model::ModelError,
    },
    /// Rendering a judge prompt or running a judge failed.
    #[error(transparent)]
    Judge(#[from] srlm_judge::JudgeError),
    /// A prompt's verifiable instructions cannot be built.
    #[error("verifiable instructions: {0}")]
    Verifiable(#[from] srlm_verifiable::VerifiableError),
    /// The model failed.
    #[cfg(feature = "model")]
    #[error(transparent)]
    Model(#[from] srlm_model::ModelError),
}

impl From<srlm_fs::FsError> for DataError {
    fn from(e: srlm_fs::FsError) -> Self {
        DataError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
