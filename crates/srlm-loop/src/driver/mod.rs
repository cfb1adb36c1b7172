//! The driver: data → SFT (M1) → for each iteration t: prompts, candidates, judgements, pairs,
//! DPO (Mt+1). Each stage is skipped when its output exists, and resumes from its journal (or
//! the trainer's checkpoints) when it was interrupted.

mod adapters;
mod iteration;
mod preparation;
mod probes;
mod serving;

use std::path::PathBuf;

use srlm_model::{parse_device, LanguageModel};

use crate::config::RunConfig;
use crate::error::{LoopError, Result};
use crate::generator::{GeneratorSource, SpecGenerators};
use crate::judge_source::{ConfiguredJudges, JudgeSource};
use crate::observer::Observer;
use crate::records::NewPrompt;
use crate::run_dir::{remove_file, RunDir, StageSummary};
use crate::stage_clock::StageClock;

/// Stage numbers in unit seeds.
const INSTRUCT: u64 = 1;
const CANDIDATES: u64 = 2;
const JUDGE: u64 = 3;
const SEED_ANSWERS: u64 = 4;
const VERIFIABLE_ANSWERS: u64 = 5;
const INSTRUCTED: u64 = 6;

/// A self-rewarding run in a folder.
#[derive(Debug)]
pub struct SelfRewardingRun {
    config: RunConfig,
    dir: RunDir,
}

/// Where a finished run left its models.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// `M1/`, `M2/`, … in order.
    pub models: Vec<PathBuf>,
    /// Every stage summary, in order.
    pub summaries: Vec<StageSummary>,
}

impl SelfRewardingRun {
    /// Opens (or starts) the run in `dir` with `config`, holding the folder's lock until the
    /// value is dropped (a second process is refused, named by its PID).
    pub fn open(dir: &std::path::Path, config: RunConfig) -> Result<Self> {
        let dir = RunDir::open(dir, &config)?;
        Ok(SelfRewardingRun { config, dir })
    }

    /// The run folder.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// The settings.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    fn device(&self) -> Result<srlm_model::burn::tensor::Device> {
        Ok(parse_device(&self.config.run.device)?)
    }

    /// Mt (M0: `model.path`), stored as the stage that trains it stores it: over a bf16 LoRA
    /// base (`sft.lora` for M0, `dpo.train.lora` after), the adapted projections are cast as
    /// they are read, so the run never holds the model in f32, and the model that generates,
    /// judges and is DPO's reference is the one that trains.
    fn load_model(&self, t: usize) -> Result<LanguageModel> {
        let lora = if t == 0 {
            self.config.sft.lora.as_ref()
        } else {
            self.config.dpo.train.lora.as_ref()
        };
        Ok(LanguageModel::load_for_training(
            &self.model_path(t),
            &self.device()?,
            lora,
        )?)
    }

    /// Where Mt is: `model.path` for M0, the run folder's `M{t}/` after.
    fn model_path(&self, t: usize) -> PathBuf {
        if t == 0 {
            self.config.model.path.clone()
        } else {
            self.dir.model(t)
        }
    }

    fn finish_stage(
        &self,
        observer: &mut dyn Observer,
        (iteration, stage): (usize, &str),
        clock: StageClock,
        resumed: bool,
        stats: serde_json::Value,
    ) -> Result<()> {
        let summary = StageSummary {
            iteration,
            stage: stage.to_string(),
            wall_s: clock.finish()?,
            resumed,
            stats,
        };
        self.dir.record_summary(&summary)?;
        observer.stage_finished(&summary);
        Ok(())
    }

    /// Runs (or continues) the whole loop, with generators and judge as configured.
    pub fn execute(&self, observer: &mut dyn Observer) -> Result<RunOutcome> {
        let device = self.device()?;
        let mut generators = SpecGenerators {
            device: device.clone(),
            batch: self.config.run.generation_batch,
            http: self.config.http.clone(),
        };
        let checked = generators
            .preflight(&self.config.role_generators().map(|(_, spec)| spec))
            .and_then(|()| self.reach_current_servers(&generators));
        if let Err(e) = checked {
            // Nothing ran: leave no folder behind to refuse the corrected settings.
            self.dir.discard_unstarted()?;
            return Err(e);
        }
        let mut judges = ConfiguredJudges::new(device, self.config.run.generation_batch);
        self.execute_with(observer, &mut generators, &mut judges)
    }

    /// Runs (or continues) the whole loop, taking generators from `generators` and the
    /// self-judging stage's judge from `judges` ([`ConfiguredJudges`] builds the configured one
    /// over `generators`).
    pub fn execute_with(
        &self,
        observer: &mut dyn Observer,
        generators: &mut dyn GeneratorSource,
        judges: &mut dyn JudgeSource,
    ) -> Result<RunOutcome> {
        self.data_stage(observer, generators)?;
        self.sft_stage(observer)?;
        for t in 1..=self.config.run.iterations {
            self.iteration(t, observer, generators, judges)?;
        }
        let mut summaries = self.dir.summaries()?;
        summaries.sort_by_key(|s| s.iteration);
        Ok(RunOutcome {
            models: (1..=self.config.run.iterations + 1)
                .map(|t| self.dir.model(t))
                .collect(),
            summaries: self
                .dir
                .read_records(&self.dir.root().join("metrics.jsonl"))?,
        })
    }

    fn iteration(
        &self,
        t: usize,
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
        judges: &mut dyn JudgeSource,
    ) -> Result<()> {
        if self.dir.model(t + 1).exists() {
            return Ok(());
        }
        let mt = self.load_model(t)?;
        self.follow_current(t, &mt)?;
        let prompts = self.instruct_stage(t, &mt, observer, source)?;
        let candidates = self.candidate_stage(t, &mt, &prompts, observer, source)?;
        let judged = self.judge_stage(t, &mt, &candidates, observer, source, judges)?;
        let pairs = self.pair_stage(t, &prompts, &judged, observer)?;
        // The last stage of the iteration takes Mt: its weights are trained in place.
        self.dpo_stage(t, mt, &pairs, observer)
    }

    /// Prompts kept in iterations before `t` (their tasks, without instructions).
    fn earlier_prompts(&self, t: usize) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for s in 1..t {
            let kept: Vec<NewPrompt> = self
                .dir
                .read_records(&self.dir.iteration(s, "prompts.jsonl"))?;
            // The task: an instructed prompt's seed prompt is used too.
            out.extend(kept.iter().map(|p| p.task().to_string()));
        }
        Ok(out)
    }
}

/// Checkpoints are only for resuming; once the model is saved they go (they hold the optimizer
/// state, twice the model's size).
fn remove_checkpoints(workdir: &std::path::Path) -> Result<()> {
    let dir = workdir.join("checkpoints");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| LoopError::io(&dir, e))?;
    }
    Ok(())
}
