//! Choosing the next tokens on the device: greedy, or temperature → top-k → top-p, with only
//! the chosen ids read back (`batch` integers a step instead of `batch × vocab` logits, and no
//! host-side sort of the vocabulary).
//!
//! The rules are those of [`sample`](crate::sample), computed without sorting (burn's CubeCL
//! backends sort on the host): the k-th largest logit and the nucleus threshold are found by
//! bisection on values, and the draw is an inverse-CDF lookup over the kept probabilities in
//! vocabulary order, as the host path's. One difference from the host path, by construction:
//! top-k keeps every token tied with the k-th largest logit (the host keeps exactly k). Else a
//! draw gives the host's token, but where f32 sums on the device and f64 sums on the host put
//! the draw on different sides of a boundary between two ids.

use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor, TensorData};

use crate::error::{ModelError, Result};
use crate::sampling::SamplingParams;

/// Halvings of the search interval: 2^-32 of a row's logit range, below f32 resolution.
const BISECTION_STEPS: usize = 32;

/// Next token id per row of `logits` (`[rows, vocab]`). `uniforms` holds one draw in [0, 1)
/// per row (from that row's random stream) when sampling; it is ignored for greedy decoding.
pub fn sample_on_device(
    logits: Tensor<2>,
    params: &SamplingParams,
    uniforms: &[f64],
) -> Result<Vec<u32>> {
    params.validate()?;
    let [rows, vocab] = logits.dims();
    let ids = if params.temperature == 0.0 || vocab <= 1 {
        logits.argmax(1)
    } else {
        if uniforms.len() != rows {
            return Err(ModelError::InvalidInput(format!(
                "{} uniform draws for {rows} rows",
                uniforms.len()
            )));
        }
        draw(logits, params, uniforms)
    };
    let ids = ids
        .try_into_vec_as::<i64>()
        .map_err(|e| ModelError::Backend(format!("reading sampled ids: {e:?}")))?;
    ids.into_iter()
        .map(|id| {
            u32::try_from(id)
                .map_err(|_| ModelError::Backend(format!("sampled id {id} is out of range")))
        })
        .collect()
}

/// Temperature, top-k, top-p, then one inverse-CDF draw per row: `[rows, 1]` ids.
fn draw(logits: Tensor<2>, params: &SamplingParams, uniforms: &[f64]) -> Tensor<2, Int> {
    let [rows, vocab] = logits.dims();
    let device = logits.device();
    let mut scaled = logits / params.temperature;
    if params.top_k > 0 && params.top_k < vocab {
        // The k-th largest logit: the largest t with count(logits ≥ t) ≥ k.
        let threshold = bisect(scaled.clone(), scaled.ones_like(), params.top_k as f32);
        let cut = scaled.clone().lower(threshold.expand([rows, vocab]));
        scaled = scaled.mask_fill(cut, f32::NEG_INFINITY);
    }
    let mut probs = softmax(scaled, 1);
    if params.top_p < 1.0 {
        // The smallest set of most likely tokens whose mass reaches top_p: {p ≥ t} for the
        // largest t whose set still holds top_p of the mass.
        let threshold = bisect(probs.clone(), probs.clone(), params.top_p);
        let cut = probs.clone().lower(threshold.expand([rows, vocab]));
        probs = probs.mask_fill(cut, 0.0);
    }
    let cumulative = probs.cumsum(1);
    let total = cumulative.clone().slice([0..rows, vocab - 1..vocab]);
    // 1 − u is in (0, 1]: the target is never 0, so the first index reaching it is a kept token.
    let u: Vec<f32> = uniforms.iter().map(|&u| (1.0 - u) as f32).collect();
    let u = Tensor::<2>::from_data(TensorData::new(u, [rows, 1]), &device);
    let target = (total * u).expand([rows, vocab]);
    cumulative
        .lower(target)
        .int()
        .sum_dim(1)
        .clamp_max(vocab as i64 - 1)
}

/// Per row, the largest `t` in `[min, max]` of `values` with `sum(weight where values ≥ t) ≥
/// goal`, found by bisection (`[rows, 1]`). `goal` must be reachable at `t = min`.
fn bisect(values: Tensor<2>, weight: Tensor<2>, goal: f32) -> Tensor<2> {
    let [rows, vocab] = values.dims();
    let reaches = |t: Tensor<2>| {
        let kept = values
            .clone()
            .greater_equal(t.expand([rows, vocab]))
            .float();
        (kept * weight.clone()).sum_dim(1).greater_equal_elem(goal)
    };
    let mut lo = values.clone().min_dim(1);
    let mut hi = values.clone().max_dim(1);
    for _ in 0..BISECTION_STEPS {
        let mid = (lo.clone() + hi.clone()) / 2.0;
        let ok = reaches(mid.clone());
        lo = lo.mask_where(ok.clone(), mid.clone());
        hi = mid.mask_where(ok, hi);
    }
    // `hi` itself may reach the goal (e.g. a row whose maximum alone holds top_p).
    let ok = reaches(hi.clone());
    lo.mask_where(ok, hi)
}
