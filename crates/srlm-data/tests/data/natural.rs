//! The natural-answer EFT builder: rungs, targets, neighbours, sentence cuts, counts.

use srlm_data::eft::{build_natural, NaturalConfig, NaturalRung, SeedAnswers};
use srlm_data::{EftRecord, IftRecord};
use srlm_judge::ScoreParser;

/// A reference answer of `sentences` sentences of six words each about `subject`.
fn answer(subject: &str, sentences: usize) -> String {
    (0..sentences)
        .map(|s| format!("The {subject} fact number {s} matters here."))
        .collect::<Vec<_>>()
        .join(" ")
}

fn seed_pairs() -> Vec<IftRecord> {
    let topics = [
        ("How do volcanoes erupt near tectonic plates?", "volcano"),
        (
            "Why do volcanoes form along tectonic boundaries?",
            "boundary",
        ),
        ("What is the best recipe for sourdough bread?", "bread"),
        (
            "How long should sourdough bread dough rise overnight?",
            "dough",
        ),
        ("Explain recursion in programming languages.", "recursion"),
    ];
    topics
        .iter()
        .map(|(prompt, subject)| IftRecord {
            prompt: prompt.to_string(),
            response: answer(subject, 10),
            source: None,
        })
        .collect()
}

fn own(prompt: &str, greedy: Option<&str>, sampled: Option<&str>) -> SeedAnswers {
    SeedAnswers {
        prompt: prompt.into(),
        greedy: greedy.map(String::from),
        sampled: sampled.map(String::from),
    }
}

fn origin(r: &EftRecord) -> &str {
    r.origin.as_deref().unwrap_or("")
}

#[test]
fn a_set_holds_reference_cut_own_answers_and_the_nearest_neighbour() {
    let pairs = seed_pairs();
    let answers = [own(
        &pairs[0].prompt,
        Some("Volcanoes erupt because of magma."),
        Some("Magma rises and then it erupts."),
    )];
    let (records, report) = build_natural(&pairs, &answers, &NaturalConfig::default()).unwrap();
    let origins: Vec<&str> = records.iter().map(origin).collect();
    assert_eq!(
        origins,
        [
            "natural:reference",
            "natural:sentence_cut",
            "natural:seed_greedy",
            "natural:seed_sampled",
            "natural:neighbour",
        ]
    );
    assert_eq!(
        records.iter().map(|r| r.score).collect::<Vec<_>>(),
        [4.0, 3.0, 2.0, 2.0, 1.0]
    );
    // The neighbour is the volcano prompt's closest other prompt (tectonic, volcanoes), not a
    // bread or recursion answer.
    assert_eq!(records[4].response, pairs[1].response);
    // The cut ends at a sentence end, about half of the answer.
    let cut = &records[1].response;
    assert!(pairs[0].response.starts_with(cut.as_str()));
    assert!(cut.ends_with('.'), "{cut}");
    let (w_cut, w_all) = (
        cut.split_whitespace().count(),
        pairs[0].response.split_whitespace().count(),
    );
    assert!(
        w_cut * 4 >= w_all && w_cut * 4 <= w_all * 3,
        "{w_cut} of {w_all}"
    );
    // Every judgement ends in its target, and names the prompt's topic.
    let parser = ScoreParser::default();
    for r in &records {
        assert_eq!(
            parser.parse(&r.judgement, false),
            Ok(r.score),
            "{}",
            r.judgement
        );
        assert!(r.judgement.contains("volcanoes"), "{}", r.judgement);
    }
    assert!(
        records[4].judgement.contains("volcanoes, form and along"),
        "{}",
        records[4].judgement
    );
    assert_eq!(report.sets, 1);
    assert_eq!(report.histogram, [0, 1, 2, 1, 1, 0]);
    // 5 records, the two own answers tie: C(5,2) - 1 = 9 ordered pairs; the neighbour (70
    // words) is longer than the cut and both own answers it ranks below.
    assert_eq!(report.ordered_pairs, 9);
    assert_eq!(report.longer_worse_pairs, 3);
}

#[test]
fn unfinished_and_missing_answers_leave_out_rungs_or_sets() {
    let pairs = seed_pairs();
    let answers = [
        own(&pairs[2].prompt, None, Some("Mix flour, water and salt.")),
        own(&pairs[4].prompt, None, None),
        own("A prompt the seed does not hold", Some("x"), None),
    ];
    let (records, report) = build_natural(&pairs, &answers, &NaturalConfig::default()).unwrap();
    assert_eq!(report.prompts, 3);
    assert_eq!(report.sets, 1);
    assert_eq!(report.no_seed_answer, 1);
    assert_eq!(report.unusable, 1);
    assert!(records.iter().all(|r| r.prompt == pairs[2].prompt));
    assert!(!records.iter().any(|r| origin(r) == "natural:seed_greedy"));
    assert_eq!(
        records[3].response, pairs[3].response,
        "bread's neighbour is dough"
    );
}

#[test]
fn a_near_duplicate_prompt_is_never_the_worse_neighbour() {
    let mut pairs = seed_pairs();
    pairs.truncate(1);
    pairs.push(IftRecord {
        prompt: "How do volcanoes erupt near tectonic plates??".into(),
        response: answer("copy", 10),
        source: None,
    });
    let answers = [own(&pairs[0].prompt, Some("Magma."), None)];
    let (records, report) = build_natural(&pairs, &answers, &NaturalConfig::default()).unwrap();
    assert_eq!(report.no_neighbour, 1);
    assert!(!records.iter().any(|r| origin(r) == "natural:neighbour"));
}

#[test]
fn every_rung_has_a_distinct_name_and_descending_targets() {
    let scores: Vec<u8> = NaturalRung::ALL.iter().map(|r| r.score()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let mut names: Vec<&str> = NaturalRung::ALL.iter().map(|r| r.name()).collect();
    names.dedup();
    assert_eq!(names.len(), NaturalRung::ALL.len());
    let bad = NaturalConfig {
        max_neighbour_similarity: 1.5,
        ..NaturalConfig::default()
    };
    let err = build_natural(&seed_pairs(), &[], &bad).unwrap_err();
    assert!(
        err.to_string().contains("max_neighbour_similarity"),
        "{err}"
    );
}
