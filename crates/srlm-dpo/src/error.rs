//! The error type of `srlm-dpo`.

use std::path::PathBuf;

/// What can go wrong in training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A setting is out of range or inconsistent.
    #[error("invalid training setting: {0}")]
    Config(String),
    /// Nothing is left to train on once the records are encoded.
    #[error("no {what} fits the maximum length of {max_len} tokens")]
    NothingFits {
        /// `"example"` or `"pair"`.
        what: &'static str,
        /// The encoder's maximum length.
        max_len: usize,
    },
    /// The loss or the gradient norm became NaN or infinite (more often than
    /// `max_skipped_steps` allows).
    #[error("step {step}: the {quantity} is {loss} (not finite) on the batch of examples {examples:?}; lower the learning rate or check the data")]
    NonFinite {
        /// The optimizer step (0-based).
        step: usize,
        /// `loss` or `gradient norm`.
        quantity: &'static str,
        /// The value.
        loss: f32,
        /// The batch's example indices in the training set.
        examples: Vec<usize>,
    },
    /// A checkpoint or cache file is unusable.
    #[error("{path}: {reason}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The memory plan's peak exceeds what the device has (the plan as a table).
    #[error("training would run out of memory:\n\n{plan}\nlower --batch-size, --micro-batch-tokens or --max-len, or add --lora / --checkpointing (`srlm plan` tries settings without running; --no-memory-check runs anyway)")]
    OutOfMemory {
        /// The plan, as [`crate::MemoryPlan::table`] writes it.
        plan: String,
    },
    /// The model failed.
    #[error(transparent)]
    Model(#[from] srlm_model::ModelError),
    /// The data failed.
    #[error(transparent)]
    Data(#[from] srlm_data::DataError),
}

impl TrainError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
