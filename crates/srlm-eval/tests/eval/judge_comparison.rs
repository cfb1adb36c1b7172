//! Paired differences between two judges on the same held-out pairs, against hand-computed
//! values.

use srlm_eval::{compare_judges, held_out_groups, judge_quality, markdown, EvalReport};

use crate::scoring::{eft, NthNumber};

/// Reference scores p1: 4, 3, 1; p2: 4, 2. Judge B reads the first number of each response and
/// orders every pair as the reference does (4 of 4); judge A reads the second: p1 scored 1, 3, 2
/// (only 3 > 1 right: 1 of 3), p2 scored 3, 2 (right). B − A = 4/4 − 2/4 = +0.5. Resampling the
/// two prompts: p1 twice gives 1 − 1/3 = 2/3, p2 twice 0 (each a quarter of the draws), so the
/// 95 % interval runs from 0 to 2/3.
#[test]
fn the_difference_between_two_judges_is_paired_over_prompts() {
    let records = vec![
        eft("p1", "4 1", 4.0),
        eft("p1", "3 3", 3.0),
        eft("p1", "1 2", 1.0),
        eft("p2", "5 3", 4.0),
        eft("p2", "1 2", 2.0),
    ];
    let groups = held_out_groups(&records, 10);
    let a = judge_quality("A", "given", &mut NthNumber(1), &groups, 0).unwrap();
    let b = judge_quality("B", "given", &mut NthNumber(0), &groups, 0).unwrap();
    assert_eq!(a.metrics.pairwise_accuracy_all, Some(0.5));
    assert_eq!(b.metrics.pairwise_accuracy_all, Some(1.0));
    let diff = compare_judges(&a, &b, 0).unwrap();
    assert_eq!(
        (diff.a.as_str(), diff.b.as_str(), diff.pairs),
        ("A", "B", 4)
    );
    let d = diff.pairwise_accuracy_all;
    assert_eq!(d.value, 0.5);
    assert!(d.low == 0.0 && (d.high - 2.0 / 3.0).abs() < 1e-12, "{d:?}");
    let md = markdown(&EvalReport {
        judge: vec![a.clone(), b.clone()],
        judge_comparisons: vec![diff],
        ..EvalReport::default()
    });
    assert!(
        md.contains("| B − A | given | +0.500 [+0.000, +0.667] | 4 |"),
        "{md}"
    );

    // Another set (or another prompt list) is no paired comparison.
    let other = judge_quality("C", "given", &mut NthNumber(0), &groups[..1], 0).unwrap();
    let err = compare_judges(&a, &other, 0).unwrap_err().to_string();
    assert!(
        err.contains('A') && err.contains('C') && err.contains("same held-out set"),
        "{err}"
    );
}
