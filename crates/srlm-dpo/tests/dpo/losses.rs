//! The losses and metrics against TRL's formulas (fixture by `tools/fixtures/dpo_losses.py`) and
//! against hand-computed closed forms.

use serde_json::Value;
use srlm_dpo::{dpo_losses, rpo_term, DpoConfig, DpoLossType, DpoMetrics, PairLogps, Schedule};

use super::{floats, host, t};

fn batch_loss(
    config: &DpoConfig,
    pc: &[f32],
    pr: &[f32],
    rc: &[f32],
    rr: &[f32],
    nc: &[f32],
    nr: &[f32],
) -> (Vec<f32>, f64) {
    let losses = host(dpo_losses(
        config,
        PairLogps {
            policy_chosen: t(pc),
            policy_rejected: t(pr),
            reference_chosen: t(rc),
            reference_rejected: t(rr),
            chosen_tokens: t(nc),
            rejected_tokens: t(nr),
        },
    ));
    let mut mean = losses.iter().map(|&v| f64::from(v)).sum::<f64>() / losses.len() as f64;
    if let Some(alpha) = config.rpo_alpha {
        let tokens = nc.iter().map(|&v| v as usize).sum();
        mean += f64::from(host(rpo_term(alpha, t(pc), tokens))[0]);
    }
    (losses, mean)
}

#[test]
fn losses_and_metrics_equal_trl_formulas() {
    let path = super::fixtures().join("dpo/losses.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let config = DpoConfig {
            beta: case["beta"].as_f64().unwrap(),
            loss_type: serde_json::from_value(case["loss_type"].clone()).unwrap(),
            label_smoothing: case["label_smoothing"].as_f64().unwrap(),
            rpo_alpha: case["rpo_alpha"].as_f64(),
        };
        let [pc, pr, rc, rr, nc, nr] = [
            "policy_chosen",
            "policy_rejected",
            "reference_chosen",
            "reference_rejected",
            "chosen_tokens",
            "rejected_tokens",
        ]
        .map(|k| floats(&case[k]));
        let (losses, mean) = batch_loss(&config, &pc, &pr, &rc, &rr, &nc, &nr);
        for (got, want) in losses.iter().zip(floats(&case["losses"])) {
            // 1e-6, relative above 1 (f32 holds ~7 significant digits).
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {got} vs {want}"
            );
        }
        let want = case["loss"].as_f64().unwrap();
        assert!(
            (mean - want).abs() <= 1e-6 * want.abs().max(1.0),
            "{name}: loss {mean} vs {want}"
        );
        let metrics = serde_json::to_value(DpoMetrics::compute(
            config.beta,
            mean,
            (&pc, &pr),
            (&rc, &rr),
        ))
        .unwrap();
        for (key, want) in case["metrics"].as_object().unwrap() {
            let got = metrics[key].as_f64().unwrap();
            assert!(
                (got - want.as_f64().unwrap()).abs() < 1e-6,
                "{name} {key}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn closed_forms_by_hand() {
    let sigmoid = DpoConfig::default();
    // Δ = (−10 − −12) − (−20 − −18) = 4 → −log σ(0.4) = log(1 + e^−0.4) = 0.513015...
    let (losses, _) = batch_loss(
        &sigmoid,
        &[-10.0],
        &[-20.0],
        &[-12.0],
        &[-18.0],
        &[1.0],
        &[1.0],
    );
    assert!((losses[0] - (1.0f32 + (-0.4f32).exp()).ln()).abs() < 1e-6);
    // Equal policy and reference: ln 2 for every pair.
    let (losses, _) = batch_loss(
        &sigmoid,
        &[-3.0, -7.0],
        &[-9.0, -1.0],
        &[-3.0, -7.0],
        &[-9.0, -1.0],
        &[2.0, 2.0],
        &[3.0, 3.0],
    );
    assert!(losses
        .iter()
        .all(|l| (l - std::f32::consts::LN_2).abs() < 1e-6));
    // Hinge at β Δ = 1 is 0; at Δ = 0 it is 1.
    let hinge = DpoConfig {
        loss_type: DpoLossType::Hinge,
        ..DpoConfig::default()
    };
    let (losses, _) = batch_loss(
        &hinge,
        &[0.0, 0.0],
        &[-10.0, 0.0],
        &[0.0, 0.0],
        &[0.0, 0.0],
        &[1.0; 2],
        &[1.0; 2],
    );
    assert_eq!(losses, vec![0.0, 1.0]);
    // IPO: ratios 4/2 − (−2)/4 = 2.5; (2.5 − 5)² = 6.25.
    let ipo = DpoConfig {
        loss_type: DpoLossType::Ipo,
        ..DpoConfig::default()
    };
    let (losses, _) = batch_loss(&ipo, &[-6.0], &[-12.0], &[-10.0], &[-10.0], &[2.0], &[4.0]);
    assert!((losses[0] - 6.25).abs() < 1e-5, "{losses:?}");
    // cDPO at Δ = 0 is still ln 2 (both terms equal).
    let cdpo = DpoConfig {
        label_smoothing: 0.25,
        ..DpoConfig::default()
    };
    let (losses, _) = batch_loss(&cdpo, &[-1.0], &[-1.0], &[-1.0], &[-1.0], &[1.0], &[1.0]);
    assert!((losses[0] - std::f32::consts::LN_2).abs() < 1e-6);
    // Metrics by hand: rewards 0.1·(2, −1) and 0.1·(−1, 1).
    let m = DpoMetrics::compute(
        0.1,
        0.5,
        (&[-8.0, -4.0], &[-6.0, -5.0]),
        (&[-10.0, -3.0], &[-5.0, -6.0]),
    );
    assert!((m.rewards_chosen - 0.05).abs() < 1e-12);
    assert!((m.rewards_rejected - 0.0).abs() < 1e-12);
    assert!((m.rewards_margins - 0.05).abs() < 1e-12);
    assert!((m.rewards_accuracies - 0.5).abs() < 1e-12);
    assert!((m.logps_chosen + 6.0).abs() < 1e-12);
}

#[test]
fn invalid_settings_are_errors() {
    assert!(DpoConfig {
        beta: 0.0,
        ..DpoConfig::default()
    }
    .validate()
    .is_err());
    assert!(DpoConfig {
        label_smoothing: 0.5,
        ..DpoConfig::default()
    }
    .validate()
    .is_err());
    assert!(DpoConfig {
        loss_type: DpoLossType::Hinge,
        label_smoothing: 0.1,
        ..DpoConfig::default()
    }
    .validate()
    .is_err());
}

#[test]
fn schedule_warms_up_then_decays_by_cosine() {
    let s = Schedule {
        peak: 1e-3,
        last: 1e-4,
        warmup: 4,
        total: 14,
    };
    assert!((s.lr(0) - 2.5e-4).abs() < 1e-15);
    assert!((s.lr(3) - 1e-3).abs() < 1e-15);
    assert!((s.lr(4) - 1e-3).abs() < 1e-15, "cosine starts at the peak");
    // Halfway through the decay (step 4 + 4.5): last + (peak − last)/2.
    let mid = Schedule {
        peak: 1e-3,
        last: 1e-4,
        warmup: 0,
        total: 3,
    };
    assert!((mid.lr(1) - 5.5e-4).abs() < 1e-15);
    assert!((s.lr(13) - 1e-4).abs() < 1e-15, "ends at the final rate");
    assert!((1..14).all(|k| k < 4 || s.lr(k) <= s.lr(k - 1)));
}
