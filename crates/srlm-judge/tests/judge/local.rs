//! Local judges over the tiny committed model: they run end to end and keep their contracts.

use srlm_judge::{
    AggregationConfig, ExpectedScoreJudge, GenerationConfig, Judge, JudgeItem, JudgeTemplate,
    LocalGenerator, ParseStats, SamplingJudge,
};

/// The paper's prompt is ~1,400 tokens for the tiny tokenizer, past the tiny model's 128
/// positions: a short template keeps the same path.
fn short() -> JudgeTemplate {
    JudgeTemplate::new("Rate {{ prompt }} / {{ response }}").unwrap()
}
use srlm_model::{device_from_env, LanguageModel};

fn tiny() -> LanguageModel {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/tiny-llama3"
    );
    LanguageModel::load(
        std::path::Path::new(dir),
        &device_from_env("SRLM_TEST_DEVICE", "cpu").unwrap(),
    )
    .unwrap()
}

fn items() -> Vec<JudgeItem> {
    vec![
        JudgeItem {
            prompt: "Hello".into(),
            response: "Hello, world!".into(),
        },
        JudgeItem {
            prompt: "How are you?".into(),
            response: "I am fine, thank you.".into(),
        },
    ]
}

#[test]
fn sampling_judge_over_a_local_model_returns_k_samples_per_item() {
    let lm = tiny();
    let params = GenerationConfig::sampled(0.7, 0.9, 8).with_seed(1);
    let mut judge = SamplingJudge::new(LocalGenerator::new(&lm, 3))
        .with_template(short())
        .with_aggregation(AggregationConfig {
            samples: 2,
            min_valid: 1,
        })
        .with_params(params);
    let first = judge.judge(&items()).unwrap();
    assert_eq!(first.len(), 2);
    assert!(first
        .iter()
        .all(|j| j.samples.len() == 2 && j.texts.len() == 2));
    // A random model writes no score: each sample fails, and at 8 tokens it is cut off.
    let stats = ParseStats::of(&first);
    assert_eq!((stats.samples, stats.judged, stats.unjudged), (4, 0, 2));
    assert!(
        stats.failures.get("truncated").copied().unwrap_or(0)
            + stats.failures.get("no_score").copied().unwrap_or(0)
            == 4
    );
    // Same seed, same texts.
    let again = judge.judge(&items()).unwrap();
    assert_eq!(first, again);
}

#[test]
fn expected_score_is_a_probability_weighted_mean_on_the_scale() {
    let lm = tiny();
    let mut judge = ExpectedScoreJudge::with_template(&lm, short(), "Score=", 4)
        .unwrap()
        .with_justification_tokens(6);
    let out = judge.judge(&items()).unwrap();
    for j in &out {
        let s = j.score.unwrap();
        assert!((0.0..=5.0).contains(&s), "{s}");
    }
    // Batched and one at a time agree.
    let single = judge.judge(&items()[1..]).unwrap();
    assert!((single[0].score.unwrap() - out[1].score.unwrap()).abs() < 1e-5);
}

/// The digit is read where EFT training puts it: after the model's own greedy justification,
/// at its final score prefix — not right after the prompt.
#[test]
fn expected_score_is_read_after_the_judges_own_justification() {
    use srlm_model::{next_token_logprobs, FinishReason, GenerationConfig, SamplingParams};
    let lm = tiny();
    let prefix = "Score=";
    let mut judge = ExpectedScoreJudge::with_template(&lm, short(), prefix, 4)
        .unwrap()
        .with_justification_tokens(6);
    let out = judge.judge(&items()).unwrap();
    let digits: Vec<u32> = (0..=5)
        .map(|d| {
            *lm.tokenizer
                .encode(&format!("{prefix}{d}"), false)
                .unwrap()
                .last()
                .unwrap()
        })
        .collect();
    for (item, j) in items().iter().zip(&out) {
        let prompt = lm
            .chat_prompt(&short().render(&item.prompt, &item.response).unwrap())
            .unwrap();
        let greedy = GenerationConfig {
            max_new_tokens: 6,
            sampling: SamplingParams {
                temperature: 0.0,
                top_p: 1.0,
                top_k: 0,
            },
            ..GenerationConfig::default()
        };
        let own = &lm
            .generate(&[lm.tokenizer.encode(&prompt, false).unwrap()], &greedy)
            .unwrap()[0];
        let own_text = lm.tokenizer.decode(&own.token_ids, true).unwrap();
        let justification = &j.texts[0];
        assert!(justification.ends_with(prefix), "{justification:?}");
        assert!(
            justification.starts_with(own_text.trim_end()) && justification.len() > prefix.len(),
            "{justification:?} does not continue the greedy {own_text:?}"
        );
        assert_eq!(j.truncated, usize::from(own.finish == FinishReason::Length));
        let ids = lm
            .tokenizer
            .encode(&format!("{prompt}{justification}"), false)
            .unwrap();
        let logps = &next_token_logprobs(&lm.model, &[ids], lm.pad_id, &digits).unwrap()[0];
        let weights: Vec<f64> = logps.iter().map(|&l| f64::from(l).exp()).collect();
        let expected = weights
            .iter()
            .enumerate()
            .map(|(d, w)| d as f64 * w)
            .sum::<f64>()
            / weights.iter().sum::<f64>();
        assert!(
            (j.score.unwrap() - expected).abs() < 1e-4,
            "{j:?} vs {expected}"
        );
    }
}
