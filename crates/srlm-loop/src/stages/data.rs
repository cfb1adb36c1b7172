//! The data stage: read the seed instructions, hold prompts out, build (or read) EFT, and draw
//! the SFT set. It runs in two steps around the seed model's answers: [`plan`] splits the seed
//! and names the prompts the natural EFT builder anchors on and the prompts given verifiable
//! instructions (the driver has the seed model answer both, journaled), and [`prepare`] builds
//! the sets from the plan and those answers.

use std::collections::HashSet;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use srlm_data::eft::{
    build_ladders, build_natural, build_verifiable, LadderConfig, LadderPool, SeedAnswers,
    VerifiableAnswers,
};
use srlm_data::import::{import_sharegpt, ShareGptOptions};
use srlm_data::split::{dedup_by_prompt, is_held_out, normalize_prompt, split_by_prompt};
use srlm_data::{read_jsonl, BadLines, EftRecord, IftRecord};
use srlm_verifiable::InstructedPrompt;

use crate::config::{DataSection, EftBuilder};
use crate::error::{LoopError, Result};
use crate::records::SeedPrompt;

/// What the data stage produces.
#[derive(Debug, Clone, Default)]
pub(crate) struct PreparedData {
    /// IFT examples for SFT.
    pub sft_ift: Vec<IftRecord>,
    /// EFT examples for SFT.
    pub sft_eft: Vec<EftRecord>,
    /// Held-out EFT records (the judge's evaluation sets; `origin` tells their kind).
    pub eft_held_out: Vec<EftRecord>,
    /// Every training-side seed prompt with its answer's length (few-shot examples, the
    /// ROUGE-L pool and the seed prompt source), less those the judge has seen: a task given
    /// instructions for verifiable EFT, and a prompt whose seed answer is an EFT example's
    /// response (a natural set's neighbour answer).
    pub seed_prompts: Vec<SeedPrompt>,
    /// Held-out seed prompts with instructions for `srlm eval` (`data/instructed-eval.jsonl`).
    pub instructed_eval: Vec<InstructedPrompt>,
    /// Counts.
    pub stats: serde_json::Value,
}

/// The seed, split, with the prompts whose seed-model answers the natural builder needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct DataPlan {
    /// Training-side seed pairs.
    pub train: Vec<IftRecord>,
    /// Held-out seed pairs.
    pub held_out: Vec<IftRecord>,
    /// Training prompts to anchor natural EFT sets on (empty unless the builder is natural).
    pub train_anchors: Vec<String>,
    /// Held-out prompts to anchor natural judge-quality sets on.
    pub held_out_anchors: Vec<String>,
    /// Training seed prompts given verifiable instructions, for verifiable EFT (empty unless
    /// `data.verifiable.share` > 0).
    pub verifiable_train: Vec<InstructedPrompt>,
    /// Held-out seed prompts given verifiable instructions: the `verifiable` judge-quality set.
    pub verifiable_held_out: Vec<InstructedPrompt>,
    /// Held-out seed prompts given instructions of every kind, for `srlm eval`.
    pub instructed_eval: Vec<InstructedPrompt>,
    /// Verifiable EFT examples SFT draws (`share` × `eft_examples`); the base builder gives
    /// the rest.
    pub verifiable_examples: usize,
    /// Counts of reading and splitting.
    pub stats: serde_json::Value,
}

impl DataPlan {
    /// Every prompt the seed model must answer for the natural builder: training anchors, then
    /// held-out ones.
    pub(crate) fn anchors(&self) -> Vec<String> {
        let mut all = self.train_anchors.clone();
        all.extend(self.held_out_anchors.iter().cloned());
        all
    }

    /// Every instructed prompt the seed model must answer: training ones, then held-out ones.
    pub(crate) fn verifiable_prompts(&self) -> Vec<InstructedPrompt> {
        let mut all = self.verifiable_train.clone();
        all.extend(self.verifiable_held_out.iter().cloned());
        all
    }
}

/// Reads seed IFT records: a ShareGPT JSON file (`.json`, `.json.gz`) or IFT JSON Lines.
pub(crate) fn read_seed(path: &Path) -> Result<(Vec<IftRecord>, serde_json::Value)> {
    let name = path.to_string_lossy();
    if name.ends_with(".json") || name.ends_with(".json.gz") {
        let (records, report) = import_sharegpt(path, ShareGptOptions::default(), BadLines::Fail)?;
        let report = serde_json::to_value(&report).unwrap_or_default();
        Ok((records, json!({"format": "sharegpt", "import": report})))
    } else {
        let (records, _) = read_jsonl::<IftRecord>(path, BadLines::Fail)?;
        Ok((records, json!({"format": "ift-jsonl"})))
    }
}

fn draw<T>(mut records: Vec<T>, n: usize, seed: u64) -> Vec<T> {
    records.shuffle(&mut StdRng::seed_from_u64(seed));
    records.truncate(n);
    records
}

/// Reads and splits the seed and picks the natural builder's anchor prompts: `⌈n / 3⌉`
/// training prompts for the `n` EFT examples the base builder gives (up to five records each,
/// fewer where the seed model's answers run past the token limit) when the builder is natural
/// and no EFT file is given, and `natural.held_out_prompts` held-out ones; then the prompts
/// given verifiable instructions (`data.verifiable`), none of them an anchor.
pub(crate) fn plan(config: &DataSection, seed: u64) -> Result<DataPlan> {
    let (records, read) = read_seed(&config.seed)?;
    let offered = records.len();
    let (records, duplicates) = dedup_by_prompt(records, |r| r.prompt.as_str());
    let split = split_by_prompt(
        records,
        |r| r.prompt.as_str(),
        config.held_out_fraction,
        seed,
    )?;
    let usable = |pairs: &[IftRecord]| -> Vec<String> {
        pairs
            .iter()
            .filter(|p| config.natural.builder.usable(p))
            .map(|p| p.prompt.clone())
            .collect()
    };
    let verifiable = &config.verifiable;
    let verifiable_examples = if config.eft.is_none() {
        (verifiable.share * config.eft_examples as f64).round() as usize
    } else {
        0
    };
    let base_examples = config.eft_examples - verifiable_examples.min(config.eft_examples);
    let natural_training = config.eft.is_none() && config.eft_builder == EftBuilder::Natural;
    let train_anchors = if natural_training {
        draw(
            usable(&split.train),
            base_examples.div_ceil(3),
            super::unit_seed(seed, 0, 0, 2),
        )
    } else {
        Vec::new()
    };
    let held_out_anchors = draw(
        usable(&split.held_out),
        config.natural.held_out_prompts,
        super::unit_seed(seed, 0, 0, 3),
    );
    let normalized = |prompts: &[String]| -> HashSet<String> {
        prompts.iter().map(|p| normalize_prompt(p)).collect()
    };
    let unit = |u: usize| super::unit_seed(seed, 0, 0, u);
    let mut training = verifiable.training_sampler(unit(7))?;
    let mut evaluation = verifiable.evaluation_sampler(unit(8))?;
    let train_count = if verifiable_examples > 0 {
        verifiable.prompts
    } else {
        0
    };
    let mut used = normalized(&train_anchors);
    let verifiable_train = super::verifiable::pick(
        &split.train,
        train_count,
        &mut used,
        verifiable,
        &mut training,
        ("train", unit(4)),
    )?;
    let mut used = normalized(&held_out_anchors);
    let verifiable_held_out = super::verifiable::pick(
        &split.held_out,
        verifiable.held_out_prompts,
        &mut used,
        verifiable,
        &mut training,
        ("held-out", unit(5)),
    )?;
    let instructed_eval = super::verifiable::pick(
        &split.held_out,
        verifiable.eval_prompts,
        &mut used,
        verifiable,
        &mut evaluation,
        ("eval", unit(6)),
    )?;
    let stats = json!({
        "seed": read,
        "seed_pairs": offered,
        "duplicates": duplicates,
        "train_anchors": train_anchors.len(),
        "held_out_anchors": held_out_anchors.len(),
        "verifiable_train_prompts": verifiable_train.len(),
        "verifiable_held_out_prompts": verifiable_held_out.len(),
        "instructed_eval_prompts": instructed_eval.len(),
    });
    Ok(DataPlan {
        train: split.train,
        held_out: split.held_out,
        train_anchors,
        held_out_anchors,
        verifiable_train,
        verifiable_held_out,
        instructed_eval,
        verifiable_examples,
        stats,
    })
}

/// Builds the sets from `plan`, the seed model's `answers` to its anchors and its answers to
/// the instructed prompts (`verifiable`, in [`DataPlan::verifiable_prompts`] order).
pub(crate) fn prepare(
    config: &DataSection,
    seed: u64,
    plan: DataPlan,
    answers: &[SeedAnswers],
    verifiable: &[VerifiableAnswers],
) -> Result<PreparedData> {
    let (train_answers, held_answers) =
        answers.split_at(plan.train_anchors.len().min(answers.len()));
    let mut natural = config.natural.builder.clone();
    natural.seed = seed;
    let (held_natural, held_natural_report) =
        build_natural(&plan.held_out, held_answers, &natural)?;
    // Ladders on the plan's split, which is the split `build_ladder_sets` would make (same
    // seed and fraction): training ladders from the training pool of strings, held-out ladders
    // (built whichever builder trains) from the held-out pool with the next seed.
    let ladder = |pairs: &[IftRecord], pool: LadderPool, seed: u64| {
        let config = LadderConfig {
            pool,
            seed,
            ..config.ladder.clone()
        };
        build_ladders(pairs, &config)
    };
    let (eft_train, mut eft_held_out, eft_stats) = match (&config.eft, config.eft_builder) {
        (Some(eft_path), _) => {
            let (eft, _) = read_jsonl::<EftRecord>(eft_path, BadLines::Fail)?;
            let (train, held): (Vec<_>, Vec<_>) = eft
                .into_iter()
                .partition(|e| !is_held_out(&e.prompt, config.held_out_fraction, seed));
            (train, held, json!({"source": eft_path}))
        }
        (None, builder) => {
            let (held, held_report) =
                ladder(&plan.held_out, LadderPool::HeldOut, seed.wrapping_add(1))?;
            match builder {
                EftBuilder::Ladder => {
                    let (train, train_report) = ladder(&plan.train, LadderPool::Train, seed)?;
                    let stats = json!({
                        "source": "ladder",
                        "train": train_report,
                        "held_out": held_report,
                    });
                    (train, held, stats)
                }
                EftBuilder::Natural => {
                    let (train, train_report) =
                        build_natural(&plan.train, train_answers, &natural)?;
                    let stats = json!({
                        "source": "natural",
                        "train": train_report,
                        "held_out_ladder": held_report,
                    });
                    (train, held, stats)
                }
            }
        }
    };
    eft_held_out.extend(held_natural);
    let (verifiable_train, verifiable_held) =
        verifiable.split_at(plan.verifiable_train.len().min(verifiable.len()));
    let (verifiable_train, verifiable_train_report) = build_verifiable(verifiable_train)?;
    let (verifiable_held, verifiable_held_report) = build_verifiable(verifiable_held)?;
    eft_held_out.extend(verifiable_held);
    let ift_train = plan.train;
    if ift_train.is_empty() {
        return Err(LoopError::Empty {
            stage: "data".into(),
            reason: format!(
                "{}: no seed instruction left for training",
                config.seed.display()
            ),
        });
    }
    let eft_available = eft_train.len();
    let verifiable_available = verifiable_train.len();
    let mut sft_eft = draw(
        verifiable_train,
        plan.verifiable_examples,
        super::unit_seed(seed, 0, 0, 9),
    );
    let sft_verifiable = sft_eft.len();
    if sft_verifiable < plan.verifiable_examples {
        tracing::warn!(
            wanted = plan.verifiable_examples,
            built = sft_verifiable,
            "fewer verifiable EFT examples than data.verifiable.share asks: raise \
             data.verifiable.prompts"
        );
    }
    sft_eft.extend(draw(
        eft_train,
        config.eft_examples - sft_verifiable.min(config.eft_examples),
        super::unit_seed(seed, 0, 0, 1),
    ));
    // The loop's prompt pool leaves out what the judge has seen: the tasks given instructions
    // and the prompts whose seed answer is an EFT example's response (a neighbour answer).
    let mut seen: HashSet<String> = plan
        .verifiable_train
        .iter()
        .filter_map(|p| p.task.as_deref())
        .map(normalize_prompt)
        .collect();
    let eft_responses: HashSet<&str> = sft_eft.iter().map(|e| e.response.as_str()).collect();
    let neighbours = ift_train
        .iter()
        .filter(|r| eft_responses.contains(r.response.as_str()))
        .filter(|r| seen.insert(normalize_prompt(&r.prompt)))
        .count();
    let seed_prompts: Vec<SeedPrompt> = ift_train
        .iter()
        .filter(|r| !seen.contains(&normalize_prompt(&r.prompt)))
        .map(|r| SeedPrompt {
            prompt: r.prompt.clone(),
            answer_words: Some(r.response.split_whitespace().count()),
        })
        .collect();
    let sft_ift = draw(
        ift_train,
        config.ift_examples,
        super::unit_seed(seed, 0, 0, 0),
    );
    let stats = json!({
        "plan": plan.stats,
        "seed_prompts": seed_prompts.len(),
        "eft": eft_stats,
        "eft_train_available": eft_available,
        "eft_held_out": eft_held_out.len(),
        "held_out_natural": held_natural_report,
        "verifiable_train": verifiable_train_report,
        "verifiable_held_out": verifiable_held_report,
        "verifiable_train_available": verifiable_available,
        "seed_pool_left_out": {"neighbour_answers": neighbours, "instructed_tasks": seen.len() - neighbours},
        "sft_ift": sft_ift.len(),
        "sft_eft": sft_eft.len(),
        "sft_eft_verifiable": sft_verifiable,
    });
    Ok(PreparedData {
        sft_ift,
        sft_eft,
        eft_held_out,
        seed_prompts,
        instructed_eval: plan.instructed_eval,
        stats,
    })
}
