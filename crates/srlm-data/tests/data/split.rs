//! De-duplication and seeded splits.

use srlm_data::split::{dedup_by_prompt, is_held_out, normalize_prompt, split_by_prompt};

fn prompts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Question number {i}: what is {i} squared?"))
        .collect()
}

#[test]
fn dedup_keeps_the_first_of_each_normalised_prompt() {
    let records = vec![
        "What is Rust?",
        "what  is\trust?",
        "What is Go?",
        " WHAT IS RUST? ",
    ];
    let (kept, removed) = dedup_by_prompt(records, |s| s);
    assert_eq!(kept, vec!["What is Rust?", "What is Go?"]);
    assert_eq!(removed, 2);
    assert_eq!(normalize_prompt("  A\n b  "), "a b");
}

#[test]
fn split_is_seeded_order_independent_and_near_the_fraction() {
    let all = prompts(2000);
    let split = split_by_prompt(all.clone(), |s| s.as_str(), 0.1, 7).unwrap();
    let share = split.held_out.len() as f64 / all.len() as f64;
    assert!((0.08..0.12).contains(&share), "held-out share {share}");
    assert_eq!(split.train.len() + split.held_out.len(), all.len());

    // Same seed, reversed order: the same prompts held out.
    let mut reversed = all.clone();
    reversed.reverse();
    let again = split_by_prompt(reversed, |s| s.as_str(), 0.1, 7).unwrap();
    let mut a = split.held_out.clone();
    let mut b = again.held_out.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // Another seed: a different held-out set.
    let other = split_by_prompt(all.clone(), |s| s.as_str(), 0.1, 8).unwrap();
    assert_ne!(other.held_out, split.held_out);

    // Adding records never moves an existing prompt across the split.
    let more = split_by_prompt(prompts(4000), |s| s.as_str(), 0.1, 7).unwrap();
    for p in &split.held_out {
        assert!(more.held_out.contains(p));
    }
    // Case and spacing variants of a prompt land on the same side.
    for p in all.iter().take(200) {
        assert_eq!(
            is_held_out(p, 0.1, 7),
            is_held_out(&p.to_uppercase(), 0.1, 7)
        );
    }
}

#[test]
fn split_fraction_out_of_range_is_an_error() {
    let err = split_by_prompt(prompts(3), |s| s.as_str(), 1.5, 0).unwrap_err();
    assert!(err.to_string().contains("1.5"), "{err}");
    let none = split_by_prompt(prompts(50), |s| s.as_str(), 0.0, 0).unwrap();
    assert!(none.held_out.is_empty());
    let all = split_by_prompt(prompts(50), |s| s.as_str(), 1.0, 0).unwrap();
    assert!(all.train.is_empty());
}

#[test]
fn hold_out_count_holds_out_exactly_that_many_whatever_the_order() {
    let prompts: Vec<String> = (0..20).map(|i| format!("Question {i}?")).collect();
    let split = srlm_data::split::hold_out_count(prompts.clone(), |p| p.as_str(), 3, 7);
    assert_eq!((split.train.len(), split.held_out.len()), (17, 3));
    let mut reversed = prompts.clone();
    reversed.reverse();
    let again = srlm_data::split::hold_out_count(reversed, |p| p.as_str(), 3, 7);
    let mut a = split.held_out.clone();
    let mut b = again.held_out.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same prompts, in any order");
    let other_seed = srlm_data::split::hold_out_count(prompts.clone(), |p| p.as_str(), 3, 8);
    assert_ne!(split.held_out, other_seed.held_out);
    // Order within each side is kept; everything is on exactly one side.
    let positions: Vec<usize> = split
        .train
        .iter()
        .map(|p| prompts.iter().position(|q| q == p).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let everything = srlm_data::split::hold_out_count(prompts.clone(), |p| p.as_str(), 50, 7);
    assert_eq!((everything.train.len(), everything.held_out.len()), (0, 20));
}
