//! A user's project on srlm: its own candidate generator and its own judge plugged into the
//! self-rewarding loop, two iterations on the tiny committed model (M1 → M2 → M3).
//!
//! ```text
//! cargo run --manifest-path examples/external/Cargo.toml [-- RUN_DIR]
//! ```
//!
//! - [`VariedDrafts`] is a [`TextGenerator`] that is not a language model: it drafts answers of
//!   different lengths from the prompt's own words (a stand-in for a template engine, a
//!   retrieval system or another team's service).
//! - [`WordBudgetReward`] is a [`Judge`] that is not an LLM-as-a-judge: a rule-based reward model
//!   that scores an answer by how close it comes to a word budget (a stand-in for a trained
//!   reward model or an ensemble).
//! - The loop does the rest: unused seed prompts, candidates from the drafts, judgements from the
//!   reward model, (best, worst) pairs, and DPO of the tiny model against its previous self.

#![allow(clippy::print_stdout)]

use std::error::Error;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use srlm::generation::{Completion, GenerationConfig, GenerationError, TextGenerator};
use srlm::judge::{Judge, JudgeError, JudgeItem, Judgement};
use srlm::model::LanguageModel;
use srlm::run::{
    GeneratorSource, GeneratorSpec, JudgeSection, JudgeSource, LoopError, Observer, PromptSource,
    Role, RunConfig, SelfRewardingRun, StageSummary,
};

/// Drafts `n` answers per prompt, each a different number of the prompt's words.
struct VariedDrafts {
    calls: usize,
}

impl TextGenerator for VariedDrafts {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        config: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>, GenerationError> {
        self.calls += 1;
        Ok(prompts
            .iter()
            .enumerate()
            .map(|(p, prompt)| {
                let words: Vec<&str> = prompt.split_whitespace().collect();
                (0..n)
                    .map(|k| {
                        // Lengths vary with the seed, the prompt and the sample.
                        let len = 2 + (config.seed as usize + 7 * p + 5 * k) % 24;
                        let text = (0..len)
                            .map(|i| words.get(i % words.len().max(1)).copied().unwrap_or("ok"))
                            .collect::<Vec<_>>()
                            .join(" ");
                        Completion {
                            text: format!("{text}."),
                            truncated: false,
                        }
                    })
                    .collect()
            })
            .collect())
    }
}

/// The run's generators: the drafts answer; nothing else is asked (prompts come from the seed).
struct Drafts(VariedDrafts);

impl GeneratorSource for Drafts {
    fn generator<'a>(
        &'a mut self,
        role: Role,
        _spec: &GeneratorSpec,
        _current: &'a LanguageModel,
    ) -> Result<Box<dyn TextGenerator + 'a>, LoopError> {
        match role {
            Role::Candidates => Ok(Box::new(&mut self.0)),
            other => Err(LoopError::Config {
                path: None,
                reason: format!("this example has no generator for {other:?}"),
            }),
        }
    }
}

/// Scores 5 for an answer of `budget` words, one point less per `step` words away (at least 1).
struct WordBudgetReward {
    budget: usize,
    step: usize,
    judged: usize,
}

impl Judge for WordBudgetReward {
    fn judge(&mut self, items: &[JudgeItem]) -> Result<Vec<Judgement>, JudgeError> {
        self.judged += items.len();
        Ok(items
            .iter()
            .map(|item| {
                let words = item.response.split_whitespace().count();
                let off = words.abs_diff(self.budget) / self.step;
                let score = 5.0 - (off.min(4) as f64);
                Judgement::from_samples(
                    vec![Ok(score)],
                    vec![format!("{words} words. Score: {score}")],
                    &Default::default(),
                )
            })
            .collect())
    }
}

/// The run's judge: the reward model, whatever `[judge]` says.
struct Reward(WordBudgetReward);

impl JudgeSource for Reward {
    fn judge<'a>(
        &'a mut self,
        _iteration: usize,
        _config: &JudgeSection,
        _current: &'a LanguageModel,
        _generators: &'a mut dyn GeneratorSource,
    ) -> Result<Box<dyn Judge + 'a>, LoopError> {
        Ok(Box::new(&mut self.0))
    }
}

/// One line per finished stage.
struct Print;

impl Observer for Print {
    fn stage_started(&mut self, _: usize, _: &str, _: usize, _: usize) {}

    fn unit_finished(&mut self, _: usize, _: &str, _: usize, _: &str) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }

    fn stage_finished(&mut self, summary: &StageSummary) {
        println!(
            "iteration {} {:<10} {:>6.1}s  {}",
            summary.iteration, summary.stage, summary.wall_s, summary.stats
        );
    }
}

/// The committed tiny Llama, copied with a context long enough for the judge-free loop.
fn tiny_model(repo: &Path, dir: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let target = dir.join("tiny");
    std::fs::create_dir_all(&target)?;
    for entry in std::fs::read_dir(repo.join("tests/fixtures/tiny-llama3"))? {
        let path = entry?.path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, target.join(name))?;
        }
    }
    let config_path = target.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path)?)?;
    config["max_position_embeddings"] = 4096.into();
    std::fs::write(&config_path, serde_json::to_string(&config)?)?;
    Ok(target)
}

fn main() -> Result<(), Box<dyn Error>> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = match std::env::args().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("srlm-external-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let mut config = RunConfig::default();
    config.model.path = tiny_model(&repo, &dir)?;
    config.data.seed = repo.join("tests/fixtures/loop/seed.jsonl");
    config.data.ift_examples = 6;
    config.data.eft_examples = 4;
    config.data.max_len = 1024;
    config.data.held_out_fraction = 0.2;
    config.sft.batch_size = 4;
    config.sft.peak_lr = 1e-3;
    config.sft.final_lr = 1e-4;
    // Verifiable instructions at the size of this 60-prompt seed (the defaults take 40
    // training prompts for EFT, which would leave the loop none).
    config.data.verifiable.prompts = 8;
    config.data.verifiable.held_out_prompts = 4;
    config.data.verifiable.eval_prompts = 4;
    // Its 12 held-out prompts: 4 natural anchors (the default 12 would take them all), 4 for the
    // held-out verifiable set, 4 for evaluation.
    config.data.natural.held_out_prompts = 4;
    config.instruct.source = PromptSource::Seed;
    config.instruct.prompts = 6;
    config.candidates.batch = 3;
    config.dpo.train.batch_size = 2;
    config.dpo.train.peak_lr = 1e-3;
    config.dpo.train.final_lr = 1e-4;
    config.dpo.held_out_pairs = 0.0;
    // The reward model scores once; a candidate needs its one score to compete.
    config.judge.samples = 1;
    config.run.iterations = 2;
    config.run.generation_batch = 4;

    let run = SelfRewardingRun::open(&dir.join("run"), config)?;
    let mut generators = Drafts(VariedDrafts { calls: 0 });
    let mut judges = Reward(WordBudgetReward {
        budget: 12,
        step: 3,
        judged: 0,
    });
    let outcome = run.execute_with(&mut Print, &mut generators, &mut judges)?;

    // What a user would check: both iterations ran on the plugged-in parts and trained.
    let pairs: Vec<u64> = outcome
        .summaries
        .iter()
        .filter(|s| s.stage == "pairs")
        .filter_map(|s| s.stats.get("pairs").and_then(serde_json::Value::as_u64))
        .collect();
    println!(
        "models: {:?}\ndraft calls: {}, responses judged by the reward model: {}, pairs per iteration: {pairs:?}",
        outcome.models, generators.0.calls, judges.0.judged
    );
    if outcome.models.len() != 3 || outcome.models.iter().any(|m| !m.exists()) {
        return Err("the run did not leave M1, M2 and M3".into());
    }
    if pairs.len() != 2 || pairs.contains(&0) {
        return Err(format!("expected pairs in both iterations, got {pairs:?}").into());
    }
    if generators.0.calls == 0 || judges.0.judged == 0 {
        return Err("the plugged-in generator or judge was never called".into());
    }
    if std::env::args().nth(1).is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
