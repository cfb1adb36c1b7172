//! The length-controlled win rate: its fit equals scipy's optimum of the same objective
//! (`tools/fixtures/lc_win_rate.py`), and it removes a judge's length preference.

use srlm_eval::{fit_length_model, length_controlled, length_features, RIDGE};
use srlm_judge::PairOutcome::{self, Loss, Tie, Win};

#[test]
fn the_fit_equals_scipys_optimum() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/eval/lc_win_rate.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(fixture["ridge"].as_f64().unwrap(), RIDGE);
    let numbers = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for (i, case) in cases.iter().enumerate() {
        let y = numbers(&case["outcomes"]);
        let x = length_features(&numbers(&case["delta"]));
        let (theta, phi) = fit_length_model(&y, &x);
        let want = (
            case["theta"].as_f64().unwrap(),
            case["phi"].as_f64().unwrap(),
        );
        assert!(
            (theta - want.0).abs() < 1e-5 && (phi - want.1).abs() < 1e-5,
            "case {i}: ({theta}, {phi}) vs scipy {want:?}"
        );
    }
}

fn text(chars: usize) -> String {
    "x".repeat(chars)
}

/// A judge that always prefers the longer answer, and A longer on 3 prompts in 4: the raw rate
/// is 75 %, the length coefficient large and positive, the length-controlled rate lower.
#[test]
fn a_judge_that_prefers_length_is_controlled_for() {
    let mut answers = Vec::new();
    let mut outcomes: Vec<PairOutcome> = Vec::new();
    for i in 0..40 {
        let (a, b) = if i % 4 == 3 {
            (100 + i, 300 + 7 * i)
        } else {
            (300 + 5 * i, 100 + i)
        };
        answers.push((text(a), text(b)));
        outcomes.push(if a > b { Win } else { Loss });
    }
    let pairs: Vec<(&str, &str)> = answers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let lc = length_controlled(&outcomes, &pairs, 0).unwrap();
    assert_eq!(lc.n, 40);
    assert_eq!(lc.raw.value, 0.75);
    assert!(lc.length_coefficient > 2.0, "{lc:?}");
    assert!(
        lc.controlled.value < lc.raw.value - 0.05,
        "length explains part of A's wins: {lc:?}"
    );
    assert!(lc.controlled.low <= lc.controlled.value && lc.controlled.value <= lc.controlled.high);
}

/// Without length differences the controlled rate is the raw one; unparsed verdicts are left
/// out; no verdict at all gives none.
#[test]
fn equal_lengths_give_the_raw_rate_and_unparsed_are_left_out() {
    let same = [("abc", "xyz"); 5];
    let outcomes = [Win, Win, Tie, Loss, PairOutcome::Unparsed];
    let lc = length_controlled(&outcomes, &same, 1).unwrap();
    assert_eq!(lc.n, 4);
    assert!((lc.raw.value - 0.625).abs() < 1e-12);
    assert!((lc.controlled.value - 0.625).abs() < 1e-3, "{lc:?}");
    assert!(length_controlled(&[PairOutcome::Unparsed], &same[..1], 1).is_none());
}
