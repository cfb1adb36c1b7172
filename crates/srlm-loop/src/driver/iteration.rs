//! One iteration's stages: prompts, candidates, self-judging, pairs, DPO (Mt → Mt+1).

use srlm_data::{EftRecord, IftRecord, PreferenceRecord};
use srlm_model::LanguageModel;

use super::{
    remove_checkpoints, remove_file, SelfRewardingRun, CANDIDATES, INSTRUCT, INSTRUCTED, JUDGE,
};
use crate::config::PromptSource;
use crate::error::{LoopError, Result};
use crate::generator::{GeneratorSource, Role};
use crate::judge_source::JudgeSource;
use crate::observer::Observer;
use crate::records::{CandidateSet, GeneratedInstruction, JudgedSet, NewPrompt, SeedPrompt};
use crate::stage_clock::StageClock;
use crate::stages::{self, run_units, unit_seed};

impl SelfRewardingRun {
    pub(super) fn instruct_stage(
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
        let seed_prompts: Vec<SeedPrompt> = self
            .dir
            .read_records(&self.dir.data("seed-prompts.jsonl"))?;
        let earlier = self.earlier_prompts(t)?;
        let (prompts, resumed, mut stats) = match self.config.instruct.source {
            PromptSource::Seed => {
                let (prompts, stats) = self.unused_seed_prompts(t, &seed_prompts, &earlier)?;
                (prompts, false, stats)
            }
            PromptSource::SelfInstruct => {
                let seed_prompts: Vec<String> =
                    seed_prompts.into_iter().map(|p| p.prompt).collect();
                let mut clocked = clock.observing(observer);
                self.self_instruct(t, mt, &seed_prompts, &earlier, &mut clocked, source)?
            }
        };
        let share = self.config.instruct.instructed_share;
        let prompts = if share > 0.0 {
            let seed = |u| unit_seed(self.config.run.seed, t, INSTRUCTED, u);
            let mut sampler = self.config.data.verifiable.training_sampler(seed(0))?;
            let (prompts, counts) =
                stages::instructed::instruct_share(prompts, share, &mut sampler, seed(1));
            stats["instructed"] = counts;
            prompts
        } else {
            prompts
        };
        self.dir.write_records(&output, &prompts)?;
        // Self-instruction's journal goes once its output is written (the seed source has none).
        remove_file(&self.instruct_journal(t))?;
        self.finish_stage(observer, (t, "instruct"), clock, resumed, stats)?;
        Ok(prompts)
    }

    /// The seed prompt source: unused seed prompts (not SFT's, not an earlier iteration's).
    fn unused_seed_prompts(
        &self,
        t: usize,
        seed_prompts: &[SeedPrompt],
        earlier: &[String],
    ) -> Result<(Vec<NewPrompt>, serde_json::Value)> {
        let config = &self.config.instruct;
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
        let (prompts, stats) = stages::seed_prompts::draw_unused(t, seed_prompts, &used, rules)?;
        if prompts.is_empty() {
            return Err(LoopError::Empty {
                stage: "instruct".into(),
                reason: "no unused seed prompt passes the filters (instruct.source = \"seed\"): \
                         use a larger seed or \"self_instruct\""
                    .into(),
            });
        }
        Ok((prompts, stats))
    }

    /// Where self-instruction journals iteration `t`'s generations.
    fn instruct_journal(&self, t: usize) -> std::path::PathBuf {
        self.dir.iteration(t, "prompts.journal")
    }

    /// Self-instruction: the generator writes tasks few-shot, journaled per batch
    /// ([`Self::instruct_journal`]); the kept ones, whether the stage resumed, and its counts
    /// (`prompts-all.jsonl` written here).
    fn self_instruct(
        &self,
        t: usize,
        mt: &LanguageModel,
        seed_prompts: &[String],
        earlier: &[String],
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<(Vec<NewPrompt>, bool, serde_json::Value)> {
        let config = &self.config.instruct;
        let mut state = stages::instruct::InstructState::new(config, seed_prompts, earlier);
        if state.shot_pool() == 0 {
            return Err(LoopError::Empty {
                stage: "instruct".into(),
                reason: "no seed prompt passes the filters, so there are no few-shot examples"
                    .into(),
            });
        }
        let units = config.max_generations.div_ceil(config.batch);
        let journal = self.instruct_journal(t);
        let mut replayed = 0;
        let mut generator = source.generator(Role::Instruct, &config.generator.at(t), mt)?;
        let (generations, resumed) = run_units(
            &journal,
            t,
            "instruct",
            units,
            observer,
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
        Ok((prompts, resumed, stats))
    }

    pub(super) fn candidate_stage(
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
        let mut generator = source.generator(Role::Candidates, &config.generator.at(t), mt)?;
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

    pub(super) fn judge_stage(
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

    pub(super) fn pair_stage(
        &self,
        t: usize,
        prompts: &[NewPrompt],
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
        let mut stats = serde_json::to_value(&report).unwrap_or_default();
        if let Some(check) = stages::instructed::check_self_reward(prompts, judged, &pairs)? {
            log_self_reward(t, &check);
            stats["self_reward_check"] = serde_json::to_value(&check).unwrap_or_default();
        }
        self.finish_stage(observer, (t, "pairs"), clock, false, stats)?;
        Ok(pairs)
    }

    pub(super) fn dpo_stage(
        &self,
        t: usize,
        mt: LanguageModel,
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
            self.save_model(t + 1, &mt)?;
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
        self.save_model(t + 1, &trained.model)?;
        remove_checkpoints(&workdir)?;
        self.finish_stage(observer, (t, "dpo"), clock, trained.resumed, trained.stats)
    }
}

/// One line of what the checks say of the self-judge's pairs.
fn log_self_reward(t: usize, check: &stages::instructed::SelfRewardCheck) {
    let more = &check.chosen_follows_more;
    tracing::info!(
        iteration = t,
        instructed_pairs = check.pairs,
        differ = more.of,
        chosen_follows_more = more.hits,
        rate = more.rate.unwrap_or(f64::NAN),
        chance = 0.5,
        "self-reward against the checks"
    );
}
