//! The stages before the first iteration: the seed model's answers and the data sets, then SFT
//! (→ M1).

use srlm_data::eft::VerifiableAnswers;
use srlm_data::{EftRecord, IftRecord};
use srlm_model::LanguageModel;
use srlm_verifiable::InstructedPrompt;

use super::{remove_checkpoints, remove_file, SelfRewardingRun, SEED_ANSWERS, VERIFIABLE_ANSWERS};
use crate::config::GeneratorSpec;
use crate::error::Result;
use crate::generator::{GeneratorSource, Role};
use crate::observer::Observer;
use crate::stage_clock::StageClock;
use crate::stages::{self, run_units, unit_seed};

impl SelfRewardingRun {
    pub(super) fn data_stage(
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
        let verifiable =
            self.verifiable_answer_stage(&plan.verifiable_prompts(), observer, source)?;
        let clock = StageClock::start(&self.dir, 0, "data")?;
        observer.stage_started(0, "data", 1, 0);
        let data = stages::data::prepare(&self.config.data, seed, plan, &answers, &verifiable)?;
        if !data.instructed_eval.is_empty() {
            self.dir
                .write_records(&self.dir.instructed_eval(), &data.instructed_eval)?;
        }
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
    pub(super) fn seed_answer_stage(
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

    /// The seed model's sampled answers to the prompts given verifiable instructions
    /// (`data/verifiable-answers.jsonl`), journaled per unit of `run.generation_batch` prompts.
    pub(super) fn verifiable_answer_stage(
        &self,
        prompts: &[InstructedPrompt],
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<Vec<VerifiableAnswers>> {
        let output = self.dir.data("verifiable-answers.jsonl");
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, 0, "verifiable-answers")?;
        let config = &self.config.data.verifiable;
        let m0 = LanguageModel::load(&self.config.model.path, &self.device()?)?;
        // Units of whole generation batches: `answers` rows per prompt.
        let per_unit = (self.config.run.generation_batch / config.answers).max(1);
        let chunks: Vec<&[InstructedPrompt]> = prompts.chunks(per_unit).collect();
        let journal = self.dir.data("verifiable-answers.journal");
        let mut generator = source.generator(Role::Candidates, &GeneratorSpec::Current, &m0)?;
        let mut clocked = clock.observing(observer);
        let (units, resumed) = run_units(
            &journal,
            0,
            "verifiable-answers",
            chunks.len(),
            &mut clocked,
            |u, _| {
                let seed = unit_seed(self.config.run.seed, 0, VERIFIABLE_ANSWERS, u);
                let params = stages::verifiable::answer_params(config, seed);
                let unit = stages::verifiable::answer_instructed(
                    chunks[u],
                    generator.as_mut(),
                    config.answers,
                    &params,
                )?;
                Ok(Some((unit, String::new())))
            },
        )?;
        drop(generator);
        let answers: Vec<VerifiableAnswers> = units.into_iter().flatten().collect();
        self.dir.write_records(&output, &answers)?;
        remove_file(&journal)?;
        let stats = stages::verifiable::answer_stats(&answers, config.max_tokens);
        self.finish_stage(observer, (0, "verifiable-answers"), clock, resumed, stats)?;
        Ok(answers)
    }

    pub(super) fn sft_stage(&self, observer: &mut dyn Observer) -> Result<()> {
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
}
