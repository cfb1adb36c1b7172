//! `srlm run`: the self-rewarding loop from one TOML config, with a progress bar per stage and
//! a one-line summary of each, resumable by running the same command again.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use srlm::dpo::PlannedWork;
use srlm::model::LanguageModel;
use srlm::run::{
    Follows, GeneratorSpec, Observer, RunConfig, SelfRewardingRun, ServedModel, StageSummary,
};

use crate::plan_cmd::MemoryArgs;

/// `srlm run` options.
#[derive(Args)]
pub(crate) struct RunArgs {
    /// A TOML run config; settings it leaves out take the size's defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The run folder (created, or continued when it exists).
    #[arg(long, default_value = "runs/default")]
    out: PathBuf,
    /// Defaults: `default` (two iterations on SmolLM2 in about half an hour on 2 CPU cores), `demo` (~320
    /// EFT examples, 140 prompts an iteration: hours on 2 CPU cores, resumable), `quick` (a few
    /// minutes, for smoke tests) or `paper` (the paper's sizes; a GPU and a server).
    #[arg(long, value_enum, default_value = "default")]
    size: Size,
    /// Shorthand for `--size quick`.
    #[arg(long)]
    quick: bool,
    /// Override a setting, e.g. `--set candidates.n=8 --set judge.samples=5`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Train LoRA adapters of this rank (alpha 2 · rank) in SFT and every DPO iteration instead
    /// of every weight (shorthand for `--set sft.lora.rank=R --set dpo.train.lora.rank=R`);
    /// each M(t+1) is M(t) with its adapters merged in.
    #[arg(long, value_name = "RANK")]
    lora: Option<usize>,
    /// Print the effective config and exit.
    #[arg(long)]
    print_config: bool,
    #[command(flatten)]
    memory: MemoryArgs,
    #[command(flatten)]
    servers: RoleServers,
    /// Testing aid: abort the process (no clean-up, like kill -9) after UNITS units of STAGE in
    /// ITERATION, given as `ITERATION:STAGE:UNITS`.
    #[arg(long, hide = true)]
    abort_after: Option<String>,
}

/// Roles served by OpenAI-compatible servers, each by URL and served model name (applied after
/// `--config` and `--set`; `[http]` settings still apply).
#[derive(Args)]
struct RoleServers {
    /// The judge's server, e.g. `http://127.0.0.1:8000` (with --judge-model-name).
    #[arg(long, requires = "judge_model_name")]
    judge_url: Option<String>,
    /// The model name the judge's server serves.
    #[arg(long, requires = "judge_url")]
    judge_model_name: Option<String>,
    /// The candidates' server (with --candidates-model-name).
    #[arg(long, requires = "candidates_model_name")]
    candidates_url: Option<String>,
    /// The model name the candidates' server serves.
    #[arg(long, requires = "candidates_url")]
    candidates_model_name: Option<String>,
    /// The self-instruction server (with --instruct-model-name).
    #[arg(long, requires = "instruct_model_name")]
    instruct_url: Option<String>,
    /// The model name the self-instruction server serves.
    #[arg(long, requires = "instruct_url")]
    instruct_model_name: Option<String>,
}

impl RoleServers {
    fn apply(&self, config: &mut RunConfig) {
        let roles = [
            (
                &self.judge_url,
                &self.judge_model_name,
                &mut config.judge.generator,
            ),
            (
                &self.candidates_url,
                &self.candidates_model_name,
                &mut config.candidates.generator,
            ),
            (
                &self.instruct_url,
                &self.instruct_model_name,
                &mut config.instruct.generator,
            ),
        ];
        for (url, model, spec) in roles {
            if let (Some(base_url), Some(model)) = (url, model) {
                // A role on a server follows Mt (checked before each iteration); `{t}` in the
                // name is the iteration.
                *spec = GeneratorSpec::OpenAi(ServedModel {
                    base_url: base_url.clone(),
                    model: model.clone(),
                    follows: Follows::Current,
                });
            }
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Size {
    Default,
    Demo,
    Quick,
    Paper,
}

struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    abort_after: Option<(usize, String, usize)>,
}

impl Observer for Progress {
    fn stage_started(&mut self, iteration: usize, stage: &str, total: usize, done: usize) {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>16} {bar:30} {pos}/{len} {per_sec} [{elapsed} < {eta}] {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("iter {iteration} {stage}"));
        bar.set_position(done as u64);
        self.bar = Some(bar);
    }

    fn unit_finished(
        &mut self,
        iteration: usize,
        stage: &str,
        done: usize,
        message: &str,
    ) -> ControlFlow<()> {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            bar.set_message(message.to_string());
        }
        if let Some((i, s, units)) = &self.abort_after {
            if *i == iteration && s == stage && done >= *units {
                tracing::warn!(iteration, stage, done, "--abort-after: aborting");
                std::process::abort();
            }
        }
        ControlFlow::Continue(())
    }

    #[allow(clippy::print_stdout)]
    fn stage_finished(&mut self, summary: &StageSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!(
            "iter {} {:<10} {:>7.1}s  {}",
            summary.iteration,
            summary.stage,
            summary.wall_s,
            one_line(&summary.stage, &summary.stats)
        );
        tracing::info!(stage = %summary.stage, iteration = summary.iteration, wall_s = summary.wall_s, stats = %summary.stats, "stage finished");
        // What the stage freed (a training stage's activations) leaves the resident set.
        crate::heap::release_freed_memory();
    }
}

/// The few numbers of a stage worth a glance.
fn one_line(stage: &str, s: &serde_json::Value) -> String {
    let keys: &[&str] = match stage {
        "data" => &[
            "seed_pairs",
            "seed_prompts",
            "sft_ift",
            "sft_eft",
            "eft_held_out",
        ],
        "instruct" => &[
            "source",
            "available",
            "generated",
            "kept",
            "rejected",
            "mean_words",
        ],
        "candidates" => &[
            "prompts",
            "responses",
            "truncated",
            "truncated_looping",
            "mean_words",
        ],
        "judge" => &[
            "responses",
            "parse_rate",
            "truncation_rate",
            "unjudged",
            "score_histogram",
        ],
        "pairs" => &[
            "prompts",
            "pairs",
            "ties",
            "too_few_judged",
            "removed_truncated",
            "removed_unparsed",
            "mean_words_chosen",
            "mean_words_rejected",
        ],
        _ => &["pairs", "encode", "skipped"],
    };
    keys.iter()
        .filter_map(|k| s.get(*k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_abort(spec: &str) -> Result<(usize, String, usize)> {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [i, s, u] => Ok((i.parse()?, s.to_string(), u.parse()?)),
        _ => bail!("--abort-after wants ITERATION:STAGE:UNITS, got {spec:?}"),
    }
}

#[allow(clippy::print_stdout)]
/// `srlm run`; `device` (from `--device`), when given, overrides the configuration's `run.device`.
pub(crate) fn run(args: RunArgs, device: Option<&str>) -> Result<()> {
    let size = if args.quick { Size::Quick } else { args.size };
    let base = match size {
        Size::Default => RunConfig::default(),
        Size::Demo => RunConfig::demo(),
        Size::Quick => RunConfig::quick(),
        Size::Paper => RunConfig::paper(),
    };
    let mut config = match &args.config {
        Some(path) => RunConfig::from_toml_file(path, base)?,
        None => base,
    };
    if let Some(device) = device {
        config.run.device = device.to_string();
    }
    let mut overrides = Vec::new();
    if let Some(rank) = args.lora {
        for stage in ["sft", "dpo.train"] {
            overrides.push(format!("{stage}.lora.rank={rank}"));
        }
    }
    overrides.extend(args.overrides.iter().cloned());
    let mut config = config.with_overrides(&overrides)?;
    args.servers.apply(&mut config);
    if args.print_config {
        print!("{}", config.to_toml()?);
        return Ok(());
    }
    check_run_memory(&config, &args.memory)?;
    let run = SelfRewardingRun::open(&args.out, config)?;
    let log = run.dir().open_log()?;
    init_tracing(Some(log));
    tracing::info!(dir = %args.out.display(), "run started");
    let mut progress = Progress {
        bar: None,
        started: Instant::now(),
        abort_after: args.abort_after.as_deref().map(parse_abort).transpose()?,
    };
    let outcome = match run.execute(&mut progress) {
        Ok(outcome) => outcome,
        Err(e) => {
            // The log says why the run stopped, not only the terminal.
            tracing::error!(error = %e, "run stopped");
            return Err(e).with_context(|| format!("run in {}", args.out.display()));
        }
    };
    println!(
        "done in {:.1}s: {}",
        progress.started.elapsed().as_secs_f64(),
        outcome
            .models
            .iter()
            .map(|m| m.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Refuses a run whose SFT or DPO steps would not fit the device's memory (sequences of
/// `data.max_len`; DPO pairs counted whole), before anything is generated.
fn check_run_memory(config: &RunConfig, memory: &MemoryArgs) -> Result<()> {
    let model = LanguageModel::read_config(&config.model.path)
        .with_context(|| format!("reading M0 {}", config.model.path.display()))?;
    let seq = config.data.max_len;
    let device = config.run.device.as_str();
    memory
        .check(&model, &config.sft, &PlannedWork::sft(seq), device)
        .context("SFT")?;
    memory
        .check(
            &model,
            &config.dpo.train,
            &PlannedWork::preference(seq, 0),
            device,
        )
        .context("DPO")
}

/// Logs to stderr (filtered by `RUST_LOG`, default warnings) and, for a run, everything at
/// `info` and above to its `run.log`.
pub(crate) fn init_tracing(log: Option<std::fs::File>) {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, EnvFilter};
    // Colour only for a terminal (and never under NO_COLOR): a log file or a pipe gets text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let stderr = fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")));
    let file = log.map(|f| {
        fmt::layer()
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .with_filter(EnvFilter::new("info"))
    });
    // A second initialisation (tests calling main twice) is harmless.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}
