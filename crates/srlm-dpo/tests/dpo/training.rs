//! Training on tiny random models: memorisation, preference learning (DPO, SimPO, ORPO),
//! freezing, exact resume, the trainer driven step by step,
//! the reference cache, a finite-difference gradient check, and the non-finite stop.

use std::cell::Cell;
use std::ops::ControlFlow;

use srlm_data::{EncodedExample, EncodedPair};
use srlm_dpo::{
    cached_reference_logps, compute_reference_logps, data_hash, train, weights_hash, CacheOutcome,
    Checkpoint, DpoConfig, DpoObjective, Objective, OrpoConfig, OrpoObjective, SftObjective,
    SimpoConfig, SimpoObjective, StepMetrics, TrainConfig, TrainError, Trainer,
};
use srlm_model::burn::module::Module;
use srlm_model::burn::optim::GradientsParams;
use srlm_model::{sequence_logprobs, Llama, LlamaConfig, PromptResponse};

/// burn's flex backend keeps one process-wide RNG (`Backend::seed` sets a global), so tests that
/// draw random numbers (random models, dropout) run one at a time.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn config() -> LlamaConfig {
    LlamaConfig::tiny(32, 32, 2, 4, 2)
}

pub(crate) fn model(seed: u64) -> Llama {
    Llama::random(&config(), &super::device(), seed).unwrap()
}

pub(crate) fn ex(prompt: &[u32], response: &[u32]) -> EncodedExample {
    EncodedExample {
        prompt: prompt.to_vec(),
        response: response.to_vec(),
        truncated: false,
    }
}

pub(crate) fn quick(steps: usize, lr: f64) -> TrainConfig {
    TrainConfig {
        peak_lr: lr,
        final_lr: lr,
        warmup_steps: 0,
        epochs: 10_000,
        max_steps: Some(steps),
        batch_size: 4,
        micro_batch_tokens: 32,
        max_grad_norm: None,
        dropout: 0.0,
        ..TrainConfig::default()
    }
}

pub(crate) fn run<O: Objective>(
    m: Llama,
    objective: &O,
    c: &TrainConfig,
    dir: &std::path::Path,
) -> (Llama, Vec<StepMetrics<O::Metrics>>) {
    let mut seen = Vec::new();
    let out = train(m, &config(), objective, None, c, dir, &mut |s| {
        seen.push(s.clone());
        ControlFlow::Continue(())
    })
    .unwrap();
    (out.model, seen)
}

pub(crate) fn weights(m: &Llama) -> Vec<f32> {
    m.to_weights()
        .unwrap()
        .tensors
        .into_values()
        .flat_map(|t| t.data)
        .collect()
}

#[test]
fn sft_memorises_a_tiny_set() {
    let _rng = serial();
    let sft = SftObjective {
        examples: vec![
            ex(&[1, 2], &[3, 4, 5, 6]),
            ex(&[7, 8, 9], &[10, 11]),
            ex(&[12], &[13, 14, 15]),
            ex(&[16, 17], &[18, 19, 20, 21, 22]),
        ],
        pad_id: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, seen) = run(model(1), &sft, &quick(120, 1e-2), dir.path());
    let first = seen[0].loss;
    let last = seen.last().unwrap().loss;
    assert!(first > 2.0, "a random model starts near ln 32: {first}");
    assert!(last < 0.05, "loss {first} -> {last}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        120
    );
}

pub(crate) fn pairs() -> Vec<EncodedPair> {
    (0..16u32)
        .map(|i| {
            let prompt = vec![1 + i % 7, 2 + i % 5, 3 + (i * 3) % 11];
            EncodedPair {
                chosen: ex(&prompt, &[20, 21, 22]),
                rejected: ex(&prompt, &[25, 26, 27, 28]),
            }
        })
        .collect()
}

#[test]
fn dpo_learns_preferences_and_leaves_the_reference_untouched() {
    let _rng = serial();
    let reference = model(2);
    let before = weights_hash(&reference).unwrap();
    let pairs = pairs();
    let logps = compute_reference_logps(&reference, &pairs, 0, 256).unwrap();
    let objective = DpoObjective::new(pairs, logps, DpoConfig::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, seen) = run(reference.clone(), &objective, &quick(40, 1e-2), dir.path());
    let first = seen[0].objective;
    assert!(
        (first.loss - std::f64::consts::LN_2).abs() < 1e-5,
        "policy = reference: ln 2, got {}",
        first.loss
    );
    assert!(first.rewards_margins.abs() < 1e-5);
    let last = seen.last().unwrap().objective;
    assert!(last.rewards_accuracies >= 0.9, "{last:?}");
    assert!(
        last.rewards_margins > first.rewards_margins + 1.0,
        "{first:?} -> {last:?}"
    );
    assert_eq!(
        weights_hash(&reference).unwrap(),
        before,
        "the reference is bit-identical"
    );
}

/// The policy's summed log-probs of each pair's sides, `[chosen₀, rejected₀, chosen₁, …]`,
/// by the plain forward pass (not the objective under test).
fn pair_logprobs(policy: &Llama, pairs: &[EncodedPair]) -> Vec<srlm_model::ResponseLogprob> {
    let rows: Vec<PromptResponse> = pairs
        .iter()
        .flat_map(|p| {
            [
                p.chosen.to_prompt_response(),
                p.rejected.to_prompt_response(),
            ]
        })
        .collect();
    sequence_logprobs(policy, &rows, 0).unwrap()
}

/// −log σ(x).
fn sig(x: f64) -> f64 {
    -(1.0 / (1.0 + (-x).exp())).ln()
}

#[test]
fn dpo_uses_summed_not_averaged_logps() {
    let _rng = serial();
    let policy = model(3);
    let reference = model(4);
    let pairs = pairs()[..2].to_vec();
    let logps = compute_reference_logps(&reference, &pairs, 0, 256).unwrap();
    let objective =
        DpoObjective::new(pairs.clone(), logps.clone(), DpoConfig::default(), 0).unwrap();
    let (loss, _) = objective
        .loss(&policy, &[0, 1], objective.totals(&[0, 1]))
        .unwrap();
    let loss: f32 = loss.into_scalar();
    let pol = pair_logprobs(&policy, &pairs);
    let (mut summed, mut averaged) = (0.0, 0.0);
    for i in 0..2 {
        let (c, r) = (&pol[2 * i], &pol[2 * i + 1]);
        let d = f64::from(c.logprob - logps.chosen[i]) - f64::from(r.logprob - logps.rejected[i]);
        summed += sig(0.1 * d) / 2.0;
        let da = f64::from(c.logprob - logps.chosen[i]) / c.tokens as f64
            - f64::from(r.logprob - logps.rejected[i]) / r.tokens as f64;
        averaged += sig(0.1 * da) / 2.0;
    }
    assert!(
        (f64::from(loss) - summed).abs() < 1e-5,
        "{loss} vs summed {summed}"
    );
    assert!(
        (summed - averaged).abs() > 1e-3,
        "the test must tell sums from means: {summed} vs {averaged}"
    );
}

#[test]
fn micro_batch_losses_add_up_to_the_batch_loss_with_rpo() {
    let _rng = serial();
    let policy = model(5);
    let reference = model(6);
    // Chosen responses of different lengths, so a per-micro-batch token mean would differ.
    let mut pairs = pairs()[..3].to_vec();
    pairs[0].chosen.response = vec![20];
    pairs[2].chosen.response = vec![20, 21, 22, 23, 24, 25, 26];
    let logps = compute_reference_logps(&reference, &pairs, 0, 256).unwrap();
    let config = DpoConfig {
        rpo_alpha: Some(1.0),
        ..DpoConfig::default()
    };
    let objective = DpoObjective::new(pairs.clone(), logps.clone(), config, 0).unwrap();
    let totals = objective.totals(&[0, 1, 2]);
    let scalar = |items: &[usize]| -> f64 {
        let (l, _) = objective.loss(&policy, items, totals).unwrap();
        f64::from(l.into_scalar::<f32>())
    };
    let whole = scalar(&[0, 1, 2]);
    let split = scalar(&[0]) + scalar(&[1, 2]);
    assert!((whole - split).abs() < 1e-5, "{whole} vs {split}");
    // And the whole equals the closed form: mean sigmoid loss + α · (−Σ π_c / Σ |c|).
    let pol = pair_logprobs(&policy, &pairs);
    let (mut dpo, mut nll, mut tokens) = (0.0, 0.0, 0usize);
    for i in 0..3 {
        let (c, r) = (&pol[2 * i], &pol[2 * i + 1]);
        let d = f64::from(c.logprob - logps.chosen[i]) - f64::from(r.logprob - logps.rejected[i]);
        dpo += sig(0.1 * d) / 3.0;
        nll -= f64::from(c.logprob);
        tokens += c.tokens;
    }
    let expected = dpo + nll / tokens as f64;
    assert!((whole - expected).abs() < 1e-4, "{whole} vs {expected}");
}

#[test]
fn resumed_run_ends_with_the_same_weights() {
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
    c.dropout = 0.1; // the backend RNG must be reseeded identically on resume
    c.checkpoint_every = Some(2);
    c.max_grad_norm = Some(0.5);
    c.warmup_steps = 2;
    c.final_lr = 1e-4;
    let whole = tempfile::tempdir().unwrap();
    let (a, seen_a) = run(model(5), &sft, &c, whole.path());

    let parts = tempfile::tempdir().unwrap();
    let out = train(
        model(5),
        &config(),
        &sft,
        None,
        &c,
        parts.path(),
        &mut |s| {
            if s.step == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert!(out.stopped);
    // Step 3 was done but never checkpointed, as if killed: the rerun starts from step 2.
    let (b, seen_b) = {
        let mut seen = Vec::new();
        let out = train(
            model(99),
            &config(),
            &sft,
            None,
            &c,
            parts.path(),
            &mut |s| {
                seen.push(s.clone());
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        assert_eq!(out.resumed_from, 2);
        (out.model, seen)
    };
    assert_eq!(seen_b.first().unwrap().step, 3);
    let (wa, wb) = (weights(&a), weights(&b));
    let diff = wa
        .iter()
        .zip(&wb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(diff <= 1e-6, "max weight difference {diff}");
    assert!((seen_a.last().unwrap().loss - seen_b.last().unwrap().loss).abs() < 1e-6);
    let lines = std::fs::read_to_string(parts.path().join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        steps,
        vec![1, 2, 3, 4, 5, 6],
        "metrics of the lost step are not duplicated"
    );
}

#[test]
fn reference_cache_skips_the_forward_pass() {
    let _rng = serial();
    let reference = model(6);
    let pairs = pairs();
    let (wh, dh) = (weights_hash(&reference).unwrap(), data_hash(&pairs));
    let dir = tempfile::tempdir().unwrap();
    let runs = Cell::new(0);
    let compute = || {
        runs.set(runs.get() + 1);
        compute_reference_logps(&reference, &pairs, 0, 256)
    };
    let (first, outcome) =
        cached_reference_logps(Some(dir.path()), &wh, &dh, pairs.len(), compute).unwrap();
    assert_eq!((outcome, runs.get()), (CacheOutcome::Computed, 1));
    let compute = || {
        runs.set(runs.get() + 1);
        compute_reference_logps(&reference, &pairs, 0, 256)
    };
    let (second, outcome) =
        cached_reference_logps(Some(dir.path()), &wh, &dh, pairs.len(), compute).unwrap();
    assert_eq!(
        (outcome, runs.get()),
        (CacheOutcome::Hit, 1),
        "the reference did not run again"
    );
    assert_eq!(first, second);
    // Other data: another key, computed again.
    let other = data_hash(&pairs[..3]);
    assert_ne!(other, dh);
    let (_, outcome) = cached_reference_logps(Some(dir.path()), &wh, &other, 3, || {
        compute_reference_logps(&reference, &pairs[..3], 0, 256)
    })
    .unwrap();
    assert_eq!(outcome, CacheOutcome::Computed);
}

#[test]
fn dpo_gradient_matches_finite_differences() {
    let _rng = serial();
    let device = super::device();
    let reference = model(7);
    let pairs = pairs()[..3].to_vec();
    let logps = compute_reference_logps(&reference, &pairs, 0, 256).unwrap();
    let objective = DpoObjective::new(
        pairs,
        logps,
        DpoConfig {
            beta: 1.0,
            ..DpoConfig::default()
        },
        0,
    )
    .unwrap();
    let policy = model(8);
    let trained = policy.clone().train();
    let (loss, _) = objective
        .loss(&trained, &[0, 1, 2], objective.totals(&[0, 1, 2]))
        .unwrap();
    let grads = GradientsParams::from_grads(loss.backward(), &trained);
    let grad = grads
        .get::<2>(trained.embed.weight.id)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let loss_at = |index: usize, delta: f32| -> f64 {
        let mut w = policy.to_weights().unwrap();
        w.tensors.get_mut("model.embed_tokens.weight").unwrap().data[index] += delta;
        let m = Llama::from_weights(&config(), &mut w, &device).unwrap();
        let (l, _) = objective
            .loss(&m, &[0, 1, 2], objective.totals(&[0, 1, 2]))
            .unwrap();
        f64::from(l.into_scalar::<f32>())
    };
    let mut largest: Vec<usize> = (0..grad.len()).collect();
    largest.sort_by(|&a, &b| grad[b].abs().total_cmp(&grad[a].abs()));
    for &index in &largest[..5] {
        let h = 1e-2;
        let fd = (loss_at(index, h) - loss_at(index, -h)) / (2.0 * f64::from(h));
        let g = f64::from(grad[index]);
        assert!(
            (fd - g).abs() <= 0.02 * g.abs().max(1e-3),
            "element {index}: autodiff {g} vs finite difference {fd}"
        );
    }
}

/// Two examples in one batch at a rate of 1e30: step 1 is finite and its update makes the
/// weights NaN, so every later loss is NaN.
fn blowing_up() -> (SftObjective, TrainConfig) {
    let sft = SftObjective {
        examples: vec![ex(&[1, 2], &[3, 4]), ex(&[5], &[6, 7])],
        pad_id: 0,
    };
    let mut c = quick(5, 1e30);
    c.batch_size = 2;
    (sft, c)
}

#[test]
fn non_finite_loss_stops_with_step_and_batch() {
    let _rng = serial();
    let (sft, c) = blowing_up();
    let dir = tempfile::tempdir().unwrap();
    let err = train(model(9), &config(), &sft, None, &c, dir.path(), &mut |_| {
        ControlFlow::Continue(())
    })
    .unwrap_err();
    match &err {
        TrainError::NonFinite { step, examples, .. } => {
            assert!(*step >= 1);
            assert_eq!(examples.len(), 2);
        }
        other => panic!("expected a non-finite stop, got {other}"),
    }
    assert!(err.to_string().contains("not finite"), "{err}");
}

#[test]
fn non_finite_steps_are_skipped_and_counted_up_to_the_limit_then_stop() {
    let _rng = serial();
    let (sft, mut c) = blowing_up();
    c.max_skipped_steps = 2;
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let err = train(model(9), &config(), &sft, None, &c, dir.path(), &mut |m| {
        seen.push((m.step, m.skipped));
        ControlFlow::Continue(())
    })
    .unwrap_err();
    assert_eq!(seen, vec![(1, false), (2, true), (3, true)]);
    assert!(
        matches!(err, TrainError::NonFinite { step: 3, .. }),
        "{err}"
    );
    let text = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let lines: Vec<StepMetrics> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[1].skipped && !(lines[1].loss.is_finite() && lines[1].grad_norm.is_finite()));
    assert!(
        text.lines().nth(1).unwrap().contains("\"skipped\":true"),
        "{text}"
    );
    assert!(!text.lines().next().unwrap().contains("skipped"), "{text}");
}

#[test]
fn simpo_and_orpo_learn_preferences_through_the_same_trainer_without_a_reference() {
    let _rng = serial();
    let simpo = SimpoObjective::simpo(pairs(), SimpoConfig::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, seen) = run(model(2), &simpo, &quick(40, 1e-2), dir.path());
    let (first, last) = (seen[0].objective, seen.last().unwrap().objective);
    assert!(last.pairs.rewards_accuracies >= 0.9, "SimPO: {last:?}");
    assert!(
        last.pairs.rewards_margins > first.pairs.rewards_margins + 1.0,
        "SimPO: {first:?} -> {last:?}"
    );
    assert!(first.log_odds_ratio.is_none());
    let line = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let step: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert!(
        step["rewards/margins"].is_f64() && step["nll_loss"].is_f64(),
        "{step}"
    );

    let orpo = OrpoObjective::orpo(pairs(), OrpoConfig { beta: 0.5 }, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, seen) = run(model(2), &orpo, &quick(40, 1e-2), dir.path());
    let (first, last) = (seen[0].objective, seen.last().unwrap().objective);
    assert!(last.pairs.rewards_accuracies >= 0.9, "ORPO: {last:?}");
    // ORPO's NLL term pulls the chosen answers up: their mean log-prob rises.
    assert!(
        last.pairs.logps_chosen > first.pairs.logps_chosen + 0.5,
        "ORPO: {first:?} -> {last:?}"
    );
    assert!(last.log_odds_chosen.unwrap() > first.log_odds_chosen.unwrap());
}

#[test]
fn a_loop_driven_step_by_step_equals_train() {
    let _rng = serial();
    let sft = SftObjective {
        examples: (0..8u32).map(|i| ex(&[1 + i, 2], &[5 + i, 6, 7])).collect(),
        pad_id: 0,
    };
    let mut c = quick(4, 3e-3);
    c.batch_size = 3;
    c.dropout = 0.1;
    let whole = tempfile::tempdir().unwrap();
    let (a, seen_a) = run(model(7), &sft, &c, whole.path());

    let by_hand = tempfile::tempdir().unwrap();
    let mut trainer = Trainer::new(model(7), &config(), &sft, &c, by_hand.path()).unwrap();
    assert_eq!((trainer.total_steps(), trainer.steps_done()), (4, 0));
    let mut losses = Vec::new();
    while let Some(step) = trainer.step().unwrap() {
        trainer.log(&step).unwrap();
        losses.push(step.loss);
    }
    assert!(trainer.is_finished() && trainer.checkpoint_due());
    let saved = trainer.checkpoint().unwrap();
    assert_eq!(saved.state.step, 4);
    assert_eq!(Checkpoint::latest(by_hand.path()).unwrap(), Some(saved));
    let b = trainer.into_model();
    assert_eq!(losses, seen_a.iter().map(|s| s.loss).collect::<Vec<_>>());
    assert_eq!(weights(&a), weights(&b), "the same steps, bit for bit");
    // A new trainer in the same folder finds the run finished.
    let again = Trainer::new(model(8), &config(), &sft, &c, by_hand.path()).unwrap();
    assert_eq!((again.resumed_from(), again.is_finished()), (4, true));
}

/// Issue 41, finding 1: a DPO run stopped after a checkpoint and restarted with another loss,
/// beta or reference resumed silently into the other objective. The checkpoint now records the
/// objective's identity, and a resume that differs is refused naming the field.
#[test]
fn a_resume_into_another_objective_is_refused_naming_what_changed() {
    let _rng = serial();
    let reference = model(6);
    let logps = compute_reference_logps(&reference, &pairs(), 0, 256).unwrap();
    let dpo = |beta: f64, logps| {
        let config = DpoConfig {
            beta,
            ..DpoConfig::default()
        };
        DpoObjective::new(pairs(), logps, config, 0).unwrap()
    };
    let mut c = quick(4, 1e-3);
    c.checkpoint_every = Some(1);
    let dir = tempfile::tempdir().unwrap();
    let stop_after_two = &mut |s: &StepMetrics<_>| {
        if s.step == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let objective = dpo(0.1, logps.clone());
    train(
        model(5),
        &config(),
        &objective,
        None,
        &c,
        dir.path(),
        stop_after_two,
    )
    .unwrap();
    let refused = |err: TrainError, named: &str| {
        let text = err.to_string();
        assert!(
            text.contains("another objective") && text.contains(named),
            "{named}: {text}"
        );
    };
    let go_on = &mut |_: &StepMetrics<_>| ControlFlow::Continue(());
    // Another beta.
    let other_beta = dpo(50.0, logps.clone());
    let err = train(
        model(5),
        &config(),
        &other_beta,
        None,
        &c,
        dir.path(),
        go_on,
    )
    .unwrap_err();
    refused(err, "loss.config.beta: 0.1 → 50.0");
    // Another reference model: other log-probs.
    let other = compute_reference_logps(&model(7), &pairs(), 0, 256).unwrap();
    let err = train(
        model(5),
        &config(),
        &dpo(0.1, other),
        None,
        &c,
        dir.path(),
        go_on,
    )
    .unwrap_err();
    refused(err, "loss.reference_logps");
    // Another loss.
    let simpo = SimpoObjective::simpo(pairs(), SimpoConfig::default(), 0).unwrap();
    let go_on_simpo = &mut |_: &StepMetrics<_>| ControlFlow::Continue(());
    let err = train(
        model(5),
        &config(),
        &simpo,
        None,
        &c,
        dir.path(),
        go_on_simpo,
    )
    .unwrap_err();
    refused(err, "loss.objective: \"dpo\" → \"simpo\"");
    // Other pairs of the same count.
    let mut shifted = pairs();
    shifted[0].chosen.response[0] += 1;
    let moved = DpoObjective::new(shifted, logps.clone(), DpoConfig::default(), 0).unwrap();
    let err = train(model(5), &config(), &moved, None, &c, dir.path(), go_on).unwrap_err();
    refused(err, "pairs");
    // The same objective resumes.
    let out = train(model(5), &config(), &objective, None, &c, dir.path(), go_on).unwrap();
    assert_eq!(out.resumed_from, 2);
}
