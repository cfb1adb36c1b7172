//! The `srlm` command.

mod arg_checks;
mod bench_cmd;
mod data_cmd;
mod eval_cmd;
mod heap;
mod http_args;
mod judge_cmd;
mod model_cmd;
mod plan_cmd;
mod run_cmd;
mod step_args;
mod train_cmd;
mod verifiable_cmd;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

#[derive(Parser)]
#[command(
    name = "srlm",
    version,
    about = "Self-Rewarding Language Models on burn"
)]
struct Cli {
    /// Device: cpu, flex, cubecl-cpu, wgpu[:N] or cuda[:N] (the backend must be compiled in).
    /// Default cpu; for `srlm run`, the run configuration's `run.device`, which this overrides.
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generates a reply to one prompt.
    Generate(model_cmd::GenerateArgs),
    /// Prints the summed log-probability of a response (end-of-turn token included).
    Logprob(model_cmd::LogprobArgs),
    /// Judges (prompt, response) pairs with the model itself: the paper's prompt, k samples
    /// each, and the expected score over the digits. Prints one JSON line per pair and a summary.
    Judge(judge_cmd::JudgeArgs),
    /// Supervised fine-tuning on IFT and EFT sets (JSONL; the kind is read from the fields).
    Sft {
        #[arg(long)]
        model: PathBuf,
        /// IFT or EFT JSONL; repeat for several.
        #[arg(long, required = true)]
        data: Vec<PathBuf>,
        #[command(flatten)]
        train: train_cmd::TrainArgs,
    },
    /// Preference training: DPO (or IPO, hinge) against a frozen reference model, or the
    /// reference-free SimPO and ORPO (`--loss simpo|orpo`).
    Dpo(train_cmd::PreferenceArgs),
    /// The self-rewarding loop: M0 → SFT → M1 → (prompts, candidates, self-judging, pairs,
    /// DPO) → M2 → … ; run again with the same arguments to continue an interrupted run.
    Run(run_cmd::RunArgs),
    /// The memory a training run would need at its peak (weights, adapters, gradients,
    /// optimizer, activations, checkpoint) against what the device has, before loading anything.
    Plan(plan_cmd::PlanArgs),
    /// Measures prefill, decode and training throughput and peak memory, optionally beside the
    /// PyTorch reference on the same shapes (see docs/performance.md).
    Bench(bench_cmd::BenchArgs),
    /// Evaluates a run folder: judge quality, head-to-head win rates, lengths, DPO curves →
    /// RUN/report/report.md with SVG/PNG plots and report.json.
    Eval(eval_cmd::EvalArgs),
    /// Imports, inspects, splits and builds data sets (IFT, EFT, AIFT, evaluation prompts).
    #[command(subcommand)]
    Data(data_cmd::DataCommand),
    /// Writes a model of SmolLM2-135M's shapes with random weights and the tokenizer and chat
    /// template of `--like` (Hugging Face layout): runs the whole pipeline at full size where
    /// the real weights cannot go (`scripts/gpu-check.sh`).
    RandomModel(model_cmd::RandomModelArgs),
    /// Prints the token ids of a text as a JSON array (no special tokens added).
    Tokenize(model_cmd::TokenizeArgs),
}

fn main() -> Result<()> {
    heap::keep_freed_memory();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Bench(_)) {
        // The live heap's peak is a figure of the bench's records only.
        heap::start_counting();
    }
    if !matches!(cli.command, Command::Run(_)) {
        run_cmd::init_tracing(None);
    }
    let device = cli.device.clone().unwrap_or_else(|| "cpu".to_string());
    match cli.command {
        Command::Run(args) => run_cmd::run(args, cli.device.as_deref())?,
        Command::Bench(args) => bench_cmd::bench(args, &device)?,
        Command::Plan(args) => plan_cmd::plan(&args, &device)?,
        Command::Eval(args) => eval_cmd::eval(args, cli.device.as_deref())?,
        Command::Generate(args) => model_cmd::generate(&args, &device)?,
        Command::Logprob(args) => model_cmd::logprob(&args, &device)?,
        Command::Judge(args) => judge_cmd::judge(&args, &device)?,
        Command::Data(command) => data_cmd::run(command, &device)?,
        Command::Sft { model, data, train } => train_cmd::sft(&model, &data, &train, &device)?,
        Command::Dpo(args) => train_cmd::dpo(&args, &device)?,
        Command::RandomModel(args) => model_cmd::random_model(&args, &device)?,
        Command::Tokenize(args) => model_cmd::tokenize(&args, &device)?,
    }
    Ok(())
}
