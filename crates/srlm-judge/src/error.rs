//! The error type of `srlm-judge`.

/// What can go wrong while judging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeError {
    /// The judge template failed to compile or render.
    #[error("judge template: {0}")]
    Template(String),
    /// A user-supplied score pattern is not a valid regular expression or has no capture group.
    #[error("score pattern `{pattern}`: {reason}")]
    ScorePattern {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        reason: String,
    },
    /// An argument is invalid.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The HTTP judge failed after its last retry.
    #[error("{url}: {reason} (after {attempts} attempt(s))")]
    Http {
        /// The endpoint.
        url: String,
        /// The last failure.
        reason: String,
        /// How many attempts were made.
        attempts: usize,
    },
    /// A generator returned another number of rows (or samples per row) than it was asked for.
    #[error("the generator returned {rows} rows for {prompts} prompts, or a row without {samples} samples: a broken generator, not a result")]
    GeneratorRows {
        /// Prompts asked.
        prompts: usize,
        /// Rows returned.
        rows: usize,
        /// Samples asked per prompt.
        samples: usize,
    },
    /// The local model failed.
    #[error(transparent)]
    Model(#[from] srlm_model::ModelError),
}

/// `Result` with [`JudgeError`].
pub type Result<T, E = JudgeError> = std::result::Result<T, E>;
