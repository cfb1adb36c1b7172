//! The stages before the first iteration: the seed model's answers and the data sets, then SFT
//! (→ M1).

use serde::de::DeserializeOwned;
use serde::Serialize;
use srlm_data::eft::{SeedAnswers, VerifiableAnswers};
use srlm_data::{EftRecord, IftRecord};
use srlm_generation::TextGenerator;
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
        // M0 is loaded once, by the first answering stage that has work, for both.
        let mut m0 = None;
        let answers = self.seed_answer_stage(&plan.anchors(), &mut m0, observer, source)?;
        let verifiable =
            self.verifiable_answer_stage(&plan.verifiable_prompts(), &mut m0, observer, source)?;
        drop(m0);
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
    fn seed_answer_stage(
        &self,
        anchors: &[String],
        m0: &mut Option<LanguageModel>,
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<Vec<SeedAnswers>> {
        let config = &self.config.data.natural;
        self.m0_answer_stage(
            ("seed-answers", SEED_ANSWERS),
            anchors,
            self.config.run.generation_batch,
            (m0, observer, source),
            |prompts, generator, seed| {
                stages::seed_answers::answer_unit(prompts, generator, config, seed)
            },
            |answers| stages::seed_answers::stats(answers, config.max_tokens),
        )
    }

    /// The seed model's sampled answers to the prompts given verifiable instructions
    /// (`data/verifiable-answers.jsonl`), journaled per unit of whole generation batches
    /// (`answers` rows per prompt).
    fn verifiable_answer_stage(
        &self,
        prompts: &[InstructedPrompt],
        m0: &mut Option<LanguageModel>,
        observer: &mut dyn Observer,
        source: &mut dyn GeneratorSource,
    ) -> Result<Vec<VerifiableAnswers>> {
        let config = &self.config.data.verifiable;
        self.m0_answer_stage(
            ("verifiable-answers", VERIFIABLE_ANSWERS),
            prompts,
            (self.config.run.generation_batch / config.answers).max(1),
            (m0, observer, source),
            |prompts, generator, seed| {
                let params = stages::verifiable::answer_params(config, seed);
                stages::verifiable::answer_instructed(prompts, generator, config.answers, &params)
            },
            |answers| stages::verifiable::answer_stats(answers, config.max_tokens),
        )
    }

    /// A stage of iteration 0 in which M0 answers `prompts`, `per_unit` to a unit of its
    /// journal (`data/NAME.journal`), its output `data/NAME.jsonl`: nothing when there is
    /// nothing to answer, the output read back when it exists. M0 is loaded into `m0` on first
    /// use, once for every stage of the data step.
    fn m0_answer_stage<P, A>(
        &self,
        (name, stage_seed): (&str, u64),
        prompts: &[P],
        per_unit: usize,
        (m0, observer, source): (
            &mut Option<LanguageModel>,
            &mut dyn Observer,
            &mut dyn GeneratorSource,
        ),
        answer: impl Fn(&[P], &mut dyn TextGenerator, u64) -> Result<Vec<A>>,
        stats: impl Fn(&[A]) -> serde_json::Value,
    ) -> Result<Vec<A>>
    where
        A: Serialize + DeserializeOwned,
    {
        let output = self.dir.data(&format!("{name}.jsonl"));
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        if output.exists() {
            return self.dir.read_records(&output);
        }
        let clock = StageClock::start(&self.dir, 0, name)?;
        let m0: &LanguageModel = match m0 {
            Some(model) => model,
            None => m0.insert(self.load_model(0)?),
        };
        let chunks: Vec<&[P]> = prompts.chunks(per_unit).collect();
        let journal = self.dir.data(&format!("{name}.journal"));
        let mut generator = source.generator(Role::Candidates, &GeneratorSpec::Current, m0)?;
        let mut clocked = clock.observing(observer);
        let (units, resumed) = run_units(&journal, 0, name, chunks.len(), &mut clocked, |u, _| {
            let seed = unit_seed(self.config.run.seed, 0, stage_seed, u);
            Ok(Some((
                answer(chunks[u], generator.as_mut(), seed)?,
                String::new(),
            )))
        })?;
        drop(generator);
        let answers: Vec<A> = units.into_iter().flatten().collect();
        self.dir.write_records(&output, &answers)?;
        remove_file(&journal)?;
        self.finish_stage(observer, (0, name), clock, resumed, stats(&answers))?;
        Ok(answers)
    }

    pub(super) fn sft_stage(&self, observer: &mut dyn Observer) -> Result<()> {
        if self.dir.model(1).exists() {
            return Ok(());
        }
        let clock = StageClock::start(&self.dir, 0, "sft")?;
        let m0 = self.load_model(0)?;
        let ift: Vec<IftRecord> = self.dir.read_records(&self.dir.data("sft-ift.jsonl"))?;
        let eft: Vec<EftRecord> = self.dir.read_records(&self.dir.data("sft-eft.jsonl"))?;
        let workdir = self.dir.workdir("sft")?;
        let mut clocked = clock.observing(observer);
        let trained = stages::train::sft(
            m0,
            &ift,
            &eft,
            (
                self.config.data.max_len,
                self.config.judge.judge_template()?,
            ),
            &self.config.sft,
            &workdir,
            &mut clocked,
        )?;
        self.save_model(1, &trained.model)?;
        remove_checkpoints(&workdir)?;
        self.finish_stage(observer, (0, "sft"), clock, trained.resumed, trained.stats)
    }
}
