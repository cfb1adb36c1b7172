//! A memory plan before a run: what training a model of given shapes with given settings holds
//! at its peak — weights, adapters, gradients, optimizer state, activations, the checkpoint's
//! host copy — added up from the shapes, and whether that fits the memory the device has.
//! `srlm plan` prints it; `srlm sft`, `srlm dpo` and `srlm run` check it before they start.
//!
//! The training step is where the peak is: its phases are the start of the backward pass (every
//! activation kept, the head's weight gradient just made), the end of the backward pass (every
//! gradient made) and the checkpoint (the trained weights copied to the host to be written).
//! How close the plan comes to measured peaks: `docs/performance.md` (*Memory plan*).

use std::fmt;

use srlm_model::{LlamaConfig, LoraDtype, TrainingForward};

use crate::error::{Result, TrainError};
use crate::trainer::TrainConfig;

/// `f32` bytes.
const F32: u64 = 4;
/// Vocabulary ids the fused log-probs compute per chunk (`srlm_model::fused`).
const HEAD_CHUNK: u64 = 4096;
/// The executable, its libraries, thread stacks and what the allocator keeps beyond the live
/// heap (measured: 25–210 MiB of resident memory above the heap's peak).
const RUNTIME: u64 = 80 << 20;

/// What a run trains on, as far as memory goes: the longest item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedWork {
    /// Tokens of the longest item's forward pass (SFT: its sequence; a preference pair sharing
    /// its prompt: prompt + both responses; otherwise both sequences).
    pub forward_tokens: usize,
    /// The longest item's tokens as the micro-batching counts them ([`crate::Objective::tokens`]).
    pub budget_tokens: usize,
    /// Items in the set (a batch holds no more); `usize::MAX` when not known.
    pub items: usize,
    /// Whether the caller keeps the model it trains from (`srlm sft`, `srlm dpo` and the loop
    /// hand theirs to [`crate::fine_tune`]; a caller passing a clone keeps it): with every weight
    /// trained, the weights before the first update then stay alive beside the new ones.
    pub keeps_start: bool,
}

impl PlannedWork {
    /// SFT on sequences of up to `seq` tokens.
    pub fn sft(seq: usize) -> Self {
        PlannedWork {
            forward_tokens: seq,
            budget_tokens: seq,
            items: usize::MAX,
            keeps_start: false,
        }
    }

    /// Preference pairs whose sides have up to `seq` tokens each and share a prompt of
    /// `prompt` tokens (0 when unknown: both sides counted whole).
    pub fn preference(seq: usize, prompt: usize) -> Self {
        PlannedWork {
            forward_tokens: seq.saturating_mul(2) - prompt.min(seq),
            budget_tokens: seq.saturating_mul(2),
            items: usize::MAX,
            keeps_start: false,
        }
    }

    /// The longest item of `objective`.
    pub fn of<O: crate::Objective>(objective: &O) -> Self {
        let longest = |f: &dyn Fn(usize) -> usize| (0..objective.len()).map(f).max().unwrap_or(0);
        PlannedWork {
            forward_tokens: longest(&|i| objective.forward_tokens(i)),
            budget_tokens: longest(&|i| objective.tokens(i)),
            items: objective.len(),
            keeps_start: false,
        }
    }
}

/// One line of a plan: what, and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanLine {
    /// What the memory holds.
    pub what: String,
    /// Bytes.
    pub bytes: u64,
}

/// The memory a training run needs at its peak, by part and by phase.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPlan {
    /// The parts, each held through the whole step unless its name says otherwise.
    pub parts: Vec<PlanLine>,
    /// Each phase's total (the parts alive then).
    pub phases: Vec<PlanLine>,
    /// Items per micro-batch and micro-batches per optimizer step.
    pub micro_batch: (usize, usize),
}

/// Bytes the parts of a plan take.
#[derive(Debug, Default, Clone, Copy)]
struct Parts {
    weights: u64,
    /// `f32`, or `f32 + bf16 LoRA base`.
    weights_dtype: &'static str,
    kept: u64,
    adapters: u64,
    gradients: u64,
    accumulated: u64,
    optimizer: u64,
    activations: u64,
    /// The activations' dtype (`f32`, or `bf16` under LoRA's bf16 compute).
    activations_dtype: &'static str,
    head_gradient: u64,
    embedding_gradient: u64,
    working: u64,
    checkpoint_copy: u64,
}

impl MemoryPlan {
    /// The plan of training a model of `model`'s shapes (`f32`) with `config` on `work`.
    pub fn new(model: &LlamaConfig, config: &TrainConfig, work: &PlannedWork) -> Self {
        let lora = config.lora.as_ref();
        let parameters = model.parameter_count();
        let adapters = lora.map_or(0, |l| l.parameter_count(model));
        let trainable = if lora.is_some() { adapters } else { parameters };
        let batch = config.batch_size.min(work.items).max(1);
        let per_micro = (config.micro_batch_tokens / work.budget_tokens.max(1)).clamp(1, batch);
        let micro_batches = batch.div_ceil(per_micro);
        // Saturating throughout: absurd settings give a huge plan, not a wrapped one.
        let tokens = (per_micro as u64).saturating_mul(work.forward_tokens as u64);
        let saved = model.saved_per_token(&TrainingForward {
            dropout: config.dropout,
            lora,
            seq: work.forward_tokens,
        });
        let layers = model.num_hidden_layers as u64;
        let per_token = if config.checkpointing {
            // Every layer's input, and one layer recomputed at a time.
            layers * saved.layer_input + saved.head + saved.layer
        } else {
            layers * saved.layer + saved.head
        };
        let activations = tokens.saturating_mul(per_token);
        let (hidden, vocab) = (model.hidden_size as u64, model.vocab_size as u64);
        let full = lora.is_none();
        let compute = lora.map_or(F32, |l| l.compute_dtype.bytes());
        // A bf16 base stores the adapted projections in 2 bytes a weight instead of 4, and (on
        // flex, whose bf16 product goes through f32) converts one of them to f32 at a time.
        let (base_saving, base_conversion) = match lora {
            Some(l) if l.base_dtype != LoraDtype::F32 => (
                l.adapted_weight_count(model) * (F32 - l.base_dtype.bytes()),
                l.largest_adapted_weight(model) * F32,
            ),
            _ => (0, 0),
        };
        let parts = Parts {
            weights: model
                .host_bytes()
                .unwrap_or(u64::MAX)
                .saturating_sub(base_saving),
            weights_dtype: if base_saving > 0 {
                "f32, adapted projections bf16"
            } else {
                "f32"
            },
            kept: if full && work.keeps_start {
                parameters * F32
            } else {
                0
            },
            adapters: adapters * F32,
            gradients: trainable * F32,
            accumulated: if micro_batches > 1 {
                trainable * F32
            } else {
                0
            },
            optimizer: 2 * trainable * F32,
            activations,
            activations_dtype: lora.map_or("f32", |l| l.compute_dtype.name()),
            // The output projection's weight gradient comes first in the backward pass.
            head_gradient: if full { vocab * hidden * F32 } else { 0 },
            // The embedding's gradient comes last, dense (a scatter into zeros), and with a tied
            // head is added to the head's: two such tensors beside the others for a moment.
            embedding_gradient: match (full, model.tie_word_embeddings) {
                (false, _) => 0,
                (true, true) => 2 * vocab * hidden * F32,
                (true, false) => vocab * hidden * F32,
            },
            // A chunk of logits and its gradient (f32); the hidden states' gradient and one
            // more (in the activations' dtype).
            working: tokens
                .saturating_mul(2 * HEAD_CHUNK * F32 + 2 * hidden * compute)
                .saturating_add(base_conversion),
            // The trained weights copied to the host to be written (then each moment in turn,
            // one tensor at a time: less).
            checkpoint_copy: trainable * F32,
        };
        Self::from_parts(
            parts,
            (per_micro, micro_batches),
            work,
            parameters,
            adapters,
        )
    }

    fn from_parts(
        p: Parts,
        micro_batch: (usize, usize),
        work: &PlannedWork,
        parameters: u64,
        adapters: u64,
    ) -> Self {
        let millions = |n: u64| n as f64 / 1e6;
        let (per_micro, micro_batches) = micro_batch;
        let sum = |parts: &[u64]| parts.iter().fold(0u64, |a, &b| a.saturating_add(b));
        let always = sum(&[p.weights, p.kept, p.adapters, p.optimizer, RUNTIME]);
        let line = |what: String, bytes: u64| PlanLine { what, bytes };
        let mut parts = vec![line(
            format!(
                "weights ({}, {:.1} M parameters)",
                p.weights_dtype,
                millions(parameters)
            ),
            p.weights,
        )];
        if p.kept > 0 {
            parts.push(line(
                "weights before the first update (kept by the caller)".into(),
                p.kept,
            ));
        }
        if p.adapters > 0 {
            parts.push(line(
                format!("LoRA adapters ({:.1} M parameters)", millions(adapters)),
                p.adapters,
            ));
        }
        parts.extend([
            line("gradients".into(), p.gradients),
            line("AdamW moments (from the first step on)".into(), p.optimizer),
        ]);
        if p.accumulated > 0 {
            parts.push(line(
                format!("accumulated gradients ({micro_batches} micro-batches)"),
                p.accumulated,
            ));
        }
        parts.extend([
            line(
                format!(
                    "activations ({}, {per_micro} × {} tokens per micro-batch)",
                    p.activations_dtype, work.forward_tokens
                ),
                p.activations,
            ),
            line(
                "output projection's weight gradient (start of backward)".into(),
                p.head_gradient,
            ),
            line(
                "embedding gradient being summed (end of backward)".into(),
                p.embedding_gradient,
            ),
            line("working buffers".into(), p.working),
            line(
                "checkpoint: the trained weights' host copy".into(),
                p.checkpoint_copy,
            ),
            line("runtime (binary, threads, allocator)".into(), RUNTIME),
        ]);
        parts.retain(|l| l.bytes > 0);
        let phases = vec![
            line(
                "start of backward".into(),
                sum(&[
                    always,
                    p.accumulated,
                    p.activations,
                    p.head_gradient,
                    p.working,
                ]),
            ),
            line(
                "end of backward".into(),
                sum(&[
                    always,
                    p.accumulated,
                    p.gradients,
                    p.embedding_gradient,
                    p.working,
                ]),
            ),
            line("checkpoint".into(), sum(&[always, p.checkpoint_copy])),
        ];
        MemoryPlan {
            parts,
            phases,
            micro_batch,
        }
    }

    /// The phase with the most memory, and its bytes.
    pub fn peak(&self) -> &PlanLine {
        self.phases
            .iter()
            .max_by_key(|p| p.bytes)
            .unwrap_or(&self.phases[0])
    }

    /// `Ok` when the peak fits `available` bytes (or nothing is known of the device's memory),
    /// [`TrainError::OutOfMemory`] with the plan otherwise.
    pub fn check(&self, available: Option<u64>) -> Result<()> {
        match available {
            Some(free) if self.peak().bytes > free => Err(TrainError::OutOfMemory {
                plan: self.table(Some(free)),
            }),
            _ => Ok(()),
        }
    }

    /// The plan as a markdown table, with the device's memory and the verdict when known.
    pub fn table(&self, available: Option<u64>) -> String {
        let mib = |b: u64| format!("{:.0}", b as f64 / f64::from(1 << 20));
        let mut out = String::from("| memory | MiB |\n|---|---|\n");
        for part in &self.parts {
            out.push_str(&format!("| {} | {} |\n", part.what, mib(part.bytes)));
        }
        for phase in &self.phases {
            out.push_str(&format!(
                "| **at the {}** | {} |\n",
                phase.what,
                mib(phase.bytes)
            ));
        }
        let peak = self.peak();
        out.push_str(&format!(
            "| **peak** ({}) | **{}** |\n",
            peak.what,
            mib(peak.bytes)
        ));
        match available {
            Some(free) => {
                let verdict = if peak.bytes <= free {
                    "fits"
                } else {
                    "does not fit"
                };
                out.push_str(&format!(
                    "| available on the device | {} |\n\n{verdict}: the peak is {:.0} % of it\n",
                    mib(free),
                    100.0 * peak.bytes as f64 / free.max(1) as f64
                ));
            }
            None => out.push_str("\nthe device's free memory is not known here\n"),
        }
        out
    }
}

impl fmt::Display for MemoryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table(None))
    }
}
