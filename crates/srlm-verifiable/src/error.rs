//! The error type of `srlm-verifiable`.

/// An instruction that cannot be built: an unknown kind, or arguments it cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifiableError {
    /// No instruction kind has this id.
    #[error("unknown instruction id `{id}` (known: {known})")]
    UnknownId {
        /// The id asked for.
        id: String,
        /// The ids this crate checks, comma-separated.
        known: String,
    },
    /// An argument is missing, of the wrong type, or out of range.
    #[error("instruction `{id}`, argument `{arg}`: {reason}")]
    Argument {
        /// The instruction id.
        id: String,
        /// The argument's name, as in IFEval's `kwargs`.
        arg: String,
        /// What is wrong with it.
        reason: String,
    },
}
