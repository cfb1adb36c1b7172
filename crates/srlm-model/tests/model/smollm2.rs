//! Parity with transformers on the real SmolLM2-135M-Instruct (fixtures from
//! tools/fixtures/smollm2_parity.py). Ignored, and so counted as skipped, when the model file
//! is absent: `bash scripts/fetch-model.sh` fetches it (CI does).

#![cfg_attr(not(has_smollm2), allow(dead_code, unused_imports))]

use serde_json::Value;
use srlm_model::{GenerationConfig, LanguageModel, Message, TokenBatch};

use crate::common::{device, fixtures, ids, max_abs_diff, read_json, smollm2_path};

fn model() -> LanguageModel {
    LanguageModel::load(&smollm2_path(), &device()).expect("load SmolLM2")
}

fn parity() -> Value {
    read_json("smollm2/parity.json")
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn smollm2_config_tokenizer_and_chat_template_match_transformers() {
    let lm = model();
    let c = &lm.config;
    assert_eq!(
        (
            c.hidden_size,
            c.num_hidden_layers,
            c.num_attention_heads,
            c.kv_heads(),
            c.intermediate_size,
            c.vocab_size
        ),
        (576, 30, 9, 3, 1536, 49152)
    );
    assert!(c.tie_word_embeddings);
    assert_eq!(c.rope_theta, 100_000.0);
    assert_eq!(lm.end_of_turn_ids.first(), Some(&2));
    let fixture = parity();
    for case in fixture["tokenizer"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            lm.tokenizer.encode(text, false).unwrap(),
            ids(&case["ids"]),
            "{text:?}"
        );
    }
    assert_eq!(
        lm.tokenizer
            .encode("Hello, world! The quick brown fox.", false)
            .unwrap(),
        [19556, 28, 905, 17, 378, 2365, 6354, 16438, 30]
    );
    for case in fixture["chat_template"].as_array().unwrap() {
        let messages: Vec<Message> = serde_json::from_value(case["messages"].clone()).unwrap();
        let rendered = lm
            .render(&messages, case["add_generation_prompt"].as_bool().unwrap())
            .unwrap();
        assert_eq!(
            rendered.as_bytes(),
            case["rendered"].as_str().unwrap().as_bytes()
        );
    }
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn smollm2_batched_greedy_is_token_identical_to_transformers() {
    let lm = model();
    let fixture = parity();
    let cases = fixture["greedy"].as_array().unwrap();
    let prompts: Vec<Vec<u32>> = cases
        .iter()
        .map(|c| {
            let p = lm
                .encode_prompt(c["prompt"].as_str().unwrap(), false)
                .unwrap();
            assert_eq!(p, ids(&c["prompt_ids"]));
            p
        })
        .collect();
    // All prompts in one left-padded batch: transformers generated each alone.
    let out = lm
        .generate(
            &prompts,
            &GenerationConfig {
                max_new_tokens: 48,
                ..Default::default()
            },
        )
        .unwrap();
    for (case, got) in cases.iter().zip(&out) {
        let want = ids(&case["new_ids"]);
        assert!(want.len() >= 40);
        assert_eq!(got.token_ids, want, "{}", case["prompt"]);
    }
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn smollm2_logprobs_and_logits_match_transformers_and_batching() {
    let lm = model();
    let fixture = parity();
    let cases = fixture["logprob"].as_array().unwrap();
    let pairs: Vec<(&str, &str)> = cases
        .iter()
        .map(|c| {
            (
                c["prompt"].as_str().unwrap(),
                c["response"].as_str().unwrap(),
            )
        })
        .collect();
    let batched = lm.logprobs(&pairs).unwrap();
    for (i, case) in cases.iter().enumerate() {
        let want = case["logprob"].as_f64().unwrap() as f32;
        assert!(
            (batched[i].logprob - want).abs() < 1e-3,
            "pair {i}: {} vs {want}",
            batched[i].logprob
        );
        assert_eq!(batched[i].tokens as u64, case["tokens"].as_u64().unwrap());
        let alone = lm.logprobs(&pairs[i..=i]).unwrap();
        assert!(
            (alone[0].logprob - batched[i].logprob).abs() < 1e-4,
            "pair {i}: batch vs alone"
        );
    }
    for case in fixture["logits"].as_array().unwrap() {
        let bytes = std::fs::read(
            fixtures()
                .join("smollm2")
                .join(case["file"].as_str().unwrap()),
        )
        .unwrap();
        let want: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let prompt = ids(&case["prompt_ids"]);
        let n = prompt.len();
        let batch = TokenBatch::pad(&[prompt], lm.pad_id, srlm_model::Padding::Right).unwrap();
        let logits = lm
            .model
            .forward(&batch)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        let vocab = want.len();
        let diff = max_abs_diff(&logits[(n - 1) * vocab..n * vocab], &want);
        assert!(diff < 1e-3, "last-position logits differ by {diff}");
    }
}
