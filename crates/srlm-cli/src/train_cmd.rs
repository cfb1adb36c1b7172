//! `srlm sft` and `srlm dpo`: fine-tune a model on IFT + EFT sets, or on preference pairs (DPO
//! and its variants against a frozen reference, or the reference-free SimPO and ORPO), with a
//! progress bar, `metrics.jsonl` and checkpoints in the output folder,
//! and the trained model saved there in Hugging Face layout.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use srlm::data::{read_jsonl, BadLines, EftRecord, Encoder, IftRecord, PreferenceRecord, SetKind};
use srlm::dpo::{
    fine_tune, sft_objective, DpoConfig, DpoLossType, Objective, OrpoConfig, OrpoObjective,
    PlannedWork, Reference, SimpoConfig, SimpoObjective, TrainConfig,
};
use srlm::model::{parse_device, LanguageModel, LoraConfig};

use crate::plan_cmd::MemoryArgs;
use crate::step_args::StepArgs;

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
    #[command(flatten)]
    step: StepArgs,
    /// Peak learning rate (default: the paper's for the stage).
    #[arg(long)]
    lr: Option<f64>,
    /// Final learning rate (default: the paper's for the stage).
    #[arg(long)]
    final_lr: Option<f64>,
    #[arg(long, default_value_t = 0)]
    warmup_steps: usize,
    #[arg(long, default_value_t = 1.0)]
    max_grad_norm: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    checkpoint_every: Option<usize>,
    #[command(flatten)]
    memory: MemoryArgs,
}

impl TrainArgs {
    fn config(&self, mut base: TrainConfig) -> Result<TrainConfig> {
        base.peak_lr = self.lr.unwrap_or(base.peak_lr);
        base.final_lr = self.final_lr.unwrap_or(base.final_lr);
        base.epochs = self.epochs;
        base.max_steps = self.max_steps;
        base.warmup_steps = self.warmup_steps;
        base.max_grad_norm = Some(self.max_grad_norm);
        base.seed = self.seed;
        base.checkpoint_every = self.checkpoint_every;
        self.step.apply(base)
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

/// Trains `lm` (taken: its weights are updated in place) after checking the memory plan.
fn run_training<O: Objective>(
    lm: LanguageModel,
    objective: &O,
    config: &TrainConfig,
    (args, device): (&TrainArgs, &str),
) -> Result<()> {
    args.memory
        .check(&lm.config, config, &PlannedWork::of(objective), device)?;
    let out = args.out.as_path();
    let progress = bar(config.total_steps(objective.len()));
    let trained = fine_tune(lm, objective, config, out, &mut |m| {
        progress.set_position(m.step as u64);
        progress.set_message(format!(
            "loss {:.4} {:.0} tok/s",
            m.loss, m.tokens_per_second
        ));
        ControlFlow::Continue(())
    })?;
    progress.finish();
    if trained.resumed_from > 0 {
        tracing::info!(from = trained.resumed_from, "resumed");
    }
    trained.model.save_pretrained(out)?;
    Ok(())
}

/// The model at `path`; with LoRA, its adapted projections stored at the base dtype as they are
/// read (over a bf16 base, policy and — without `--reference` — reference are that base).
fn load(path: &Path, device: &str, lora: Option<&LoraConfig>) -> Result<LanguageModel> {
    LanguageModel::load_for_training(path, &parse_device(device)?, lora)
        .with_context(|| format!("loading {}", path.display()))
}

#[allow(clippy::print_stdout)]
pub(crate) fn sft(model: &Path, data: &[PathBuf], args: &TrainArgs, device: &str) -> Result<()> {
    let config = args.config(TrainConfig::default())?;
    config.validate()?;
    let lm = load(model, device, config.lora.as_ref())?;
    let (mut ift, mut eft) = (Vec::new(), Vec::new());
    for path in data {
        match SetKind::of_file(path)? {
            SetKind::Eft => eft.extend(read_jsonl::<EftRecord>(path, BadLines::Fail)?.0),
            SetKind::Ift => ift.extend(read_jsonl::<IftRecord>(path, BadLines::Fail)?.0),
            other => bail!(
                "{}: a set of kind `{}`; srlm sft trains on IFT and EFT sets",
                path.display(),
                serde_json::to_value(other)?.as_str().unwrap_or("other")
            ),
        }
    }
    let encoder = Encoder::new(&lm, args.max_len)?;
    let (objective, report) = sft_objective(&encoder, &ift, &eft)?;
    println!(
        "{}",
        serde_json::json!({"ift": ift.len(), "eft": eft.len(), "encode": report})
    );
    run_training(lm, &objective, &config, (args, device))
}

/// The preference losses `srlm dpo` trains with.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LossArg {
    /// DPO (needs --reference).
    Sigmoid,
    /// IPO (needs --reference).
    Ipo,
    /// SLiC's hinge (needs --reference).
    Hinge,
    /// SimPO: length-averaged log-probs with a target margin; no reference model.
    Simpo,
    /// ORPO: NLL plus an odds-ratio term; no reference model.
    Orpo,
}

/// `srlm dpo`'s options.
#[derive(Args)]
pub(crate) struct PreferenceArgs {
    #[arg(long)]
    model: PathBuf,
    /// The frozen reference (sigmoid, ipo, hinge); simpo and orpo take none. With --lora it
    /// defaults to --model itself: the model under the adapters, never changed by them.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// AIFT / TRL-standard preference JSONL.
    #[arg(long)]
    data: PathBuf,
    /// β (default: 0.1; simpo 2.0).
    #[arg(long)]
    beta: Option<f64>,
    #[arg(long, value_enum, default_value = "sigmoid")]
    loss: LossArg,
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f64,
    /// α of an NLL term on the chosen responses (RPO for the DPO losses, CPO's α for simpo).
    #[arg(long)]
    rpo_alpha: Option<f64>,
    /// SimPO's target reward margin γ.
    #[arg(long, default_value_t = SimpoConfig::default().gamma)]
    simpo_gamma: f64,
    #[command(flatten)]
    train: TrainArgs,
}

#[allow(clippy::print_stdout)]
pub(crate) fn dpo(args: &PreferenceArgs, device: &str) -> Result<()> {
    let config = args.train.config(TrainConfig::paper_dpo())?;
    config.validate()?;
    let lm = load(&args.model, device, config.lora.as_ref())?;
    let (records, _) = read_jsonl::<PreferenceRecord>(&args.data, BadLines::Fail)?;
    let encoder = Encoder::new(&lm, args.train.max_len)?;
    let reference_free = matches!(args.loss, LossArg::Simpo | LossArg::Orpo);
    if reference_free {
        if args.reference.is_some() {
            bail!("--loss simpo and orpo use no reference model: drop --reference");
        }
        let (pairs, report) = encoder.preference_set(&records)?;
        if pairs.is_empty() {
            bail!("no pair fits --max-len {}", args.train.max_len);
        }
        println!(
            "{}",
            serde_json::json!({"pairs": records.len(), "encode": report})
        );
        return if args.loss == LossArg::Simpo {
            let simpo = SimpoConfig {
                beta: args.beta.unwrap_or(SimpoConfig::default().beta),
                gamma: args.simpo_gamma,
                label_smoothing: args.label_smoothing,
                nll_alpha: args.rpo_alpha.unwrap_or(0.0),
            };
            let objective = SimpoObjective::simpo(pairs, simpo, lm.pad_id)?;
            run_training(lm, &objective, &config, (&args.train, device))
        } else {
            if args.label_smoothing != 0.0 || args.rpo_alpha.is_some() {
                bail!("--loss orpo takes neither --label-smoothing nor --rpo-alpha (its NLL term is always on)");
            }
            let orpo = OrpoConfig {
                beta: args.beta.unwrap_or(OrpoConfig::default().beta),
            };
            let objective = OrpoObjective::orpo(pairs, orpo, lm.pad_id)?;
            run_training(lm, &objective, &config, (&args.train, device))
        };
    }
    let reference_path = match (&args.reference, &config.lora) {
        (Some(path), _) => path,
        (None, Some(_)) => &args.model,
        (None, None) => bail!(
            "--loss sigmoid, ipo and hinge train against a frozen reference: give --reference (with --lora it is --model)"
        ),
    };
    let loss = DpoConfig {
        beta: args.beta.unwrap_or(DpoConfig::default().beta),
        loss_type: match args.loss {
            LossArg::Ipo => DpoLossType::Ipo,
            LossArg::Hinge => DpoLossType::Hinge,
            _ => DpoLossType::Sigmoid,
        },
        label_smoothing: args.label_smoothing,
        rpo_alpha: args.rpo_alpha,
    };
    // With LoRA and no --reference, the frozen model is the loaded one: no second copy.
    let loaded = match &args.reference {
        Some(path) => Some(load(path, device, None)?),
        None => None,
    };
    let set = Reference::new(loaded.as_ref().unwrap_or(&lm))?
        .dpo_objective(
            &encoder,
            &records,
            loss,
            config.micro_batch_tokens,
            Some(&args.train.out.join("reference-cache")),
        )
        .with_context(|| {
            format!(
                "the DPO set against --reference {} (--max-len {})",
                reference_path.display(),
                args.train.max_len
            )
        })?;
    println!(
        "{}",
        serde_json::json!({"pairs": records.len(), "encode": set.encoding})
    );
    tracing::info!(outcome = ?set.cache, "reference log-probs");
    drop(loaded);
    run_training(lm, &set.objective, &config, (&args.train, device))
}
