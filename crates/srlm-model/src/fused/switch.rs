//! Which fused operations run: [`FusedOp::DEFAULT`] (every one) unless the `SRLM_FUSED`
//! environment variable (`default`, `all`, `none`, or a comma-separated list of operation
//! names), [`set_enabled`] (the whole process) or [`with_enabled`] (one thread, for a scope)
//! choose others — to measure one fused operation alone, or to rule one out when chasing a bug.
//! Generation's fast paths have their own switches ([`crate::GenerationPath`]).

use std::cell::Cell;

use crate::error::Result;
use crate::switches::Switches;

/// One fused operation of [`crate::fused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FusedOp {
    /// [`crate::fused::rms_norm`] (`rms_norm`).
    RmsNorm,
    /// [`crate::fused::swiglu`] (`swiglu`).
    Swiglu,
    /// [`crate::fused::attention_softmax`] (`attention_softmax`).
    AttentionSoftmax,
    /// [`crate::fused::linear_log_probs`] (`linear_log_probs`).
    LinearLogProbs,
    /// [`crate::fused::rotary`] (`rotary`).
    Rotary,
    /// [`crate::fused::adamw_update`] (`adamw`).
    AdamW,
    /// [`crate::fused::attention`] (`attention`): training's attention without the scores of
    /// the whole sequence held (inference uses the backend's own fused attention).
    Attention,
    /// [`crate::fused::few_rows_matmul`] and [`crate::fused::few_rows_matmul_transposed`]
    /// (`few_rows`): the projections and a tied head of 2–64 rows (decoding a small
    /// batch) read each weight once instead of packing it.
    FewRows,
}

impl FusedOp {
    /// Every fused operation, in the order of their bits.
    pub const ALL: [FusedOp; 8] = [
        FusedOp::RmsNorm,
        FusedOp::Swiglu,
        FusedOp::AttentionSoftmax,
        FusedOp::LinearLogProbs,
        FusedOp::Rotary,
        FusedOp::AdamW,
        FusedOp::Attention,
        FusedOp::FewRows,
    ];

    /// What runs unless `SRLM_FUSED` or [`set_enabled`] say otherwise: every operation.
    pub const DEFAULT: [FusedOp; 8] = FusedOp::ALL;

    /// The operation's name in `SRLM_FUSED`.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The names in `SRLM_FUSED`, in [`FusedOp::ALL`]'s order.
const NAMES: [&str; 8] = [
    "rms_norm",
    "swiglu",
    "attention_softmax",
    "linear_log_probs",
    "rotary",
    "adamw",
    "attention",
    "few_rows",
];

/// The environment variable read on first use.
pub const ENV_VAR: &str = "SRLM_FUSED";

thread_local! {
    /// [`with_enabled`]'s choice for this thread, over the process-wide one.
    static SCOPED: Cell<Option<u32>> = const { Cell::new(None) };
}

static SWITCHES: Switches = Switches::new(ENV_VAR, &NAMES, bits_of(&FusedOp::DEFAULT), &SCOPED);

crate::switches::bits_of_fn!(FusedOp);

/// Parses `default` (or nothing), `all`, `none`, or a comma-separated list of operation names.
pub fn parse_fused_ops(text: &str) -> Result<Vec<FusedOp>> {
    let indices = SWITCHES.parse(text)?;
    Ok(indices.into_iter().map(|i| FusedOp::ALL[i]).collect())
}

/// Turns exactly these fused operations on (the others off), for the whole process — every
/// thread, including computations already under way on other threads. To compare operations
/// while other work runs (tests in parallel, a server), use [`with_enabled`].
pub fn set_enabled(ops: &[FusedOp]) {
    SWITCHES.set(bits_of(ops));
}

/// Runs `f` with exactly these fused operations on, on this thread only: other threads keep
/// the process-wide choice, and this thread's returns when `f` does (or panics). The model's
/// operations choose their implementation on the thread that calls them (the backend's worker
/// threads only run what they were handed), so a forward pass, a backward pass or a
/// generation called inside `f` runs entirely under this choice.
///
/// ```
/// use srlm_model::fused::{enabled, with_enabled, FusedOp};
///
/// let before = enabled(FusedOp::Swiglu);
/// let inside = with_enabled(&[FusedOp::RmsNorm], || {
///     (enabled(FusedOp::RmsNorm), enabled(FusedOp::Swiglu))
/// });
/// assert_eq!(inside, (true, false));
/// assert_eq!(enabled(FusedOp::Swiglu), before);
/// ```
pub fn with_enabled<T>(ops: &[FusedOp], f: impl FnOnce() -> T) -> T {
    SWITCHES.with(bits_of(ops), f)
}

/// Whether `op` runs fused (where the backend has a kernel for it).
pub fn enabled(op: FusedOp) -> bool {
    SWITCHES.bits() & op.bit() != 0
}

/// The fused operations that are on, as `SRLM_FUSED` would name them (`none` for none).
pub fn enabled_ops() -> String {
    SWITCHES.names_on()
}
