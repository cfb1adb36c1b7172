//! One optimizer step's throughput: SFT, DPO against cached reference log-probs, and DPO with
//! the reference model kept in memory and run every step (the usual Python setup).
//!
//! SFT: batch 4 × (128 prompt + 128 response tokens). DPO: 4 pairs, each side 128 + 128, chosen
//! and rejected in one forward pass. f32, AdamW, global-norm clipping, no dropout (as the PyTorch
//! reference and the loop's default); one warm-up step, then `reps` measured ones. Tokens/s
//! counts every token of every row (DPO: both sides) over the step's wall time; with the reference
//! kept in memory, its forward pass over the step's pairs (timed the same way) is added to it.
//! With `--lora R`, adapters of rank R train on the frozen model (the DPO reference's log-probs
//! are the frozen model's, computed once as without LoRA).

use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use srlm::data::{EncodedExample, EncodedPair};
use srlm::dpo::{
    compute_reference_logps, train, DpoConfig, DpoObjective, MemoryPlan, Objective, PlannedWork,
    SftObjective, StepTime, TrainConfig,
};
use srlm::model::burn::tensor::Device;
use srlm::model::{parse_device, Llama, LlamaConfig, LoraConfig, LoraDtype};

use super::generation::{load_model, token_ids};
use super::{device_reserved_mib, median, peak_rss_mib, reset_peaks, Record, Work};

const PROMPT: usize = 128;
const RESPONSE: usize = 128;
/// The loop's EFT examples: a judge prompt (rubric, question, answer) and its judgement.
const EFT_PROMPT: usize = 448;
const EFT_RESPONSE: usize = 96;
const BATCH: usize = 4;

/// Prompt and response lengths of `work`'s rows.
fn lengths(work: Work) -> (usize, usize) {
    match work {
        Work::SftEft => (EFT_PROMPT, EFT_RESPONSE),
        _ => (PROMPT, RESPONSE),
    }
}

fn example(
    row: usize,
    salt: usize,
    vocab: usize,
    (prompt, response): (usize, usize),
) -> EncodedExample {
    EncodedExample {
        prompt: token_ids(row, prompt, salt, vocab),
        response: token_ids(row, response, salt + 1000, vocab),
        truncated: false,
    }
}

/// What the benchmark reads of a step.
struct Measured {
    num_tokens: usize,
    tokens_per_second: f64,
    time: StepTime,
}

/// The peak the memory plan predicts for `objective`'s steps, MiB: the model is moved into the
/// trainer (no copy of the weights before the first update is kept; the reference is a cached
/// table, and a kept one adds its weights).
fn planned_mib<O: Objective>(
    model_config: &LlamaConfig,
    objective: &O,
    config: &TrainConfig,
    kept_reference: bool,
) -> f64 {
    let mut bytes = MemoryPlan::new(model_config, config, &PlannedWork::of(objective))
        .peak()
        .bytes;
    if kept_reference {
        bytes += model_config.host_bytes().unwrap_or(0);
    }
    bytes as f64 / f64::from(1 << 20)
}

/// Trains `reps + 1` steps of `objective` and returns what each step measured, and the most
/// device memory `device`'s allocator held, after the loading or after the last step (MiB;
/// `None` where it reports none).
fn run_steps<O: Objective>(
    model: Llama,
    (model_config, device): (&LlamaConfig, &Device),
    objective: &O,
    config: &TrainConfig,
) -> Result<(Vec<Measured>, Option<f64>)> {
    let dir = tempfile::tempdir().context("creating a scratch folder")?;
    let mut steps = Vec::new();
    let mut device_peak = device_reserved_mib(device);
    train(
        model,
        model_config,
        objective,
        None,
        config,
        dir.path(),
        &mut |m| {
            steps.push(Measured {
                num_tokens: m.num_tokens,
                tokens_per_second: m.tokens_per_second,
                time: m.time,
            });
            // After the last step alone: the reading drains the queued operations (fusion),
            // which would move a step's queued update out of the next step's timing. The pools
            // keep their pages for reuse, so what the steps reserved is still held here.
            if Some(steps.len()) == config.max_steps {
                if let Some(now) = device_reserved_mib(device) {
                    device_peak = Some(device_peak.map_or(now, |peak: f64| peak.max(now)));
                }
            }
            ControlFlow::Continue(())
        },
    )?;
    Ok((steps, device_peak))
}

/// `work`'s name in the records, `+loraR` with adapters (`+loraRbf16` over a bf16 base),
/// `+ckpt` with layer checkpointing (PyTorch's side names them alike).
fn record_name(work: Work, (lora, checkpointing): (Option<&LoraConfig>, bool)) -> String {
    let mut name = work.name().to_string();
    if let Some(lora) = lora {
        name.push_str(&format!("+lora{}", lora.rank));
        if lora.base_dtype != LoraDtype::F32 {
            name.push_str(lora.base_dtype.name());
        }
    }
    if checkpointing {
        name.push_str("+ckpt");
    }
    name
}

pub(crate) fn measure(
    work: Work,
    source: &str,
    device: &str,
    reps: usize,
    (lora, checkpointing): (Option<LoraConfig>, bool),
) -> Result<Record> {
    if lora.is_some() && work == Work::DpoRef {
        bail!(
            "with LoRA the reference is the frozen model itself (no second copy): use --work dpo"
        );
    }
    let device = parse_device(device)?;
    // Over a bf16 base, policy and reference are that base (as `srlm dpo` and the loop make
    // them); the peaks start over once it is ready.
    let (model, model_config, pad_id) = load_model(source, &device, lora.as_ref())?;
    let load_peak = reset_peaks();
    let vocab = model.vocab_size();
    let config = TrainConfig {
        peak_lr: 1e-6,
        final_lr: 1e-6,
        batch_size: BATCH,
        max_steps: Some(reps + 1),
        epochs: 1000,
        // Every work's whole batch (DPO: both sides) in one micro-batch.
        micro_batch_tokens: BATCH * 2 * (EFT_PROMPT + EFT_RESPONSE).max(PROMPT + RESPONSE),
        dropout: 0.0,
        lora: lora.clone(),
        checkpointing,
        ..TrainConfig::default()
    };
    // Seconds of the kept reference's forward pass over the step's pairs (dpo-ref only).
    let mut reference_seconds = 0.0;
    let planned;
    let (steps, device_peak) = match work {
        Work::Sft | Work::SftEft => {
            let objective = SftObjective {
                examples: (0..BATCH)
                    .map(|i| example(i, 1, vocab, lengths(work)))
                    .collect(),
                pad_id,
            };
            planned = planned_mib(&model_config, &objective, &config, false);
            run_steps(model, (&model_config, &device), &objective, &config)?
        }
        Work::Dpo | Work::DpoRef => {
            let pairs: Vec<EncodedPair> = (0..BATCH)
                .map(|i| {
                    let chosen = example(i, 2, vocab, lengths(work));
                    let mut rejected = example(i + BATCH, 2, vocab, lengths(work));
                    rejected.prompt = chosen.prompt.clone();
                    EncodedPair { chosen, rejected }
                })
                .collect();
            // Full fine-tuning: the reference is a second copy of the weights, as in an
            // iteration (Mt vs Mt, the policy's updated beside the frozen ones). LoRA: the
            // frozen model itself, whose weights the adapters never change.
            let reference = match lora {
                Some(_) => model.clone(),
                None => load_model(source, &device, None)?.0,
            };
            let logps =
                compute_reference_logps(&reference, &pairs, pad_id, config.micro_batch_tokens)?;
            if work == Work::DpoRef {
                // A kept reference runs its forward pass every step: timed like the steps
                // (the pass above was the warm-up), its median added to the step's.
                let mut times = Vec::with_capacity(reps);
                for _ in 0..reps {
                    let t0 = Instant::now();
                    compute_reference_logps(&reference, &pairs, pad_id, config.micro_batch_tokens)?;
                    times.push(t0.elapsed().as_secs_f64());
                }
                reference_seconds = median(times);
            }
            let kept = (work == Work::DpoRef).then_some(reference);
            let objective = DpoObjective::new(pairs, logps, DpoConfig::default(), pad_id)?;
            planned = planned_mib(&model_config, &objective, &config, kept.is_some());
            let measured = run_steps(model, (&model_config, &device), &objective, &config)?;
            drop(kept);
            measured
        }
        Work::Generation | Work::Answers | Work::Adamw => {
            bail!("{} is not a training step", work.name())
        }
    };
    // The first step is the warm-up.
    let measured = &steps[1.min(steps.len())..];
    let Some(first) = measured.first() else {
        bail!("no step was measured");
    };
    let phase = |f: fn(&Measured) -> f64| median(measured.iter().map(f).collect());
    let seconds = phase(|m| m.num_tokens as f64 / m.tokens_per_second) + reference_seconds;
    Ok(Record {
        work: record_name(work, (lora.as_ref(), checkpointing)),
        batch: BATCH,
        tokens_per_s: first.num_tokens as f64 / seconds,
        peak_rss_mib: peak_rss_mib(),
        peak_heap_mib: Some(crate::heap::peak_heap_mib()),
        load_peak_mib: load_peak,
        peak_device_mib: device_peak,
        planned_mib: Some(planned),
        phases: Some([
            phase(|m| m.time.forward) + reference_seconds,
            phase(|m| m.time.backward),
            phase(|m| m.time.optimizer),
        ]),
        fused: srlm::model::fused::enabled_ops(),
        generation: srlm::model::GenerationPath::names_on(),
    })
}
