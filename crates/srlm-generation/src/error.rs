//! The error type of `srlm-generation`.

/// What can go wrong while generating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerationError {
    /// A generator returned another number of rows (or samples per row) than it was asked for.
    #[error("the generator returned {rows} rows for {prompts} prompts, or a row without {samples} samples: a broken generator, not a result")]
    Rows {
        /// Prompts asked.
        prompts: usize,
        /// Rows returned.
        rows: usize,
        /// Samples asked per prompt.
        samples: usize,
    },
    /// Generation settings out of range.
    #[error("invalid generation settings: {0}")]
    InvalidSettings(String),
    /// The generator itself failed (a model, a server); the error is its own, to downcast.
    #[error(transparent)]
    Generator(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl GenerationError {
    /// Wraps a generator's own error.
    pub fn generator(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        GenerationError::Generator(Box::new(error))
    }
}

/// `Result` with [`GenerationError`].
pub type Result<T, E = GenerationError> = std::result::Result<T, E>;
