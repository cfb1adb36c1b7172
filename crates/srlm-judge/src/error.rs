//! The error type of `srlm-judge`.

use srlm_generation::GenerationError;

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
    /// Generation settings out of range.
    #[error("invalid generation settings: {0}")]
    GenerationSettings(String),
    /// A generator failed with an error that is neither the judge's nor the model's.
    #[error(transparent)]
    Generator(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The local model failed.
    #[cfg(feature = "local")]
    #[error(transparent)]
    Model(#[from] srlm_model::ModelError),
}

impl From<GenerationError> for JudgeError {
    /// A generator's own error comes back as itself: a judge's or a model's error is not
    /// wrapped twice.
    fn from(error: GenerationError) -> Self {
        match error {
            GenerationError::Rows {
                prompts,
                rows,
                samples,
            } => JudgeError::GeneratorRows {
                prompts,
                rows,
                samples,
            },
            GenerationError::InvalidSettings(reason) => JudgeError::GenerationSettings(reason),
            GenerationError::Generator(inner) => {
                let inner = match inner.downcast::<JudgeError>() {
                    Ok(judge) => return *judge,
                    Err(other) => other,
                };
                #[cfg(feature = "local")]
                let inner = match inner.downcast::<srlm_model::ModelError>() {
                    Ok(model) => return JudgeError::Model(*model),
                    Err(other) => other,
                };
                JudgeError::Generator(inner)
            }
            other => JudgeError::Generator(Box::new(other)),
        }
    }
}

/// `Result` with [`JudgeError`].
pub type Result<T, E = JudgeError> = std::result::Result<T, E>;
