//! [`Trainer`]: a training run one optimizer step at a time — start or resume, step,
//! checkpoint — for callers that drive the loop themselves; [`crate::train`] is the whole run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Device;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use srlm_data::batch_by_length;
use srlm_generation::seed::derive_seed;
use srlm_model::{add_gradients, burn, read_f32, LayerCheckpoints, Llama, LlamaConfig};

use super::checkpoint::{Checkpoint, CheckpointState};
use super::config::TrainConfig;
use super::metrics::{append_metrics, truncate_metrics, StepMetrics, StepTime};
use crate::error::{Result, TrainError};
use crate::objective::{Objective, StepStats};
use crate::optim::{clip_coefficient, AdamW, GatheredGrads};
use crate::schedule::Schedule;

/// A training run of `objective` in an output folder, one optimizer step at a time.
///
/// Everything random is a function of `(seed, step)`: the epoch's order is a shuffle seeded by
/// `(seed, epoch)` and the backend (dropout) is reseeded before every micro-batch, so a run
/// resumed from a checkpoint takes exactly the steps an uninterrupted run takes. (burn's CPU
/// backend keeps one RNG per process: two trainings running at once in one process would draw
/// from it in turn and lose this property.)
pub struct Trainer<'a, O: Objective> {
    objective: &'a O,
    config: TrainConfig,
    out_dir: PathBuf,
    device: Device,
    /// The network; `None` only inside [`Trainer::step`], while AdamW maps it by value (a
    /// second reference would make every parameter update copy instead of reuse its buffer).
    model: Option<Llama>,
    optim: AdamW,
    schedule: Schedule,
    steps_per_epoch: usize,
    done: usize,
    resumed_from: usize,
    skipped: usize,
    identity: serde_json::Value,
    order: Vec<usize>,
    order_epoch: Option<usize>,
}

impl<'a, O: Objective> Trainer<'a, O> {
    /// Starts training `model` (moved to the autodiff device) on `objective` in `out_dir`, or
    /// resumes from the newest checkpoint there — which must have been made with the same
    /// settings on a set of the same size. `metrics.jsonl` is cut back to the resumed step.
    pub fn new(
        model: Llama,
        model_config: &LlamaConfig,
        objective: &'a O,
        config: &TrainConfig,
        out_dir: &Path,
    ) -> Result<Self> {
        config.validate()?;
        if objective.is_empty() {
            return Err(TrainError::Config("the training set is empty".into()));
        }
        std::fs::create_dir_all(out_dir).map_err(|e| TrainError::io(out_dir, e))?;
        let device = model.device().inner().autodiff();
        let items = objective.len();
        let identity = objective.identity();
        let (model, optim, start, skipped) = match Checkpoint::latest(out_dir)? {
            Some(checkpoint) => {
                if checkpoint.state.config != *config || checkpoint.state.items != items {
                    return Err(TrainError::Checkpoint {
                        path: checkpoint.dir,
                        reason: "the checkpoint was made with other settings or another data set; use a new output folder".into(),
                    });
                }
                if let Some(saved) = &checkpoint.state.objective {
                    let changed = crate::objective::differing_fields(saved, &identity);
                    if !changed.is_empty() {
                        return Err(TrainError::Checkpoint {
                            path: checkpoint.dir,
                            reason: format!(
                                "the checkpoint was made for another objective ({}); use a new output folder",
                                changed.join("; ")
                            ),
                        });
                    }
                }
                let (model, optim) = checkpoint.restore(model, model_config, &device)?;
                tracing::info!(step = checkpoint.state.step, dir = %checkpoint.dir.display(), "resuming");
                (
                    model,
                    optim,
                    checkpoint.state.step,
                    checkpoint.state.skipped_steps,
                )
            }
            None => {
                let model = match &config.lora {
                    Some(lora) => model.with_lora(lora, derive_seed(config.seed, &[u64::MAX]))?,
                    None => model,
                };
                (model, AdamW::new(config.adamw), 0, 0)
            }
        };
        let model = model.train().with_hidden_dropout(config.dropout)?;
        truncate_metrics(&out_dir.join("metrics.jsonl"), start)?;
        Ok(Trainer {
            objective,
            config: config.clone(),
            out_dir: out_dir.to_path_buf(),
            device,
            model: Some(model),
            optim,
            schedule: Schedule {
                peak: config.peak_lr,
                last: config.final_lr,
                warmup: config.warmup_steps,
                total: config.total_steps(items),
            },
            steps_per_epoch: config.steps_per_epoch(items),
            done: start,
            resumed_from: start,
            skipped,
            identity,
            order: Vec::new(),
            order_epoch: None,
        })
    }

    /// Optimizer steps done (those of earlier invocations included).
    pub fn steps_done(&self) -> usize {
        self.done
    }

    /// Optimizer steps the run takes in all.
    pub fn total_steps(&self) -> usize {
        self.schedule.total
    }

    /// The step this invocation resumed from (0 for a fresh run).
    pub fn resumed_from(&self) -> usize {
        self.resumed_from
    }

    /// Whether every step is done.
    pub fn is_finished(&self) -> bool {
        self.done >= self.schedule.total
    }

    /// The network as trained so far (on the autodiff device, in training mode).
    pub fn model(&self) -> &Llama {
        match &self.model {
            Some(model) => model,
            None => unreachable!("the network is out of the trainer only inside `step`"),
        }
    }

    /// The trained network.
    pub fn into_model(self) -> Llama {
        match self.model {
            Some(model) => model,
            None => unreachable!("the network is out of the trainer only inside `step`"),
        }
    }

    /// The next optimizer step: the batch's micro-batches forward and backward with their
    /// gradients accumulated, the global norm clipped, AdamW on the schedule's rate. Its
    /// metrics are returned, not yet logged ([`Trainer::log`]); `None` once finished.
    pub fn step(&mut self) -> Result<Option<StepMetrics<O::Metrics>>> {
        if self.is_finished() {
            return Ok(None);
        }
        let started = Instant::now();
        let step = self.done;
        let batch = self.batch(step);
        let (loss, stats, grads, mut time) = match self.accumulate(step, &batch) {
            Ok(accumulated) => accumulated,
            Err(e @ TrainError::NonFinite { .. }) => return self.skip_or_stop(e),
            Err(e) => return Err(e),
        };
        let phase = Instant::now();
        // Laid out for the update: per tensor, or in flat buckets (`AdamWConfig::layout`).
        let grads = GatheredGrads::gather(self.model(), grads, self.optim.layout());
        let grad_norm = grads.global_norm(self.model())?;
        if !grad_norm.is_finite() {
            return self.skip_or_stop(TrainError::NonFinite {
                step,
                quantity: "gradient norm",
                loss: grad_norm as f32,
                examples: batch,
            });
        }
        let coefficient = self
            .config
            .max_grad_norm
            .map_or(1.0, |max| clip_coefficient(grad_norm, max));
        let grads = if coefficient < 1.0 {
            grads.scaled(self.model(), coefficient)
        } else {
            grads
        };
        let lr = self.schedule.lr(step);
        if let Some(model) = self.model.take() {
            self.model = Some(self.optim.step_gathered(lr, model, grads));
        }
        time.optimizer = phase.elapsed().as_secs_f64();
        self.done = step + 1;
        let seconds = started.elapsed().as_secs_f64();
        Ok(Some(StepMetrics {
            step: self.done,
            epoch: self.done as f64 / self.steps_per_epoch as f64,
            loss,
            grad_norm,
            learning_rate: lr,
            num_tokens: stats.tokens(),
            tokens_per_second: stats.tokens() as f64 / seconds.max(1e-9),
            time,
            objective: self.objective.metrics(loss, &stats),
            eval_loss: None,
            skipped: false,
        }))
    }

    /// Steps skipped so far for a non-finite loss or gradient norm (earlier invocations'
    /// included).
    pub fn skipped_steps(&self) -> usize {
        self.skipped
    }

    /// A step whose loss or gradient norm is not finite (`error`): skipped without an update
    /// while `max_skipped_steps` allows, else the error.
    fn skip_or_stop(&mut self, error: TrainError) -> Result<Option<StepMetrics<O::Metrics>>> {
        let TrainError::NonFinite {
            step,
            quantity,
            loss,
            ..
        } = &error
        else {
            return Err(error);
        };
        if self.skipped >= self.config.max_skipped_steps {
            return Err(error);
        }
        self.skipped += 1;
        tracing::warn!(
            step,
            quantity,
            value = loss,
            skipped = self.skipped,
            "non-finite step skipped"
        );
        let (step, quantity, value) = (*step, *quantity, f64::from(*loss));
        self.done = step + 1;
        let nan = f64::NAN;
        Ok(Some(StepMetrics {
            step: self.done,
            epoch: self.done as f64 / self.steps_per_epoch as f64,
            loss: if quantity == "loss" { value } else { nan },
            grad_norm: if quantity == "loss" { nan } else { value },
            learning_rate: self.schedule.lr(step),
            num_tokens: 0,
            tokens_per_second: 0.0,
            time: StepTime::default(),
            objective: O::Metrics::default(),
            eval_loss: None,
            skipped: true,
        }))
    }

    /// Appends a step's metrics to `metrics.jsonl` in the output folder.
    pub fn log(&self, metrics: &StepMetrics<O::Metrics>) -> Result<()> {
        append_metrics(&self.out_dir.join("metrics.jsonl"), metrics)
    }

    /// Writes a checkpoint of the steps done so far.
    pub fn checkpoint(&self) -> Result<Checkpoint> {
        Checkpoint::save(
            &self.out_dir,
            self.model(),
            &self.optim,
            CheckpointState {
                step: self.done,
                adam_steps: self.optim.steps(),
                config: self.config.clone(),
                items: self.objective.len(),
                objective: Some(self.identity.clone()),
                skipped_steps: self.skipped,
            },
        )
    }

    /// Whether the step just done is due a checkpoint (`checkpoint_every`, and the last step).
    pub fn checkpoint_due(&self) -> bool {
        self.config
            .checkpoint_every
            .is_some_and(|k| k > 0 && self.done.is_multiple_of(k))
            || self.is_finished()
    }

    /// The items of optimizer step `step`: its slice of the epoch's seeded shuffle.
    fn batch(&mut self, step: usize) -> Vec<usize> {
        let n = self.objective.len();
        let epoch = step / self.steps_per_epoch;
        if self.order_epoch != Some(epoch) {
            self.order = (0..n).collect();
            let seed = derive_seed(self.config.seed, &[epoch as u64, 0]);
            self.order
                .shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            self.order_epoch = Some(epoch);
        }
        let size = self.config.batch_size;
        let within = step % self.steps_per_epoch;
        self.order[within * size..((within + 1) * size).min(n)].to_vec()
    }

    /// Forward and backward over the micro-batches of `batch`: the batch's loss, the
    /// objective's statistics, the summed gradients and the phases' times.
    fn accumulate(
        &self,
        step: usize,
        batch: &[usize],
    ) -> Result<(f64, O::Stats, GradientsParams, StepTime)> {
        let totals = self.objective.totals(batch);
        let lengths: Vec<usize> = batch.iter().map(|&i| self.objective.tokens(i)).collect();
        let mut grads: Option<GradientsParams> = None;
        let mut loss_value = 0.0f64;
        let mut stats = O::Stats::default();
        let mut time = StepTime::default();
        // Micro-batches of similar lengths: less padding, the same gradient (a sum over items).
        let groups = batch_by_length(&lengths, self.config.micro_batch_tokens, usize::MAX);
        for (micro, group) in groups.into_iter().enumerate() {
            let micro_seed = derive_seed(self.config.seed, &[step as u64, micro as u64 + 1]);
            self.device.seed(micro_seed);
            self.device.clone().inner().seed(micro_seed);
            let items: Vec<usize> = group.iter().map(|&k| batch[k]).collect();
            let phase = Instant::now();
            let ((loss, micro_stats), checkpoints) = if self.config.checkpointing {
                let (out, checkpoints) =
                    LayerCheckpoints::record(|| self.objective.loss(self.model(), &items, totals));
                (out?, Some(checkpoints))
            } else {
                (self.objective.loss(self.model(), &items, totals)?, None)
            };
            let value = read_f32(loss.clone(), "the loss")?;
            time.forward += phase.elapsed().as_secs_f64();
            let value = value.first().copied().unwrap_or(f32::NAN);
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    step,
                    quantity: "loss",
                    loss: value,
                    examples: batch.to_vec(),
                });
            }
            loss_value += f64::from(value);
            let phase = Instant::now();
            let mut backward = loss.backward();
            let mut micro_grads = match checkpoints {
                Some(recorded) => self.model().backward_checkpointed(recorded, &mut backward),
                None => GradientsParams::new(),
            };
            let rest = GradientsParams::from_grads(backward, self.model());
            micro_grads = add_gradients(self.model(), micro_grads, rest);
            grads = Some(match grads.take() {
                None => micro_grads,
                Some(acc) => add_gradients(self.model(), acc, micro_grads),
            });
            time.backward += phase.elapsed().as_secs_f64();
            stats.merge(micro_stats);
        }
        Ok((loss_value, stats, grads.unwrap_or_default(), time))
    }
}
