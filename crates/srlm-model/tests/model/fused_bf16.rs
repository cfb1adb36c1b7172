//! The fused operations' CubeCL arms over bf16 tensors: each computes in f32 and answers in its
//! inputs' dtype, so a bf16 run equals the f32 reference over the same (bf16-rounded) inputs to
//! bf16's precision, in value and in every input's gradient. They run on a CubeCL device: the
//! test device when it is one, else burn's `cpu` backend (`--features cpu`), whose f32 → bf16
//! casts need the builtin srlm-model exports to its JIT.

use srlm_model::burn::tensor::{DType, FloatDType, Tensor};
use srlm_model::fused::{self, reference};

use crate::common::cube_device;
use crate::fused::{causal_padded_bias, flat, random, relative_error};

/// `op` over bf16 copies of `inputs` against `reference_op` over the same values in f32: the
/// result's dtype is `out_dtype`, every input's gradient comes back in bf16, and value and
/// gradients agree within `bound` of the reference's largest magnitude. Returns the largest
/// error seen.
fn assert_bf16_close<const D: usize, const N: usize>(
    what: &str,
    inputs: [Tensor<D>; N],
    out_dtype: DType,
    bound: f32,
    op: impl Fn([Tensor<D>; N]) -> Tensor<D>,
    reference_op: impl Fn([Tensor<D>; N]) -> Tensor<D>,
) -> f32 {
    let device = inputs[0].device().autodiff();
    // Cast on the device: the f32 → bf16 conversion runs in a kernel.
    let rounded = inputs.map(|t| t.cast(FloatDType::BF16));
    let half: [Tensor<D>; N] = rounded
        .clone()
        .map(|t| Tensor::from_data(t.into_data(), (&device, DType::BF16)).require_grad());
    let full: [Tensor<D>; N] = rounded
        .map(|t| Tensor::from_data(t.cast(FloatDType::F32).into_data(), &device).require_grad());
    for t in &half {
        assert_eq!(t.dtype(), DType::BF16, "{what}: input");
    }
    let got = op(half.clone());
    assert_eq!(got.dtype(), out_dtype, "{what}: result");
    let want = reference_op(full.clone());
    let mut worst = relative_error(
        flat(got.clone().detach().cast(FloatDType::F32)),
        flat(want.clone().detach()),
    );
    assert!(worst < bound, "{what}: value error {worst}");
    let weights = random(want.dims(), &device);
    let got_grads = (got.cast(FloatDType::F32) * weights.clone())
        .sum()
        .backward();
    let want_grads = (want * weights).sum().backward();
    for (i, (h, f)) in half.iter().zip(&full).enumerate() {
        let (Some(g), Some(w)) = (h.grad(&got_grads), f.grad(&want_grads)) else {
            panic!("{what}: input {i} has no gradient");
        };
        assert_eq!(g.dtype(), DType::BF16, "{what}: gradient {i}");
        let error = relative_error(flat(g.cast(FloatDType::F32)), flat(w));
        assert!(error < bound, "{what}: gradient {i} error {error}");
        worst = worst.max(error);
    }
    worst
}

/// bf16's unit roundoff is 2⁻⁹ ≈ 0.2 %: the element-wise operations round their results and
/// gradients once (measured on cubecl-cpu: 2.5–4.5·10⁻³ of the largest magnitude).
const BOUND: f32 = 1e-2;

/// Attention's products are longer sums of rounded inputs (measured on cubecl-cpu: 6.6·10⁻³).
const ATTENTION_BOUND: f32 = 2e-2;

#[test]
#[cfg_attr(not(fused_cube), ignore = "needs a CubeCL backend: --features cpu")]
fn rms_norm_swiglu_and_rotary_compute_bf16_in_f32() {
    let device = cube_device();
    let (rows, width) = (6, 96);
    let w: Tensor<2> = random([width], &device).reshape([1, width]);
    let error = assert_bf16_close(
        "rms_norm",
        [random([rows, width], &device), w],
        DType::BF16,
        BOUND,
        |[x, w]| fused::rms_norm(x, w.reshape([width]), 1e-5),
        |[x, w]| reference::rms_norm(x, w.reshape([width]), 1e-5),
    );
    eprintln!("rms_norm bf16: largest relative error {error:.2e}");
    let error = assert_bf16_close(
        "swiglu",
        [
            random([4, 5, 48], &device).mul_scalar(4.0),
            random([4, 5, 48], &device),
        ],
        DType::BF16,
        BOUND,
        |[g, u]| fused::swiglu(g, u),
        |[g, u]| reference::swiglu(g, u),
    );
    eprintln!("swiglu bf16: largest relative error {error:.2e}");
    let (cos, sin) = (random([2, 1, 7, 8], &device), random([2, 1, 7, 8], &device));
    let (c, s) = (cos.clone(), sin.clone());
    let error = assert_bf16_close(
        "rotary",
        [random([2, 3, 7, 8], &device)],
        DType::BF16,
        BOUND,
        move |[x]| fused::rotary(x, c.clone(), s.clone()),
        move |[x]| reference::rotary(x, cos.clone(), sin.clone()),
    );
    eprintln!("rotary bf16: largest relative error {error:.2e}");
}

#[test]
#[cfg_attr(not(fused_cube), ignore = "needs a CubeCL backend: --features cpu")]
fn attention_and_its_softmax_compute_bf16_in_f32() {
    let device = cube_device();
    let (batch, kv_heads, groups, seq, dim) = (2, 2, 2, 9, 8);
    let bias = causal_padded_bias(&[0, 3], groups, seq, &device);
    let scale = 1.0 / (dim as f64).sqrt();
    let b = bias.clone();
    let error = assert_bf16_close(
        "attention_softmax",
        [random([batch, kv_heads, groups * seq, seq], &device).mul_scalar(4.0)],
        DType::BF16,
        BOUND,
        move |[s]| fused::attention_softmax(s, b.clone(), scale),
        {
            let bias = bias.clone();
            move |[s]| reference::attention_softmax(s, bias.clone(), scale)
        },
    );
    eprintln!("attention_softmax bf16: largest relative error {error:.2e}");
    let b = bias.clone();
    let error = assert_bf16_close(
        "attention",
        [
            random([batch, kv_heads, groups * seq, dim], &device).mul_scalar(2.0),
            random([batch, kv_heads, seq, dim], &device),
            random([batch, kv_heads, seq, dim], &device),
        ],
        DType::BF16,
        ATTENTION_BOUND,
        move |[q, k, v]| fused::attention(q, k, v, b.clone(), scale),
        move |[q, k, v]| reference::attention(q, k, v, bias.clone(), scale),
    );
    eprintln!("attention bf16: largest relative error {error:.2e}");
}

#[test]
#[cfg_attr(not(fused_cube), ignore = "needs a CubeCL backend: --features cpu")]
fn linear_log_probs_over_bf16_answer_in_f32() {
    let device = cube_device();
    // Across the vocabulary chunk (8,192 ids).
    let (rows, dim, vocab) = (5, 32, 9_001);
    let targets: Vec<u32> = vec![0, 17, 8_191, 8_192, 9_000];
    let t = targets.clone();
    let error = assert_bf16_close(
        "linear_log_probs",
        [
            random([rows, dim], &device),
            random([vocab, dim], &device).mul_scalar(0.5),
        ],
        DType::F32,
        BOUND,
        move |[h, w]| fused::linear_log_probs(h, w, &t).unsqueeze::<2>(),
        move |[h, w]| reference::linear_log_probs(h, w, &targets).unsqueeze::<2>(),
    );
    eprintln!("linear_log_probs bf16: largest relative error {error:.2e}");
}
