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

/// Bytes per token, worked by hand for `tiny(64, 32, 2, 4, 2)`: hidden 32, FFN 80, 4 query
/// heads of 8 (queries 32 wide), 2 key/value heads (16 wide).
#[test]
fn dropout_and_adapters_add_what_they_keep_per_token() {
    let config = LlamaConfig::tiny(64, 32, 2, 4, 2);
    let plain = TrainingForward {
        dropout: 0.0,
        lora: None,
        seq: 100,
    };
    let base = config.saved_per_token(&plain);
    // Norms 4·32, queries 32, keys and values 2·16, o_proj's input 32, gate/up/product 3·80,
    // attention output 32: 496 f32 values; 4 log-sum-exps.
    assert_eq!(base.layer, 496 * 4 + 4 * 4);
    assert_eq!(base.layer_input, 32 * 4);
    assert_eq!(base.head, 2 * 32 * 4);
    // Residual dropout keeps two masks; attention probabilities grow with the sequence only
    // under the model's attention dropout.
    let residual = config.saved_per_token(&TrainingForward {
        dropout: 0.1,
        ..plain
    });
    assert_eq!(residual.layer - base.layer, 2 * 32 * 4);
    let mut attention_dropout = config.clone();
    attention_dropout.attention_dropout = 0.1;
    let dropped = |seq| {
        attention_dropout
            .saved_per_token(&TrainingForward { seq, ..plain })
            .layer
    };
    assert_eq!(dropped(200) - dropped(100), 3 * 4 * 100 * 4);
    let lora = LoraConfig::new(8);
    let adapted = config.saved_per_token(&TrainingForward {
        lora: Some(&lora),
        ..plain
    });
    // Seven adapters' `x·A`, 8 f32 values each.
    assert_eq!(adapted.layer - base.layer, 7 * 8 * 4);
}

/// Under bf16 compute the activations take 2 bytes, the log-sum-exps, the adapters' `x·A` and
/// the head's input stay f32, and the adapters keep an f32 copy of each input they read: q/k/v
/// one of the hidden state (32), gate/up another (32), o_proj the attention output (32),
/// down_proj the FFN (80).
#[test]
fn bf16_compute_halves_the_activations_but_not_the_adapters_inputs() {
    let config = LlamaConfig::tiny(64, 32, 2, 4, 2);
    let lora = LoraConfig {
        compute_dtype: srlm_model::LoraDtype::Bf16,
        ..LoraConfig::new(8)
    };
    let saved = config.saved_per_token(&TrainingForward {
        dropout: 0.0,
        lora: Some(&lora),
        seq: 100,
    });
    let adapters_inputs = (3 * 32 + 80) * 4;
    assert_eq!(saved.layer, 496 * 2 + 4 * 4 + 7 * 8 * 4 + adapters_inputs);
    assert_eq!(saved.layer_input, 32 * 2);
    assert_eq!(saved.head, 32 * 2 + 32 * 4);
    // With adapter dropout each adapter drops (mask and result, bf16) and casts its own input:
    // 5 · 32 + 32 + 80 = 272 input values over the seven, 2 + 2 + 4 bytes each.
    let dropped = LoraConfig {
        dropout: 0.1,
        ..lora.clone()
    };
    let with_dropout = config.saved_per_token(&TrainingForward {
        dropout: 0.0,
        lora: Some(&dropped),
        seq: 100,
    });
    assert_eq!(
        with_dropout.layer,
        496 * 2 + 4 * 4 + 7 * 8 * 4 + 272 * (2 + 2 + 4)
    );
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
