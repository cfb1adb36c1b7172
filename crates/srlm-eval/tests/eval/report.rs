//! Per-iteration numbers, DPO curves and the written report, on a synthetic run folder.

use srlm_eval::{
    dpo_curves, iteration_stats, length_controlled, markdown, reference_answers, win_tie_loss,
    write_report, AnswerScores, EvalReport, JudgeQuality, Matchup, PairMethod,
};
use srlm_judge::{Completion, JudgeMetrics, Judgement, PairOutcome, ParseFailure, ParseStats};
use srlm_loop::{
    CandidateSet, JudgedResponse, JudgedSet, NewPrompt, RunConfig, RunDir, StageSummary,
};
use srlm_verifiable::InstructedPrompt;

fn judged(text: &str, samples: Vec<Result<f64, ParseFailure>>) -> JudgedResponse {
    JudgedResponse {
        response: text.into(),
        truncated: false,
        judgement: Judgement::from_samples(samples, Vec::new(), &Default::default()),
    }
}

/// Iteration 1: 2 prompts × 2 candidates (words 2, 4, 1, 3), 8 judge samples of which 6 parse,
/// 1 pair (chosen 4 words, rejected 2); DPO 2 steps. Iteration 2: no pair, DPO skipped.
fn synthetic_run(root: &std::path::Path) -> RunDir {
    let dir = RunDir::open(root, &RunConfig::quick()).unwrap();
    let set = |id: &str, a: &str, b: &str| CandidateSet {
        id: id.into(),
        prompt: format!("prompt {id}"),
        responses: [a, b]
            .iter()
            .map(|t| Completion {
                text: t.to_string(),
                // "one" was cut at the token limit.
                truncated: *t == "one",
            })
            .collect(),
    };
    let candidates = vec![
        set("a", "two words", "four words right here"),
        set("b", "one", "three words here"),
    ];
    dir.write_records(&dir.iteration(1, "candidates.jsonl"), &candidates)
        .unwrap();
    let judgements = vec![
        JudgedSet {
            id: "a".into(),
            prompt: "prompt a".into(),
            responses: vec![
                judged("two words", vec![Ok(1.0), Ok(2.0)]),
                judged("four words right here", vec![Ok(4.0), Ok(4.0)]),
            ],
        },
        JudgedSet {
            id: "b".into(),
            prompt: "prompt b".into(),
            responses: vec![
                JudgedResponse {
                    judgement: judged(
                        "one",
                        vec![Err(ParseFailure::NoScore), Err(ParseFailure::Truncated)],
                    )
                    .judgement
                    .with_truncated(1),
                    ..judged("one", Vec::new())
                },
                judged("three words here", vec![Ok(3.0), Ok(3.0)]),
            ],
        },
    ];
    dir.write_records(&dir.iteration(1, "judgements.jsonl"), &judgements)
        .unwrap();
    let pair = srlm_data::PreferenceRecord {
        prompt: "prompt a".into(),
        chosen: "four words right here".into(),
        rejected: "two words".into(),
        score_chosen: Some(4.0),
        score_rejected: Some(1.5),
        iteration: Some(1),
        judge_texts_chosen: Vec::new(),
        judge_texts_rejected: Vec::new(),
    };
    dir.write_records(&dir.iteration(1, "aift.jsonl"), &[pair])
        .unwrap();
    // Prompt a carried "fewer than 3 words": "two words" follows it, the chosen answer does not.
    let kwargs = serde_json::json!({"relation": "less than", "num_words": 3});
    let instructed = |id: &str, with: bool| NewPrompt {
        id: id.into(),
        prompt: format!("prompt {id}"),
        instructed: with.then(|| InstructedPrompt {
            key: id.into(),
            prompt: format!("prompt {id}"),
            instruction_id_list: vec!["length_constraints:number_words".into()],
            kwargs: vec![kwargs.as_object().unwrap().clone()],
            task: Some(format!("prompt {id}")),
        }),
    };
    dir.write_records(
        &dir.iteration(1, "prompts.jsonl"),
        &[instructed("a", true), instructed("b", false)],
    )
    .unwrap();
    let steps = vec![
        serde_json::json!({"step": 1, "loss": std::f64::consts::LN_2, "rewards/accuracies": 0.0, "rewards/margins": 0.0}),
        serde_json::json!({"step": 2, "loss": 0.5, "rewards/accuracies": 1.0, "rewards/margins": 0.4}),
    ];
    dir.write_records(&dir.iteration(1, "dpo/metrics.jsonl"), &steps)
        .unwrap();
    let held_out = serde_json::json!({
        "pairs": 3,
        "before": {"loss": std::f64::consts::LN_2, "reward_accuracy": 0.0, "reward_margin": 0.0, "reward_chosen": 0.0, "reward_rejected": 0.0},
        "after": {"loss": 0.6, "reward_accuracy": 2.0 / 3.0, "reward_margin": 0.25, "reward_chosen": 0.1, "reward_rejected": -0.15},
    });
    dir.record_summary(&StageSummary {
        iteration: 1,
        stage: "dpo".into(),
        wall_s: 1.0,
        resumed: false,
        stats: serde_json::json!({"pairs": 1, "held_out": held_out}),
    })
    .unwrap();
    dir.write_records::<CandidateSet>(&dir.iteration(2, "candidates.jsonl"), &[])
        .unwrap();
    dir.write_records::<JudgedSet>(&dir.iteration(2, "judgements.jsonl"), &[])
        .unwrap();
    dir.write_records::<srlm_data::PreferenceRecord>(&dir.iteration(2, "aift.jsonl"), &[])
        .unwrap();
    dir
}

#[test]
fn iteration_numbers_equal_hand_computed_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = synthetic_run(tmp.path());
    let its = iteration_stats(&dir).unwrap();
    assert_eq!(its.len(), 2);
    let one = &its[0];
    assert_eq!(one.candidate_words, [2, 4, 1, 3]);
    assert_eq!(one.mean_candidate_words, 2.5);
    assert_eq!(one.parse_rate, 0.75);
    // One candidate of four was cut; one judge text of eight.
    assert_eq!((one.candidate_cut_rate, one.judge_cut_rate), (0.25, 0.125));
    // Self-scores 1.5, 4 and 3 (the fourth unjudged).
    assert_eq!(one.mean_self_score, Some(8.5 / 3.0));
    assert_eq!(its[1].mean_self_score, None);
    // Means 1.5 → 2 (rounded half away from zero), 4, unjudged, 3.
    assert_eq!(
        one.score_histogram
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("2", 1), ("3", 1), ("4", 1)]
    );
    assert_eq!(
        (one.pairs, one.mean_chosen_words, one.mean_rejected_words),
        (1, 4.0, 2.0)
    );
    assert_eq!((its[1].pairs, its[1].prompts), (0, 0));
    assert_eq!((one.judge_samples, its[1].judge_samples), (8, 0));
    // The checks on prompt a: of its two candidates "two words" follows; the judge preferred
    // the other (4 over 1.5), and so did the pair.
    let check = one.self_reward.as_ref().unwrap();
    assert_eq!((check.prompts, check.candidates, check.pairs), (1, 2, 1));
    assert_eq!((check.following_all.hits, check.following_all.of), (1, 2));
    assert_eq!(
        (check.candidate_pairs.hits, check.candidate_pairs.of),
        (0, 1)
    );
    let more = &check.chosen_follows_more;
    assert_eq!((more.hits, more.of, more.rate), (0, 1, Some(0.0)));
    assert_eq!(its[1].self_reward, None);
    let curves = dpo_curves(&dir).unwrap();
    assert_eq!(curves.len(), 2);
    assert_eq!(curves[0].points.len(), 2);
    assert_eq!(
        (
            curves[0].points[1].loss,
            curves[0].points[1].accuracy,
            curves[0].points[1].margin
        ),
        (0.5, 1.0, 0.4)
    );
    assert!(curves[1].points.is_empty(), "iteration 2 skipped DPO");
    let held = curves[0].held_out.as_ref().unwrap();
    assert_eq!(held.pairs, 3);
    assert_eq!(held.after.unwrap().reward_margin, 0.25);
    assert!(curves[1].held_out.is_none());
}

#[test]
fn report_files_tables_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = synthetic_run(tmp.path());
    let outcomes = vec![
        PairOutcome::Win,
        PairOutcome::Win,
        PairOutcome::Tie,
        PairOutcome::Loss,
    ];
    let report = EvalReport {
        judge: vec![
            JudgeQuality {
                model: "M0".into(),
                set: "natural".into(),
                intervals: Default::default(),
                metrics: JudgeMetrics {
                    groups: 4,
                    ..Default::default()
                },
                parse: ParseStats {
                    samples: 12,
                    parsed: 3,
                    ..Default::default()
                },
                parse_rate: 0.25,
                chance_pairwise_accuracy: None,
                groups: Vec::new(),
            },
            JudgeQuality {
                model: "M1".into(),
                set: "natural".into(),
                intervals: srlm_eval::MetricIntervals {
                    pairwise_accuracy: Some(srlm_eval::Share {
                        value: 0.75,
                        low: 0.5,
                        high: 0.875,
                    }),
                    ..Default::default()
                },
                metrics: JudgeMetrics {
                    pairwise_accuracy: Some(0.75),
                    pairwise_accuracy_all: Some(0.6),
                    unjudged_pairs: 2,
                    five_best_pct: Some(50.0),
                    exact_match_pct: Some(50.0),
                    spearman: Some(0.6),
                    kendall_tau: Some(0.5),
                    groups: 4,
                    pairs: 8,
                    top_scored: 2,
                    correlated_groups: 3,
                },
                parse: ParseStats {
                    samples: 12,
                    parsed: 9,
                    truncated: 2,
                    ..Default::default()
                },
                parse_rate: 0.75,
                chance_pairwise_accuracy: Some(0.375),
                groups: Vec::new(),
            },
        ],
        head_to_head_judge: Some("M1".into()),
        head_to_head_method: Some(PairMethod::Pointwise),
        answer_scores: vec![
            AnswerScores {
                model: "M1".into(),
                prompts: "eval".into(),
                scores: vec![Some(3.0), Some(2.0), None, Some(2.5)],
            },
            AnswerScores {
                model: "reference".into(),
                prompts: "held_out".into(),
                scores: vec![None, None],
            },
        ],
        eval_prompts: 4,
        head_to_head: vec![Matchup {
            a: "M1".into(),
            b: "M0".into(),
            overall: win_tie_loss(&outcomes, 0),
            by_category: Default::default(),
            outcomes: outcomes.clone(),
            length_controlled: None,
        }],
        reference_prompts: 4,
        reference: vec![Matchup {
            a: "M1".into(),
            b: "reference".into(),
            overall: win_tie_loss(&outcomes, 0),
            by_category: Default::default(),
            length_controlled: length_controlled(
                &outcomes,
                &[("a", "bb"), ("ccc", "d"), ("ee", "ff"), ("g", "hhhh")],
                0,
            ),
            outcomes,
        }],
        iterations: iteration_stats(&dir).unwrap(),
        dpo: dpo_curves(&dir).unwrap(),
        ..Default::default()
    };
    let out = tmp.path().join("report");
    write_report(&out, &report).unwrap();
    for name in ["judge_quality", "win_rates", "lengths", "dpo_iter1"] {
        let svg = std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<text"),
            "{name}.svg"
        );
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
    }
    assert!(!out.join("dpo_iter2.svg").exists());
    assert!(std::fs::read_dir(&out).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".plots")));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md, markdown(&report));
    assert!(
        md.contains(
            "| M1 | natural | 0.750 [0.500, 0.875] (8) | 0.375 | 0.600 (2) | 50.0 | 50.0 | 0.600 | 0.500 (3) | 0.750 (9/12) | 0.167 | 4 |"
        ),
        "{md}"
    );
    // A model with nothing to count shows n/a and why, never 0.000.
    assert!(
        md.contains("| M0 | natural | n/a (no judged pair) (0) | n/a (no judged pair) | n/a (no pair) (0) | n/a (no response scored 5) | n/a (no fully judged group) | n/a (no group with two judged) | n/a (no group with two judged) (0) | 0.250 (3/12) | 0.000 | 4 |"),
        "{md}"
    );
    let w = &report.head_to_head[0].overall;
    let row = format!(
        "| M1 vs M0 | 50.0 % [{:.1}, {:.1}] | 25.0 % [{:.1}, {:.1}] | 25.0 % [{:.1}, {:.1}] | 4 |",
        100.0 * w.win.low,
        100.0 * w.win.high,
        100.0 * w.tie.low,
        100.0 * w.tie.high,
        100.0 * w.loss.low,
        100.0 * w.loss.high
    );
    assert!(md.contains(&row), "{md}");
    assert!(
        md.contains(
            "| 1 (M1) | 2 | 2.5 | 0.250 | 0.750 | 0.125 | 2.83 | 2: 1, 3: 1, 4: 1 | 1 | 4.0 | 2.0 |"
        ),
        "{md}"
    );
    assert!(md.contains("DPO of iteration 2 was skipped"));
    // Nothing judged in iteration 2: its rates are n/a, not 0.000.
    assert!(
        md.contains("| 2 (M2) | 0 | 0.0 | 0.000 | n/a (nothing judged) | n/a (nothing judged) |"),
        "{md}"
    );
    // Wilson intervals of 1/2 and 0/1 (scipy: [9.5, 90.5] and [0.0, 79.3] %).
    assert!(
        md.contains(
            "| 1 (M1) | 1 | 1/2 = 50.0 % [9.5, 90.5] | 0/1 = 0.0 % [0.0, 79.3] | 0 | 50.0 % | 1 | 0/1 = 0.0 % [0.0, 79.3] | 50.0 % | 0/1 = 0.0 % [0.0, 79.3] | 50.0 % |"
        ),
        "{md}"
    );
    // Pointwise: how the judge decided, and its mean score of each model's answers.
    assert!(
        md.contains("4 evaluation prompts; M1 scores each answer alone"),
        "{md}"
    );
    assert!(md.contains("| M1 | 2.50 | 3/4 |"), "{md}");
    assert!(
        md.contains("| reference | n/a (none scored) | 0/2 |"),
        "{md}"
    );
    // Against the reference: the section, its row with the raw rate (2 wins, a tie: 62.5 %).
    assert!(md.contains("## Against the reference answers"), "{md}");
    assert!(md.contains("| M1 vs reference | 50.0 % ["), "{md}");
    assert!(md.contains("| 0 | 62.5 % ["), "{md}");
    assert!(
        md.contains("On 3 held-out pairs")
            && md.contains("| after (M2) | 0.6000 | 0.667 | 0.2500 |"),
        "{md}"
    );
    assert!(md.contains("![judge quality](judge_quality.svg)"));
    let json: EvalReport =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json, report);
}

/// Reference answers are the held-out ladders' `original` rungs, one per prompt, in order.
#[test]
fn reference_answers_are_the_held_out_originals() {
    let record = |prompt: &str, response: &str, origin: &str| srlm_data::EftRecord {
        prompt: prompt.into(),
        response: response.into(),
        judgement: "Score: 4".into(),
        score: 4.0,
        origin: Some(origin.into()),
    };
    let held_out = vec![
        record("p1", "cut", "ladder:cut_one_third"),
        record("p1", "the answer to p1", "ladder:original"),
        record("p2", "the answer to p2", "ladder:original"),
        record("p2", "the answer to p2", "ladder:original"),
        record("p3", "the answer to p3", "ladder:original"),
    ];
    let (prompts, answers) = reference_answers(&held_out, 2);
    assert_eq!(
        prompts
            .iter()
            .map(|p| p.turns[0].as_str())
            .collect::<Vec<_>>(),
        ["p1", "p2"]
    );
    assert_eq!(answers.answers, ["the answer to p1", "the answer to p2"]);
    assert_eq!(answers.model, "reference");
    assert!(reference_answers(&held_out, 0).0.is_empty());
}
