//! The EFT builders: the label-free ladder, the paper's ranked builder, thinning.

use std::collections::HashSet;

use srlm_data::eft::{
    agrees_with_ranks, build_ladder_sets, build_ladders, build_ranked_eft, score_histogram,
    thin_scores, LadderConfig,
};
use srlm_data::import::{import_sharegpt, ShareGptOptions};
use srlm_data::split::normalize_prompt;
use srlm_data::{BadLines, EftRecord, IftRecord, RankedAnswer, RankedPrompt};
use srlm_judge::{Judge, JudgeItem, Judgement, ParseFailure, ScoreParser};

use crate::common::root;

fn pair(i: usize, words: usize) -> IftRecord {
    let response = (0..words)
        .map(|w| format!("w{i}_{w}"))
        .collect::<Vec<_>>()
        .join(" ");
    IftRecord {
        prompt: format!("Prompt number {i}?"),
        response,
        source: None,
    }
}

fn rung(records: &[EftRecord], ladder: usize, k: usize) -> &EftRecord {
    &records[ladder * 5 + k]
}

#[test]
fn each_ladder_orders_its_rungs_by_construction() {
    let pairs: Vec<IftRecord> = (0..30).map(|i| pair(i, 60 + i)).collect();
    let (records, report) = build_ladders(&pairs, &LadderConfig::default()).unwrap();
    assert_eq!(report.ladders, 30);
    assert_eq!(records.len(), 150);
    assert_eq!(report.histogram, [30, 30, 30, 30, 30, 0]);
    let parser = ScoreParser::default();
    for (l, source) in pairs.iter().enumerate() {
        let scores: Vec<f64> = (0..5).map(|k| rung(&records, l, k).score).collect();
        assert_eq!(scores, vec![4.0, 3.0, 2.0, 1.0, 0.0]);
        for k in 0..5 {
            let r = rung(&records, l, k);
            assert_eq!(r.prompt, source.prompt);
            // The judge's own parser reads the target back.
            assert_eq!(
                parser.parse(&r.judgement, false),
                Ok(r.score),
                "{}",
                r.judgement
            );
        }
        let words = |k: usize| rung(&records, l, k).response.split_whitespace().count();
        let original = &rung(&records, l, 0).response;
        assert_eq!(original, &source.response);
        assert!(words(0) > words(1) && words(1) > words(2), "cuts shrink");
        assert!(original.starts_with(&rung(&records, l, 1).response));
        assert!(original.starts_with(&rung(&records, l, 2).response));
        assert_eq!(words(1), words(0) * 2 / 3);
        // The fragment opens with the answer's first words, then text from elsewhere.
        let fragment = &rung(&records, l, 3).response;
        let opening = fragment.split("\n\n").next().unwrap();
        assert!(original.starts_with(opening) && opening.len() < original.len() / 4);
        assert!(
            !fragment[opening.len()..].contains(&format!("w{l}_")),
            "{fragment}"
        );
        let worthless = &rung(&records, l, 4);
        match worthless.origin.as_deref().unwrap() {
            "ladder:off_topic" => {
                assert!(pairs
                    .iter()
                    .any(|p| p.response == worthless.response && p.prompt != source.prompt))
            }
            "ladder:scrambled" => {
                let mut a: Vec<&str> = worthless.response.split_whitespace().collect();
                let mut b: Vec<&str> = original.split_whitespace().collect();
                assert_ne!(a, b, "scrambled");
                a.sort();
                b.sort();
                assert_eq!(a, b, "same words");
            }
            "ladder:evasive" => assert!(!worthless.response.contains(&format!("w{l}_"))),
            other => panic!("unexpected rung {other}"),
        }
    }
    // All three kinds of worthless answer occur.
    let kinds: HashSet<_> = (0..30)
        .map(|l| rung(&records, l, 4).origin.clone())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // Same seed, same ladders; another seed, other choices.
    let (again, _) = build_ladders(&pairs, &LadderConfig::default()).unwrap();
    assert_eq!(again, records);
    let reseeded = LadderConfig {
        seed: 1,
        ..LadderConfig::default()
    };
    assert_ne!(build_ladders(&pairs, &reseeded).unwrap().0, records);
}

#[test]
fn ladder_skips_and_counts_unusable_pairs() {
    let mut pairs = vec![pair(0, 10), pair(1, 500), pair(2, 80), pair(3, 80)];
    pairs[3].prompt = "word ".repeat(200);
    let (records, report) = build_ladders(&pairs, &LadderConfig::default()).unwrap();
    assert_eq!(
        (report.short_answer, report.long_answer, report.long_prompt),
        (1, 1, 1)
    );
    assert_eq!(report.ladders, 1);
    assert_eq!(records.len(), 5);
    let bad = LadderConfig {
        min_answer_words: 300,
        max_answer_words: 200,
        ..LadderConfig::default()
    };
    assert!(build_ladders(&pairs, &bad).is_err());
}

#[test]
fn held_out_ladders_share_no_prompt_or_text_with_training() {
    let pairs: Vec<IftRecord> = (0..200).map(|i| pair(i, 50)).collect();
    let sets = build_ladder_sets(pairs, 0.2, &LadderConfig::default()).unwrap();
    assert!(!sets.held_out.is_empty() && !sets.train.is_empty());
    let train_prompts: HashSet<String> = sets
        .train
        .iter()
        .map(|r| normalize_prompt(&r.prompt))
        .collect();
    let train_answers: HashSet<&str> = sets.ift_train.iter().map(|r| r.response.as_str()).collect();
    for r in &sets.held_out {
        assert!(!train_prompts.contains(&normalize_prompt(&r.prompt)));
        assert!(
            !train_answers.contains(r.response.as_str()),
            "held-out borrows training text"
        );
    }
    assert_eq!(sets.ift_train.len() * 5, sets.train.len());
    // No held-out response is a training response either: fixed strings (the evasions) come
    // from disjoint pools.
    let train_responses: HashSet<&str> = sets.train.iter().map(|r| r.response.as_str()).collect();
    let evasive = |r: &&EftRecord| r.origin.as_deref() == Some("ladder:evasive");
    assert!(sets.held_out.iter().filter(evasive).count() >= 3);
    assert!(sets.train.iter().filter(evasive).count() >= 12);
    for r in &sets.held_out {
        assert!(
            !train_responses.contains(r.response.as_str()),
            "held-out response {:?} is also a training response",
            r.response
        );
    }
}

/// On the fetched ShareGPT seed: no score over 40 %, held-out disjoint (numbers for the notes).
#[test]
#[cfg_attr(
    not(has_sharegpt),
    ignore = "ShareGPT seed absent: run scripts/fetch-data.sh"
)]
fn ladder_on_sharegpt_seed() {
    let seed = root().join("assets/data/sharegpt.json");
    let (pairs, _) = import_sharegpt(&seed, ShareGptOptions::default(), BadLines::Fail).unwrap();
    let sets = build_ladder_sets(pairs, 0.1, &LadderConfig::default()).unwrap();
    let total = sets.total();
    let n: usize = total.histogram.iter().sum();
    eprintln!(
        "ladder on seed: {total:?}, train {} held-out {}",
        sets.train.len(),
        sets.held_out.len()
    );
    assert!(n > 10_000);
    for (score, count) in total.histogram.iter().enumerate() {
        assert!(
            (*count as f64) <= 0.4 * n as f64,
            "score {score}: {count} of {n}"
        );
    }
    let train: HashSet<String> = sets
        .train
        .iter()
        .map(|r| normalize_prompt(&r.prompt))
        .collect();
    assert!(sets
        .held_out
        .iter()
        .all(|r| !train.contains(&normalize_prompt(&r.prompt))));
}

fn eft(score: f64) -> EftRecord {
    EftRecord {
        prompt: format!("p{score}"),
        response: "r".into(),
        judgement: format!("Score: {score}"),
        score,
        origin: None,
    }
}

#[test]
fn thinning_caps_the_most_common_score() {
    // 10 fours, 2 threes, 2 twos; cap 40 %: the 4 others allow floor(0.4 * 4 / 0.6) = 2 fours.
    let records: Vec<EftRecord> = std::iter::repeat_n(4.0, 10)
        .chain([3.0, 3.0, 2.0, 2.0])
        .map(eft)
        .collect();
    let (kept, removed) = thin_scores(records.clone(), 0.4, 0).unwrap();
    assert_eq!(removed, 8);
    assert_eq!(score_histogram(&kept), [0, 0, 2, 2, 2, 0]);
    // Order is kept: the survivors appear in their original relative order.
    let positions: Vec<usize> = kept
        .iter()
        .map(|k| {
            records
                .iter()
                .position(|r| std::ptr::eq(r, k) || r == k)
                .unwrap()
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] <= w[1]));
    // Already balanced: untouched.
    let balanced: Vec<EftRecord> = [0.0, 1.0, 2.0, 3.0, 4.0].into_iter().map(eft).collect();
    assert_eq!(
        thin_scores(balanced.clone(), 0.4, 0).unwrap(),
        (balanced, 0)
    );
    assert!(thin_scores(records, 0.0, 0).is_err());
}

/// A judge with fixed scores per response text.
struct FixedJudge(Vec<(&'static str, Option<[f64; 3]>)>);

impl Judge for FixedJudge {
    fn judge(&mut self, items: &[JudgeItem]) -> srlm_judge::Result<Vec<Judgement>> {
        Ok(items
            .iter()
            .map(|item| {
                let scores = self.0.iter().find(|(t, _)| *t == item.response).unwrap().1;
                let samples: Vec<Result<f64, ParseFailure>> = match scores {
                    Some(s) => s.iter().map(|v| Ok(*v)).collect(),
                    None => vec![Err(ParseFailure::NoScore); 3],
                };
                let texts = samples
                    .iter()
                    .map(|s| format!("because. Score: {:?}", s.as_ref().ok()))
                    .collect();
                Judgement::from_samples(samples, texts, &Default::default())
            })
            .collect())
    }
}

fn ranked(prompt: &str, answers: &[(&str, u32)]) -> RankedPrompt {
    RankedPrompt {
        prompt: prompt.into(),
        answers: answers
            .iter()
            .map(|(t, r)| RankedAnswer {
                text: (*t).into(),
                rank: *r,
            })
            .collect(),
    }
}

#[test]
fn ranked_builder_keeps_only_sets_that_agree_with_people() {
    let mut judge = FixedJudge(vec![
        ("best", Some([4.0, 5.0, 4.0])),
        ("mid", Some([3.0, 3.0, 2.0])),
        ("worst", Some([1.0, 0.0, 1.0])),
        ("tied", Some([3.0, 3.0, 2.0])),
        ("silent", None),
    ]);
    let prompts = vec![
        ranked("agree", &[("best", 0), ("mid", 1), ("worst", 2)]),
        ranked("disagree", &[("worst", 0), ("best", 1)]),
        ranked("tie", &[("mid", 0), ("tied", 1)]),
        ranked("unjudged", &[("best", 0), ("silent", 1)]),
    ];
    let (records, report) = build_ranked_eft(&mut judge, &prompts, 2).unwrap();
    assert_eq!(
        (report.agreeing, report.disagreeing, report.unjudged),
        (1, 2, 1)
    );
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.prompt == "agree"));
    // The sample closest to the mean: best mean 4.33 → a 4; mid 2.67 → a 3; worst 0.67 → a 1.
    let scores: Vec<f64> = records.iter().map(|r| r.score).collect();
    assert_eq!(scores, vec![4.0, 3.0, 1.0]);
    assert_eq!(records[0].judgement, "because. Score: Some(4.0)");
    assert_eq!(records[2].origin.as_deref(), Some("ranked:2"));
}

#[test]
fn rank_agreement_rule() {
    assert!(agrees_with_ranks(&[0, 1, 2], &[5.0, 3.0, 1.0]));
    assert!(agrees_with_ranks(&[2, 0, 1], &[1.0, 5.0, 3.0]));
    assert!(
        !agrees_with_ranks(&[0, 1], &[3.0, 3.0]),
        "a tie across ranks disagrees"
    );
    assert!(
        agrees_with_ranks(&[0, 0, 1], &[3.0, 4.0, 2.0]),
        "equal ranks leave any order"
    );
    assert!(!agrees_with_ranks(&[0, 1, 2], &[5.0, 1.0, 3.0]));
}
