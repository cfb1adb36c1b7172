//! SimPO and ORPO against TRL's own code (fixture by `tools/fixtures/reference_free_losses.py`,
//! which calls `CPOTrainer.cpo_loss` and `ORPOTrainer.odds_ratio_loss`): per-pair losses, the
//! batch loss as the objective composes it (whole and split into micro-batches), and the metrics.

use serde_json::Value;
use srlm_dpo::reference_free::{orpo_losses, simpo_losses};
use srlm_dpo::{
    BatchTotals, OrpoConfig, PairLoss, PairStats, PolicyPairs, ReferenceFreeMetrics, SimpoConfig,
};

use super::{floats, host, t};

/// 1e-6, relative above 1 (f32 holds ~7 significant digits).
fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: {got} vs TRL {want}"
    );
}

struct Case {
    name: String,
    loss_type: String,
    settings: Value,
    columns: [Vec<f32>; 4],
    case: Value,
}

fn cases() -> Vec<Case> {
    let path = super::fixtures().join("dpo/reference_free.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 6, "the fixture's cases");
    cases
        .iter()
        .map(|case| Case {
            name: case["name"].as_str().unwrap().to_string(),
            loss_type: case["loss_type"].as_str().unwrap().to_string(),
            settings: case["settings"].clone(),
            columns: [
                "policy_chosen",
                "policy_rejected",
                "chosen_tokens",
                "rejected_tokens",
            ]
            .map(|k| floats(&case[k])),
            case: case.clone(),
        })
        .collect()
}

/// The policy's side of pairs `range` of a case, as the objective's forward pass hands it over.
fn policy(columns: &[Vec<f32>; 4], range: std::ops::Range<usize>) -> PolicyPairs {
    let [pc, pr, nc, nr] = columns.clone().map(|c| c[range.clone()].to_vec());
    PolicyPairs {
        chosen: t(&pc),
        rejected: t(&pr),
        chosen_tokens: t(&nc),
        rejected_tokens: t(&nr),
        stats: PairStats {
            tokens: 0,
            policy_chosen: pc,
            policy_rejected: pr,
            reference_chosen: Vec::new(),
            reference_rejected: Vec::new(),
            chosen_tokens: nc,
            rejected_tokens: nr,
        },
    }
}

/// The batch loss composed by `loss` whole and over two micro-batches, and the metrics.
fn check_batch<L: PairLoss<Metrics = ReferenceFreeMetrics>>(loss: &L, c: &Case) {
    let n = c.columns[0].len();
    let batch = BatchTotals {
        items: n,
        response_tokens: c.columns[2].iter().map(|&v| v as usize).sum(),
    };
    let want = c.case["loss"].as_f64().unwrap();
    let (whole, stats) = loss.loss(policy(&c.columns, 0..n), &[], batch).unwrap();
    close(
        f64::from(host(whole)[0]),
        want,
        &format!("{}: batch loss", c.name),
    );
    let split: f64 = [0..2, 2..n]
        .into_iter()
        .map(|range| {
            let (part, _) = loss.loss(policy(&c.columns, range), &[], batch).unwrap();
            f64::from(host(part)[0])
        })
        .sum();
    close(split, want, &format!("{}: micro-batches", c.name));
    let metrics = serde_json::to_value(loss.metrics(want, &stats)).unwrap();
    let expected = c.case["metrics"].as_object().unwrap();
    assert_eq!(
        metrics.as_object().unwrap().len(),
        expected.len(),
        "{}: {metrics} vs {expected:?}",
        c.name
    );
    for (key, value) in expected {
        let got = metrics[key.as_str()].as_f64().unwrap_or(f64::NAN);
        close(got, value.as_f64().unwrap(), &format!("{}: {key}", c.name));
    }
}

#[test]
fn simpo_and_orpo_equal_trls_own_losses_and_metrics() {
    for c in cases() {
        let [pc, pr, nc, nr] = &c.columns;
        let average = |s: &[f32], l: &[f32]| t(s) / t(l);
        let trl = floats(&c.case["trl_losses"]);
        let beta = c.settings["beta"].as_f64().unwrap();
        match c.loss_type.as_str() {
            "simpo" => {
                let config = SimpoConfig {
                    beta,
                    gamma: c.settings["gamma"].as_f64().unwrap(),
                    label_smoothing: c.settings["label_smoothing"].as_f64().unwrap(),
                    nll_alpha: c.settings["nll_alpha"].as_f64().unwrap(),
                };
                let losses = host(simpo_losses(&config, average(pc, nc), average(pr, nr)));
                for (got, want) in losses.iter().zip(&trl) {
                    close(f64::from(*got), f64::from(*want), &c.name);
                }
                check_batch(&config, &c);
            }
            "orpo" => {
                let config = OrpoConfig { beta };
                // TRL returns β log σ(log odds) and subtracts its mean; ours is the loss term.
                let losses = host(orpo_losses(&config, average(pc, nc), average(pr, nr)));
                for (got, want) in losses.iter().zip(&trl) {
                    close(f64::from(*got), -f64::from(*want), &c.name);
                }
                check_batch(&config, &c);
            }
            other => panic!("{}: unknown loss {other}", c.name),
        }
    }
}

#[test]
fn orpo_stays_finite_for_a_response_the_policy_is_sure_of() {
    // Mean log-probs of −1e-4 (log(1 − eˣ) ≈ −9.2) and −3 (the other branch).
    let config = OrpoConfig { beta: 0.1 };
    let losses = host(orpo_losses(&config, t(&[-1e-4, -3.0]), t(&[-3.0, -1e-4])));
    assert!(losses.iter().all(|v| v.is_finite()), "{losses:?}");
    // log odds(−1e-4) − log odds(−3) = (−1e-4 + 3) − (log(1 − e^−1e-4) − log(1 − e^−3)).
    let log_odds = (-1e-4f64 + 3.0) - ((-(-1e-4f64).exp_m1()).ln() - (-(-3.0f64).exp()).ln_1p());
    let want = -0.1 * -(-log_odds).exp().ln_1p();
    close(f64::from(losses[0]), want, "sure chosen");
}

#[test]
fn settings_out_of_range_are_errors() {
    let bad_beta = SimpoConfig {
        beta: 0.0,
        ..SimpoConfig::default()
    };
    assert!(bad_beta.validate().is_err());
    let bad_smoothing = SimpoConfig {
        label_smoothing: 0.5,
        ..SimpoConfig::default()
    };
    assert!(bad_smoothing.validate().is_err());
    assert!(OrpoConfig { beta: f64::NAN }.validate().is_err());
    assert!(SimpoConfig::default().validate().is_ok());
}
