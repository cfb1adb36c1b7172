//! The fused operations' forward passes with what their backward passes need, and the backward
//! passes themselves, as burn tensor operations: the implementation for backends without kernels
//! of their own (the CubeCL backends: wgpu, cuda, burn's `cpu`), where burn's operation fusion
//! compiles the element-wise chains into kernels.
//!
//! Under autodiff these replace what burn-autodiff would record for the composed operations of
//! [`super::reference`] with one hand-written backward pass each (the same formulas as the flex
//! kernels), and keep the memory shape of the flex kernels where it matters: the
//! `[rows, vocab]` logits of [`linear_log_probs_with_lse`] are computed a chunk of the
//! vocabulary at a time, forward and backward, and never held whole.
//!
//! Every function takes and returns tensors without autodiff; the crate's tests hold each to the
//! gradients burn-autodiff computes through the reference on the flex backend.

use burn::tensor::activation::{sigmoid, silu};
use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};

use crate::log_sum_exp::log_sum_exp;

/// Vocabulary ids per chunk of [`linear_log_probs_with_lse`] and its backward pass.
pub(crate) const VOCAB_CHUNK: usize = 8192;

/// RMSNorm over the last dimension of `x` `[rows, dim]` and each row's `1 / √(mean(x²) + ε)`,
/// `[rows, 1]`.
pub(crate) fn rms_norm_with_inverse(
    x: Tensor<2>,
    weight: Tensor<1>,
    eps: f32,
) -> (Tensor<2>, Tensor<2>) {
    let inverse = (x.clone().square().mean_dim(1) + f64::from(eps))
        .sqrt()
        .recip();
    let y = x * inverse.clone() * weight.unsqueeze::<2>();
    (y, inverse)
}

/// RMSNorm's `(dx, dweight)`: `dx = r·g·w − x·r³·Σ(g·w·x)/d`, `dw = Σ_rows g·x·r`.
pub(crate) fn rms_norm_backward(
    x: Tensor<2>,
    weight: Tensor<1>,
    inverse: Tensor<2>,
    grad: Tensor<2>,
) -> (Tensor<2>, Tensor<1>) {
    let dim = x.dims()[1];
    let gw = grad.clone() * weight.unsqueeze::<2>();
    let dot = (gw.clone() * x.clone()).sum_dim(1).div_scalar(dim as f32);
    let cubed = inverse.clone().powi_scalar(3);
    let dx = gw * inverse.clone() - x.clone() * cubed * dot;
    let dw = (grad * x * inverse).sum_dim(0).reshape([dim]);
    (dx, dw)
}

/// SwiGLU's `(dgate, dup)`: `dup = g·silu(gate)`, `dgate = g·up·σ(gate)·(1 + gate·(1 − σ(gate)))`.
pub(crate) fn swiglu_backward(
    gate: Tensor<1>,
    up: Tensor<1>,
    grad: Tensor<1>,
) -> (Tensor<1>, Tensor<1>) {
    let sig = sigmoid(gate.clone());
    let d_up = grad.clone() * silu(gate.clone());
    let slope = sig.clone() * (gate * (sig.neg().add_scalar(1.0))).add_scalar(1.0);
    (grad * up * slope, d_up)
}

/// `softmax(scale · scores + bias)`'s `dscores` from its output `probs` and the output's
/// gradient: `scale · p · (g − Σ g·p)`.
pub(crate) fn attention_softmax_backward(
    probs: Tensor<4>,
    grad: Tensor<4>,
    scale: f32,
) -> Tensor<4> {
    let dot = (grad.clone() * probs.clone()).sum_dim(3);
    (probs * (grad - dot)).mul_scalar(scale)
}

/// `softmax(scale · q·kᵀ + bias) · v` and each query's `log Σ exp` of its scores, `[batch,
/// heads, rows, 1]`.
pub(crate) fn attention_with_lse(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    bias: Tensor<4>,
    scale: f32,
) -> (Tensor<4>, Tensor<4>) {
    let z = q.matmul(k.swap_dims(2, 3)).mul_scalar(scale) + bias;
    let [b, h, rows, keys] = z.dims();
    let lse = log_sum_exp(z.clone().reshape([b * h, rows, keys])).reshape([b, h, rows, 1]);
    let probs = (z - lse.clone()).exp();
    (probs.matmul(v), lse)
}

/// Attention's `(dq, dk, dv)`, the probabilities recomputed from the forward's `log Σ exp`:
/// `dv = pᵀ·g`, `ds = p·(g·vᵀ − Σ g·out)`, `dq = scale · ds·k`, `dk = scale · dsᵀ·q`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn attention_backward(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    bias: Tensor<4>,
    out: Tensor<4>,
    lse: Tensor<4>,
    grad: Tensor<4>,
    scale: f32,
) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let z = q
        .clone()
        .matmul(k.clone().swap_dims(2, 3))
        .mul_scalar(scale)
        + bias;
    let probs = (z - lse).exp();
    let d_v = probs.clone().swap_dims(2, 3).matmul(grad.clone());
    let row_dot = (grad.clone() * out).sum_dim(3);
    let d_scores = (probs * (grad.matmul(v.swap_dims(2, 3)) - row_dot)).mul_scalar(scale);
    let d_q = d_scores.clone().matmul(k);
    let d_k = d_scores.swap_dims(2, 3).matmul(q);
    (d_q, d_k, d_v)
}

/// Each row's target log-probability under `hidden · weightᵀ` (`hidden` `[rows, dim]`,
/// `weight` `[vocab, dim]`), `[rows]`, and each row's `log Σ exp` of its logits, `[rows]`: the
/// logits a chunk of [`VOCAB_CHUNK`] ids at a time, with an online log-sum-exp.
pub(crate) fn linear_log_probs_with_lse(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    targets: &[u32],
) -> (Tensor<1>, Tensor<1>) {
    let [rows, _] = hidden.dims();
    let vocab = weight.dims()[0];
    let mut max: Option<Tensor<2>> = None;
    let mut sum: Option<Tensor<2>> = None;
    for start in (0..vocab).step_by(VOCAB_CHUNK) {
        let end = (start + VOCAB_CHUNK).min(vocab);
        let logits = chunk_logits(&hidden, &weight, start, end);
        let chunk_max = logits.clone().max_dim(1);
        let new_max = match &max {
            Some(m) => m.clone().max_pair(chunk_max),
            None => chunk_max,
        };
        let chunk_sum = (logits - new_max.clone()).exp().sum_dim(1);
        sum = Some(match (sum, &max) {
            (Some(s), Some(m)) => s * (m.clone() - new_max.clone()).exp() + chunk_sum,
            _ => chunk_sum,
        });
        max = Some(new_max);
    }
    let lse = match (max, sum) {
        (Some(m), Some(s)) => (s.log() + m).reshape([rows]),
        _ => Tensor::zeros([rows], &hidden.device()),
    };
    let target_rows = weight.select(0, target_ids(targets, &hidden.device()));
    let target_logits = (hidden * target_rows).sum_dim(1).reshape([rows]);
    (target_logits - lse.clone(), lse)
}

/// The backward pass of [`linear_log_probs_with_lse`]: `dlogits = g·(onehot(target) − p)`,
/// `dhidden = dlogits · weight`, `dweight = dlogitsᵀ · hidden` (only with `weight_grad`), the
/// logits recomputed a chunk at a time from the forward's `log Σ exp`.
pub(crate) fn linear_log_probs_backward(
    hidden: Tensor<2>,
    weight: Tensor<2>,
    targets: &[u32],
    lse: Tensor<1>,
    grad: Tensor<1>,
    weight_grad: bool,
) -> (Tensor<2>, Option<Tensor<2>>) {
    let [rows, _] = hidden.dims();
    let vocab = weight.dims()[0];
    let device = hidden.device();
    let lse = lse.reshape([rows, 1]);
    let grad = grad.reshape([rows, 1]);
    let ids = target_ids(targets, &device);
    // The target's part: `+g` at each row's target logit.
    let target_rows = weight.clone().select(0, ids.clone());
    let mut d_hidden = target_rows * grad.clone();
    let mut d_weight_chunks = Vec::new();
    for start in (0..vocab).step_by(VOCAB_CHUNK) {
        let end = (start + VOCAB_CHUNK).min(vocab);
        let probs = (chunk_logits(&hidden, &weight, start, end) - lse.clone()).exp();
        let d_logits = probs * grad.clone().neg();
        let rows_of_chunk = weight.clone().narrow(0, start, end - start);
        d_hidden = d_hidden + d_logits.clone().matmul(rows_of_chunk);
        if weight_grad {
            d_weight_chunks.push(d_logits.transpose().matmul(hidden.clone()));
        }
    }
    let d_weight = weight_grad.then(|| {
        Tensor::cat(d_weight_chunks, 0).select_assign(0, ids, hidden * grad, IndexingUpdateOp::Add)
    });
    (d_hidden, d_weight)
}

/// `hidden · weight[start..end]ᵀ`, `[rows, end − start]`.
fn chunk_logits(hidden: &Tensor<2>, weight: &Tensor<2>, start: usize, end: usize) -> Tensor<2> {
    hidden
        .clone()
        .matmul(weight.clone().narrow(0, start, end - start).transpose())
}

fn target_ids(targets: &[u32], device: &burn::tensor::Device) -> Tensor<1, Int> {
    let ids: Vec<i64> = targets.iter().map(|&t| i64::from(t)).collect();
    Tensor::from_data(TensorData::new(ids, [targets.len()]), device)
}

/// The rotary embedding's `dx`: the transposed rotation of the output's gradient,
/// `g · cos + rotate_halfᵀ(g · sin)`, `rotate_halfᵀ(u) = [u₂, −u₁]`.
pub(crate) fn rotary_backward(grad: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = grad.dims();
    let half = d / 2;
    let u = grad.clone() * sin;
    let u1 = u.clone().slice([0..b, 0..h, 0..t, 0..half]);
    let u2 = u.slice([0..b, 0..h, 0..t, half..d]);
    grad * cos + Tensor::cat(vec![u2, u1.neg()], 3)
}

#[cfg(test)]
mod tests {
    //! Each backward pass against burn-autodiff's gradients through the reference, on flex.

    use burn::tensor::{Device, Distribution, Tensor};

    use super::*;
    use crate::fused::reference;

    fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    fn assert_close<const D: usize>(actual: Tensor<D>, expected: Tensor<D>, what: &str) {
        let a: Vec<f32> = actual.into_data().try_to_vec::<f32>().unwrap();
        let e: Vec<f32> = expected.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(a.len(), e.len(), "{what}: lengths");
        let scale = e.iter().fold(1e-3f32, |m, x| m.max(x.abs()));
        for (i, (x, y)) in a.iter().zip(&e).enumerate() {
            assert!(
                (x - y).abs() <= 2e-5 * scale,
                "{what}[{i}]: {x} vs {y} (scale {scale})"
            );
        }
    }

    fn plain() -> Device {
        Device::flex()
    }

    /// `t` on `device` (an autodiff device): a copy, tracked or constant.
    fn on<const D: usize>(t: &Tensor<D>, device: &Device) -> Tensor<D> {
        Tensor::from_data(t.clone().into_data(), device)
    }

    #[test]
    fn rms_norm_matches_autodiff_through_the_reference() {
        let (rows, dim) = (7, 13);
        let x = random([rows, dim], &plain());
        let w = random([dim], &plain());
        let g = random([rows, dim], &plain());
        let xa = on(&x, &plain().autodiff()).require_grad();
        let wa = on(&w, &plain().autodiff()).require_grad();
        let y = reference::rms_norm(xa.clone(), wa.clone(), 1e-5);
        let grads = (y.clone() * on(&g, &plain().autodiff())).sum().backward();
        let (fy, inv) = rms_norm_with_inverse(x.clone(), w.clone(), 1e-5);
        assert_close(fy, y.inner(), "y");
        let (dx, dw) = rms_norm_backward(x, w, inv, g);
        assert_close(dx, xa.grad(&grads).unwrap(), "dx");
        assert_close(dw, wa.grad(&grads).unwrap(), "dw");
    }

    #[test]
    fn swiglu_matches_autodiff_through_the_reference() {
        let n = 37;
        let (gate, up, g) = (
            random([n], &plain()),
            random([n], &plain()),
            random([n], &plain()),
        );
        let ga = on(&gate, &plain().autodiff()).require_grad();
        let ua = on(&up, &plain().autodiff()).require_grad();
        let y = reference::swiglu(ga.clone(), ua.clone());
        let grads = (y * on(&g, &plain().autodiff())).sum().backward();
        let (d_gate, d_up) = swiglu_backward(gate, up, g);
        assert_close(d_gate, ga.grad(&grads).unwrap(), "dgate");
        assert_close(d_up, ua.grad(&grads).unwrap(), "dup");
    }

    #[test]
    fn attention_and_its_softmax_match_autodiff_through_the_reference() {
        let (b, h, rows, keys, dim) = (2, 3, 5, 9, 6);
        let q = random([b, h, rows, dim], &plain());
        let k = random([b, h, keys, dim], &plain());
        let v = random([b, h, keys, dim], &plain());
        // One head's bias broadcast, with masked keys as the model writes them.
        let bias = random([b, 1, rows, keys], &plain()).mask_fill(
            random([b, 1, rows, keys], &plain()).greater_elem(1.0),
            -1.0e9,
        );
        let g = random([b, h, rows, dim], &plain());
        let scale = 0.37;
        let ad = plain().autodiff();
        let (qa, ka, va) = (
            on(&q, &ad).require_grad(),
            on(&k, &ad).require_grad(),
            on(&v, &ad).require_grad(),
        );
        let y = reference::attention(
            qa.clone(),
            ka.clone(),
            va.clone(),
            on(&bias, &ad),
            f64::from(scale),
        );
        let grads = (y.clone() * on(&g, &ad)).sum().backward();
        let (out, lse) = attention_with_lse(q.clone(), k.clone(), v.clone(), bias.clone(), scale);
        assert_close(out.clone(), y.inner(), "out");
        let (d_q, d_k, d_v) =
            attention_backward(q.clone(), k.clone(), v, bias.clone(), out, lse, g, scale);
        assert_close(d_q, qa.grad(&grads).unwrap(), "dq");
        assert_close(d_k, ka.grad(&grads).unwrap(), "dk");
        assert_close(d_v, va.grad(&grads).unwrap(), "dv");

        let scores = q.matmul(k.swap_dims(2, 3));
        let sa = on(&scores, &ad).require_grad();
        let p = reference::attention_softmax(sa.clone(), on(&bias, &ad), 0.37);
        let gp = random([b, h, rows, keys], &plain());
        let grads = (p.clone() * on(&gp, &ad)).sum().backward();
        let probs = reference::attention_softmax(scores, bias, f64::from(scale));
        assert_close(probs.clone(), p.inner(), "probs");
        let d_s = attention_softmax_backward(probs, gp, scale);
        assert_close(d_s, sa.grad(&grads).unwrap(), "dscores");
    }

    #[test]
    fn linear_log_probs_match_autodiff_through_the_reference_across_chunks() {
        // A vocabulary of two chunks and a part, repeated targets, targets in every chunk.
        let (rows, dim, vocab) = (6, 8, 2 * VOCAB_CHUNK + 37);
        let hidden = random([rows, dim], &plain());
        let weight = random([vocab, dim], &plain()).mul_scalar(0.3);
        let targets = [
            0,
            5,
            VOCAB_CHUNK as u32,
            5,
            vocab as u32 - 1,
            2 * VOCAB_CHUNK as u32,
        ];
        let g = random([rows], &plain());
        let ad = plain().autodiff();
        let ha = on(&hidden, &ad).require_grad();
        let wa = on(&weight, &ad).require_grad();
        let y = reference::linear_log_probs(ha.clone(), wa.clone(), &targets);
        let grads = (y.clone() * on(&g, &ad)).sum().backward();
        let (log_probs, lse) = linear_log_probs_with_lse(hidden.clone(), weight.clone(), &targets);
        assert_close(log_probs, y.inner(), "log-probs");
        let (d_h, d_w) = linear_log_probs_backward(
            hidden.clone(),
            weight.clone(),
            &targets,
            lse.clone(),
            g.clone(),
            true,
        );
        assert_close(d_h, ha.grad(&grads).unwrap(), "dhidden");
        assert_close(d_w.unwrap(), wa.grad(&grads).unwrap(), "dweight");
        // A frozen weight: the same dhidden, no dweight.
        let (d_h, d_w) = linear_log_probs_backward(hidden, weight, &targets, lse, g, false);
        assert_close(d_h, ha.grad(&grads).unwrap(), "dhidden, frozen weight");
        assert!(d_w.is_none());
    }

    #[test]
    fn rotary_matches_autodiff_through_the_reference() {
        let (b, h, t, d) = (2, 3, 4, 10);
        let x = random([b, h, t, d], &plain());
        let cos = random([b, 1, t, d], &plain());
        let sin = random([b, 1, t, d], &plain());
        let g = random([b, h, t, d], &plain());
        let ad = plain().autodiff();
        let xa = on(&x, &ad).require_grad();
        let y = reference::rotary(xa.clone(), on(&cos, &ad), on(&sin, &ad));
        let grads = (y * on(&g, &ad)).sum().backward();
        assert_close(rotary_backward(g, cos, sin), xa.grad(&grads).unwrap(), "dx");
    }
}
