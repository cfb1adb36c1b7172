use proptest::prelude::*;
use srlm_judge::{ParseFailure, ScoreParser};

use ParseFailure::*;

/// (judge output, truncated, expected)
const CASES: &[(&str, bool, Result<f64, ParseFailure>)] = &[
    (
        "The response is relevant and complete.\nScore: 4",
        false,
        Ok(4.0),
    ),
    ("Score: 5", false, Ok(5.0)),
    ("Score: 0", false, Ok(0.0)),
    (
        "Justification: partially answers.\n\nScore: 2.5",
        false,
        Ok(2.5),
    ),
    ("**Score:** 4", false, Ok(4.0)),
    ("**Score: 3**", false, Ok(3.0)),
    ("Score: **4**", false, Ok(4.0)),
    ("Score: 4/5", false, Ok(4.0)),
    ("Score: 4 / 5", false, Ok(4.0)),
    ("Score: 3 out of 5", false, Ok(3.0)),
    ("score: 4", false, Ok(4.0)),
    ("SCORE: 1", false, Ok(1.0)),
    ("Total score: 3", false, Ok(3.0)),
    (
        "Score: 4. The answer is helpful but verbose.",
        false,
        Ok(4.0),
    ),
    ("Score: 4\n\nNote: I considered giving 5.", false, Ok(4.0)),
    (
        "First impression Score: 2, but on reflection...\nScore: 4",
        false,
        Ok(4.0),
    ),
    ("Score: <4>", false, Ok(4.0)),
    ("Score: [3]", false, Ok(3.0)),
    ("Score:4", false, Ok(4.0)),
    ("Score：5", false, Ok(5.0)),
    (
        "The response earns 4 points.\nConclusion — Score: 4",
        false,
        Ok(4.0),
    ),
    ("Points: 1 + 1 + 1 = 3\nScore: 3", false, Ok(3.0)),
    ("Score: 6", false, Err(OutOfRange)),
    ("Score: 10/10", false, Err(OutOfRange)),
    ("Score: 8/10", false, Err(OutOfRange)),
    ("Score: 42", false, Err(OutOfRange)),
    ("Score: 3 or 4", false, Err(Conflicting)),
    ("Score: 3-4", false, Err(Conflicting)),
    ("Score: 4 or 4", false, Ok(4.0)),
    (
        "The response is good. I would give it four points.",
        false,
        Err(NoScore),
    ),
    ("", false, Err(NoScore)),
    ("Score:", false, Err(NoScore)),
    ("Score: N/A", false, Err(NoScore)),
    (
        "The response addresses the question and",
        true,
        Err(Truncated),
    ),
    ("Score: 3", true, Ok(3.0)),
    ("<total points>", false, Err(NoScore)),
];

#[test]
fn parser_table() {
    let parser = ScoreParser::default();
    assert!(CASES.len() >= 30);
    for (text, truncated, expected) in CASES {
        assert_eq!(parser.parse(text, *truncated), *expected, "{text:?}");
    }
}

#[test]
fn custom_pattern_and_scale() {
    let parser = ScoreParser::new(r"Rating=(\d+)", 1.0, 10.0).unwrap();
    assert_eq!(parser.parse("Rating=9", false), Ok(9.0));
    assert_eq!(parser.parse("Rating=0", false), Err(OutOfRange));
    assert!(ScoreParser::new("no group", 0.0, 5.0).is_err());
    assert!(ScoreParser::new("(unclosed", 0.0, 5.0).is_err());
}

proptest! {
    #[test]
    fn never_panics(text in "\\PC{0,300}", truncated in any::<bool>()) {
        let _ = ScoreParser::default().parse(&text, truncated);
    }

    #[test]
    fn a_final_score_line_wins(prefix in "[a-zA-Z .,\n]{0,200}", score in 0u8..=5) {
        let text = format!("{prefix}\nScore: {score}");
        prop_assert_eq!(ScoreParser::default().parse(&text, false), Ok(f64::from(score)));
    }
}

/// Judgements are stored as plain JSON (`{"score": …}` / `{"failure": …}`), and the enum
/// encoding earlier versions wrote (`{"Ok": …}` / `{"Err": …}`) still reads.
#[test]
fn judgement_samples_are_plain_json_and_the_old_form_reads() {
    use srlm_judge::{Judgement, ParseFailure};
    let judgement = Judgement::from_samples(
        vec![Ok(4.0), Err(ParseFailure::Truncated)],
        vec!["Score: 4".into(), "It is".into()],
        &Default::default(),
    )
    .with_truncated(1);
    let json = serde_json::to_value(&judgement).unwrap();
    assert_eq!(
        json["samples"],
        serde_json::json!([{"score": 4.0}, {"failure": "truncated"}])
    );
    let back: Judgement = serde_json::from_value(json).unwrap();
    assert_eq!(back, judgement);
    let old =
        r#"{"score": 4.0, "samples": [{"Ok": 4.0}, {"Err": "truncated"}], "texts": ["a", "b"]}"#;
    let read: Judgement = serde_json::from_str(old).unwrap();
    assert_eq!(read.samples, [Ok(4.0), Err(ParseFailure::Truncated)]);
    assert_eq!(read.truncated, 0);
    let bad = r#"{"score": null, "samples": [{"verdict": 4}], "texts": []}"#;
    assert!(serde_json::from_str::<Judgement>(bad).is_err());
}

/// A generator that drops its last row (or a sample).
struct Short {
    drop_sample: bool,
}

impl srlm_judge::TextGenerator for Short {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        _: &srlm_judge::GenerationConfig,
    ) -> Result<Vec<Vec<srlm_judge::Completion>>, srlm_judge::GenerationError> {
        let row = |k: usize| {
            (0..k)
                .map(|_| srlm_judge::Completion {
                    text: "Score: 3 [[A]]".into(),
                    truncated: false,
                })
                .collect::<Vec<_>>()
        };
        if self.drop_sample {
            Ok(prompts.iter().map(|_| row(n.saturating_sub(1))).collect())
        } else {
            Ok(prompts.iter().skip(1).map(|_| row(n)).collect())
        }
    }
}

/// Every consumer of a generator rejects a wrong number of rows or samples instead of silently
/// judging fewer responses.
#[test]
fn a_generator_returning_too_few_rows_is_an_error_not_a_shorter_result() {
    use srlm_judge::{judge_pairs, Judge, JudgeError, JudgeItem, PairItem, SamplingJudge};
    let items = vec![
        JudgeItem {
            prompt: "p".into(),
            response: "r".into(),
        };
        3
    ];
    for drop_sample in [false, true] {
        let mut judge = SamplingJudge::new(Short { drop_sample });
        assert!(
            matches!(judge.judge(&items), Err(JudgeError::GeneratorRows { .. })),
            "drop_sample {drop_sample}"
        );
    }
    let pairs = vec![
        PairItem {
            prompt: "p".into(),
            a: "x".into(),
            b: "y".into(),
        };
        2
    ];
    let err = judge_pairs(
        &mut Short { drop_sample: false },
        &pairs,
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            JudgeError::GeneratorRows {
                prompts: 4,
                rows: 3,
                samples: 1
            }
        ),
        "{err}"
    );
}
