//! `srlm data instruct` (tasks with verifiable instructions appended, in IFEval's format) and
//! `srlm data build-eft verifiable` (EFT from the model's own answers, ordered by the checks).

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use srlm::data::eft::build_verifiable;
use srlm::data::split::split_by_prompt;
use srlm::data::{read_jsonl, write_jsonl, BadLines, IftRecord, SetKind};
use srlm::eval::{read_eval_prompts, InstructedSet};
use srlm::judge::{GenerationConfig, LocalGenerator};
use srlm::run::answer_instructed;
use srlm::verifiable::{InstructedPrompt, InstructionSampler, SamplerConfig, INSTRUCTION_IDS};

/// `srlm data instruct` options.
#[derive(Args)]
pub(crate) struct InstructArgs {
    /// The tasks: MT-Bench's question.jsonl, JSONL of {id, category, turns}, or IFT records.
    #[arg(long)]
    tasks: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// How many tasks (the first N distinct ones; 0: all).
    #[arg(long, default_value_t = 0)]
    count: usize,
    /// Skip tasks longer than this many words (0: keep all).
    #[arg(long, default_value_t = 0)]
    max_task_words: usize,
    /// Skip the first N distinct tasks (to draw a pool disjoint from an earlier one).
    #[arg(long, default_value_t = 0)]
    skip: usize,
    /// Fewest and most instructions per task.
    #[arg(long, default_value_t = 1)]
    min_instructions: usize,
    #[arg(long, default_value_t = 3)]
    max_instructions: usize,
    /// Kinds to leave out (comma-separated ids), e.g. those held out of training.
    #[arg(long, value_delimiter = ',')]
    exclude_kinds: Vec<String>,
    /// Word-count thresholds are drawn from MIN..=MAX (IFEval: 100..=500).
    #[arg(long, default_value_t = 100)]
    min_words: usize,
    #[arg(long, default_value_t = 500)]
    max_words: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Reads the tasks, draws instructions, writes the set; returns the summary line.
pub(crate) fn instruct(args: &InstructArgs) -> Result<Value> {
    let tasks = read_tasks(args)?;
    if let Some(k) = args
        .exclude_kinds
        .iter()
        .find(|k| !INSTRUCTION_IDS.contains(&k.as_str()))
    {
        bail!(
            "--exclude-kinds: unknown instruction id `{k}` (known: {})",
            INSTRUCTION_IDS.join(", ")
        );
    }
    let config = SamplerConfig {
        kinds: INSTRUCTION_IDS
            .iter()
            .filter(|k| !args.exclude_kinds.iter().any(|x| x == *k))
            .map(|k| k.to_string())
            .collect(),
        min_instructions: args.min_instructions,
        max_instructions: args.max_instructions,
        words: (args.min_words, args.max_words),
    };
    let mut sampler = InstructionSampler::new(config, args.seed)?;
    let prompts: Vec<InstructedPrompt> = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| InstructedPrompt::new(i, task, &sampler.draw(task)))
        .collect();
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_jsonl(&args.out, &prompts)?;
    let instructions: usize = prompts.iter().map(|p| p.instruction_id_list.len()).sum();
    Ok(json!({"out": args.out, "prompts": prompts.len(), "instructions": instructions}))
}

/// The first turns (or IFT prompts), distinct, in file order, the first `count`.
fn read_tasks(args: &InstructArgs) -> Result<Vec<String>> {
    let path = &args.tasks;
    let all: Vec<String> = match SetKind::of_file(path)? {
        SetKind::Ift => read_jsonl::<IftRecord>(path, BadLines::Fail)?
            .0
            .into_iter()
            .map(|r| r.prompt)
            .collect(),
        SetKind::Eval | SetKind::MtBench => read_eval_prompts(path)?
            .into_iter()
            .filter_map(|p| p.turns.into_iter().next())
            .collect(),
        other => bail!(
            "{}: a set of kind {other:?}; tasks are MT-Bench questions, evaluation prompts or IFT records",
            path.display()
        ),
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut tasks: Vec<String> = Vec::new();
    for task in all {
        if args.count > 0 && tasks.len() == args.count {
            break;
        }
        let words = task.split_whitespace().count();
        if task.trim().is_empty()
            || (args.max_task_words > 0 && words > args.max_task_words)
            || !seen.insert(task.clone())
        {
            continue;
        }
        if seen.len() > args.skip {
            tasks.push(task);
        }
    }
    if tasks.is_empty() {
        bail!("{}: no tasks", path.display());
    }
    Ok(tasks)
}

/// `srlm data build-eft verifiable` options.
#[derive(Args)]
pub(crate) struct VerifiableArgs {
    /// Prompts with verifiable instructions (`srlm data instruct`).
    #[arg(long)]
    instructed: PathBuf,
    /// The model that answers (M0 for the first EFT set).
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    out_dir: PathBuf,
    /// Answers sampled per prompt.
    #[arg(long, default_value_t = 4)]
    answers: usize,
    /// The loop's candidate sampling.
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long, default_value_t = 0.9)]
    top_p: f32,
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// Share of prompts held out (the judge's evaluation set).
    #[arg(long, default_value_t = 0.2)]
    held_out: f64,
    #[arg(long, default_value_t = 48)]
    batch_size: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Samples the answers, checks them, builds and splits the records; returns the summary.
pub(crate) fn build_verifiable_eft(args: &VerifiableArgs, device: &str) -> Result<Value> {
    if args.answers < 2 {
        bail!(
            "--answers {}: at least two answers are needed to order them",
            args.answers
        );
    }
    if !(0.0..1.0).contains(&args.held_out) {
        bail!("--held-out {}: a share in [0, 1)", args.held_out);
    }
    if !(args.temperature > 0.0 && args.top_p > 0.0 && args.top_p <= 1.0) {
        bail!(
            "--temperature {} --top-p {}: sampling needs a positive temperature and top-p in (0, 1]",
            args.temperature,
            args.top_p
        );
    }
    // Read and every prompt's instructions checked before the model loads.
    let prompts = InstructedSet::read(&args.instructed, None)?.prompts;
    let device = srlm::model::parse_device(device)?;
    let lm = srlm::model::LanguageModel::load(&args.model, &device)
        .with_context(|| format!("loading {}", args.model.display()))?;
    let mut generator = LocalGenerator::new(&lm, args.batch_size);
    let params = GenerationConfig::sampled(args.temperature, args.top_p, args.max_new_tokens)
        .with_seed(args.seed);
    let sets = answer_instructed(&prompts, &mut generator, args.answers, &params)?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    write_jsonl(&args.out_dir.join("answers.jsonl"), &sets)?;
    let (records, report) = build_verifiable(&sets)?;
    let split = split_by_prompt(records, |r| r.prompt.as_str(), args.held_out, args.seed)?;
    write_jsonl(&args.out_dir.join("eft-train.jsonl"), &split.train)?;
    write_jsonl(&args.out_dir.join("eft-held-out.jsonl"), &split.held_out)?;
    let summary = json!({"out_dir": args.out_dir, "train": split.train.len(),
                         "held_out": split.held_out.len(), "report": report});
    srlm::model::write_atomic(
        &args.out_dir.join("report.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}
