//! A run whose LoRA adapters train over a bf16 base holds each Mt as it trains it: every stage
//! that generates from Mt (seed answers, prompts, candidates, judgements) gets the model with
//! its adapted projections stored in bf16, never an f32 copy cast only for the update.

use srlm_loop::{PromptSource, Role, RunConfig};
use srlm_model::burn::tensor::DType;
use srlm_model::{LoraConfig, LoraDtype};

use crate::common::{run_scripted, seed_file, serial, tiny_config, tiny_model, Scripted};

fn bf16_base(rank: usize) -> LoraConfig {
    LoraConfig {
        base_dtype: LoraDtype::Bf16,
        ..LoraConfig::new(rank)
    }
}

/// One iteration on the tiny model with `lora` = (SFT's, DPO's) adapters: how the model handed
/// to each generator stored its first query projection, by role.
fn generated_from(lora: (Option<LoraConfig>, Option<LoraConfig>)) -> Vec<(Role, DType)> {
    let tmp = tempfile::tempdir().unwrap();
    let mut config: RunConfig = tiny_config(&tiny_model(tmp.path()), &seed_file());
    config.instruct.source = PromptSource::Seed;
    config.run.iterations = 1;
    (config.sft.lora, config.dpo.train.lora) = lora;
    let mut source = Scripted::default();
    let outcome = run_scripted(&tmp.path().join("run"), &config, &mut source).unwrap();
    assert_eq!(outcome.models.len(), 2);
    source.stored
}

#[test]
fn every_stage_generates_from_mt_stored_as_its_training_stores_it() {
    let _serial = serial();
    let stored = generated_from((Some(bf16_base(4)), Some(bf16_base(2))));
    let roles: Vec<Role> = stored.iter().map(|(role, _)| *role).collect();
    assert!(roles.contains(&Role::Candidates), "{roles:?}");
    assert!(roles.contains(&Role::Judge), "{roles:?}");
    for (role, dtype) in &stored {
        assert_eq!(*dtype, DType::BF16, "{role:?}");
    }
    // Over an f32 base (the default) the same run generates from f32 weights.
    let stored = generated_from((None, Some(LoraConfig::new(2))));
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|(_, d)| *d == DType::F32));
}
