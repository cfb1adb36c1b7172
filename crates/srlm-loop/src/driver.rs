//! The driver: data → SFT (M1) → for each iteration t: prompts, candidates, judgements, pairs,
//! DPO (Mt+1). Each stage is skipped when its output exists, and resumes from its journal (or
//! the trainer's checkpoints) when it was interrupted.

use std::path::PathBuf;

use srlm_data::{EftRecord, IftRecord, PreferenceRecord};
use srlm_model::{parse_device, LanguageModel};

use crate::judge_source::{ConfiguredJudges, JudgeSource};

use crate::config::{GeneratorSpec, PromptSource, RunConfig};
use crate::error::{LoopError, Result};
use crate::generator::{GeneratorSource, Role, SpecGenerators};
use crate::observer::Observer;
use crate::records::{CandidateSet, GeneratedInstruction, JudgedSet, NewPrompt, SeedPrompt};
use crate::run_dir::{RunDir, StageSummary};
use crate::stage_clock::StageClock;
use crate::stages::{self, run_units, unit_seed};

/// Stage numbers in unit seeds.
const INSTRUCT: u64 = 1;
const CANDIDATES: u64 = 2;
const JUDGE: u64 = 3;
const SEED_ANSWERS: u64 = 4;

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
    /// Opens (or starts) the run in `dir` with `config`.
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
        generators.preflight(&[
            &self.config.instruct.generator,
            &self.config.candidates.generator,
            &self.config.judge.generator,
        ])?;
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

    fn data_stage(
        &self,
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<()> {
        let done = self.dir.data("seed-prompts.jsonl");
        if done.exists() {
            return Ok(());
        }
        let seed = self.config.run.seed;
        let plan = stages::data::plan(&self.config.data, seed)?;
        let answers = self.seed_answer_stage(&plan.anchors(), observer, source)?;
        let clock = StageClock::start(&self.dir, 0, "data")?;
        observer.stage_started(0, "data", 1, 0);
        let data = stages::data::prepare(&self.config.data, seed, plan, &answers)?;
        self.dir
            .write_records(&self.dir.data("sft-ift.jsonl"), &data.sft_ift)?;
        self.dir
            .write_records(&self.dir.data("sft-eft.jsonl"), &data.sft_eft)?;
        self.dir
            .write_records(&self.dir.data("eft-held-out.jsonl"), &data.eft_held_out)?;
        // Written last: its presence marks the stage finished.
        self.dir.write_records(&done, &data.seed_prompts)?;
        self.finish_stage(observer, (0, "data"), clock, false, data.stats)
    }

    /// The seed model's greedy and sampled answers to the natural EFT builder's anchor prompts
    /// (`data/seed-answers.jsonl`), journaled per unit of `run.generation_batch` prompts.
    fn seed_answer_stage(
        &self,
        anchors: &[String],
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<Vec<srlm_data::eft::SeedAnswers>> {
        let output = self.dir.data("seed-answers.jsonl");
        if anchors.is_empty() {
            return Ok(Vec::new());
        }
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, 0, "seed-answers")?;
        let config = &self.config.data.natural;
        let m0 = LanguageModel::load(&self.config.model.path, &self.device()?)?;
        let chunks: Vec<&[String]> = anchors.chunks(self.config.run.generation_batch).collect();
        let journal = self.dir.data("seed-answers.journal");
        let mut generator = source.generator(Role::Candidates, &GeneratorSpec::Current, &m0)?;
        let mut clocked = clock.observing(observer);
        let (units, resumed) = run_units(
            &journal,
            0,
            "seed-answers",
            chunks.len(),
            &mut clocked,
            |u, _| {
                let seed = unit_seed(self.config.run.seed, 0, SEED_ANSWERS, u);
                let unit =
                    stages::seed_answers::answer_unit(chunks[u], generator.as_mut(), config, seed)?;
                Ok(Some((unit, String::new())))
            },
        )?;
        drop(generator);
        let answers: Vec<srlm_data::eft::SeedAnswers> = units.into_iter().flatten().collect();
        self.dir.write_records(&output, &answers)?;
        remove_file(&journal)?;
        let stats = stages::seed_answers::stats(&answers, config.max_tokens);
        self.finish_stage(observer, (0, "seed-answers"), clock, resumed, stats)?;
        Ok(answers)
    }

    fn sft_stage(&self, observer: &mut dyn Observer) -> Result<()> {
        if self.dir.model(1).exists() {
            return Ok(());
        }
        let clock = StageClock::start(&self.dir, 0, "sft")?;
        let m0 = LanguageModel::load(&self.config.model.path, &self.device()?)?;
        let ift: Vec<IftRecord> = self.dir.read_records(&self.dir.data("sft-ift.jsonl"))?;
        let eft: Vec<EftRecord> = self.dir.read_records(&self.dir.data("sft-eft.jsonl"))?;
        let workdir = self.dir.workdir("sft")?;
        let encoder = srlm_data::Encoder::new(&m0, self.config.data.max_len)?
            .with_judge_template(self.config.judge.judge_template()?);
        let mut clocked = clock.observing(observer);
        let trained = stages::train::sft(
            &m0,
            &ift,
            &eft,
            &encoder,
            &self.config.sft,
            &workdir,
            &mut clocked,
        )?;
        self.dir.save_model(1, &trained.model)?;
        remove_checkpoints(&workdir)?;
        self.finish_stage(observer, (0, "sft"), clock, trained.resumed, trained.stats)
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
        let mt = LanguageModel::load(&self.dir.model(t), &self.device()?)?;
        let prompts = self.instruct_stage(t, &mt, observer, source)?;
        let candidates = self.candidate_stage(t, &mt, &prompts, observer, source)?;
        let judged = self.judge_stage(t, &mt, &candidates, observer, source, judges)?;
        let pairs = self.pair_stage(t, &judged, observer)?;
        self.dpo_stage(t, &mt, &pairs, observer)
    }

    /// Prompts kept in iterations before `t`.
    fn earlier_prompts(&self, t: usize) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for s in 1..t {
            let kept: Vec<NewPrompt> = self
                .dir
                .read_records(&self.dir.iteration(s, "prompts.jsonl"))?;
            out.extend(kept.into_iter().map(|p| p.prompt));
        }
        Ok(out)
    }

    fn instruct_stage(
        &self,
        t: usize,
        mt: &LanguageModel,
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<Vec<NewPrompt>> {
        let output = self.dir.iteration(t, "prompts.jsonl");
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, t, "instruct")?;
        let config = &self.config.instruct;
        let seed_prompts: Vec<SeedPrompt> = self
            .dir
            .read_records(&self.dir.data("seed-prompts.jsonl"))?;
        let earlier = self.earlier_prompts(t)?;
        if config.source == PromptSource::Seed {
            let ift: Vec<IftRecord> = self.dir.read_records(&self.dir.data("sft-ift.jsonl"))?;
            let eft: Vec<EftRecord> = self.dir.read_records(&self.dir.data("sft-eft.jsonl"))?;
            let used: Vec<&str> = (ift.iter().map(|r| r.prompt.as_str()))
                .chain(eft.iter().map(|r| r.prompt.as_str()))
                .chain(earlier.iter().map(String::as_str))
                .collect();
            let rules = stages::seed_prompts::DrawRules {
                filter: &config.filter,
                max_answer_words: config.max_seed_answer_words,
                count: config.prompts,
                seed: unit_seed(self.config.run.seed, t, INSTRUCT, 0),
            };
            let (prompts, stats) =
                stages::seed_prompts::draw_unused(t, &seed_prompts, &used, rules)?;
            if prompts.is_empty() {
                return Err(LoopError::Empty {
                    stage: "instruct".into(),
                    reason: "no unused seed prompt passes the filters (instruct.source = \"seed\"): use a larger seed or \"self_instruct\"".into(),
                });
            }
            self.dir.write_records(&output, &prompts)?;
            self.finish_stage(observer, (t, "instruct"), clock, false, stats)?;
            return Ok(prompts);
        }
        let seed_prompts: Vec<String> = seed_prompts.into_iter().map(|p| p.prompt).collect();
        let mut state = stages::instruct::InstructState::new(config, &seed_prompts, &earlier);
        if state.shot_pool() == 0 {
            return Err(LoopError::Empty {
                stage: "instruct".into(),
                reason: "no seed prompt passes the filters, so there are no few-shot examples"
                    .into(),
            });
        }
        let units = config.max_generations.div_ceil(config.batch);
        let journal = self.dir.iteration(t, "prompts.journal");
        let mut replayed = 0;
        let mut generator = source.generator(Role::Instruct, &config.generator, mt)?;
        let mut clocked = clock.observing(observer);
        let (generations, resumed) = run_units(
            &journal,
            t,
            "instruct",
            units,
            &mut clocked,
            |u, done: &[Vec<GeneratedInstruction>]| {
                for unit in &done[replayed..] {
                    state.replay(unit);
                }
                replayed = done.len();
                if state.is_full() {
                    return Ok(None);
                }
                let batch = config.batch.min(config.max_generations - u * config.batch);
                let seed = unit_seed(self.config.run.seed, t, INSTRUCT, u);
                let unit =
                    stages::instruct::generate_unit(&mut state, generator.as_mut(), seed, batch)?;
                let kept = unit.iter().filter(|g| g.kept).count();
                replayed += 1;
                Ok(Some((unit, format!("{kept} kept"))))
            },
        )?;
        drop(generator);
        let all: Vec<GeneratedInstruction> = generations.into_iter().flatten().collect();
        let (prompts, stats) = stages::instruct::finish(t, &all, &config.filter);
        self.dir
            .write_records(&self.dir.iteration(t, "prompts-all.jsonl"), &all)?;
        self.dir.write_records(&output, &prompts)?;
        remove_file(&journal)?;
        self.finish_stage(observer, (t, "instruct"), clock, resumed, stats)?;
        Ok(prompts)
    }

    fn candidate_stage(
        &self,
        t: usize,
        mt: &LanguageModel,
        prompts: &[NewPrompt],
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<Vec<CandidateSet>> {
        let output = self.dir.iteration(t, "candidates.jsonl");
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, t, "candidates")?;
        let config = &self.config.candidates;
        let chunks: Vec<&[NewPrompt]> = prompts.chunks(config.batch).collect();
        let journal = self.dir.iteration(t, "candidates.journal");
        let mut generator = source.generator(Role::Candidates, &config.generator, mt)?;
        let mut clocked = clock.observing(observer);
        let (units, resumed) = run_units(
            &journal,
            t,
            "candidates",
            chunks.len(),
            &mut clocked,
            |u, _| {
                let seed = unit_seed(self.config.run.seed, t, CANDIDATES, u);
                let sets =
                    stages::candidates::generate_unit(chunks[u], generator.as_mut(), config, seed)?;
                Ok(Some((sets, String::new())))
            },
        )?;
        drop(generator);
        let sets: Vec<CandidateSet> = units.into_iter().flatten().collect();
        self.dir.write_records(&output, &sets)?;
        remove_file(&journal)?;
        self.finish_stage(
            observer,
            (t, "candidates"),
            clock,
            resumed,
            stages::candidates::stats(&sets),
        )?;
        Ok(sets)
    }

    fn judge_stage(
        &self,
        t: usize,
        mt: &LanguageModel,
        candidates: &[CandidateSet],
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
        judges: &mut dyn JudgeSource,
    ) -> Result<Vec<JudgedSet>> {
        let output = self.dir.iteration(t, "judgements.jsonl");
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, t, "judge")?;
        let config = &self.config.judge;
        let chunks: Vec<&[CandidateSet]> = candidates.chunks(config.batch).collect();
        let journal = self.dir.iteration(t, "judgements.journal");
        let mut judge = judges.judge(t, config, mt, source)?;
        let mut clocked = clock.observing(observer);
        let (units, resumed) =
            run_units(&journal, t, "judge", chunks.len(), &mut clocked, |u, _| {
                let seed = unit_seed(self.config.run.seed, t, JUDGE, u);
                let sets =
                    stages::judging::judge_unit(chunks[u], judge.as_mut(), seed, config.judge_cut)?;
                Ok(Some((sets, String::new())))
            })?;
        drop(judge);
        let sets: Vec<JudgedSet> = units.into_iter().flatten().collect();
        self.dir.write_records(&output, &sets)?;
        remove_file(&journal)?;
        self.finish_stage(
            observer,
            (t, "judge"),
            clock,
            resumed,
            stages::judging::stats(&sets),
        )?;
        Ok(sets)
    }

    fn pair_stage(
        &self,
        t: usize,
        judged: &[JudgedSet],
        observer: &mut dyn Observer,
    ) -> Result<Vec<PreferenceRecord>> {
        let output = self.dir.iteration(t, "aift.jsonl");
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, t, "pairs")?;
        observer.stage_started(t, "pairs", 1, 0);
        let (pairs, report) = stages::pairs::build_pairs(judged, t, &self.config.pairs);
        self.dir.write_records(&output, &pairs)?;
        let stats = serde_json::to_value(&report).unwrap_or_default();
        self.finish_stage(observer, (t, "pairs"), clock, false, stats)?;
        Ok(pairs)
    }

    fn dpo_stage(
        &self,
        t: usize,
        mt: &LanguageModel,
        pairs: &[PreferenceRecord],
        observer: &mut dyn Observer,
    ) -> Result<()> {
        let clock = StageClock::start(&self.dir, t, "dpo")?;
        if pairs.is_empty() {
            tracing::warn!(
                iteration = t,
                "no preference pairs: M{} is M{} unchanged",
                t + 1,
                t
            );
            self.dir.save_model(t + 1, mt)?;
            let stats = serde_json::json!({"pairs": 0, "skipped": "no preference pairs"});
            return self.finish_stage(observer, (t, "dpo"), clock, false, stats);
        }
        let workdir = self.dir.workdir(&format!("iter{t}/dpo"))?;
        let (train_pairs, held_out) = stages::train::hold_out_pairs(
            pairs,
            self.config.dpo.held_out_pairs,
            self.config.run.seed.wrapping_add(t as u64),
        );
        let mut clocked = clock.observing(observer);
        let trained = stages::train::dpo(
            mt,
            &train_pairs,
            &held_out,
            self.config.data.max_len,
            &self.config.dpo.loss,
            &self.config.dpo.train,
            &workdir,
            t,
            &mut clocked,
        )?;
        self.dir.save_model(t + 1, &trained.model)?;
        remove_checkpoints(&workdir)?;
        self.finish_stage(observer, (t, "dpo"), clock, trained.resumed, trained.stats)
    }
}

fn remove_file(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LoopError::io(path, e)),
        _ => Ok(()),
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
