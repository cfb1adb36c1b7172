//! The AdamW update per tensor and in flat buckets (`UpdateLayout`): the same weights, through
//! the trainer and through a checkpoint of the optimizer's state that resumes into the other
//! layout. `.ci/run` runs them on flex and on burn's `cpu` backend (CubeCL).

use srlm_dpo::{AdamW, AdamWConfig, SftObjective, UpdateLayout};
use srlm_model::burn::module::{Module, ModuleVisitor, Param};
use srlm_model::burn::optim::GradientsParams;
use srlm_model::burn::tensor::Tensor;
use srlm_model::Llama;

use super::training::{ex, model, quick, run, serial, weights};

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn both_layouts_train_the_same_weights_with_clipping() {
    let _rng = serial();
    let sft = SftObjective {
        examples: (0..8u32)
            .map(|i| ex(&[1 + i, 2 + i], &[5 + i, 6, 7 + i % 3]))
            .collect(),
        pad_id: 0,
    };
    let trained = |layout: UpdateLayout| {
        let mut c = quick(4, 3e-3);
        c.max_grad_norm = Some(0.5);
        c.adamw.weight_decay = 0.01;
        c.adamw.layout = layout;
        let dir = tempfile::tempdir().unwrap();
        let (m, seen) = run(model(5), &sft, &c, dir.path());
        (
            weights(&m),
            seen.iter().map(|s| s.grad_norm).collect::<Vec<_>>(),
        )
    };
    let (per_tensor, norms) = trained(UpdateLayout::PerTensor);
    assert!(
        norms.iter().all(|n| *n > 0.5),
        "every step clips: {norms:?}"
    );
    assert!(
        max_difference(&per_tensor, &weights(&model(5))) > 1e-3,
        "the steps moved the weights"
    );
    let (buckets, bucket_norms) = trained(UpdateLayout::Buckets);
    let diff = max_difference(&per_tensor, &buckets);
    assert!(diff <= 1e-6, "max weight difference {diff}");
    for (a, b) in norms.iter().zip(&bucket_norms) {
        // The sums in another order: f32 rounding apart (1e-6 relative seen on CubeCL).
        assert!((a - b).abs() <= 1e-5 * a, "norms {a} and {b}");
    }
}

/// A gradient for every trainable parameter, a fixed function of its value (`0.1 w + 0.01`).
fn grads_of(model: &Llama) -> GradientsParams {
    struct Grads(GradientsParams);
    impl ModuleVisitor for Grads {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            if value.is_require_grad() {
                let grad = value.inner().mul_scalar(0.1).add_scalar(0.01);
                self.0.register(param.id, grad);
            }
        }
    }
    let mut grads = Grads(GradientsParams::new());
    model.visit(&mut grads);
    grads.0
}

/// Four AdamW steps on the tiny model, each in its layout; where the layout changes, the
/// optimizer is rebuilt from its saved state (as a checkpoint resumed elsewhere).
fn four_steps(layouts: [UpdateLayout; 4]) -> Vec<f32> {
    let device = super::device();
    let mut m = model(5).train();
    let config = |layout| AdamWConfig {
        weight_decay: 0.01,
        layout,
        ..AdamWConfig::default()
    };
    let mut optim = AdamW::new(config(layouts[0]));
    for (i, &layout) in layouts.iter().enumerate() {
        if layout != optim.layout() {
            let (step, saved) = optim.to_weights().unwrap();
            assert_eq!(step, i as u64);
            optim = AdamW::from_weights(config(layout), step, &saved, &device).unwrap();
        }
        let grads = grads_of(&m);
        m = optim.step(1e-2, m, grads);
    }
    weights(&m)
}

#[test]
fn a_saved_state_resumes_into_the_other_layout() {
    use UpdateLayout::{Buckets, PerTensor};
    let _rng = serial();
    let per_tensor = four_steps([PerTensor; 4]);
    assert!(max_difference(&per_tensor, &weights(&model(5))) > 1e-3);
    for layouts in [
        [Buckets; 4],
        [Buckets, Buckets, PerTensor, PerTensor],
        [PerTensor, PerTensor, Buckets, Buckets],
    ] {
        let diff = max_difference(&per_tensor, &four_steps(layouts));
        assert!(diff <= 1e-6, "{layouts:?}: max weight difference {diff}");
    }
}

#[test]
fn a_state_with_one_moment_of_a_tensor_is_refused_naming_it() {
    // The random model draws from the device's shared generator: one test at a time.
    let _rng = serial();
    let device = super::device();
    let mut m = model(5).train();
    let mut optim = AdamW::new(AdamWConfig::default());
    let grads = grads_of(&m);
    m = optim.step(1e-2, m, grads);
    drop(m);
    let (step, mut saved) = optim.to_weights().unwrap();
    saved.tensors.remove("v.0");
    let err = AdamW::from_weights(AdamWConfig::default(), step, &saved, &device).unwrap_err();
    assert!(
        err.to_string()
            .contains("optimizer tensor 0 has one moment"),
        "{err}"
    );
}
