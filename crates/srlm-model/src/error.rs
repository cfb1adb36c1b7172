//! The error type of `srlm-model`.

use std::path::PathBuf;

/// Everything that can go wrong while loading, saving or running a model.
///
/// Every variant names what and where: the file, the tensor, both shapes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A GGUF file is malformed (truncated, bad magic, inconsistent offsets, ...).
    #[error("{path}: invalid GGUF file: {reason}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// What is wrong, and at which byte offset where known.
        reason: String,
    },

    /// A GGUF tensor has a storage type this crate cannot dequantise.
    #[error("{path}: tensor `{tensor}` has GGUF type {type_name} (id {type_id}), which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K)")]
    UnsupportedTensorType {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The GGML type id.
        type_id: u32,
        /// The GGML type name, or `unknown`.
        type_name: String,
    },

    /// A safetensors file is malformed or has an unsupported dtype.
    #[error("{path}: invalid safetensors file: {reason}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A configuration file (`config.json`, `tokenizer_config.json`) is malformed.
    #[error("{path}: invalid configuration: {reason}")]
    Config {
        /// The file (or `<gguf metadata>` / `<memory>`).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A tensor the architecture needs is absent.
    #[error("tensor `{tensor}` is missing from the weights ({source_desc})")]
    MissingTensor {
        /// The tensor's name (in Hugging Face naming).
        tensor: String,
        /// Where the weights came from.
        source_desc: String,
    },

    /// A tensor holds NaN or an infinity: such a model is neither saved nor loaded.
    #[error("tensor `{tensor}` holds a non-finite value ({value} at index {index}) ({source_desc}): a model with NaN or infinite weights is neither saved nor loaded")]
    NonFiniteWeight {
        /// The tensor's name (in Hugging Face naming).
        tensor: String,
        /// The first non-finite element's flat index.
        index: usize,
        /// Its value.
        value: f32,
        /// Where the weights came from.
        source_desc: String,
    },

    /// A tensor's shape does not match the configuration.
    #[error("tensor `{tensor}` has shape {actual:?}, but the configuration implies {expected:?}")]
    ShapeMismatch {
        /// The tensor's name (in Hugging Face naming).
        tensor: String,
        /// The shape the configuration implies.
        expected: Vec<usize>,
        /// The shape found in the file.
        actual: Vec<usize>,
    },

    /// The tokenizer and the model disagree, or the tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// The chat template failed to parse or render.
    #[error("chat template: {0}")]
    ChatTemplate(String),

    /// An argument is invalid (empty prompt, bad sampling parameter, too long a sequence, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The requested device's backend was not compiled in, or the device string is malformed.
    #[error("device: {0}")]
    Device(String),

    /// The tensor backend failed while executing.
    #[error("backend: {0}")]
    Backend(String),
}

impl From<srlm_generation::GenerationError> for ModelError {
    fn from(error: srlm_generation::GenerationError) -> Self {
        match error {
            srlm_generation::GenerationError::InvalidSettings(reason) => {
                ModelError::InvalidInput(reason)
            }
            other => ModelError::InvalidInput(other.to_string()),
        }
    }
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
