//! The `srlm` command.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use srlm::model::{parse_device, GenerationConfig, LanguageModel, SamplingParams};

#[derive(Parser)]
#[command(
    name = "srlm",
    version,
    about = "Self-Rewarding Language Models on burn"
)]
struct Cli {
    /// Device: cpu, wgpu[:N] or cuda[:N] (the backend must be compiled in).
    #[arg(long, global = true, default_value = "cpu")]
    device: String,
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
        #[arg(long, default_value_t = 256)]
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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
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
            let lm = load(&model, &cli.device)?;
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
            let lm = load(&model, &cli.device)?;
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
        Command::Tokenize { model, text } => {
            let lm = load(&model, &cli.device)?;
            println!(
                "{}",
                serde_json::to_string(&lm.tokenizer.encode(&text, false)?)?
            );
        }
    }
    Ok(())
}
