//! `srlm sft` and `srlm dpo`: fine-tune a model on IFT + EFT sets, or on preference pairs against
//! a frozen reference, with a progress bar, `metrics.jsonl` and checkpoints in the output folder,
//! and the trained model saved there in Hugging Face layout.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use srlm::data::{read_jsonl, BadLines, EftRecord, Encoder, IftRecord, PreferenceRecord};
use srlm::dpo::{
    cached_reference_logps, compute_reference_logps, data_hash, train, weights_hash, DpoConfig,
    DpoLossType, DpoObjective, Objective, SftObjective, TrainConfig,
};
use srlm::model::burn::module::Module;
use srlm::model::{parse_device, LanguageModel};

/// Options shared by both stages.
#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Output folder: the trained model (HF layout), metrics.jsonl, checkpoints/.
    #[arg(long)]
    out: PathBuf,
    /// Longest example in tokens (longer ones are cut at the response's end).
    #[arg(long, default_value_t = 1024)]
    max_len: usize,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    #[arg(long)]
    max_steps: Option<usize>,
    /// Examples (pairs) per optimizer step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Padded tokens per micro-batch (gradients are accumulated over micro-batches).
    #[arg(long, default_value_t = 4096)]
    micro_batch_tokens: usize,
    /// Peak learning rate (default: the paper's for the stage).
    #[arg(long)]
    lr: Option<f64>,
    /// Final learning rate (default: the paper's for the stage).
    #[arg(long)]
    final_lr: Option<f64>,
    #[arg(long, default_value_t = 0)]
    warmup_steps: usize,
    #[arg(long, default_value_t = 0.1)]
    dropout: f64,
    #[arg(long, default_value_t = 1.0)]
    max_grad_norm: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    checkpoint_every: Option<usize>,
}

impl TrainArgs {
    fn config(&self, mut base: TrainConfig) -> TrainConfig {
        base.peak_lr = self.lr.unwrap_or(base.peak_lr);
        base.final_lr = self.final_lr.unwrap_or(base.final_lr);
        base.epochs = self.epochs;
        base.max_steps = self.max_steps;
        base.batch_size = self.batch_size;
        base.micro_batch_tokens = self.micro_batch_tokens;
        base.warmup_steps = self.warmup_steps;
        base.dropout = self.dropout;
        base.max_grad_norm = Some(self.max_grad_norm);
        base.seed = self.seed;
        base.checkpoint_every = self.checkpoint_every;
        base
    }
}

fn bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn run_training<O: Objective>(
    lm: LanguageModel,
    objective: &O,
    config: &TrainConfig,
    out: &Path,
) -> Result<()> {
    let total = (objective.len().div_ceil(config.batch_size) * config.epochs)
        .min(config.max_steps.unwrap_or(usize::MAX));
    let progress = bar(total);
    let LanguageModel {
        model,
        config: model_config,
        tokenizer,
        tokenizer_config,
        ..
    } = lm;
    let outcome = train(
        model,
        &model_config,
        objective,
        None,
        config,
        out,
        &mut |m| {
            progress.set_position(m.step as u64);
            progress.set_message(format!(
                "loss {:.4} {:.0} tok/s",
                m.loss, m.tokens_per_second
            ));
            ControlFlow::Continue(())
        },
    )?;
    progress.finish();
    if outcome.resumed_from > 0 {
        tracing::info!(from = outcome.resumed_from, "resumed");
    }
    let trained = LanguageModel::from_parts(
        outcome.model.valid(),
        model_config,
        tokenizer,
        tokenizer_config,
    )?;
    trained.save_pretrained(out)?;
    Ok(())
}

fn load(path: &Path, device: &str) -> Result<LanguageModel> {
    LanguageModel::load(path, &parse_device(device)?)
        .with_context(|| format!("loading {}", path.display()))
}

#[allow(clippy::print_stdout)]
pub(crate) fn sft(model: &Path, data: &[PathBuf], args: &TrainArgs, device: &str) -> Result<()> {
    let lm = load(model, device)?;
    let (mut ift, mut eft) = (Vec::new(), Vec::new());
    for path in data {
        let first =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if first
            .lines()
            .next()
            .is_some_and(|l| l.contains("\"judgement\""))
        {
            eft.extend(read_jsonl::<EftRecord>(path, BadLines::Fail)?.0);
        } else {
            ift.extend(read_jsonl::<IftRecord>(path, BadLines::Fail)?.0);
        }
    }
    let encoder = Encoder::new(&lm, args.max_len)?;
    let (examples, report) = encoder.sft_set(&ift, &eft)?;
    if examples.is_empty() {
        bail!("no example fits --max-len {}", args.max_len);
    }
    println!(
        "{}",
        serde_json::json!({"ift": ift.len(), "eft": eft.len(), "encode": report})
    );
    let objective = SftObjective {
        examples,
        pad_id: lm.pad_id,
    };
    run_training(
        lm,
        &objective,
        &args.config(TrainConfig::default()),
        &args.out,
    )
}

#[allow(clippy::print_stdout)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dpo(
    model: &Path,
    reference: &Path,
    data: &Path,
    beta: f64,
    loss: DpoLossType,
    label_smoothing: f64,
    rpo_alpha: Option<f64>,
    args: &TrainArgs,
    device: &str,
) -> Result<()> {
    let lm = load(model, device)?;
    let (records, _) = read_jsonl::<PreferenceRecord>(data, BadLines::Fail)?;
    let encoder = Encoder::new(&lm, args.max_len)?;
    let (pairs, report) = encoder.preference_set(&records)?;
    if pairs.is_empty() {
        bail!("no pair fits --max-len {}", args.max_len);
    }
    println!(
        "{}",
        serde_json::json!({"pairs": records.len(), "encode": report})
    );
    let reference_lm = load(reference, device)?;
    let hash = weights_hash(&reference_lm.model)?;
    let cache = args.out.join("reference-cache");
    let (logps, outcome) =
        cached_reference_logps(Some(&cache), &hash, &data_hash(&pairs), pairs.len(), || {
            compute_reference_logps(
                &reference_lm.model,
                &pairs,
                reference_lm.pad_id,
                args.micro_batch_tokens,
            )
        })?;
    tracing::info!(?outcome, "reference log-probs");
    drop(reference_lm);
    let config = DpoConfig {
        beta,
        loss_type: loss,
        label_smoothing,
        rpo_alpha,
    };
    let objective = DpoObjective::new(pairs, logps, config, lm.pad_id)?;
    run_training(
        lm,
        &objective,
        &args.config(TrainConfig::paper_dpo()),
        &args.out,
    )
}
