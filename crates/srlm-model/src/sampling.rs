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

/// Picks a token id from `logits` (one row, `vocab` long).
pub fn sample(logits: &[f32], params: &SamplingParams, rng: &mut StdRng) -> u32 {
    if params.temperature == 0.0 || logits.len() <= 1 {
        return argmax(logits) as u32;
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_unstable_by(|&a, &b| logits[b].total_cmp(&logits[a]));
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
    let total: f64 = probs.iter().sum();
    let mut r = rng.random::<f64>() * total;
    for (i, p) in probs.iter().enumerate() {
        r -= p;
        if r <= 0.0 {
            return order[i] as u32;
        }
    }
    order[probs.len() - 1] as u32
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
