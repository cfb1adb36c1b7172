//! The error type of `srlm-eval`.

use std::path::PathBuf;

/// What can stop an evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Nothing to evaluate, or inputs that do not fit together.
    #[error("{0}")]
    Input(String),
    /// Drawing a plot failed.
    #[error("plot {path}: {reason}")]
    Plot {
        /// The image.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] srlm_model::ModelError),
    /// Reading data failed.
    #[error(transparent)]
    Data(#[from] srlm_data::DataError),
    /// Judging failed.
    #[error(transparent)]
    Judge(#[from] srlm_judge::JudgeError),
    /// Reading the run folder failed.
    #[error(transparent)]
    Run(#[from] srlm_loop::LoopError),
}

impl From<srlm_generation::GenerationError> for EvalError {
    fn from(error: srlm_generation::GenerationError) -> Self {
        EvalError::Judge(error.into())
    }
}

impl EvalError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with [`EvalError`].
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
