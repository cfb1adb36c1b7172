//! The error type of `srlm-loop`.

use std::path::{Path, PathBuf};

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoopError {
    /// A file of the run could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is invalid.
    #[error("{}invalid configuration: {reason}", path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default())]
    Config {
        /// The file, when it came from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// A journal or output of the run is damaged beyond its torn last line.
    #[error("{path}:{line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The run folder was made by a different configuration.
    #[error("{path} was written by another configuration ({reason}); use a new run folder or the same settings")]
    ConfigChanged {
        /// The run's `config.toml`.
        path: PathBuf,
        /// The first difference.
        reason: String,
    },
    /// Another process is working in the run folder.
    #[error(transparent)]
    Locked(#[from] srlm_fs::LockError),
    /// A served role does not serve the iteration's model, or switching it failed.
    #[error("{0}")]
    Serve(String),
    /// A stage has nothing to work on.
    #[error("{stage}: {reason}")]
    Empty {
        /// The stage.
        stage: String,
        /// Why.
        reason: String,
    },
    /// Stopped on request (a fault-injection point, or the caller).
    #[error("stopped after {units} unit(s) of {stage}")]
    Stopped {
        /// The stage.
        stage: String,
        /// Units finished in it.
        units: usize,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] srlm_model::ModelError),
    /// Reading or building data failed.
    #[error(transparent)]
    Data(#[from] srlm_data::DataError),
    /// Judging or a generator failed.
    #[error(transparent)]
    Judge(#[from] srlm_judge::JudgeError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] srlm_dpo::TrainError),
}

impl From<srlm_generation::GenerationError> for LoopError {
    fn from(error: srlm_generation::GenerationError) -> Self {
        LoopError::Judge(error.into())
    }
}

impl From<srlm_fs::JournalError> for LoopError {
    fn from(error: srlm_fs::JournalError) -> Self {
        match error {
            srlm_fs::JournalError::Io(e) => LoopError::Io {
                path: e.path,
                source: e.source,
            },
            srlm_fs::JournalError::Corrupt { path, line, reason } => {
                LoopError::Corrupt { path, line, reason }
            }
        }
    }
}

impl LoopError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        LoopError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with [`LoopError`].
pub type Result<T, E = LoopError> = std::result::Result<T, E>;
