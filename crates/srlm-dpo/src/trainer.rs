//! The trainer both stages run in: seeded shuffling, gradient accumulation over token-budget
//! micro-batches, global-norm clipping, AdamW on a warm-up + cosine schedule, evaluation every K
//! steps, checkpoints every K steps and at the end, exact resume, and a clear stop on a
//! non-finite loss.
//!
//! Everything random is a function of `(seed, step)`: the epoch's order is a shuffle seeded by
//! `(seed, epoch)` and the backend (dropout) is reseeded before every micro-batch, so a run
//! resumed from a checkpoint takes exactly the steps an uninterrupted run takes. (burn's CPU
//! backend keeps one RNG per process: two trainings running at once in one process would draw
//! from it in turn and lose this property.)

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use srlm_data::batch_by_tokens;
use srlm_model::{
    burn, read_f32, read_safetensors, write_atomic, write_safetensors, Llama, LlamaConfig,
    WeightMap,
};

use crate::error::{Result, TrainError};
use crate::loss::DpoMetrics;
use crate::objective::{DpoObjective, MicroStats, Objective};
use crate::optim::{clip_coefficient, global_grad_norm, scale_grads, AdamW, AdamWConfig};
use crate::schedule::Schedule;

/// Settings of a training run (defaults: the paper's SFT; see [`TrainConfig::paper_dpo`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub peak_lr: f64,
    /// Final learning rate.
    pub final_lr: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Stop after this many optimizer steps (before the epochs end).
    pub max_steps: Option<usize>,
    /// Examples (or pairs) per optimizer step (the paper: 16).
    pub batch_size: usize,
    /// Padded tokens per micro-batch; a batch is accumulated over as many as it needs.
    pub micro_batch_tokens: usize,
    /// AdamW.
    pub adamw: AdamWConfig,
    /// Clip the global gradient norm to this (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Dropout on the residual stream during training (the paper: 0.1).
    pub dropout: f64,
    /// Seed of shuffling and dropout.
    pub seed: u64,
    /// Evaluate every this many steps (and at the end), when an evaluation set is given.
    pub eval_every: Option<usize>,
    /// Checkpoint every this many steps; the end is always checkpointed.
    pub checkpoint_every: Option<usize>,
    /// Checkpoints kept (oldest removed first).
    pub keep_checkpoints: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            peak_lr: 5.5e-6,
            final_lr: 1.1e-6,
            warmup_steps: 0,
            epochs: 1,
            max_steps: None,
            batch_size: 16,
            micro_batch_tokens: 4096,
            adamw: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            dropout: 0.1,
            seed: 0,
            eval_every: None,
            checkpoint_every: None,
            keep_checkpoints: 2,
        }
    }
}

impl TrainConfig {
    /// The paper's DPO settings: 1e-6 → 1e-7, batch 16, dropout 0.1.
    pub fn paper_dpo() -> Self {
        TrainConfig {
            peak_lr: 1e-6,
            final_lr: 1e-7,
            ..TrainConfig::default()
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.batch_size == 0 || self.epochs == 0 {
            return bad("batch_size and epochs must be at least 1".into());
        }
        if !(self.peak_lr > 0.0 && self.final_lr >= 0.0) {
            return bad(format!(
                "learning rates {} → {} must be positive",
                self.peak_lr, self.final_lr
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!("dropout {} is outside [0, 1)", self.dropout));
        }
        Ok(())
    }
}

/// One optimizer step's metrics, with TRL's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// 1-based optimizer step.
    pub step: usize,
    /// Fractional epoch at the end of the step.
    pub epoch: f64,
    /// Loss of the batch.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Tokens (prompt + response, all rows) in the batch.
    pub num_tokens: usize,
    /// Tokens per second of the step (wall time).
    pub tokens_per_second: f64,
    /// Where the step's wall time went.
    #[serde(default)]
    pub time: StepTime,
    /// DPO metrics (DPO only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub dpo: Option<DpoMetrics>,
    /// Evaluation loss, on evaluation steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
}

/// Wall seconds of one optimizer step by phase (summed over its micro-batches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepTime {
    /// Forward passes and the loss, up to reading the loss value.
    pub forward: f64,
    /// Backward passes and accumulating the micro-batch gradients.
    pub backward: f64,
    /// Gradient norm, clipping and the AdamW update.
    pub optimizer: f64,
}

/// What a run ended with.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained network (on the autodiff device).
    pub model: Llama,
    /// Optimizer steps done in total.
    pub steps: usize,
    /// The step a resumed run started from (0 for a fresh run).
    pub resumed_from: usize,
    /// Whether the callback stopped the run early.
    pub stopped: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct TrainerState {
    step: usize,
    adam_steps: u64,
    config: TrainConfig,
    items: usize,
}

/// Trains `model` (moved to the autodiff device) on `objective`, writing `metrics.jsonl` and
/// `checkpoints/step-N/` into `out_dir`, resuming from the latest checkpoint there. `on_step`
/// sees every step's metrics and may stop the run (`ControlFlow::Break`).
pub fn train<O: Objective>(
    model: Llama,
    model_config: &LlamaConfig,
    objective: &O,
    eval: Option<&O>,
    config: &TrainConfig,
    out_dir: &Path,
    on_step: &mut dyn FnMut(&StepMetrics) -> ControlFlow<()>,
) -> Result<TrainOutcome> {
    config.validate()?;
    if objective.is_empty() {
        return Err(TrainError::Config("the training set is empty".into()));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| TrainError::io(out_dir, e))?;
    let device = model.device().inner().autodiff();
    let n = objective.len();
    let steps_per_epoch = n.div_ceil(config.batch_size);
    let total = (steps_per_epoch * config.epochs).min(config.max_steps.unwrap_or(usize::MAX));
    let schedule = Schedule {
        peak: config.peak_lr,
        last: config.final_lr,
        warmup: config.warmup_steps,
        total,
    };

    let (mut model, mut optim, start) = match latest_checkpoint(out_dir)? {
        Some((dir, state)) => {
            if state.config != *config || state.items != n {
                return Err(TrainError::Checkpoint {
                    path: dir,
                    reason: "the checkpoint was made with other settings or another data set; use a new output folder".into(),
                });
            }
            let mut weights = WeightMap::new(dir.display().to_string());
            read_safetensors(&dir.join("model.safetensors"), &mut weights)?;
            let model = Llama::from_weights(model_config, &mut weights, &device)?.train();
            let mut moments =
                WeightMap::new(dir.join("optimizer.safetensors").display().to_string());
            read_safetensors(&dir.join("optimizer.safetensors"), &mut moments)?;
            let optim = AdamW::from_weights(
                config.adamw,
                state.adam_steps,
                &moments,
                &device.clone().inner(),
            )?;
            tracing::info!(step = state.step, dir = %dir.display(), "resuming");
            (model, optim, state.step)
        }
        None => (model.train(), AdamW::new(config.adamw), 0),
    };
    model = model.with_hidden_dropout(config.dropout)?;
    let metrics_path = out_dir.join("metrics.jsonl");
    truncate_metrics(&metrics_path, start)?;

    let mut stopped = false;
    let mut order: Vec<usize> = Vec::new();
    let mut order_epoch = usize::MAX;
    for step in start..total {
        let started = Instant::now();
        let epoch = step / steps_per_epoch;
        if epoch != order_epoch {
            order = (0..n).collect();
            order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(mix(
                config.seed,
                epoch as u64,
                0,
            )));
            order_epoch = epoch;
        }
        let within = step % steps_per_epoch;
        let batch: Vec<usize> =
            order[within * config.batch_size..((within + 1) * config.batch_size).min(n)].to_vec();
        let batch_totals = objective.totals(&batch);
        let lengths: Vec<usize> = batch.iter().map(|&i| objective.tokens(i)).collect();
        let mut grads: Option<GradientsParams> = None;
        let mut loss_value = 0.0f64;
        let mut totals = MicroStats::default();
        let mut time = StepTime::default();
        for (micro, group) in batch_by_tokens(&lengths, config.micro_batch_tokens, usize::MAX)
            .into_iter()
            .enumerate()
        {
            let micro_seed = mix(config.seed, step as u64, micro as u64 + 1);
            device.seed(micro_seed);
            device.clone().inner().seed(micro_seed);
            let items: Vec<usize> = group.iter().map(|&k| batch[k]).collect();
            let phase = Instant::now();
            let (loss, stats) = objective.loss(&model, &items, batch_totals)?;
            let value = read_f32(loss.clone(), "the loss")?;
            time.forward += phase.elapsed().as_secs_f64();
            let value = value.first().copied().unwrap_or(f32::NAN);
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    step,
                    loss: value,
                    examples: batch.clone(),
                });
            }
            loss_value += f64::from(value);
            let phase = Instant::now();
            let micro_grads = GradientsParams::from_grads(loss.backward(), &model);
            grads = Some(match grads.take() {
                None => micro_grads,
                Some(acc) => add_grads(&model, acc, micro_grads),
            });
            time.backward += phase.elapsed().as_secs_f64();
            totals.tokens += stats.tokens;
            totals.policy_chosen.extend(stats.policy_chosen);
            totals.policy_rejected.extend(stats.policy_rejected);
            totals.reference_chosen.extend(stats.reference_chosen);
            totals.reference_rejected.extend(stats.reference_rejected);
        }
        let mut grads = grads.unwrap_or_default();
        let phase = Instant::now();
        let grad_norm = global_grad_norm(&model, &grads)?;
        if !grad_norm.is_finite() {
            return Err(TrainError::NonFinite {
                step,
                loss: grad_norm as f32,
                examples: batch,
            });
        }
        if let Some(max) = config.max_grad_norm {
            let coefficient = clip_coefficient(grad_norm, max);
            if coefficient < 1.0 {
                grads = scale_grads(&model, grads, coefficient);
            }
        }
        let lr = schedule.lr(step);
        model = optim.step(lr, model, &grads);
        time.optimizer = phase.elapsed().as_secs_f64();
        let seconds = started.elapsed().as_secs_f64();
        let dpo = (!totals.policy_chosen.is_empty()).then(|| {
            DpoMetrics::compute(
                objective_beta(objective),
                loss_value,
                (&totals.policy_chosen, &totals.policy_rejected),
                (&totals.reference_chosen, &totals.reference_rejected),
            )
        });
        let done = step + 1;
        let eval_loss = match (eval, config.eval_every) {
            (Some(set), Some(every)) if done % every == 0 || done == total => {
                Some(evaluate(&model, set, config)?)
            }
            _ => None,
        };
        let metrics = StepMetrics {
            step: done,
            epoch: done as f64 / steps_per_epoch as f64,
            loss: loss_value,
            grad_norm,
            learning_rate: lr,
            num_tokens: totals.tokens,
            tokens_per_second: totals.tokens as f64 / seconds.max(1e-9),
            time,
            dpo,
            eval_loss,
        };
        append_metrics(&metrics_path, &metrics)?;
        tracing::debug!(step = done, loss = loss_value, grad_norm, lr, "step");
        let checkpoint_due =
            config.checkpoint_every.is_some_and(|k| done % k == 0) || done == total;
        if checkpoint_due {
            save_checkpoint(out_dir, &model, &optim, done, config, n)?;
        }
        if on_step(&metrics).is_break() {
            stopped = done < total;
            return Ok(TrainOutcome {
                model,
                steps: done,
                resumed_from: start,
                stopped,
            });
        }
    }
    Ok(TrainOutcome {
        model,
        steps: total,
        resumed_from: start,
        stopped,
    })
}

/// The β of a DPO objective, for the metrics (1 otherwise; unused).
fn objective_beta<O: Objective>(objective: &O) -> f64 {
    objective.beta().unwrap_or(1.0)
}

/// Mean loss of `set` under `model`, without gradients or dropout.
pub fn evaluate<O: Objective>(model: &Llama, set: &O, config: &TrainConfig) -> Result<f64> {
    Ok(evaluate_with_stats(model, set, config.micro_batch_tokens)?.0)
}

/// TRL's DPO metrics (loss, reward accuracy and margin, …) of `set` under `model`, without
/// gradients or dropout: how a DPO update did on pairs it did not train on. `None` for an empty
/// set.
pub fn evaluate_preferences(
    model: &Llama,
    set: &DpoObjective,
    micro_batch_tokens: usize,
) -> Result<Option<DpoMetrics>> {
    if set.is_empty() {
        return Ok(None);
    }
    let (loss, stats) = evaluate_with_stats(model, set, micro_batch_tokens)?;
    Ok(Some(DpoMetrics::compute(
        set.config.beta,
        loss,
        (&stats.policy_chosen, &stats.policy_rejected),
        (&stats.reference_chosen, &stats.reference_rejected),
    )))
}

/// The loss of all of `set` as one batch (micro-batches of `micro_batch_tokens`), and its
/// host statistics (in micro-batch order).
fn evaluate_with_stats<O: Objective>(
    model: &Llama,
    set: &O,
    micro_batch_tokens: usize,
) -> Result<(f64, MicroStats)> {
    let model = model.valid();
    let all: Vec<usize> = (0..set.len()).collect();
    let batch_totals = set.totals(&all);
    let lengths: Vec<usize> = all.iter().map(|&i| set.tokens(i)).collect();
    let mut total = 0.0;
    let mut stats = MicroStats::default();
    for group in batch_by_tokens(&lengths, micro_batch_tokens, usize::MAX) {
        let (loss, micro) = set.loss(&model, &group, batch_totals)?;
        let value = read_f32(loss, "the evaluation loss")?;
        total += f64::from(value.first().copied().unwrap_or(f32::NAN));
        stats.tokens += micro.tokens;
        stats.policy_chosen.extend(micro.policy_chosen);
        stats.policy_rejected.extend(micro.policy_rejected);
        stats.reference_chosen.extend(micro.reference_chosen);
        stats.reference_rejected.extend(micro.reference_rejected);
    }
    Ok((total, stats))
}

fn add_grads(
    model: &Llama,
    mut acc: GradientsParams,
    mut more: GradientsParams,
) -> GradientsParams {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Add<'a> {
        acc: &'a mut GradientsParams,
        more: &'a mut GradientsParams,
    }
    impl ModuleVisitor for Add<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.more.remove::<D>(param.id) {
                let sum = match self.acc.remove::<D>(param.id) {
                    Some(a) => a + g,
                    None => g,
                };
                self.acc.register(param.id, sum);
            }
        }
    }
    model.visit(&mut Add {
        acc: &mut acc,
        more: &mut more,
    });
    acc
}

/// SplitMix64 of three words: independent seeds per (run, step, micro-batch).
fn mix(a: u64, b: u64, c: u64) -> u64 {
    let mut x = a ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ c.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn checkpoints_dir(out_dir: &Path) -> PathBuf {
    out_dir.join("checkpoints")
}

fn latest_checkpoint(out_dir: &Path) -> Result<Option<(PathBuf, TrainerState)>> {
    let dir = checkpoints_dir(out_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    let mut best: Option<(usize, PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(step) = name
            .strip_prefix("step-")
            .and_then(|s| s.parse::<usize>().ok())
        {
            if entry.path().join("trainer.json").exists()
                && best.as_ref().is_none_or(|(b, _)| step > *b)
            {
                best = Some((step, entry.path()));
            }
        }
    }
    let Some((_, path)) = best else {
        return Ok(None);
    };
    let file = path.join("trainer.json");
    let text = std::fs::read_to_string(&file).map_err(|e| TrainError::io(&file, e))?;
    let state: TrainerState = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
        path: file.clone(),
        reason: e.to_string(),
    })?;
    Ok(Some((path, state)))
}

fn save_checkpoint(
    out_dir: &Path,
    model: &Llama,
    optim: &AdamW,
    step: usize,
    config: &TrainConfig,
    items: usize,
) -> Result<()> {
    let root = checkpoints_dir(out_dir);
    let tmp = root.join(format!(".step-{step}.tmp"));
    let dest = root.join(format!("step-{step}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    write_safetensors(&tmp.join("model.safetensors"), &model.to_weights()?)?;
    let (adam_steps, moments) = optim.to_weights()?;
    write_safetensors(&tmp.join("optimizer.safetensors"), &moments)?;
    let state = TrainerState {
        step,
        adam_steps,
        config: config.clone(),
        items,
    };
    let text =
        serde_json::to_string_pretty(&state).map_err(|e| TrainError::Config(e.to_string()))?;
    write_atomic(&tmp.join("trainer.json"), text.as_bytes())?;
    if dest.exists() {
        std::fs::remove_dir_all(&dest).map_err(|e| TrainError::io(&dest, e))?;
    }
    srlm_model::rename_durable(&tmp, &dest)?;
    // Keep the newest `keep_checkpoints`.
    let mut steps: Vec<usize> = std::fs::read_dir(&root)
        .map_err(|e| TrainError::io(&root, e))?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix("step-")
                .and_then(|s| s.parse().ok())
        })
        .collect();
    steps.sort_unstable();
    let excess = steps.len().saturating_sub(config.keep_checkpoints.max(1));
    for old in &steps[..excess] {
        let path = root.join(format!("step-{old}"));
        std::fs::remove_dir_all(&path).map_err(|e| TrainError::io(&path, e))?;
    }
    Ok(())
}

fn truncate_metrics(path: &Path, keep_through: usize) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("step").and_then(serde_json::Value::as_u64))
                .is_some_and(|s| s as usize <= keep_through)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_atomic(path, kept.as_bytes())?;
    Ok(())
}

fn append_metrics(path: &Path, metrics: &StepMetrics) -> Result<()> {
    let mut line = serde_json::to_string(metrics).map_err(|e| TrainError::Config(e.to_string()))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| TrainError::io(path, e))?;
    // One write per line: a crash leaves whole lines (a torn last line is dropped on resume).
    file.write_all(line.as_bytes())
        .map_err(|e| TrainError::io(path, e))
}
