//! One SFT step on SmolLM2-135M-Instruct against transformers + torch's AdamW
//! (`tools/fixtures/smollm2_sft_step.py`): the loss, the global gradient norm before clipping,
//! and the loss after one clipped AdamW step — with the update per tensor and in flat buckets
//! (SmolLM2's embedding alone in one, the layers in others).

use std::ops::ControlFlow;
use std::path::PathBuf;

use srlm_data::Encoder;
use srlm_dpo::{evaluate, train, AdamWConfig, SftObjective, TrainConfig, UpdateLayout};
use srlm_model::burn::module::Module;
use srlm_model::LanguageModel;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn smollm2_sft_step_matches_transformers_and_torch_adamw() {
    let _rng = super::training::serial();
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(super::fixtures().join("smollm2/sft_step.json")).unwrap(),
    )
    .unwrap();
    let path = std::env::var_os("SRLM_SMOLLM2")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("assets/SmolLM2-135M-Instruct.Q4_1.gguf"));
    let lm = LanguageModel::load(&path, &super::device()).unwrap();
    let encoder = Encoder::new(&lm, 512).unwrap();
    let examples: Vec<_> = fixture["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            encoder
                .encode(
                    e["prompt"].as_str().unwrap(),
                    e["response"].as_str().unwrap(),
                )
                .unwrap()
                .unwrap()
        })
        .collect();
    // Same token layout as the reference, row by row.
    for (e, row) in examples.iter().zip(fixture["rows"].as_array().unwrap()) {
        let row: Vec<u32> = serde_json::from_value(row.clone()).unwrap();
        assert_eq!([e.prompt.clone(), e.response.clone()].concat(), row);
    }
    let objective = SftObjective {
        examples,
        pad_id: encoder.pad_id(),
    };
    let f = |k: &str| fixture[k].as_f64().unwrap();
    for layout in [UpdateLayout::PerTensor, UpdateLayout::Buckets] {
        let (loss, grad_norm, after) = sft_step(&lm, &objective, &fixture, layout);
        let close = |ours: f64, theirs: f64, rel: f64, what: &str| {
            assert!(
                (ours - theirs).abs() <= rel * theirs.abs(),
                "{what} ({layout:?}): ours {ours}, transformers {theirs}"
            );
        };
        close(loss, f("loss_before"), 1e-4, "loss before the step");
        close(grad_norm, f("grad_norm"), 1e-3, "global gradient norm");
        close(after, f("loss_after"), 2e-3, "loss after one AdamW step");
    }
}

/// One SFT step of `lm` with the fixture's settings and the update in `layout`: the loss
/// before it, the gradient norm, the loss after it.
fn sft_step(
    lm: &LanguageModel,
    objective: &SftObjective,
    fixture: &serde_json::Value,
    layout: UpdateLayout,
) -> (f64, f64, f64) {
    let f = |k: &str| fixture[k].as_f64().unwrap();
    let config = TrainConfig {
        peak_lr: f("lr"),
        final_lr: f("lr"),
        batch_size: 3,
        max_steps: Some(1),
        // Two micro-batches: accumulation must not change the step.
        micro_batch_tokens: 120,
        adamw: AdamWConfig {
            weight_decay: f("weight_decay"),
            layout,
            ..AdamWConfig::default()
        },
        max_grad_norm: Some(f("max_grad_norm")),
        dropout: 0.0,
        ..TrainConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let outcome = train(
        lm.model.clone(),
        &lm.config,
        objective,
        None,
        &config,
        dir.path(),
        &mut |m| {
            seen.push(m.clone());
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    let after = evaluate(&outcome.model.valid(), objective, &config).unwrap();
    (seen[0].loss, seen[0].grad_norm, after)
}
