//! `srlm judge`: the model judges (prompt, response) pairs itself — the paper's prompt with k
//! samples, and the expected score over the digits.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use srlm::judge::{
    ExpectedScoreJudge, Judge, JudgeItem, JudgeTemplate, LocalGenerator, ParseStats, SamplingJudge,
    ScoreParser,
};
use srlm::model::GenerationConfig;

use crate::arg_checks;
use crate::model_cmd::load;

/// A handful of pairs of clearly different quality, for a first look at a judge.
const DEMO_PAIRS: [(&str, &str); 6] = [
    ("What is the capital of France?", "The capital of France is Paris."),
    ("What is the capital of France?", "I like turtles."),
    ("Give me three tips for staying focused while studying.", "1. Put your phone in another room. 2. Work in 25-minute blocks with short breaks. 3. Decide on one concrete goal for each session."),
    ("Give me three tips for staying focused while studying.", "Studying"),
    ("Explain what a prime number is.", "A prime number is a whole number greater than 1 whose only divisors are 1 and itself, such as 2, 3, 5 and 7."),
    ("Explain what a prime number is.", "I cannot help with that."),
];

/// `srlm judge`.
#[derive(Args)]
pub(crate) struct JudgeArgs {
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// JSONL with `prompt` and `response` fields; a built-in handful of pairs when absent.
    #[arg(long)]
    pub(crate) input: Option<PathBuf>,
    /// Judge samples per response (the paper: 3).
    #[arg(long, default_value_t = 3, value_parser = arg_checks::at_least_one)]
    pub(crate) samples: usize,
    #[arg(long, default_value_t = 256, value_parser = arg_checks::at_least_one)]
    pub(crate) max_new_tokens: usize,
    #[arg(long, default_value_t = 0.7)]
    pub(crate) temperature: f32,
    #[arg(long, default_value_t = 0.9)]
    pub(crate) top_p: f32,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Sequences generated at once.
    #[arg(long, default_value_t = 8)]
    pub(crate) batch_size: usize,
    /// A judge template file (minijinja, over `{{ prompt }}` and `{{ response }}`) instead
    /// of the paper's.
    #[arg(long)]
    pub(crate) template: Option<PathBuf>,
    /// A regular expression whose first group is the score, instead of `Score: N`.
    #[arg(long)]
    pub(crate) score_pattern: Option<String>,
}

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

#[allow(clippy::print_stdout)]
pub(crate) fn judge(args: &JudgeArgs, device: &str) -> Result<()> {
    let lm = load(&args.model, device)?;
    let items = judge_items(args.input.as_deref())?;
    let source = match &args.template {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => srlm::judge::PAPER_TEMPLATE.to_string(),
    };
    let parser = match &args.score_pattern {
        Some(pattern) => ScoreParser::new(pattern, 0.0, 5.0)?,
        None => ScoreParser::default(),
    };
    let params = GenerationConfig::sampled(args.temperature, args.top_p, args.max_new_tokens)
        .with_seed(args.seed);
    let mut sampling = SamplingJudge::new(LocalGenerator::new(&lm, args.batch_size))
        .with_template(JudgeTemplate::new(&source)?)
        .with_parser(parser)
        .with_samples(args.samples)
        .with_params(params);
    let sampled = sampling.judge(&items)?;
    let expected = ExpectedScoreJudge::with_template(
        &lm,
        JudgeTemplate::new(&source)?,
        srlm::judge::SCORE_PREFIX,
        args.batch_size,
    )?
    .with_justification_tokens(args.max_new_tokens)
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
    Ok(())
}
