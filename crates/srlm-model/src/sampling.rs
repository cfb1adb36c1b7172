//! Choosing the next token from logits: greedy, or temperature → top-k → top-p (the order
//! transformers applies them in), seeded.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use srlm_generation::SamplingParams;

/// One random stream per sequence, derived from the run's seed and the sequence's index, so a
/// sequence's text does not depend on what else is in its batch.
pub fn sequence_rng(seed: u64, index: usize) -> StdRng {
    StdRng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Index of the largest value (the first one on ties, as `torch.argmax`).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] || (values[best].is_nan() && !v.is_nan()) {
            best = i;
        }
    }
    best
}

/// Tokens first taken in order when looking for the nucleus; grown fourfold until it is found.
const NUCLEUS_START: usize = 64;

/// Picks a token id from `logits` (one row, `vocab` long).
///
/// Temperature, then top-k and top-p over the tokens ranked by logit (higher first; equal
/// logits: lower id first), then one uniform draw `u` from `rng`: the token is the first kept id,
/// in **id order**, whose cumulative probability reaches `(1 − u)` of the kept mass — the
/// inverse-CDF lookup [`sample_on_device`](crate::sample_on_device) makes, so both paths give
/// the same token for the same draw wherever their kept sets agree. Walking ids rather than the
/// ranking keeps the token from depending on the order of near-equal logits: two logits that
/// tie to the last bit swap their rank when the batch around a row changes the rounding of its
/// matrix products, and a rank walk would then hand the draw to the other token (a token flips
/// only when the draw falls within rounding of a boundary between two ids).
///
/// Only what top-k and top-p need of the ranking is sorted, by partial selection — a full sort of
/// a 49,152-token vocabulary per row per step was 8 % of a sampling stage's time.
pub fn sample(logits: &[f32], params: &SamplingParams, rng: &mut StdRng) -> u32 {
    if params.temperature == 0.0 || logits.len() <= 1 {
        return argmax(logits) as u32;
    }
    let ranked = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
    let mut kept: Vec<usize> = (0..logits.len()).collect();
    if params.top_k > 0 && params.top_k < kept.len() {
        kept.select_nth_unstable_by(params.top_k, ranked);
        kept.truncate(params.top_k);
    }
    let temperature = params.temperature;
    let max = kept
        .iter()
        .map(|&i| logits[i] / temperature)
        .fold(f32::NEG_INFINITY, f32::max);
    let weight = |i: usize| f64::from(logits[i] / temperature - max).exp();
    if params.top_p < 1.0 {
        let keep = nucleus(&mut kept, params.top_p, ranked, weight);
        kept.truncate(keep);
    }
    kept.sort_unstable();
    let weights: Vec<f64> = kept.iter().map(|&i| weight(i)).collect();
    let target = (1.0 - rng.random::<f64>()) * weights.iter().sum::<f64>();
    let mut cumulative = 0.0;
    for (&id, w) in kept.iter().zip(&weights) {
        cumulative += w;
        if cumulative >= target {
            return id as u32;
        }
    }
    kept[kept.len() - 1] as u32
}

/// Sorts the head of `order` by `ranked` until it holds the nucleus — the fewest best-ranked
/// tokens whose probability (by `weight`, normalised over `order`) reaches `top_p` — and
/// returns its length.
fn nucleus(
    order: &mut [usize],
    top_p: f32,
    ranked: impl Fn(&usize, &usize) -> std::cmp::Ordering + Copy,
    weight: impl Fn(usize) -> f64,
) -> usize {
    let total: f64 = order.iter().map(|&i| weight(i)).sum();
    let mut head = NUCLEUS_START.min(order.len());
    loop {
        if head < order.len() {
            order.select_nth_unstable_by(head, ranked);
        }
        order[..head].sort_unstable_by(ranked);
        let mut cumulative = 0.0;
        let reached = order[..head].iter().position(|&i| {
            let before = cumulative;
            cumulative += weight(i) / total;
            before >= f64::from(top_p)
        });
        match reached {
            Some(keep) => return keep.max(1),
            None if head == order.len() => return head,
            None => head = (head * 4).min(order.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_first_maximum() {
        assert_eq!(argmax(&[0.1, 3.0, 3.0, -1.0]), 1);
        let mut rng = sequence_rng(0, 0);
        assert_eq!(
            sample(&[0.1, 3.0, 2.0], &SamplingParams::default(), &mut rng),
            1
        );
    }

    #[test]
    fn top_k_one_is_greedy() {
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 1,
        };
        let mut rng = sequence_rng(7, 3);
        for _ in 0..50 {
            assert_eq!(sample(&[0.0, 0.5, 0.4, 0.45], &params, &mut rng), 1);
        }
    }

    #[test]
    fn top_p_cuts_the_tail() {
        // Probabilities ≈ 0.64, 0.24, 0.09, 0.03: top_p 0.8 keeps the first two only.
        let logits = [3.0f32, 2.0, 1.0, 0.0];
        let params = SamplingParams {
            temperature: 1.0,
            top_p: 0.8,
            top_k: 0,
        };
        let mut rng = sequence_rng(1, 0);
        let mut seen = [0usize; 4];
        for _ in 0..2000 {
            seen[sample(&logits, &params, &mut rng) as usize] += 1;
        }
        assert_eq!(seen[2] + seen[3], 0, "{seen:?}");
        assert!(seen[1] > 400 && seen[0] > 1200, "{seen:?}");
    }

    /// The rule written out: the whole vocabulary sorted (higher logit first, lower id on ties),
    /// top-k, softmax, the nucleus, then a draw over the kept ids in id order.
    fn sample_sorted(logits: &[f32], params: &SamplingParams, rng: &mut StdRng) -> u32 {
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        if params.top_k > 0 {
            order.truncate(params.top_k);
        }
        let max = logits[order[0]] / params.temperature;
        let mut probs: Vec<f64> = order
            .iter()
            .map(|&i| f64::from(logits[i] / params.temperature - max).exp())
            .collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
        if params.top_p < 1.0 {
            let mut cumulative = 0.0;
            let mut keep = probs.len();
            for (i, p) in probs.iter().enumerate() {
                if cumulative >= f64::from(params.top_p) {
                    keep = i;
                    break;
                }
                cumulative += p;
            }
            probs.truncate(keep.max(1));
        }
        let mut kept: Vec<(usize, f64)> = order.iter().copied().zip(probs).collect();
        kept.sort_by_key(|&(id, _)| id);
        let total: f64 = kept.iter().map(|&(_, p)| p).sum();
        let target = (1.0 - rng.random::<f64>()) * total;
        let mut cumulative = 0.0;
        for &(id, p) in &kept {
            cumulative += p;
            if cumulative >= target {
                return id as u32;
            }
        }
        kept[kept.len() - 1].0 as u32
    }

    #[test]
    fn logits_that_swap_rank_by_one_ulp_give_the_same_tokens() {
        // Two tokens whose logits tie to the last bit: which ranks first depends on rounding
        // (the batch around the row). The tokens drawn must not.
        let mut source = sequence_rng(5, 0);
        let mut logits: Vec<f32> = (0..500).map(|_| source.random::<f32>() * 3.0).collect();
        let (i, j) = (40, 310);
        logits[i] = 2.5;
        let mut first = logits.clone();
        first[j] = 2.5_f32.next_down();
        let mut second = logits;
        second[j] = 2.5_f32.next_up();
        for params in [
            SamplingParams::nucleus(0.9, 1.0),
            SamplingParams::nucleus(0.7, 0.9),
        ] {
            let (mut a, mut b) = (sequence_rng(8, 1), sequence_rng(8, 1));
            let drawn: Vec<(u32, u32)> = (0..2000)
                .map(|_| {
                    (
                        sample(&first, &params, &mut a),
                        sample(&second, &params, &mut b),
                    )
                })
                .collect();
            assert!(drawn
                .iter()
                .any(|&(x, _)| x as usize == i || x as usize == j));
            assert!(drawn.iter().all(|(x, y)| x == y), "{params:?}");
        }
    }

    #[test]
    fn partial_selection_draws_what_the_full_sort_draws() {
        // Vocabularies around the nucleus search's sizes, flat and peaked logits (a flat one
        // needs the head grown several times), ties, top-k with and without top-p.
        let mut source = sequence_rng(11, 0);
        for (vocab, spread) in [(3, 1.0), (70, 0.1), (300, 4.0), (5000, 0.05), (49_152, 8.0)] {
            let mut logits: Vec<f32> = (0..vocab)
                .map(|_| (source.random::<f32>() - 0.5) * spread)
                .collect();
            logits[vocab / 2] = logits[0];
            for params in [
                SamplingParams {
                    temperature: 0.7,
                    top_p: 0.9,
                    top_k: 0,
                },
                SamplingParams {
                    temperature: 1.3,
                    top_p: 0.99,
                    top_k: 0,
                },
                SamplingParams {
                    temperature: 0.6,
                    top_p: 1.0,
                    top_k: 0,
                },
                SamplingParams {
                    temperature: 0.9,
                    top_p: 0.95,
                    top_k: 40,
                },
                SamplingParams {
                    temperature: 1.0,
                    top_p: 1.0,
                    top_k: 2,
                },
            ] {
                let (mut a, mut b) = (sequence_rng(3, vocab), sequence_rng(3, vocab));
                for draw in 0..200 {
                    assert_eq!(
                        sample(&logits, &params, &mut a),
                        sample_sorted(&logits, &params, &mut b),
                        "vocab {vocab}, {params:?}, draw {draw}"
                    );
                }
            }
        }
    }

    #[test]
    fn same_seed_same_draws() {
        let logits: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
        let params = SamplingParams {
            temperature: 0.9,
            top_p: 0.95,
            top_k: 40,
        };
        let draw = |seed| {
            let mut rng = sequence_rng(seed, 2);
            (0..20)
                .map(|_| sample(&logits, &params, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }
}
