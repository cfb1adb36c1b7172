//! What the memory plan counts from a model's shapes against the model built from them: its
//! parameters (burn's own count of the tensors) and its adapters (the ones attached).

use srlm_model::burn::module::Module;
use srlm_model::{Llama, LlamaConfig, LoraConfig, LoraTarget, TrainingForward};

use crate::common::device;

/// Shapes that differ where the counts could go wrong: grouped queries, a head width that is
/// not hidden / heads, an untied head, an FFN of its own width.
fn shapes() -> Vec<LlamaConfig> {
    let mut wide_heads = LlamaConfig::tiny(50, 24, 2, 4, 2);
    wide_heads.head_dim = Some(10);
    let mut untied = LlamaConfig::tiny(70, 32, 3, 4, 1);
    untied.tie_word_embeddings = false;
    untied.intermediate_size = 96;
    vec![LlamaConfig::tiny(64, 32, 2, 4, 4), wide_heads, untied]
}

#[test]
fn the_parameter_count_from_shapes_is_the_built_models() {
    for config in shapes() {
        let model = Llama::random(&config, &device(), 1).unwrap();
        assert_eq!(
            config.parameter_count(),
            model.num_params() as u64,
            "{config:?}"
        );
    }
}

#[test]
fn the_adapter_count_from_shapes_is_the_attached_adapters() {
    let settings = [
        LoraConfig::new(4),
        LoraConfig {
            targets: vec![LoraTarget::Query, LoraTarget::Value, LoraTarget::Down],
            ..LoraConfig::new(3)
        },
    ];
    for config in shapes() {
        for lora in &settings {
            let model = Llama::random(&config, &device(), 1)
                .unwrap()
                .with_lora(lora, 0)
                .unwrap();
            assert_eq!(
                lora.parameter_count(&config),
                model.lora_parameters() as u64,
                "{config:?} {lora:?}"
            );
        }
    }
}

#[test]
fn dropout_and_adapters_add_what_they_keep_per_token() {
    let config = LlamaConfig::tiny(64, 32, 2, 4, 2);
    let plain = TrainingForward {
        dropout: 0.0,
        lora: None,
        seq: 100,
    };
    let base = config.saved_per_token(&plain);
    assert_eq!(base.layer_input, 32);
    assert_eq!(base.head, 64);
    // Residual dropout keeps two masks; attention probabilities grow with the sequence only
    // under the model's attention dropout.
    let residual = config.saved_per_token(&TrainingForward {
        dropout: 0.1,
        ..plain
    });
    assert_eq!(residual.layer - base.layer, 2 * 32);
    let mut attention_dropout = config.clone();
    attention_dropout.attention_dropout = 0.1;
    let dropped = |seq| {
        attention_dropout
            .saved_per_token(&TrainingForward { seq, ..plain })
            .layer
    };
    assert_eq!(dropped(200) - dropped(100), 3 * 4 * 100);
    let lora = LoraConfig::new(8);
    let adapted = config.saved_per_token(&TrainingForward {
        lora: Some(&lora),
        ..plain
    });
    assert_eq!(adapted.layer - base.layer, 7 * 8);
}

/// The `random:` shapes as transformers and PEFT count them (tools/fixtures/parameter_counts.py).
#[test]
fn named_shapes_count_what_transformers_and_peft_count() {
    let counts = crate::common::read_json("parameter-counts.json");
    for name in LlamaConfig::NAMED {
        let config = LlamaConfig::named(name).unwrap();
        let expected = &counts[name];
        assert_eq!(
            config.parameter_count(),
            expected["parameters"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            LoraConfig::new(16).parameter_count(&config),
            expected["lora_r16_all"].as_u64().unwrap(),
            "{name}"
        );
    }
}
