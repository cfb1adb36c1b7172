//! The memory plan: what it counts for the target (Llama-3-8B on an 80 GB GPU), the
//! micro-batching it follows, the items it reads off an objective, and the refusal it makes.

use srlm_data::{EncodedExample, EncodedPair};
use srlm_dpo::{
    DpoConfig, DpoObjective, MemoryPlan, Objective, PlannedWork, ReferenceLogps, TrainConfig,
    TrainError,
};
use srlm_model::{LlamaConfig, LoraConfig, LoraDtype};

const GIB: u64 = 1 << 30;

fn part(plan: &MemoryPlan, what: &str) -> u64 {
    plan.parts
        .iter()
        .find(|l| l.what.starts_with(what))
        .map_or(0, |l| l.bytes)
}

/// The 8B DPO step of the issue, checkpointed when it has adapters.
fn dpo_8b(lora: Option<LoraConfig>) -> MemoryPlan {
    let checkpointing = lora.is_some();
    dpo_8b_with(lora, checkpointing)
}

fn dpo_8b_with(lora: Option<LoraConfig>, checkpointing: bool) -> MemoryPlan {
    let config = TrainConfig {
        batch_size: 1,
        micro_batch_tokens: 2048,
        dropout: 0.0,
        checkpointing,
        lora,
        ..TrainConfig::default()
    };
    let model = LlamaConfig::named("llama-3-8b").unwrap();
    MemoryPlan::new(&model, &config, &PlannedWork::preference(1024, 0))
}

#[test]
fn llama_3_8b_dpo_fits_80_gb_with_lora_and_checkpointing_and_not_in_full() {
    let lora = dpo_8b(Some(LoraConfig::new(16)));
    // r 16 on the seven projections: 41,943,040 adapter values (PEFT's count), f32.
    assert_eq!(part(&lora, "gradients"), 41_943_040 * 4);
    assert_eq!(part(&lora, "AdamW"), 2 * 41_943_040 * 4);
    assert_eq!(part(&lora, "output projection"), 0, "a frozen head");
    assert!(lora.peak().bytes < 40 * GIB, "{}", lora.table(None));
    lora.check(Some(80 * GIB)).unwrap();

    let full = dpo_8b(None);
    // Weights, gradients, moments, and the weights before the update: 16 + 4 bytes a value.
    assert!(
        full.peak().bytes > 8_030_261_248 * 16,
        "{}",
        full.table(None)
    );
    let err = full.check(Some(80 * GIB)).unwrap_err();
    assert!(matches!(err, TrainError::OutOfMemory { .. }));
    let text = err.to_string();
    assert!(
        text.contains("does not fit") && text.contains("**peak**") && text.contains("--lora"),
        "{text}"
    );
}

/// Activations of the 8B DPO step (2 × 1,024 tokens in one micro-batch, r 16 on all seven
/// projections), worked by hand: hidden 4,096, queries 4,096, keys/values 1,024, FFN 14,336,
/// 32 heads, 32 layers. A layer keeps 73,728 activation values, 32 f32 log-sum-exps and
/// 7 × 16 f32 `x·A`; under bf16 compute also f32 copies of the adapters' four inputs
/// (4,096 + 4,096 + 4,096 + 14,336 values).
#[test]
fn bf16_compute_plans_the_8b_steps_activations_at_their_dtypes() {
    let bf16 = LoraConfig {
        compute_dtype: LoraDtype::Bf16,
        ..LoraConfig::new(16)
    };
    let tokens = 2048;
    let layer_f32 = 73_728 * 4 + 32 * 4 + 7 * 16 * 4;
    let layer_bf16 = 73_728 * 2 + 32 * 4 + 7 * 16 * 4 + 26_624 * 4;
    // Checkpointed: 32 layer inputs, the head's input (norm's, and f32), one layer.
    assert_eq!(
        part(&dpo_8b(Some(LoraConfig::new(16))), "activations"),
        tokens * (32 * 4096 * 4 + 2 * 4096 * 4 + layer_f32)
    );
    assert_eq!(
        part(&dpo_8b(Some(bf16.clone())), "activations"),
        tokens * (32 * 4096 * 2 + 4096 * (2 + 4) + layer_bf16)
    );
    let plain = |lora: LoraConfig| part(&dpo_8b_with(Some(lora), false), "activations");
    // Without checkpointing every layer keeps its own: bf16 saves 14 %, not half.
    assert_eq!(plain(bf16), tokens * (32 * layer_bf16 + 4096 * (2 + 4)));
    assert_eq!(
        plain(LoraConfig::new(16)),
        tokens * (32 * layer_f32 + 2 * 4096 * 4)
    );
}

#[test]
fn a_batch_larger_than_the_token_budget_is_accumulated_and_the_plan_says_so() {
    let model = LlamaConfig::tiny(64, 32, 2, 4, 2);
    let config = TrainConfig {
        batch_size: 16,
        micro_batch_tokens: 4096,
        ..TrainConfig::default()
    };
    let plan = MemoryPlan::new(&model, &config, &PlannedWork::sft(1024));
    assert_eq!(plan.micro_batch, (4, 4));
    assert_eq!(part(&plan, "accumulated"), part(&plan, "gradients"));
    // A set of three items makes batches of three, in one micro-batch.
    let small = PlannedWork {
        items: 3,
        ..PlannedWork::sft(100)
    };
    let plan = MemoryPlan::new(&model, &config, &small);
    assert_eq!(plan.micro_batch, (3, 1));
    assert_eq!(part(&plan, "accumulated"), 0);
}

#[test]
fn checkpointing_keeps_one_layer_and_the_inputs_of_the_others() {
    let model = LlamaConfig::named("smollm2-135m").unwrap();
    let plain = TrainConfig {
        dropout: 0.0,
        batch_size: 4,
        ..TrainConfig::default()
    };
    let work = PlannedWork::sft(256);
    let activations =
        |config: &TrainConfig| part(&MemoryPlan::new(&model, config, &work), "activations");
    let kept = activations(&plain);
    let checkpointed = activations(&TrainConfig {
        checkpointing: true,
        ..plain.clone()
    });
    let layers = model.num_hidden_layers as u64;
    // 30 layers' activations against one layer's and 30 hidden-size inputs: about a sixth here.
    assert!(
        checkpointed * 5 < kept && checkpointed * layers > kept,
        "{checkpointed} {kept}"
    );
}

fn example(prompt: &[u32], response: &[u32]) -> EncodedExample {
    EncodedExample {
        prompt: prompt.to_vec(),
        response: response.to_vec(),
        truncated: false,
    }
}

#[test]
fn a_pair_sharing_its_prompt_runs_it_once_and_the_plan_counts_that() {
    let shared = EncodedPair {
        chosen: example(&[1; 10], &[2; 5]),
        rejected: example(&[1; 10], &[3; 7]),
    };
    let apart = EncodedPair {
        chosen: example(&[1; 4], &[2; 5]),
        rejected: example(&[4; 4], &[3; 2]),
    };
    let logps = ReferenceLogps {
        chosen: vec![0.0; 2],
        rejected: vec![0.0; 2],
    };
    let objective = DpoObjective::new(vec![shared, apart], logps, DpoConfig::default(), 0).unwrap();
    assert_eq!(objective.forward_tokens(0), 10 + 5 + 7);
    assert_eq!(
        objective.forward_tokens(1),
        2 * 9,
        "two rows of the longer side"
    );
    let work = PlannedWork::of(&objective);
    assert_eq!(
        (work.forward_tokens, work.budget_tokens, work.items),
        (22, 34, 2)
    );
}

#[test]
fn a_bf16_base_halves_the_adapted_projections_of_llama_3_8b() {
    let f32_base = dpo_8b(Some(LoraConfig::new(16)));
    let bf16_base = dpo_8b(Some(LoraConfig {
        base_dtype: srlm_model::LoraDtype::Bf16,
        ..LoraConfig::new(16)
    }));
    // transformers' count of Llama-3-8B (8,030,261,248) less its untied embedding and head
    // (2 × 128,256 × 4,096) and its 65 norms of 4,096: the seven projections of 32 layers,
    // 2 bytes each saved.
    let projections: u64 = 8_030_261_248 - 2 * 525_336_576 - 65 * 4096;
    assert_eq!(
        part(&f32_base, "weights") - part(&bf16_base, "weights"),
        projections * 2
    );
    assert!(part(&bf16_base, "weights (f32, adapted projections bf16") > 0);
    // The rest is as before but for one projection converted at a time on flex.
    assert_eq!(part(&bf16_base, "gradients"), part(&f32_base, "gradients"));
    assert_eq!(
        part(&bf16_base, "working") - part(&f32_base, "working"),
        4096 * 14336 * 4
    );
    assert!(
        bf16_base.peak().bytes < 24 * GIB,
        "{}",
        bf16_base.table(None)
    );
    assert!(f32_base.peak().bytes > 24 * GIB, "{}", f32_base.table(None));
}
