//! ROUGE-L against Google's rouge_score and by hand; each Self-Instruct rule.

use srlm_loop::{rouge_l, rouge_tokens, FilterConfig, Rejection, RougePool};

use crate::common::fixture;

#[test]
fn rouge_l_by_hand() {
    // a = the cat sat on the mat (6), b = the cat the cat the cat sat (7); LCS "the cat sat" = 3;
    // F = 2·LCS / (|a| + |b|) = 6/13.
    assert!(
        (rouge_l("the cat sat on the mat", "the cat the cat the cat sat") - 6.0 / 13.0).abs()
            < 1e-12
    );
    // Case and punctuation are not words.
    assert_eq!(
        rouge_tokens("Step-by-step, PLEASE!"),
        ["step", "by", "step", "please"]
    );
    assert_eq!(rouge_l("same words", "SAME, words!"), 1.0);
    assert_eq!(rouge_l("", "anything"), 0.0);
}

#[test]
fn rouge_l_equals_rouge_score() {
    let f = fixture("loop/rouge_filters.json");
    for case in f["rouge_l"].as_array().unwrap() {
        let (a, b) = (case["a"].as_str().unwrap(), case["b"].as_str().unwrap());
        let expected = case["f"].as_f64().unwrap();
        assert!(
            (rouge_l(a, b) - expected).abs() < 1e-12,
            "{a:?} vs {b:?}: {} != {expected}",
            rouge_l(a, b)
        );
    }
}

#[test]
fn each_rule_decides_as_the_reference() {
    let f = fixture("loop/rouge_filters.json");
    let filter = FilterConfig::default();
    let keywords: Vec<String> = serde_json::from_value(f["blacklist"].clone()).unwrap();
    assert_eq!(filter.keywords, keywords);
    for case in f["rules"].as_array().unwrap() {
        let instruction = case["instruction"].as_str().unwrap();
        let expected = case["decision"].as_str().unwrap();
        let got = match filter.check_text(instruction) {
            Ok(()) => "ok".to_string(),
            Err(Rejection::Keyword { keyword }) => format!("keyword:{keyword}"),
            Err(r) => r.kind().to_string(),
        };
        assert_eq!(got, expected, "{instruction:?}");
    }
}

#[test]
fn similar_prompts_are_dropped_against_the_pool() {
    let filter = FilterConfig::default();
    let mut pool = RougePool::new();
    pool.push("Write a short poem about the ocean.");
    match filter.check("Write a poem about the sea.", &pool) {
        Err(Rejection::TooSimilar { rouge_l, to }) => {
            assert!((rouge_l - 10.0 / 13.0).abs() < 1e-12);
            assert_eq!(to, "Write a short poem about the ocean.");
        }
        other => panic!("expected too similar, got {other:?}"),
    }
    assert!(filter.check("List three rivers of Germany.", &pool).is_ok());
    // The threshold is inclusive at 0.7 and configurable.
    let lenient = FilterConfig {
        max_rouge_l: 0.8,
        ..FilterConfig::default()
    };
    assert!(lenient.check("Write a poem about the sea.", &pool).is_ok());
}

#[test]
fn length_bounds_are_inclusive() {
    let filter = FilterConfig::default();
    assert!(filter.check_text("Tell me more").is_ok());
    assert_eq!(
        filter.check_text("Tell me"),
        Err(Rejection::TooShort { words: 2 })
    );
    assert_eq!(filter.check_text("   "), Err(Rejection::Empty));
    let long = vec!["word"; 151].join(" ");
    assert_eq!(
        filter.check_text(&long),
        Err(Rejection::TooLong { words: 151 })
    );
    // Whole words only: "mapping" and "profile" are not "map" and "file".
    assert!(filter
        .check_text("Explain a mapping of the profile settings")
        .is_ok());
    assert!(filter
        .check_text("Show me the MAP of Spain please")
        .is_err());
}
