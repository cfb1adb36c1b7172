//! Training with LoRA adapters: DPO learns through the adapters alone (the frozen weights stay
//! bit-identical, checkpoints hold only the adapters), and a resumed LoRA run ends where an
//! uninterrupted one does.

use std::ops::ControlFlow;

use srlm_dpo::{compute_reference_logps, train, DpoConfig, DpoObjective, SftObjective};
use srlm_model::lora::peft;
use srlm_model::{Llama, LoraConfig};

use crate::training::{config, ex, model, pairs, quick, run, serial, weights};

/// Every weight the adapters leave alone: the bases of the projections and the rest.
fn frozen(m: &Llama) -> Vec<f32> {
    let mut values = Vec::new();
    let mut push = |t: srlm_model::burn::tensor::Tensor<2>| {
        values.extend(t.into_data().try_to_vec::<f32>().unwrap());
    };
    push(m.embed.weight.val());
    for layer in &m.layers {
        let (a, f) = (&layer.attention, &layer.mlp);
        for linear in [&a.q, &a.k, &a.v, &a.o, &f.gate, &f.up, &f.down] {
            push(linear.weight.base());
        }
        push(layer.input_norm.weight.val().unsqueeze());
    }
    values
}

#[test]
fn dpo_with_lora_learns_through_the_adapters_alone() {
    let _rng = serial();
    let base = model(2);
    let before = frozen(&base);
    let pairs = pairs();
    let logps = compute_reference_logps(&base, &pairs, 0, 256).unwrap();
    let objective = DpoObjective::new(pairs, logps, DpoConfig::default(), 0).unwrap();
    let mut c = quick(40, 1e-2);
    c.lora = Some(LoraConfig::new(4));
    let dir = tempfile::tempdir().unwrap();
    let (trained, seen) = run(base.clone(), &objective, &c, dir.path());
    let (first, last) = (seen[0].objective, seen.last().unwrap().objective);
    assert!(
        (first.loss - std::f64::consts::LN_2).abs() < 1e-5,
        "B = 0 at the start"
    );
    assert!(last.rewards_accuracies >= 0.9, "{last:?}");
    // Rank 4 on a 32-wide model moves less than every weight does (> 1.0 there).
    assert!(
        last.rewards_margins > first.rewards_margins + 0.3,
        "{first:?} -> {last:?}"
    );
    assert!(last.loss < 0.6, "{last:?}");
    assert!(trained.lora_parameters() > 0);
    assert_eq!(frozen(&trained), before, "frozen weights bit-identical");
    // The merged model differs from the base: the adapters carry what was learned.
    assert_ne!(weights(&trained.merge_lora()), weights(&base));
    let step = dir.path().join("checkpoints/step-40");
    assert!(step.join(peft::WEIGHTS_FILE).exists());
    assert!(
        !step.join("model.safetensors").exists(),
        "only the adapters"
    );
}

#[test]
fn a_resumed_lora_run_ends_with_the_same_adapters() {
    let _rng = serial();
    let sft = SftObjective {
        examples: (0..10u32)
            .map(|i| ex(&[1 + i, 2 + i], &[5 + i, 6, 7 + i % 3]))
            .collect(),
        pad_id: 0,
    };
    let mut c = quick(6, 3e-3);
    c.batch_size = 3;
    c.epochs = 3;
    c.checkpoint_every = Some(2);
    c.lora = Some(LoraConfig {
        dropout: 0.1,
        ..LoraConfig::new(4)
    });
    let whole = tempfile::tempdir().unwrap();
    let (a, _) = run(model(5), &sft, &c, whole.path());
    let parts = tempfile::tempdir().unwrap();
    let stop = |s: &srlm_dpo::StepMetrics<_>| {
        if s.step == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut stop = stop;
    train(model(5), &config(), &sft, None, &c, parts.path(), &mut stop).unwrap();
    let out = train(
        model(5),
        &config(),
        &sft,
        None,
        &c,
        parts.path(),
        &mut |_| ControlFlow::Continue(()),
    )
    .unwrap();
    assert_eq!(out.resumed_from, 2);
    let (wa, wb) = (a.lora_weights().unwrap(), out.model.lora_weights().unwrap());
    assert_eq!(wa.tensors.len(), 2 * 7 * 2);
    for (name, t) in &wa.tensors {
        let diff = t
            .data
            .iter()
            .zip(&wb.tensors[name].data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(diff <= 1e-6, "{name}: {diff}");
    }
}

#[test]
fn layer_checkpointing_trains_as_the_plain_backward_pass_does() {
    let _rng = serial();
    let base = model(4);
    let pairs = pairs();
    let logps = compute_reference_logps(&base, &pairs, 0, 256).unwrap();
    let objective = DpoObjective::new(pairs, logps, DpoConfig::default(), 0).unwrap();
    for lora in [None, Some(LoraConfig::new(4))] {
        let mut c = quick(5, 1e-2);
        c.lora = lora.clone();
        let plain = tempfile::tempdir().unwrap();
        let (a, seen_a) = run(base.clone(), &objective, &c, plain.path());
        c.checkpointing = true;
        let checkpointed = tempfile::tempdir().unwrap();
        let (b, seen_b) = run(base.clone(), &objective, &c, checkpointed.path());
        for (x, y) in seen_a.iter().zip(&seen_b) {
            assert!(
                (x.loss - y.loss).abs() < 1e-5,
                "{lora:?}: {} vs {}",
                x.loss,
                y.loss
            );
            let norm = (x.grad_norm - y.grad_norm).abs() / x.grad_norm;
            assert!(
                norm < 1e-4,
                "{lora:?}: grad norm {} vs {}",
                x.grad_norm,
                y.grad_norm
            );
        }
        let diff = weights(&a.merge_lora())
            .iter()
            .zip(weights(&b.merge_lora()))
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(diff < 1e-5, "{lora:?}: weights differ by {diff}");
    }
    // Dropout would draw other masks in the recomputation: refused.
    let mut c = quick(1, 1e-2);
    c.checkpointing = true;
    c.dropout = 0.1;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("checkpointing needs dropout 0"), "{err}");
}
