//! Parity with transformers and gguf on small committed fixtures (tools/fixtures/tiny_models.py).

use serde_json::Value;
use srlm_model::burn::module::Module;
use srlm_model::gguf::GgufFile;
use srlm_model::{GenerationConfig, LanguageModel, TokenBatch};

use crate::common::{device, fixtures, ids, max_abs_diff, read_json};

fn tiny() -> LanguageModel {
    LanguageModel::load(&fixtures().join("tiny-llama3"), &device()).expect("load tiny-llama3")
}

fn reference() -> Value {
    read_json("tiny-llama3/reference.json")
}

/// `lm`'s logits against every case of a `reference.json`'s `logits` (`ids`, `logits`).
fn assert_logits_match(lm: &LanguageModel, reference: &Value, label: &str) {
    for case in reference["logits"].as_array().unwrap() {
        let input = ids(&case["ids"]);
        let expected: Vec<f32> = case["logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect();
        let batch = TokenBatch::pad(&[input], 0, srlm_model::Padding::Right).unwrap();
        let got = lm
            .model
            .forward(&batch)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        let diff = max_abs_diff(&got, &expected);
        // TF32 on cuda: ~5e-4 relative on logits of a few units.
        let bound = crate::common::matmul_bound(1e-4, 5e-3);
        assert!(diff < bound, "{label}: logits differ by {diff}");
    }
}

#[test]
fn sharded_hf_directory_logits_match_transformers() {
    let lm = tiny();
    assert!(lm.model.lm_head.is_some(), "tiny-llama3 has an untied head");
    assert_logits_match(&lm, &reference(), "tiny-llama3");
}

#[test]
fn chat_prompt_greedy_tokens_and_logprobs_match_transformers() {
    let lm = tiny();
    let reference = reference();
    for case in reference["greedy"].as_array().unwrap() {
        let prompt = lm
            .encode_prompt(case["prompt"].as_str().unwrap(), false)
            .unwrap();
        assert_eq!(
            prompt,
            ids(&case["prompt_ids"]),
            "chat template + tokenizer"
        );
        let out = lm
            .generate(
                &[prompt],
                &GenerationConfig {
                    max_new_tokens: 20,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(out[0].token_ids, ids(&case["new_ids"]));
    }
    for case in reference["logprob"].as_array().unwrap() {
        let got = lm
            .logprobs(&[(
                case["prompt"].as_str().unwrap(),
                case["response"].as_str().unwrap(),
            )])
            .unwrap();
        let expected = case["logprob"].as_f64().unwrap() as f32;
        assert!(
            (got[0].logprob - expected).abs() < 1e-4,
            "{} vs {expected}",
            got[0].logprob
        );
        assert_eq!(got[0].tokens as u64, case["tokens"].as_u64().unwrap());
    }
}

#[test]
fn save_pretrained_round_trips() {
    let lm = tiny();
    let dir = tempfile::tempdir().unwrap();
    lm.save_pretrained(dir.path()).unwrap();
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    let again = LanguageModel::load(dir.path(), &device()).unwrap();
    assert_eq!(again.config.rope_scaling, lm.config.rope_scaling);
    let batch = TokenBatch::pad(&[vec![5, 9, 30, 2, 77]], 0, srlm_model::Padding::Right).unwrap();
    let a = lm
        .model
        .forward(&batch)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap();
    let b = again
        .model
        .forward(&batch)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert_eq!(a, b, "f32 weights must round-trip exactly");
    assert_eq!(
        again.encode_prompt("Hello", false).unwrap(),
        lm.encode_prompt("Hello", false).unwrap()
    );
}

#[test]
fn gguf_dequantisation_matches_the_gguf_package() {
    let file = GgufFile::open(&fixtures().join("quant.gguf")).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("quant.json")).unwrap())
            .unwrap();
    let mut checked = 0;
    for info in &file.header.tensors {
        let case = &expected[info.name.as_str()];
        let tensor = file.tensor(info).unwrap();
        let want: Vec<f32> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(tensor.shape, shape, "{}: PyTorch-order shape", info.name);
        assert_eq!(max_abs_diff(&tensor.data, &want), 0.0, "{}", info.name);
        checked += 1;
    }
    // F32, F16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K.
    assert_eq!(checked, 8);
}

#[test]
fn gguf_qk_unpermute_inverts_llama_cpp_permute() {
    // llama.cpp's convert script: w.reshape(heads, 2, d/heads/2, cols).swapaxes(1, 2).reshape(...)
    let (heads, head_dim, cols) = (3, 8, 2);
    let rows = heads * head_dim;
    let hf: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
    let mut permuted = vec![0.0; hf.len()];
    for h in 0..heads {
        for two in 0..2 {
            for i in 0..head_dim / 2 {
                let src = h * head_dim + two * head_dim / 2 + i;
                let dst = h * head_dim + i * 2 + two;
                permuted[dst * cols..dst * cols + cols]
                    .copy_from_slice(&hf[src * cols..src * cols + cols]);
            }
        }
    }
    let t = srlm_model::HostTensor::new(vec![rows, cols], permuted).unwrap();
    let back = srlm_model::gguf::unpermute_rows(t, heads, "q").unwrap();
    assert_eq!(back.data, hf);
}

/// Qwen2 (biases on q/k/v, not o; tied head) and Mistral (its own head width, a sliding window)
/// as transformers computes them (tools/fixtures/tiny_families.py).
#[test]
fn qwen2_and_mistral_logits_match_transformers() {
    for family in ["tiny-qwen2", "tiny-mistral"] {
        let lm = LanguageModel::load(&fixtures().join(family), &device()).unwrap();
        assert_eq!(
            lm.model.num_params() as u64,
            lm.config.parameter_count(),
            "{family}"
        );
        assert_logits_match(&lm, &read_json(&format!("{family}/reference.json")), family);
    }
}

#[test]
fn a_sequence_past_mistrals_window_is_refused_and_an_unknown_family_named() {
    let lm = LanguageModel::load(&fixtures().join("tiny-mistral"), &device()).unwrap();
    assert_eq!(lm.config.sliding_window(), Some(12));
    let long: Vec<u32> = (1..=13).collect();
    let batch = TokenBatch::pad(&[long], 0, srlm_model::Padding::Right).unwrap();
    let err = lm.model.forward(&batch).unwrap_err().to_string();
    assert!(
        err.contains("13 tokens") && err.contains("12 positions"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut config = read_json("tiny-qwen2/config.json");
    config["model_type"] = "gemma".into();
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
    let err = srlm_model::LlamaConfig::from_file(&dir.path().join("config.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("gemma") && err.contains("qwen2"), "{err}");
}
