//! `srlm eval`: judge quality, head-to-head win rates, lengths and DPO curves of a run folder,
//! written as `report.md`, `report.json` and SVG/PNG plots.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use srlm::data::{read_jsonl, BadLines};
use srlm::eval::{
    evaluate_models, evaluate_run_on, write_report, EvalOptions, PairJudge, PairMethod,
};
use srlm::run::{GeneratorSpec, ServedModel};

use crate::http_args::HttpArgs;

/// `srlm eval` options.
#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The run folder (its models, held-out set and iteration statistics).
    #[arg(long, required_unless_present_any = ["model", "from_json"])]
    run: Option<PathBuf>,
    /// Redraw a report (tables and plots) from its `report.json`, running no model.
    #[arg(long, conflicts_with_all = ["run", "model"])]
    from_json: Option<PathBuf>,
    /// Instead of a run: models to compare, as NAME=PATH, in order (the first is the baseline
    /// unless --no-baseline); repeat.
    #[arg(long, value_name = "NAME=PATH", conflicts_with = "run")]
    model: Vec<String>,
    /// With --model: the held-out EFT set (JSONL) for judge quality.
    #[arg(long, requires = "model")]
    held_out: Option<PathBuf>,
    /// Where the report goes (default: RUN/report; required with --model).
    #[arg(long, required_unless_present_any = ["run", "from_json"])]
    out: Option<PathBuf>,
    /// Held-out EFT prompts (each with its responses) for judge quality; 0 skips.
    #[arg(long, default_value_t = 4)]
    held_out_prompts: usize,
    /// Judge samples per judged response (default: the run's `judge.samples`, or 3).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    samples: Option<u64>,
    /// Evaluation prompts: MT-Bench's question.jsonl or JSONL of {id, category, turns}.
    #[arg(long, default_value = "assets/data/mt_bench.jsonl")]
    eval_prompts: PathBuf,
    /// How many evaluation prompts (spread over categories); 0 skips the head-to-heads.
    #[arg(long, default_value_t = 8)]
    prompts: usize,
    /// How many held-out prompts each model answers against the seed's reference answer
    /// (judged by the head-to-head judge, by --pair-method); 0 skips it.
    #[arg(long, default_value_t = 8)]
    reference_prompts: usize,
    /// Prompts with verifiable instructions, in IFEval's JSON Lines format (`key`, `prompt`,
    /// `instruction_id_list`, `kwargs`; srlm's `task` optional): each model answers them and
    /// programs check the answers (`srlm data instruct` writes such a set).
    #[arg(long)]
    instructed: Option<PathBuf>,
    /// How many of the instructed prompts (0: all).
    #[arg(long, default_value_t = 0, requires = "instructed")]
    instructed_prompts: usize,
    /// Instruction kinds held out of training, marked apart in the report (comma-separated ids).
    #[arg(long, value_delimiter = ',', requires = "instructed")]
    held_out_kinds: Vec<String>,
    /// Most new tokens per answer.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    max_tokens: u64,
    /// Most new tokens per judgement and per head-to-head verdict (default: the run's
    /// `judge.max_tokens`, or twice the EFT ladder's longest target judgement). The rest of the
    /// judge's settings (sampling, template, score pattern) are always the run's `[judge]`.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    judge_max_tokens: Option<u64>,
    /// Head-to-head judge: one of the evaluated models, by name — the same judge for every
    /// comparison (default M1, the SFT model; without a model of that name, the first after the
    /// baseline).
    #[arg(long, default_value = "M1", conflicts_with_all = ["judge_model", "judge_url"])]
    judge: String,
    /// Head-to-head judge: a local model path outside the evaluation.
    #[arg(long)]
    judge_model: Option<PathBuf>,
    /// Head-to-head judge: an OpenAI-compatible server's base URL (with --judge-model-name).
    #[arg(long, conflicts_with = "judge_model")]
    judge_url: Option<String>,
    /// The model name the judge's server serves.
    #[arg(long, alias = "judge-name", default_value = "default")]
    judge_model_name: String,
    /// How the head-to-head judge decides: `pointwise` scores each answer alone with the judge
    /// prompt (--samples samples; what a self-rewarding model's judge was trained on),
    /// `pairwise` asks MT-Bench's pairwise question in both orders; `auto`: pointwise for a
    /// local model, pairwise for a server.
    #[arg(long, value_enum, default_value_t = PairMethodArg::Auto)]
    pair_method: PairMethodArg,
    /// Sequences per forward pass when a local model answers or judges (default: the run's
    /// `run.generation_batch`, or 48).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    batch: Option<u64>,
    #[command(flatten)]
    http: HttpArgs,
    /// Leave the seed model M0 out.
    #[arg(long)]
    no_baseline: bool,
    /// Start over: delete OUT/journal (every answer and verdict is journaled there as it is
    /// made, and a rerun of the same command reuses them).
    #[arg(long)]
    fresh: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// `--pair-method`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PairMethodArg {
    Auto,
    Pairwise,
    Pointwise,
}

impl From<PairMethodArg> for PairMethod {
    fn from(arg: PairMethodArg) -> Self {
        match arg {
            PairMethodArg::Auto => PairMethod::Auto,
            PairMethodArg::Pairwise => PairMethod::Pairwise,
            PairMethodArg::Pointwise => PairMethod::Pointwise,
        }
    }
}

fn named(spec: &str) -> Result<(String, PathBuf)> {
    match spec.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => bail!("--model wants NAME=PATH, got {spec:?}"),
    }
}

/// The judge settings when a flag overrides one: the run's `[judge]` (or the default's) with
/// the flags applied; `None` leaves them all to the run.
fn judge_settings(
    args: &EvalArgs,
    max_tokens: Option<usize>,
) -> Result<Option<srlm::run::JudgeSection>> {
    if args.samples.is_none() && max_tokens.is_none() {
        return Ok(None);
    }
    let mut judge = match &args.run {
        Some(run) => srlm::run::RunDir::existing(run)?.1.judge,
        None => srlm::run::RunConfig::default().judge,
    };
    if let Some(samples) = args.samples {
        judge.samples = usize::try_from(samples)?;
    }
    if let Some(tokens) = max_tokens {
        judge.max_tokens = tokens;
    }
    Ok(Some(judge))
}

#[allow(clippy::print_stdout)]
pub(crate) fn eval(args: EvalArgs, device: Option<&str>) -> Result<()> {
    let pair_judge = match (&args.judge_model, &args.judge_url) {
        (Some(path), _) => PairJudge::External(GeneratorSpec::Local { path: path.clone() }),
        (None, Some(url)) => PairJudge::External(GeneratorSpec::OpenAi(ServedModel::fixed(
            srlm::judge::Endpoint {
                base_url: url.clone(),
                model: args.judge_model_name.clone(),
            },
        ))),
        (None, None) => PairJudge::Evaluated(args.judge.clone()),
    };
    let max_tokens = usize::try_from(args.max_tokens)?;
    let judge_max_tokens = args.judge_max_tokens.map(usize::try_from).transpose()?;
    let mut options = EvalOptions {
        held_out_prompts: args.held_out_prompts,
        judge: judge_settings(&args, judge_max_tokens)?,
        eval_prompts: args.eval_prompts,
        max_eval_prompts: args.prompts,
        reference_prompts: args.reference_prompts,
        answer_max_tokens: max_tokens,
        pair_judge,
        pair_max_tokens: judge_max_tokens,
        pair_method: args.pair_method.into(),
        batch: args.batch.map(usize::try_from).transpose()?,
        http: args.http.settings()?,
        baseline: !args.no_baseline,
        seed: args.seed,
        instructed_prompts: args.instructed.clone(),
        max_instructed_prompts: args.instructed_prompts,
        held_out_kinds: args.held_out_kinds.clone(),
        ..EvalOptions::default()
    };
    if let Some(json) = &args.from_json {
        let text =
            std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
        let report: srlm::eval::EvalReport = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a report.json", json.display()))?;
        let out = match &args.out {
            Some(out) => out.clone(),
            None => json.parent().map(PathBuf::from).unwrap_or_default(),
        };
        write_report(&out, &report)?;
        println!("{}", out.join("report.md").display());
        return Ok(());
    }
    let out = match (&args.out, &args.run) {
        (Some(out), _) => out.clone(),
        (None, Some(run)) => run.join("report"),
        (None, None) => bail!("--out is required with --model"),
    };
    let journal = out.join("journal");
    if args.fresh && journal.exists() {
        std::fs::remove_dir_all(&journal)
            .with_context(|| format!("removing {}", journal.display()))?;
    }
    options.journal = Some(journal);
    let report = match &args.run {
        Some(run) => {
            // --device overrides the run configuration's `run.device`.
            let device = device.map(srlm::model::parse_device).transpose()?;
            evaluate_run_on(run, device.as_ref(), &options)
                .with_context(|| format!("evaluating {}", run.display()))?
        }
        None => {
            let models = args
                .model
                .iter()
                .map(|m| named(m))
                .collect::<Result<Vec<_>>>()?;
            if let Some((i, (name, _))) = models
                .iter()
                .enumerate()
                .find(|(i, (name, _))| models[..*i].iter().any(|(n, _)| n == name))
            {
                bail!("--model: the name `{name}` is given twice (model {}); names must differ: they key the answers and the report", i + 1);
            }
            let held_out = match &args.held_out {
                Some(path) => read_jsonl(path, BadLines::Fail)?.0,
                None => Vec::new(),
            };
            evaluate_models(
                &models,
                &held_out,
                &srlm::model::parse_device(device.unwrap_or("cpu"))?,
                &options,
            )?
        }
    };
    write_report(&out, &report)?;
    println!("{}", out.join("report.md").display());
    Ok(())
}
