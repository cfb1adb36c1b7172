//! Layer checkpointing: the gradients of every parameter equal the plain backward pass's, on
//! the tiny Llama (untied head) and SmolLM2 (tied), with and without LoRA adapters.

use srlm_model::burn::module::{Module, ModuleVisitor, Param};
use srlm_model::burn::optim::GradientsParams;
use srlm_model::burn::tensor::{Distribution, Tensor};
use srlm_model::{
    add_gradients, LanguageModel, LayerCheckpoints, Llama, LoraConfig, Padding, TokenBatch,
};

use crate::common::{device, fixtures, smollm2_path};

/// Every parameter's gradient (empty where it has none), in traversal order.
fn gradients(model: &Llama, checkpointing: bool) -> Vec<Vec<f32>> {
    let rows = vec![vec![5, 9, 14, 3, 7, 22, 8], vec![11, 4, 6, 30]];
    let batch = TokenBatch::pad(&rows, 0, Padding::Right).unwrap();
    let vocab = model.vocab_size();
    device().seed(3);
    let weights = Tensor::<3>::random(
        [2, 7, vocab],
        Distribution::Normal(0.0, 1.0),
        &model.device(),
    );
    let loss = || (model.forward(&batch).unwrap() * weights.clone()).sum();
    let grads = if checkpointing {
        let (loss, layers) = LayerCheckpoints::record(loss);
        assert_eq!(layers.len(), 1, "one forward pass recorded");
        let mut backward = loss.backward();
        let from_layers = model.backward_checkpointed(layers, &mut backward);
        add_gradients(
            model,
            from_layers,
            GradientsParams::from_grads(backward, model),
        )
    } else {
        GradientsParams::from_grads(loss().backward(), model)
    };
    struct Collect<'a>(&'a GradientsParams, Vec<Vec<f32>>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let g = self.0.get::<D>(param.id);
            self.1
                .push(g.map_or(Vec::new(), |g| g.into_data().try_to_vec::<f32>().unwrap()));
        }
    }
    let mut collect = Collect(&grads, Vec::new());
    model.visit(&mut collect);
    collect.1
}

/// `bound`: the largest difference relative to the parameter's largest gradient. The saved
/// layer inputs come from the inference kernels (burn's fused attention), the recomputation
/// from the training ones, so the two runs differ by float noise that grows with depth
/// (SmolLM2's 30 layers: ~1e-5 at the last layer, ~1e-4 at the first, 1.9e-4 at the tied
/// embedding).
fn assert_same_gradients(model: Llama, what: &str, bound: f32) {
    let model = model.fork(&device().autodiff()).train();
    let (plain, checkpointed) = (gradients(&model, false), gradients(&model, true));
    assert_eq!(plain.len(), checkpointed.len());
    let mut compared = 0;
    for (i, (a, b)) in plain.iter().zip(&checkpointed).enumerate() {
        assert_eq!(
            a.len(),
            b.len(),
            "{what}: parameter {i} has a gradient in one run only"
        );
        let scale = a.iter().fold(1e-6f32, |m, x| m.max(x.abs()));
        let diff = a
            .iter()
            .zip(b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            diff / scale < bound,
            "{what}: parameter {i}: {diff} of {scale}"
        );
        compared += usize::from(!a.is_empty());
    }
    assert!(compared > 0, "{what}: no gradient compared");
}

#[test]
fn checkpointed_gradients_equal_the_plain_ones_on_the_tiny_llama() {
    let lm = LanguageModel::load(&fixtures().join("tiny-llama3"), &device()).unwrap();
    assert_same_gradients(lm.model.clone(), "full", 1e-4);
    // PEFT's adapter with a random B, so that A's gradients are not zero.
    let (config, mut weights) =
        srlm_model::lora::peft::load_adapter(&fixtures().join("peft/all-r4")).unwrap();
    let adapted = lm.model.with_lora_weights(&config, &mut weights).unwrap();
    assert_same_gradients(adapted, "LoRA", 1e-4);
}

#[test]
#[cfg_attr(
    not(has_smollm2),
    ignore = "SmolLM2 GGUF absent: run scripts/fetch-model.sh"
)]
fn checkpointed_gradients_equal_the_plain_ones_on_smollm2() {
    let lm = LanguageModel::load(&smollm2_path(), &device()).unwrap();
    assert_same_gradients(lm.model.clone(), "SmolLM2, tied head", 5e-4);
    // Fresh adapters (B = 0): B's gradients are compared, A's are zero in both runs.
    let adapted = lm.model.with_lora(&LoraConfig::new(8), 1).unwrap();
    assert_same_gradients(adapted, "SmolLM2 LoRA", 5e-4);
}
