//! `srlm generate`, `logprob`, `tokenize` and `random-model`: one model, one answer.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use srlm::model::{parse_device, GenerationConfig, LanguageModel, SamplingParams};

use crate::arg_checks;

/// How a command prints its answer.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

/// `srlm generate`.
#[derive(Args)]
pub(crate) struct GenerateArgs {
    /// A GGUF file or a Hugging Face model directory.
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// The user's message (one turn in the chat template unless --raw).
    #[arg(long)]
    pub(crate) prompt: String,
    #[arg(long, default_value_t = 256, value_parser = arg_checks::at_least_one)]
    pub(crate) max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    pub(crate) top_p: f32,
    /// 0 keeps every token.
    #[arg(long, default_value_t = 0)]
    pub(crate) top_k: usize,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Feed the prompt as is, without the chat template.
    #[arg(long)]
    pub(crate) raw: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

/// `srlm logprob`.
#[derive(Args)]
pub(crate) struct LogprobArgs {
    #[arg(long)]
    pub(crate) model: PathBuf,
    #[arg(long)]
    pub(crate) prompt: String,
    #[arg(long)]
    pub(crate) response: String,
    #[arg(long, value_enum, default_value = "json")]
    pub(crate) format: Format,
}

/// `srlm random-model`.
#[derive(Args)]
pub(crate) struct RandomModelArgs {
    /// The model whose tokenizer, template and special tokens are kept.
    #[arg(long)]
    pub(crate) like: PathBuf,
    /// The output directory.
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
}

/// `srlm tokenize`.
#[derive(Args)]
pub(crate) struct TokenizeArgs {
    #[arg(long)]
    pub(crate) model: PathBuf,
    #[arg(long)]
    pub(crate) text: String,
}

/// A GGUF file or a Hugging Face folder on `device`, the error naming the path.
pub(crate) fn load(path: &Path, device: &str) -> Result<LanguageModel> {
    let device = parse_device(device)?;
    LanguageModel::load(path, &device).with_context(|| format!("loading {}", path.display()))
}

#[allow(clippy::print_stdout)]
pub(crate) fn generate(args: &GenerateArgs, device: &str) -> Result<()> {
    let lm = load(&args.model, device)?;
    let ids = lm.encode_prompt(&args.prompt, args.raw)?;
    let config = GenerationConfig {
        max_new_tokens: args.max_new_tokens,
        sampling: SamplingParams {
            temperature: args.temperature,
            top_p: args.top_p,
            top_k: args.top_k,
        },
        seed: args.seed,
        stop_ids: Vec::new(),
    };
    let Some(out) = lm.generate(&[ids], &config)?.pop() else {
        bail!("the model returned no generation");
    };
    let text = lm.tokenizer.decode(&out.token_ids, true)?;
    match args.format {
        Format::Text => println!("{text}"),
        Format::Json => println!(
            "{}",
            serde_json::json!({"text": text, "token_ids": out.token_ids})
        ),
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) fn logprob(args: &LogprobArgs, device: &str) -> Result<()> {
    let lm = load(&args.model, device)?;
    let Some(lp) = lm
        .logprobs(&[(args.prompt.as_str(), args.response.as_str())])?
        .pop()
    else {
        bail!("no log-probability computed");
    };
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({"logprob": lp.logprob, "tokens": lp.tokens})
        ),
        Format::Text => println!("{} ({} tokens)", lp.logprob, lp.tokens),
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) fn random_model(args: &RandomModelArgs, device: &str) -> Result<()> {
    let lm = load(&args.like, device)?
        .with_random_network(srlm::model::LlamaConfig::smollm2_135m(), args.seed)?;
    lm.save_pretrained(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}", args.out.display());
    Ok(())
}

#[allow(clippy::print_stdout)]
pub(crate) fn tokenize(args: &TokenizeArgs, device: &str) -> Result<()> {
    let lm = load(&args.model, device)?;
    println!(
        "{}",
        serde_json::to_string(&lm.tokenizer.encode(&args.text, false)?)?
    );
    Ok(())
}
