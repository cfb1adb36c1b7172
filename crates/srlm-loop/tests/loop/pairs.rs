//! The pairing rules: best vs worst, ties, unjudged responses, length control.

use srlm_judge::{Judgement, ParseFailure};
use srlm_loop::stages::pairs::build_pairs;
use srlm_loop::{JudgedResponse, JudgedSet, PairSection};

fn response(text: &str, score: Option<f64>) -> JudgedResponse {
    let samples = match score {
        Some(s) => vec![Ok(s)],
        None => vec![Err(ParseFailure::NoScore)],
    };
    JudgedResponse {
        response: text.into(),
        truncated: false,
        judgement: Judgement {
            score,
            samples,
            texts: vec![format!("judged {text}")],
        },
    }
}

fn set(id: &str, responses: Vec<JudgedResponse>) -> JudgedSet {
    JudgedSet {
        id: id.into(),
        prompt: format!("prompt {id}"),
        responses,
    }
}

fn paper() -> PairSection {
    PairSection {
        length_control: false,
        length_margin: 0.5,
    }
}

#[test]
fn best_and_worst_first_of_equals_ties_and_unjudged_dropped() {
    let sets = vec![
        set(
            "a",
            vec![
                response("mid", Some(3.0)),
                response("best one", Some(4.5)),
                response("low first", Some(1.0)),
                response("best two", Some(4.5)),
                response("low second", Some(1.0)),
            ],
        ),
        set(
            "tie",
            vec![response("x", Some(3.0)), response("y", Some(3.0))],
        ),
        set("one", vec![response("x", Some(3.0)), response("y", None)]),
        set(
            "blank",
            vec![response("  ", Some(5.0)), response("y", Some(2.0))],
        ),
        set(
            "b",
            vec![
                response("good", Some(2.0)),
                response("unscored", None),
                response("bad", Some(0.0)),
            ],
        ),
    ];
    let (pairs, report) = build_pairs(&sets, 1, &paper());
    assert_eq!(report.prompts, 5);
    assert_eq!(report.pairs, 2);
    assert_eq!(report.ties, 1);
    assert_eq!(
        report.too_few_judged, 2,
        "one judged response, and a blank best"
    );
    assert_eq!(
        (pairs[0].chosen.as_str(), pairs[0].rejected.as_str()),
        ("best one", "low first")
    );
    assert_eq!(
        (pairs[0].score_chosen, pairs[0].score_rejected),
        (Some(4.5), Some(1.0))
    );
    assert_eq!(pairs[0].judge_texts_chosen, ["judged best one"]);
    assert_eq!(pairs[0].iteration, Some(1));
    assert_eq!(
        (pairs[1].chosen.as_str(), pairs[1].rejected.as_str()),
        ("good", "bad")
    );
    assert!((report.mean_score_chosen - 3.25).abs() < 1e-12);
    assert!((report.mean_score_rejected - 0.5).abs() < 1e-12);
    assert!((report.mean_words_chosen - 1.5).abs() < 1e-12);
}

#[test]
fn length_control_prefers_the_shortest_near_the_top() {
    let sets = vec![set(
        "a",
        vec![
            response("a long answer with many words in it", Some(5.0)),
            response("short and fine", Some(4.6)),
            response("tiny", Some(4.0)),
            response("bad answer", Some(1.0)),
        ],
    )];
    let (pairs, _) = build_pairs(&sets, 1, &paper());
    assert_eq!(pairs[0].chosen, "a long answer with many words in it");
    let (pairs, report) = build_pairs(
        &sets,
        1,
        &PairSection {
            length_control: true,
            length_margin: 0.5,
        },
    );
    assert_eq!(
        pairs[0].chosen, "short and fine",
        "within 0.5 of 5.0; 'tiny' at 4.0 is not"
    );
    assert_eq!(pairs[0].score_chosen, Some(4.6));
    assert_eq!(report.length_controlled, 1);
}
