//! # srlm-dpo
//!
//! Supervised fine-tuning and Direct Preference Optimisation for [`srlm_model::Llama`] on burn.
//!
//! ## Losses
//!
//! With `π_c`, `π_r` the policy's and `ref_c`, `ref_r` the frozen reference's log-probabilities
//! of the chosen and rejected responses — each the **sum** over the response's tokens (and its
//! end-of-turn token) of `log p(token | prefix)`, not the mean — and
//! `Δ = (π_c − ref_c) − (π_r − ref_r)`:
//!
//! | loss | per pair |
//! |---|---|
//! | SFT | `−Σ log p(response tokens) / (response tokens in the batch)` |
//! | sigmoid (DPO) | `−log σ(β Δ)` |
//! | cDPO (`label_smoothing` ε) | `−(1−ε) log σ(β Δ) − ε log σ(−β Δ)` |
//! | IPO | `((π_c − ref_c)/|c| − (π_r − ref_r)/|r| − 1/(2β))²` (length-averaged, as TRL) |
//! | hinge | `max(0, 1 − β Δ)` |
//! | RPO term (`rpo_alpha` α) | `+ α · (−Σ π_c / Σ |c|)` |
//! | SimPO (no reference) | `−log σ(β (π_c/|c| − π_r/|r|) − γ)` ([`reference_free`]) |
//! | ORPO (no reference) | `NLL − β log σ(log odds)` ([`reference_free`]) |
//!
//! The batch loss is the mean over pairs. Metrics use TRL's names: `rewards/chosen` = mean
//! `β(π_c − ref_c)`, `rewards/rejected`, `rewards/margins`, `rewards/accuracies` (share with
//! chosen reward > rejected reward), `logps/chosen`, `logps/rejected`, `grad_norm`,
//! `learning_rate`, `num_tokens`.
//!
//! ## Training
//!
//! [`train`] runs any [`Objective`] — [`SftObjective`], [`DpoObjective`], [`SimpoObjective`],
//! [`OrpoObjective`], or one of yours, each with its own statistics and metrics — with AdamW
//! ([`AdamW`], PyTorch's semantics), warm-up + cosine ([`Schedule`]), accumulation over
//! token-budget micro-batches, global-norm clipping ([`clip_coefficient`]), checkpoints and exact
//! resume. Its pieces are public for callers that drive the steps themselves: [`Trainer`]
//! (start or resume, step, log, checkpoint), [`Checkpoint`], [`evaluate_objective`]. Reference
//! log-probs are computed once and cached by content hash ([`cached_reference_logps`]).
//!
//! The recipes the CLI and the self-rewarding loop share are functions here: [`sft_objective`]
//! (records → SFT objective), [`Reference::dpo_objective`] (records → DPO objective against a
//! frozen reference, cached), [`fine_tune`] (any objective on a `LanguageModel`, back to a
//! `LanguageModel`).
//!
//! ```
//! use srlm_dpo::{dpo_losses, DpoConfig, PairLogps};
//! use srlm_model::burn::tensor::{Tensor, TensorData};
//! use srlm_model::parse_device;
//!
//! let device = parse_device("cpu")?;
//! let t = |v: f32| Tensor::<1>::from_data(TensorData::new(vec![v], [1]), &device);
//! // A policy equal to its reference: Δ = 0, loss = −log σ(0) = ln 2.
//! let loss = dpo_losses(&DpoConfig::default(), PairLogps {
//!     policy_chosen: t(-12.0), policy_rejected: t(-20.0),
//!     reference_chosen: t(-12.0), reference_rejected: t(-20.0),
//!     chosen_tokens: t(5.0), rejected_tokens: t(7.0),
//! });
//! let value: f32 = loss.into_scalar();
//! assert!((value - std::f32::consts::LN_2).abs() < 1e-6);
//! # Ok::<(), srlm_model::ModelError>(())
//! ```

mod error;
mod loss;
mod objective;
mod optim;
mod plan;
mod recipes;
mod reference;
pub mod reference_free;
mod schedule;
mod trainer;

pub use error::{Result, TrainError};
pub use loss::{dpo_losses, rpo_term, sft_loss, DpoConfig, DpoLossType, DpoMetrics, PairLogps};
pub use objective::{
    pair_logprobs, BatchTotals, DpoLoss, DpoObjective, Objective, OrpoObjective, PairLoss,
    PairStats, PolicyPairs, PreferenceObjective, SftMetrics, SftObjective, SftStats,
    SimpoObjective, StepStats,
};
pub use optim::{
    clip_coefficient, global_grad_norm, scale_grads, AdamW, AdamWConfig, GatheredGrads,
    UpdateLayout, BUCKET_ELEMENTS,
};
pub use plan::{MemoryPlan, PlanLine, PlannedWork};
pub use recipes::{
    fine_tune, sft_objective, FineTuned, Reference, ReferenceObjective, ADAPTER_DIR,
};
pub use reference::{
    cache_path, cached_reference_logps, compute_reference_logps, data_hash, weights_hash,
    CacheOutcome, ReferenceLogps,
};
pub use reference_free::{OrpoConfig, ReferenceFreeMetrics, SimpoConfig};
pub use schedule::Schedule;
pub use trainer::{
    evaluate, evaluate_objective, evaluate_preferences, train, Checkpoint, CheckpointState,
    StepMetrics, StepTime, TrainConfig, TrainOutcome, Trainer,
};
