use serde_json::Value;
use srlm_judge::{average_ranks, judge_metrics, kendall_tau_b, spearman, RankedGroup};

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn correlations_equal_scipy() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/judge/correlations.json"
    );
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(cases.len(), 40);
    for (i, case) in cases.iter().enumerate() {
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        assert_eq!(average_ranks(&x), floats(&case["ranks_x"]), "case {i}");
        for (got, want) in [
            (spearman(&x, &y), &case["spearman"]),
            (kendall_tau_b(&x, &y), &case["kendall_tau_b"]),
        ] {
            match want.as_f64() {
                Some(w) => assert!((got.unwrap() - w).abs() < 1e-9, "case {i}: {got:?} vs {w}"),
                None => assert!(got.is_none(), "case {i}"),
            }
        }
    }
}

#[test]
fn paper_metrics_on_hand_computed_groups() {
    let groups = vec![
        // Judge agrees fully: 3 pairs right, best scored 5, exact match, rho = tau = 1.
        RankedGroup {
            ranks: vec![0.0, 1.0, 2.0],
            scores: vec![Some(5.0), Some(3.0), Some(1.0)],
        },
        // Judge ties the top two (wrong on that pair), right on the other two; best got 4.
        RankedGroup {
            ranks: vec![0.0, 1.0, 2.0],
            scores: vec![Some(4.0), Some(4.0), Some(2.0)],
        },
        // Reversed: 0 of 1 pair; an unjudged response is dropped (no exact match possible).
        RankedGroup {
            ranks: vec![0.0, 1.0, 2.0],
            scores: vec![Some(1.0), Some(2.0), None],
        },
    ];
    let m = judge_metrics(&groups, 5.0);
    assert_eq!(m.pairs, 7);
    assert!((m.pairwise_accuracy.unwrap() - 5.0 / 7.0).abs() < 1e-12);
    // One response scored 5 (group 1's best): 1 of 1.
    assert_eq!((m.five_best_pct, m.top_scored), (Some(100.0), 1));
    assert!(
        (m.exact_match_pct.unwrap() - 50.0).abs() < 1e-9,
        "2 fully judged groups, 1 exact"
    );
    // Per-group rho: 1, spearman([4,4,2],[0,-1,-2]) = 0.8660254..., -1; mean over 3.
    let rho2 = spearman(&[4.0, 4.0, 2.0], &[0.0, -1.0, -2.0]).unwrap();
    assert!((rho2 - 0.866_025_403_784_438_6).abs() < 1e-12);
    assert!((m.spearman.unwrap() - (1.0 + rho2 - 1.0) / 3.0).abs() < 1e-12);
    let tau2 = kendall_tau_b(&[4.0, 4.0, 2.0], &[0.0, -1.0, -2.0]).unwrap();
    assert!(
        (tau2 - 2.0 / 6f64.sqrt()).abs() < 1e-12,
        "tau-b: (2-0)/sqrt(2*3)"
    );
    assert!((m.kendall_tau.unwrap() - (1.0 + tau2 - 1.0) / 3.0).abs() < 1e-12);
    assert_eq!(m.correlated_groups, 3);
}

#[test]
fn five_best_is_the_share_of_top_scores_that_are_the_best() {
    // The paper: "how often the responses that the model scores a perfect 5 out of 5 are rated
    // as the highest ranked" — P(best | 5). A judge giving 5 to everything must not score 100 %.
    let generous = vec![
        RankedGroup {
            ranks: vec![0.0, 1.0, 2.0],
            scores: vec![Some(5.0), Some(5.0), Some(5.0)],
        },
        RankedGroup {
            ranks: vec![0.0, 1.0],
            scores: vec![Some(4.6), Some(4.9)],
        },
    ];
    let m = judge_metrics(&generous, 5.0);
    // Five responses scored 5 (4.6 and 4.9 round to 5); two of them are their group's best.
    assert_eq!(m.top_scored, 5);
    assert!((m.five_best_pct.unwrap() - 40.0).abs() < 1e-9);
    // Tied best ranks: either counts as the highest ranked.
    let tied = vec![RankedGroup {
        ranks: vec![0.0, 0.0, 1.0],
        scores: vec![Some(5.0), Some(5.0), Some(2.0)],
    }];
    assert_eq!(judge_metrics(&tied, 5.0).five_best_pct, Some(100.0));
}

#[test]
fn metrics_with_nothing_to_count_are_none_not_zero() {
    let unparsed = vec![RankedGroup {
        ranks: vec![0.0, 1.0, 2.0],
        scores: vec![None, None, None],
    }];
    let m = judge_metrics(&unparsed, 5.0);
    assert_eq!(
        (
            m.pairwise_accuracy,
            m.five_best_pct,
            m.exact_match_pct,
            m.spearman,
            m.kendall_tau
        ),
        (None, None, None, None, None)
    );
    assert_eq!((m.groups, m.pairs, m.top_scored), (1, 0, 0));
    // A judge that is always wrong has accuracy 0, which is a number.
    let wrong = vec![RankedGroup {
        ranks: vec![0.0, 1.0],
        scores: vec![Some(1.0), Some(3.0)],
    }];
    assert_eq!(judge_metrics(&wrong, 5.0).pairwise_accuracy, Some(0.0));
}

#[test]
fn pairwise_orders_and_ties() {
    use srlm_judge::{combine, parse_verdict, PairOutcome, Verdict};
    assert_eq!(
        parse_verdict("blah [[A]] ... final: [[B]]"),
        Some(Verdict::Second)
    );
    assert_eq!(parse_verdict("no verdict"), None);
    assert_eq!(
        combine(Some(Verdict::First), Some(Verdict::Second)),
        PairOutcome::Win
    );
    assert_eq!(
        combine(Some(Verdict::Second), Some(Verdict::First)),
        PairOutcome::Loss
    );
    // Position bias: the judge always prefers the first-shown answer -> disagreement -> tie.
    assert_eq!(
        combine(Some(Verdict::First), Some(Verdict::First)),
        PairOutcome::Tie
    );
    assert_eq!(
        combine(Some(Verdict::Tie), Some(Verdict::Second)),
        PairOutcome::Tie
    );
    assert_eq!(combine(None, Some(Verdict::Second)), PairOutcome::Unparsed);
    assert_eq!(combine(Some(Verdict::First), None), PairOutcome::Unparsed);
}

/// A judge that always prefers the answer that mentions "good", whatever its position, or
/// (when `biased`) always the first-shown one.
struct Fake {
    biased: bool,
    seen: Vec<String>,
}

impl srlm_judge::TextGenerator for Fake {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        _: &srlm_judge::GenerationConfig,
    ) -> Result<Vec<Vec<srlm_judge::Completion>>, srlm_judge::GenerationError> {
        self.seen.extend(prompts.iter().cloned());
        Ok(prompts
            .iter()
            .map(|p| {
                let a_start = p.find("[The Start of Assistant A's Answer]").unwrap();
                let b_start = p.find("[The Start of Assistant B's Answer]").unwrap();
                let a_good = p[a_start..b_start].contains("good");
                let verdict = if self.biased || a_good {
                    "[[A]]"
                } else {
                    "[[B]]"
                };
                vec![
                    srlm_judge::Completion {
                        text: format!("Reasoning... {verdict}"),
                        truncated: false
                    };
                    n
                ]
            })
            .collect())
    }
}

#[test]
fn judge_pairs_asks_both_orders() {
    use srlm_judge::{default_judge_sampling, judge_pairs, PairItem, PairOutcome};
    let items = vec![
        PairItem {
            prompt: "q1".into(),
            a: "a good answer".into(),
            b: "a bad answer".into(),
        },
        PairItem {
            prompt: "q2".into(),
            a: "meh".into(),
            b: "good stuff".into(),
        },
    ];
    let mut fair = Fake {
        biased: false,
        seen: vec![],
    };
    assert_eq!(
        judge_pairs(&mut fair, &items, &default_judge_sampling()).unwrap(),
        vec![PairOutcome::Win, PairOutcome::Loss]
    );
    assert_eq!(fair.seen.len(), 4);
    assert!(fair.seen[0].find("a good answer") < fair.seen[0].find("a bad answer"));
    assert!(
        fair.seen[1].find("a bad answer") < fair.seen[1].find("a good answer"),
        "second order swaps A and B"
    );
    let mut biased = Fake {
        biased: true,
        seen: vec![],
    };
    assert_eq!(
        judge_pairs(&mut biased, &items, &default_judge_sampling()).unwrap(),
        vec![PairOutcome::Tie, PairOutcome::Tie]
    );
}

#[test]
fn unjudged_pairs_count_as_wrong_in_the_strict_accuracy_and_apart() {
    // Reference ranks 0 < 1 < 2 (best first) and one tie at rank 1; the judge scores the best
    // and the worst correctly and leaves one rank-1 response unscored.
    let groups = [RankedGroup {
        ranks: vec![0.0, 1.0, 1.0, 2.0],
        scores: vec![Some(4.0), None, Some(3.0), Some(1.0)],
    }];
    let m = judge_metrics(&groups, 5.0);
    // Judged pairs with different ranks: (0,2), (0,3), (2,3) — all agree.
    assert_eq!(m.pairs, 3);
    assert_eq!(m.pairwise_accuracy, Some(1.0));
    // Pairs touching the unscored response with a different rank: (0,1), (1,3); (1,2) tie.
    assert_eq!(m.unjudged_pairs, 2);
    assert_eq!(m.pairwise_accuracy_all, Some(3.0 / 5.0));
    let none = [RankedGroup {
        ranks: vec![0.0, 1.0],
        scores: vec![None, None],
    }];
    let m = judge_metrics(&none, 5.0);
    assert_eq!((m.pairs, m.unjudged_pairs), (0, 1));
    assert_eq!(m.pairwise_accuracy, None);
    assert_eq!(m.pairwise_accuracy_all, Some(0.0));
}
