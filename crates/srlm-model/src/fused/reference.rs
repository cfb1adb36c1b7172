//! The composed burn operations each fused operation computes: what runs on every backend
//! without a fused arm, and what the fused arms are tested against. Each is defined in its
//! operation's folder (`rms_norm/reference.rs`, …); this module gathers them.

pub use super::adamw::reference::adamw_update;
pub use super::attention::reference::attention;
pub use super::attention_softmax::reference::attention_softmax;
pub use super::few_rows::reference::{few_rows_matmul, few_rows_matmul_transposed};
pub use super::linear_log_probs::reference::{linear_log_probs, target_log_probs};
pub use super::rms_norm::reference::rms_norm;
pub use super::rotary::reference::rotary;
pub use super::swiglu::reference::swiglu;
