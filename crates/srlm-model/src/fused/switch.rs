//! Which fused operations run: [`FusedOp::DEFAULT`] (every one but continuous batching) unless
//! the `SRLM_FUSED` environment variable (`default`, `all`, `none`, or a comma-separated list
//! of operation names), [`set_enabled`] (the whole process) or [`with_enabled`] (one thread,
//! for a scope) choose others — to measure one fused operation alone, or to rule one out when
//! chasing a bug.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{ModelError, Result};

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
    /// Generation prefills the token prefix all prompts of a batch share once and copies its
    /// KV cache to every row (`prefix_cache`; [`crate::generate()`]).
    PrefixCache,
    /// Decoding writes each step's keys and values in place into room reserved in the KV cache
    /// (`kv_in_place`; grown 64 positions at a time) instead of concatenating the whole cache
    /// per step and layer ([`crate::KvCache::reserve`]).
    KvInPlace,
    /// [`crate::fused::attention`] (`attention`): training's attention without the scores of
    /// the whole sequence held (inference uses the backend's own fused attention).
    Attention,
    /// [`crate::fused::few_rows_matmul`] and [`crate::fused::few_rows_matmul_transposed`]
    /// (`few_rows`): the projections and a tied head of 2–64 rows (decoding a small
    /// batch) read each weight once instead of packing it.
    FewRows,
    /// [`LanguageModel::complete`](crate::LanguageModel::complete) keeps its batch full,
    /// prompts joining as sequences finish (`continuous_batching`; [`crate::generate_continuous`])
    /// instead of decoding fixed chunks of prompts until each chunk's longest answer ends. Not
    /// in [`FusedOp::DEFAULT`]: on the flex CPU backend decode at 48 rows is bound by compute,
    /// not by reading the weights, so the fixed chunks' tail costs little while the masked
    /// rows and cache copies of joining cost more (docs/performance-log.md, "Continuous batching:
    /// built, measured slower on this CPU").
    ContinuousBatching,
}

impl FusedOp {
    /// Every fused operation.
    pub const ALL: [FusedOp; 11] = [
        FusedOp::RmsNorm,
        FusedOp::Swiglu,
        FusedOp::AttentionSoftmax,
        FusedOp::LinearLogProbs,
        FusedOp::Rotary,
        FusedOp::AdamW,
        FusedOp::PrefixCache,
        FusedOp::KvInPlace,
        FusedOp::Attention,
        FusedOp::FewRows,
        FusedOp::ContinuousBatching,
    ];

    /// What runs unless `SRLM_FUSED` or [`set_enabled`] say otherwise: every operation but
    /// [`FusedOp::ContinuousBatching`] (the last of [`FusedOp::ALL`]).
    pub const DEFAULT: [FusedOp; 10] = {
        let mut ops = [FusedOp::RmsNorm; 10];
        let mut i = 0;
        while i < ops.len() {
            ops[i] = FusedOp::ALL[i];
            i += 1;
        }
        ops
    };

    /// The operation's name in `SRLM_FUSED`.
    pub fn name(self) -> &'static str {
        match self {
            FusedOp::RmsNorm => "rms_norm",
            FusedOp::Swiglu => "swiglu",
            FusedOp::AttentionSoftmax => "attention_softmax",
            FusedOp::LinearLogProbs => "linear_log_probs",
            FusedOp::Rotary => "rotary",
            FusedOp::AdamW => "adamw",
            FusedOp::PrefixCache => "prefix_cache",
            FusedOp::KvInPlace => "kv_in_place",
            FusedOp::Attention => "attention",
            FusedOp::FewRows => "few_rows",
            FusedOp::ContinuousBatching => "continuous_batching",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The environment variable read on first use.
pub const ENV_VAR: &str = "SRLM_FUSED";

/// Set once the state below has been initialised (from the environment or [`set_enabled`]).
const INITIALISED: u32 = 1 << 31;

static STATE: AtomicU32 = AtomicU32::new(0);

/// Parses `default` (or nothing), `all`, `none`, or a comma-separated list of operation names.
pub fn parse_fused_ops(text: &str) -> Result<Vec<FusedOp>> {
    match text.trim() {
        "default" | "" => return Ok(FusedOp::DEFAULT.to_vec()),
        "all" => return Ok(FusedOp::ALL.to_vec()),
        "none" => return Ok(Vec::new()),
        _ => {}
    }
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            FusedOp::ALL
                .into_iter()
                .find(|op| op.name() == name)
                .ok_or_else(|| {
                    ModelError::InvalidInput(format!(
                        "unknown fused operation `{name}` in {ENV_VAR} (expected default, all, \
                         none, or a list of: {})",
                        names(&FusedOp::ALL)
                    ))
                })
        })
        .collect()
}

fn names(ops: &[FusedOp]) -> String {
    ops.iter().map(|op| op.name()).collect::<Vec<_>>().join(",")
}

fn bits_of(ops: &[FusedOp]) -> u32 {
    ops.iter().fold(INITIALISED, |bits, op| bits | op.bit())
}

/// Turns exactly these fused operations on (the others off), for the whole process — every
/// thread, including computations already under way on other threads. To compare operations
/// while other work runs (tests in parallel, a server), use [`with_enabled`].
pub fn set_enabled(ops: &[FusedOp]) {
    STATE.store(bits_of(ops), Ordering::Relaxed);
}

thread_local! {
    /// [`with_enabled`]'s choice for this thread, over the process-wide one.
    static SCOPED: Cell<Option<u32>> = const { Cell::new(None) };
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
    /// Puts the previous choice back, on return or unwind.
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPED.with(|scoped| scoped.set(self.0));
        }
    }
    let _restore = Restore(SCOPED.with(|scoped| scoped.replace(Some(bits_of(ops)))));
    f()
}

fn state() -> u32 {
    if let Some(bits) = SCOPED.with(Cell::get) {
        return bits;
    }
    let bits = STATE.load(Ordering::Relaxed);
    if bits & INITIALISED != 0 {
        return bits;
    }
    let ops = match std::env::var(ENV_VAR) {
        Ok(text) => parse_fused_ops(&text).unwrap_or_else(|error| {
            tracing::warn!("{error}; the default fused operations stay on");
            FusedOp::DEFAULT.to_vec()
        }),
        Err(_) => FusedOp::DEFAULT.to_vec(),
    };
    set_enabled(&ops);
    STATE.load(Ordering::Relaxed)
}

/// Whether `op` runs fused (where the backend has a kernel for it).
pub fn enabled(op: FusedOp) -> bool {
    state() & op.bit() != 0
}

/// The fused operations that are on, as `SRLM_FUSED` would name them (`none` for none).
pub fn enabled_ops() -> String {
    let on: Vec<FusedOp> = FusedOp::ALL.into_iter().filter(|op| enabled(*op)).collect();
    if on.is_empty() {
        "none".into()
    } else {
        names(&on)
    }
}
