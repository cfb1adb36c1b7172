//! One optimizer step's throughput: SFT, DPO against cached reference log-probs, and DPO with
//! the reference model kept in memory and run every step (the usual Python setup).
//!
//! SFT: batch 4 × (128 prompt + 128 response tokens). DPO: 4 pairs, each side 128 + 128, chosen
//! and rejected in one forward pass. f32, AdamW, global-norm clipping, no dropout (as the PyTorch
//! reference and the loop's default); one warm-up step, then `reps` measured ones. Tokens/s
//! counts every token of every row (DPO: both sides) over the step's wall time.

use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use srlm::data::{EncodedExample, EncodedPair};
use srlm::dpo::{
    compute_reference_logps, train, DpoConfig, DpoObjective, SftObjective, StepMetrics, StepTime,
    TrainConfig,
};
use srlm::model::parse_device;

use super::generation::{load_model, token_ids};
use super::{median, peak_rss_mib, Record, Work};

const PROMPT: usize = 128;
const RESPONSE: usize = 128;
const BATCH: usize = 4;

fn example(row: usize, salt: usize, vocab: usize) -> EncodedExample {
    EncodedExample {
        prompt: token_ids(row, PROMPT, salt, vocab),
        response: token_ids(row, RESPONSE, salt + 1000, vocab),
        truncated: false,
    }
}

pub(crate) fn measure(work: Work, source: &str, device: &str, reps: usize) -> Result<Record> {
    let device = parse_device(device)?;
    let (model, model_config, pad_id) = load_model(source, &device)?;
    let vocab = model.vocab_size();
    let config = TrainConfig {
        peak_lr: 1e-6,
        final_lr: 1e-6,
        batch_size: BATCH,
        max_steps: Some(reps + 1),
        epochs: 1000,
        micro_batch_tokens: BATCH * 2 * (PROMPT + RESPONSE),
        dropout: 0.0,
        ..TrainConfig::default()
    };
    let dir = tempfile::tempdir().context("creating a scratch folder")?;
    let mut steps: Vec<(f64, StepTime, usize)> = Vec::new();
    let mut record = |m: &StepMetrics| {
        steps.push((
            m.num_tokens as f64 / m.tokens_per_second,
            m.time,
            m.num_tokens,
        ));
        ControlFlow::Continue(())
    };
    let mut reference_seconds = 0.0;
    match work {
        Work::Sft => {
            let objective = SftObjective {
                examples: (0..BATCH).map(|i| example(i, 1, vocab)).collect(),
                pad_id,
            };
            train(
                model,
                &model_config,
                &objective,
                None,
                &config,
                dir.path(),
                &mut record,
            )?;
        }
        Work::Dpo | Work::DpoRef => {
            let pairs: Vec<EncodedPair> = (0..BATCH)
                .map(|i| {
                    let chosen = example(i, 2, vocab);
                    let mut rejected = example(i + BATCH, 2, vocab);
                    rejected.prompt = chosen.prompt.clone();
                    EncodedPair { chosen, rejected }
                })
                .collect();
            // The reference is a second copy of the weights, as in an iteration (Mt vs Mt).
            let (reference, _, _) = load_model(source, &device)?;
            let t0 = Instant::now();
            let logps =
                compute_reference_logps(&reference, &pairs, pad_id, config.micro_batch_tokens)?;
            reference_seconds = t0.elapsed().as_secs_f64();
            let kept = (work == Work::DpoRef).then_some(reference);
            let objective = DpoObjective::new(pairs, logps, DpoConfig::default(), pad_id)?;
            train(
                model,
                &model_config,
                &objective,
                None,
                &config,
                dir.path(),
                &mut record,
            )?;
            drop(kept);
        }
        Work::Generation => bail!("generation is not a training step"),
    }
    // The first step is the warm-up.
    let measured = &steps[1.min(steps.len())..];
    let Some(&(_, _, tokens)) = measured.first() else {
        bail!("no step was measured");
    };
    let mut seconds = median(measured.iter().map(|s| s.0).collect());
    let mut forward = median(measured.iter().map(|s| s.1.forward).collect());
    if work == Work::DpoRef {
        // A kept reference runs its forward pass every step, inside the step.
        seconds += reference_seconds;
        forward += reference_seconds;
    }
    Ok(Record {
        work: match work {
            Work::Sft => "sft",
            Work::Dpo => "dpo",
            _ => "dpo-ref",
        }
        .into(),
        batch: BATCH,
        tokens_per_s: tokens as f64 / seconds,
        peak_rss_mib: peak_rss_mib(),
        phases: Some([
            forward,
            median(measured.iter().map(|s| s.1.backward).collect()),
            median(measured.iter().map(|s| s.1.optimizer).collect()),
        ]),
    })
}
