//! The `srlm` command.

mod arg_checks;
mod bench_cmd;
mod data_cmd;
mod eval_cmd;
mod heap;
mod http_args;
mod run_cmd;
mod train_cmd;
mod verifiable_cmd;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use srlm::judge::{
    ExpectedScoreJudge, Judge, JudgeItem, JudgeTemplate, LocalGenerator, ParseStats, SamplingJudge,
    ScoreParser,
};
use srlm::model::{parse_device, GenerationConfig, LanguageModel, SamplingParams};

#[global_allocator]
static ALLOCATOR: heap::CountingAllocator = heap::CountingAllocator;

/// A handful of pairs of clearly different quality, for a first look at a judge.
const DEMO_PAIRS: [(&str, &str); 6] = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is the capital of France?", "I like turtles."),
    ("Give me three tips for staying focused while studying.", "1. Put your phone in another room. 2. Work in 25-minute blocks with short breaks. 3. Decide on one concrete goal for each session."),
    ("Give me three tips for staying focused while studying.", "Studying"),
    ("Explain what a prime number is.", "A prime number is a whole number greater than 1 whose only divisors are 1 and itself, such as 2, 3, 5 and 7."),
    ("Explain what a prime number is.", "I cannot help with that."),
];

fn judge_items(input: Option<&Path>) -> Result<Vec<JudgeItem>> {
    let Some(path) = input else {
        return Ok(DEMO_PAIRS
            .iter()
            .map(|(p, r)| JudgeItem {
                prompt: p.to_string(),
                response: r.to_string(),
            })
            .collect());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str::<JudgeItem>(line).with_context(|| {
                format!(
                    "{}:{}: expected {{\"prompt\", \"response\"}}",
                    path.display(),
                    i + 1
                )
            })
        })
        .collect()
}

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

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Generates a reply to one prompt.
    Generate {
        /// A GGUF file or a Hugging Face model directory.
        #[arg(long)]
        model: PathBuf,
        /// The user's message (one turn in the chat template unless --raw).
        #[arg(long)]
        prompt: String,
        #[arg(long, default_value_t = 256, value_parser = arg_checks::at_least_one)]
        max_new_tokens: usize,
        /// 0 is greedy.
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        #[arg(long, default_value_t = 1.0)]
        top_p: f32,
        /// 0 keeps every token.
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Feed the prompt as is, without the chat template.
        #[arg(long)]
        raw: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Prints the summed log-probability of a response (end-of-turn token included).
    Logprob {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        prompt: String,
        #[arg(long)]
        response: String,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
    /// Judges (prompt, response) pairs with the model itself: the paper's prompt, k samples
    /// each, and the expected score over the digits. Prints one JSON line per pair and a summary.
    Judge {
        #[arg(long)]
        model: PathBuf,
        /// JSONL with `prompt` and `response` fields; a built-in handful of pairs when absent.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Judge samples per response (the paper: 3).
        #[arg(long, default_value_t = 3, value_parser = arg_checks::at_least_one)]
        samples: usize,
        #[arg(long, default_value_t = 256, value_parser = arg_checks::at_least_one)]
        max_new_tokens: usize,
        #[arg(long, default_value_t = 0.7)]
        temperature: f32,
        #[arg(long, default_value_t = 0.9)]
        top_p: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Sequences generated at once.
        #[arg(long, default_value_t = 8)]
        batch_size: usize,
        /// A judge template file (minijinja, over `{{ prompt }}` and `{{ response }}`) instead
        /// of the paper's.
        #[arg(long)]
        template: Option<PathBuf>,
        /// A regular expression whose first group is the score, instead of `Score: N`.
        #[arg(long)]
        score_pattern: Option<String>,
    },
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
    RandomModel {
        /// The model whose tokenizer, template and special tokens are kept.
        #[arg(long)]
        like: PathBuf,
        /// The output directory.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Prints the token ids of a text as a JSON array (no special tokens added).
    Tokenize {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        text: String,
    },
}

fn load(path: &Path, device: &str) -> Result<LanguageModel> {
    let device = parse_device(device)?;
    LanguageModel::load(path, &device).with_context(|| format!("loading {}", path.display()))
}

#[allow(clippy::print_stdout)]
fn main() -> Result<()> {
    heap::keep_freed_memory();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        run_cmd::init_tracing(None);
    }
    let device = cli.device.clone().unwrap_or_else(|| "cpu".to_string());
    match cli.command {
        Command::Run(args) => run_cmd::run(args, cli.device.as_deref())?,
        Command::Bench(args) => bench_cmd::bench(args, &device)?,
        Command::Eval(args) => eval_cmd::eval(args, cli.device.as_deref())?,
        Command::Generate {
            model,
            prompt,
            max_new_tokens,
            temperature,
            top_p,
            top_k,
            seed,
            raw,
            format,
        } => {
            let lm = load(&model, &device)?;
            let ids = lm.encode_prompt(&prompt, raw)?;
            let config = GenerationConfig {
                max_new_tokens,
                sampling: SamplingParams {
                    temperature,
                    top_p,
                    top_k,
                },
                seed,
                stop_ids: Vec::new(),
            };
            let Some(out) = lm.generate(&[ids], &config)?.pop() else {
                bail!("the model returned no generation");
            };
            let text = lm.tokenizer.decode(&out.token_ids, true)?;
            match format {
                Format::Text => println!("{text}"),
                Format::Json => println!(
                    "{}",
                    serde_json::json!({"text": text, "token_ids": out.token_ids})
                ),
            }
        }
        Command::Logprob {
            model,
            prompt,
            response,
            format,
        } => {
            let lm = load(&model, &device)?;
            let Some(lp) = lm.logprobs(&[(prompt.as_str(), response.as_str())])?.pop() else {
                bail!("no log-probability computed");
            };
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({"logprob": lp.logprob, "tokens": lp.tokens})
                ),
                Format::Text => println!("{} ({} tokens)", lp.logprob, lp.tokens),
            }
        }
        Command::Judge {
            model,
            input,
            samples,
            max_new_tokens,
            temperature,
            top_p,
            seed,
            batch_size,
            template,
            score_pattern,
        } => {
            let lm = load(&model, &device)?;
            let items = judge_items(input.as_deref())?;
            let source = match &template {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
                None => srlm::judge::PAPER_TEMPLATE.to_string(),
            };
            let parser = match &score_pattern {
                Some(pattern) => ScoreParser::new(pattern, 0.0, 5.0)?,
                None => ScoreParser::default(),
            };
            let params =
                GenerationConfig::sampled(temperature, top_p, max_new_tokens).with_seed(seed);
            let mut sampling = SamplingJudge::new(LocalGenerator::new(&lm, batch_size))
                .with_template(JudgeTemplate::new(&source)?)
                .with_parser(parser)
                .with_samples(samples)
                .with_params(params);
            let sampled = sampling.judge(&items)?;
            let expected = ExpectedScoreJudge::with_template(
                &lm,
                JudgeTemplate::new(&source)?,
                srlm::judge::SCORE_PREFIX,
                batch_size,
            )?
            .with_justification_tokens(max_new_tokens)
            .judge(&items)?;
            for ((item, s), e) in items.iter().zip(&sampled).zip(&expected) {
                let line = serde_json::json!({
                    "prompt": item.prompt, "response": item.response,
                    "score": s.score, "expected_score": e.score,
                    "samples": s.samples.iter().map(|r| match r { Ok(v) => serde_json::json!(v), Err(f) => serde_json::json!(f.name()) }).collect::<Vec<_>>(),
                    "texts": s.texts,
                });
                println!("{line}");
            }
            let stats = ParseStats::of(&sampled);
            println!(
                "{}",
                serde_json::json!({"summary": {
                    "pairs": items.len(), "parse_rate": stats.parse_rate(), "parsed": stats.parsed,
                    "samples": stats.samples, "judged": stats.judged, "failures": stats.failures,
                }})
            );
        }
        Command::Data(command) => data_cmd::run(command, &device)?,
        Command::Sft { model, data, train } => train_cmd::sft(&model, &data, &train, &device)?,
        Command::Dpo(args) => train_cmd::dpo(&args, &device)?,
        Command::RandomModel { like, out, seed } => {
            let lm = load(&like, &device)?
                .with_random_network(srlm::model::LlamaConfig::smollm2_135m(), seed)?;
            lm.save_pretrained(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("{}", out.display());
        }
        Command::Tokenize { model, text } => {
            let lm = load(&model, &device)?;
            println!(
                "{}",
                serde_json::to_string(&lm.tokenizer.encode(&text, false)?)?
            );
        }
    }
    Ok(())
}
