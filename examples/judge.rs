//! LLM-as-a-judge two ways: the paper's additive 5-point prompt over a local model
//! (`LocalGenerator`), and the same judge over your own `TextGenerator` — here a rule-based
//! stand-in for a server or a reward model — with the parse statistics srlm reports.
//!
//! ```text
//! bash scripts/fetch-model.sh
//! cargo run --release -p srlm --example judge                     # SmolLM2-135M-Instruct
//! cargo run --release -p srlm --example judge -- runs/default/models/m1
//! ```

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use srlm::generation::{Completion, GenerationConfig, GenerationError, TextGenerator};
use srlm::judge::{Judge, JudgeItem, JudgeTemplate, LocalGenerator, ParseStats, SamplingJudge};
use srlm::model::{parse_device, LanguageModel};

/// A judge "model" that writes a verdict from the response's length: a stand-in for any other
/// way of producing judge text (an HTTP server, an ensemble, a reward model).
struct LengthVerdicts;

impl TextGenerator for LengthVerdicts {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        _config: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>, GenerationError> {
        Ok(prompts
            .iter()
            .map(|prompt| {
                let response = prompt
                    .split("<response>")
                    .nth(1)
                    .and_then(|r| r.split("</response>").next())
                    .unwrap_or("");
                let score = (response.split_whitespace().count() / 4).clamp(1, 5);
                let text = format!(
                    "The response has {} words.\nScore: {score}",
                    response.split_whitespace().count()
                );
                vec![
                    Completion {
                        text,
                        truncated: false
                    };
                    n
                ]
            })
            .collect())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../assets/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    let items = vec![
        JudgeItem {
            prompt: "Why is the sky blue?".into(),
            response: "Sunlight scatters off air molecules, and blue light, with its shorter wavelength, scatters most.".into(),
        },
        JudgeItem {
            prompt: "Why is the sky blue?".into(),
            response: "Because.".into(),
        },
    ];

    let mut rule_based = SamplingJudge::new(LengthVerdicts).with_samples(3);
    let verdicts = rule_based.judge(&items)?;
    println!(
        "rule-based judge: {:?}",
        verdicts.iter().map(|v| v.score).collect::<Vec<_>>()
    );

    if !path.exists() {
        let hint = "run `bash scripts/fetch-model.sh`, or pass a model path";
        return Err(format!("{} is missing: {hint}", path.display()).into());
    }
    let model = LanguageModel::load(&path, &parse_device("cpu")?)?;
    // The paper's additive 5-point prompt (~450 tokens); `JudgeTemplate::new` takes your own
    // minijinja text over `{{ prompt }}` and `{{ response }}`.
    let mut local = SamplingJudge::new(LocalGenerator::new(&model, 6))
        .with_template(JudgeTemplate::paper())
        .with_samples(3);
    local.reseed(0);
    let verdicts = local.judge(&items)?;
    let stats = ParseStats::of(&verdicts);
    println!(
        "local judge ({}): scores {:?}, {} of {} samples parsed, {} cut at the token cap",
        path.display(),
        verdicts.iter().map(|v| v.score).collect::<Vec<_>>(),
        stats.parsed,
        stats.samples,
        stats.truncated
    );
    Ok(())
}
