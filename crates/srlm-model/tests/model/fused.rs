//! Every fused operation against its composed reference (`srlm_model::fused::reference`), in
//! value and in gradient, on random inputs of odd sizes, with padded (masked) rows and with the
//! attention bias shared by 1 or 3 heads. On a device without fused kernels both sides are the
//! reference, and the tests check that path.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use srlm_model::burn::tensor::{Device, Distribution, Tensor, TensorData};
use srlm_model::fused::{self, reference};

use crate::common::device;

/// Largest difference relative to the reference's largest magnitude.
pub(crate) fn relative_error(got: Tensor<1>, want: Tensor<1>) -> f32 {
    let got = got.try_into_vec_as::<f32>().unwrap();
    let want = want.try_into_vec_as::<f32>().unwrap();
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    crate::common::max_abs_diff(&got, &want) / scale
}

pub(crate) fn flat<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    t.reshape([n])
}

pub(crate) fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Checks value and every input's gradient of `fused_op` against `reference_op`, with a random
/// upstream gradient (a weighted sum as the loss).
fn assert_same<const D: usize, const N: usize>(
    what: &str,
    inputs: [Tensor<D>; N],
    fused_op: impl Fn([Tensor<D>; N]) -> Tensor<D>,
    reference_op: impl Fn([Tensor<D>; N]) -> Tensor<D>,
) {
    let device = inputs[0].device().autodiff();
    let run = |op: &dyn Fn([Tensor<D>; N]) -> Tensor<D>| {
        let tracked: [Tensor<D>; N] = inputs
            .clone()
            .map(|t| Tensor::from_data(t.into_data(), &device).require_grad());
        let out = op(tracked.clone());
        let weights: Tensor<D> = Tensor::from_data(
            Tensor::<D>::random(
                out.shape(),
                Distribution::Normal(0.0, 1.0),
                &inputs[0].device(),
            )
            .into_data(),
            &device,
        );
        (out, tracked, weights)
    };
    // The same upstream weights on both sides.
    let (fused_out, fused_in, weights) = run(&fused_op);
    let reference_in: [Tensor<D>; N] = inputs
        .clone()
        .map(|t| Tensor::from_data(t.into_data(), &device).require_grad());
    let reference_out = reference_op(reference_in.clone());
    let value_error = relative_error(
        flat(fused_out.clone().detach()),
        flat(reference_out.clone().detach()),
    );
    let bound = crate::common::matmul_bound(1e-5, 2e-3);
    assert!(value_error < bound, "{what}: value error {value_error}");
    let fused_grads = (fused_out * weights.clone()).sum().backward();
    let reference_grads = (reference_out * weights).sum().backward();
    for (i, (f, r)) in fused_in.iter().zip(&reference_in).enumerate() {
        let (Some(f), Some(r)) = (f.grad(&fused_grads), r.grad(&reference_grads)) else {
            panic!("{what}: input {i} has no gradient");
        };
        let error = relative_error(flat(f), flat(r));
        assert!(error < bound, "{what}: gradient {i} error {error}");
    }
}

#[test]
fn rms_norm_equals_the_composed_norm_in_value_and_gradient() {
    let device = device();
    for (rows, width) in [(1, 3), (3, 7), (17, 64), (5, 576), (130, 33)] {
        let x = random([rows, 2, width], &device);
        let w = random([width], &device);
        let w3: Tensor<3> = w.reshape([1, 1, width]);
        assert_same(
            &format!("rms_norm {rows}x2x{width}"),
            [x, w3],
            |[x, w]| fused::rms_norm(x, w.reshape([width]), 1e-5),
            |[x, w]| reference::rms_norm(x, w.reshape([width]), 1e-5),
        );
    }
}

#[test]
fn swiglu_equals_silu_times_up_in_value_and_gradient() {
    let device = device();
    for shape in [[1, 1, 1], [2, 3, 5], [4, 17, 1536], [3, 1, 40_000]] {
        // Large gates too, where σ saturates.
        let gate = random(shape, &device).mul_scalar(6.0);
        let up = random(shape, &device);
        assert_same(
            &format!("swiglu {shape:?}"),
            [gate, up],
            |[g, u]| fused::swiglu(g, u),
            |[g, u]| reference::swiglu(g, u),
        );
    }
}

/// A causal bias `[batch, 1, groups · queries, keys]` with the last `padding[row]` keys of each
/// row masked (right padding), repeated for each of `groups` query heads.
pub(crate) fn causal_padded_bias(
    padding: &[usize],
    groups: usize,
    queries: usize,
    device: &Device,
) -> Tensor<4> {
    let batch = padding.len();
    let keys = queries;
    let mut values = vec![-1.0e9f32; batch * groups * queries * keys];
    for (row, &pad) in padding.iter().enumerate() {
        for g in 0..groups {
            for q in 0..queries {
                for k in 0..=q {
                    if k < keys - pad {
                        values[((row * groups + g) * queries + q) * keys + k] = 0.0;
                    }
                }
            }
        }
    }
    Tensor::from_data(
        TensorData::new(values, [batch, 1, groups * queries, keys]),
        device,
    )
}

#[test]
fn attention_softmax_equals_the_composed_softmax_with_masks_and_shared_heads() {
    let device = device();
    let mut rng = SmallRng::seed_from_u64(7);
    // (batch, key/value heads, query heads per key/value head, sequence)
    for (batch, kv_heads, groups, seq) in [(1, 1, 1, 1), (2, 3, 1, 9), (3, 2, 3, 13), (2, 3, 3, 64)]
    {
        let padding: Vec<usize> = (0..batch).map(|_| rng.random_range(0..seq)).collect();
        let bias = causal_padded_bias(&padding, groups, seq, &device);
        let scores = random([batch, kv_heads, groups * seq, seq], &device).mul_scalar(4.0);
        let scale = 0.125;
        let bias_fused = bias.clone();
        assert_same(
            &format!("attention_softmax b{batch} kvh{kv_heads} g{groups} t{seq}"),
            [scores.clone()],
            move |[s]| fused::attention_softmax(s, bias_fused.clone(), scale),
            move |[s]| reference::attention_softmax(s, bias.clone(), scale),
        );
        // A bias with one row per score row (no broadcast) gives the same.
        let full = causal_padded_bias(&padding, groups, seq, &device).repeat_dim(1, kv_heads);
        let want = reference::attention_softmax(scores.clone(), full.clone(), scale);
        let got = fused::attention_softmax(scores, full, scale);
        assert!(relative_error(flat(got), flat(want)) < 1e-5);
    }
}

#[test]
fn fused_operation_names_parse_and_unknown_names_are_errors() {
    use srlm_model::fused::{parse_fused_ops, FusedOp};
    assert_eq!(parse_fused_ops("all").unwrap(), FusedOp::ALL.to_vec());
    // Every fused operation is on by default.
    assert_eq!(parse_fused_ops("default").unwrap(), FusedOp::ALL.to_vec());
    assert_eq!(parse_fused_ops("").unwrap(), FusedOp::DEFAULT.to_vec());
    assert!(parse_fused_ops("none").unwrap().is_empty());
    assert_eq!(
        parse_fused_ops("swiglu, rms_norm").unwrap(),
        vec![FusedOp::Swiglu, FusedOp::RmsNorm]
    );
    let error = parse_fused_ops("swiglu,flash").unwrap_err().to_string();
    assert!(
        error.contains("`flash`") && error.contains("attention_softmax"),
        "{error}"
    );
    // Generation's fast paths are not fused operations: they have their own switches.
    let error = parse_fused_ops("prefix_cache").unwrap_err().to_string();
    assert!(error.contains("SRLM_FUSED"), "{error}");
}

#[test]
fn generation_path_names_parse_and_the_default_leaves_out_continuous_batching() {
    use srlm_model::GenerationPath;
    assert_eq!(
        GenerationPath::parse("all").unwrap(),
        GenerationPath::ALL.to_vec()
    );
    // Continuous batching is slower on the CPU backend: off unless asked for.
    assert_eq!(
        GenerationPath::parse("default").unwrap(),
        vec![GenerationPath::PrefixCache, GenerationPath::KvInPlace]
    );
    assert_eq!(
        GenerationPath::parse("continuous_batching, prefix_cache").unwrap(),
        vec![
            GenerationPath::ContinuousBatching,
            GenerationPath::PrefixCache
        ]
    );
    assert!(GenerationPath::parse("none").unwrap().is_empty());
    let error = GenerationPath::parse("rms_norm").unwrap_err().to_string();
    assert!(
        error.contains("`rms_norm`") && error.contains("SRLM_GENERATION"),
        "{error}"
    );
}

#[test]
fn the_fused_path_knows_its_backends() {
    let flex = Device::flex();
    assert!(fused::is_flex(&flex));
    assert!(fused::is_flex(&flex.clone().autodiff()));
    assert!(!fused::is_cube(&flex));
    assert!(!fused::is_cube(&flex.autodiff()));
    // The device these tests run on: a CubeCL one takes the extension's CubeCL implementation.
    let name = std::env::var("SRLM_TEST_DEVICE").unwrap_or_default();
    let cube = ["cubecl-cpu", "wgpu", "cuda"]
        .iter()
        .any(|kind| name.starts_with(kind));
    assert_eq!(fused::is_cube(&device()), cube, "SRLM_TEST_DEVICE={name}");
    assert_eq!(fused::is_cube(&device().autodiff()), cube);
}

#[test]
fn linear_log_probs_equal_the_written_out_log_softmax_in_value_and_gradient() {
    let device = device();
    let mut rng = SmallRng::seed_from_u64(11);
    // Vocabularies below, at and across the 4,096-id chunk, not multiples of it.
    for (rows, dim, vocab) in [(1, 8, 5), (7, 33, 4096), (13, 64, 9_001), (3, 16, 12_289)] {
        let targets: Vec<u32> = (0..rows)
            .map(|_| rng.random_range(0..vocab as u32))
            .collect();
        let hidden = random([rows, dim], &device);
        let weight = random([vocab, dim], &device).mul_scalar(0.5);
        let t = targets.clone();
        assert_same(
            &format!("linear_log_probs {rows}x{dim} vocab {vocab}"),
            [hidden, weight],
            move |[h, w]| fused::linear_log_probs(h, w, &t).unsqueeze::<2>(),
            move |[h, w]| reference::linear_log_probs(h, w, &targets).unsqueeze::<2>(),
        );
    }
}

#[test]
fn rotary_equals_rotate_half_in_value_and_gradient() {
    let device = device();
    for (batch, heads, seq, dim) in [(1, 1, 1, 2), (2, 3, 5, 8), (3, 9, 17, 64), (2, 1, 33, 6)] {
        let x = random([batch, heads, seq, dim], &device);
        let (cos, sin) = (
            random([batch, 1, seq, dim], &device),
            random([batch, 1, seq, dim], &device),
        );
        let (c, s) = (cos.clone(), sin.clone());
        assert_same(
            &format!("rotary b{batch} h{heads} t{seq} d{dim}"),
            [x.clone()],
            move |[x]| fused::rotary(x, c.clone(), s.clone()),
            move |[x]| reference::rotary(x, cos.clone(), sin.clone()),
        );
    }
    // Tables with a row per head give the same as broadcast ones.
    let x = random([2, 3, 4, 8], &device);
    let (cos, sin) = (random([2, 1, 4, 8], &device), random([2, 1, 4, 8], &device));
    let want = reference::rotary(x.clone(), cos.clone(), sin.clone());
    let got = fused::rotary(x, cos.repeat_dim(1, 3), sin.repeat_dim(1, 3));
    assert!(relative_error(flat(got), flat(want)) < 1e-5);
}

#[test]
fn adamw_update_equals_the_composed_update() {
    let device = device();
    for (n, step_count, weight_decay) in [(1, 1, 0.0), (1000, 1, 0.1), (70_001, 10, 0.01)] {
        let [value, grad, m] = [0, 1, 2].map(|_| random([n], &device));
        let v = random([n], &device).abs();
        let step = fused::AdamWStep {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            bias_correction1: 1.0 - 0.9f64.powi(step_count),
            bias_correction2: 1.0 - 0.999f64.powi(step_count),
        };
        let want =
            reference::adamw_update(value.clone(), grad.clone(), m.clone(), v.clone(), &step);
        // A buffer shared with another tensor is copied, never written through.
        let before = value.clone().into_data();
        let got = fused::adamw_update(value.clone(), grad, m.clone(), v.clone(), &step);
        for (what, got, want) in [
            ("value", got.0, want.0),
            ("m", got.1, want.1),
            ("v", got.2, want.2),
        ] {
            let error = relative_error(got, want);
            assert!(
                error < 1e-5,
                "adamw n={n} t={step_count}: {what} error {error}"
            );
        }
        assert_eq!(value.into_data(), before);
    }
}

#[test]
fn attention_equals_the_written_out_attention_in_value_and_gradient() {
    let device = device();
    let mut rng = SmallRng::seed_from_u64(11);
    // (batch, key/value heads, query heads per key/value head, sequence, head dim): tiles of
    // 64 queries, partial last tiles, one query, GQA ratios 1 and 3, odd head dims.
    for (batch, kv_heads, groups, seq, dim) in [
        (1, 1, 1, 1, 1),
        (2, 3, 1, 9, 5),
        (3, 2, 3, 13, 8),
        (2, 3, 3, 64, 64),
        (1, 2, 1, 150, 7),
    ] {
        let padding: Vec<usize> = (0..batch).map(|_| rng.random_range(0..seq)).collect();
        let bias = causal_padded_bias(&padding, groups, seq, &device);
        let q = random([batch, kv_heads, groups * seq, dim], &device).mul_scalar(2.0);
        let k = random([batch, kv_heads, seq, dim], &device);
        let v = random([batch, kv_heads, seq, dim], &device);
        let scale = 1.0 / (dim as f64).sqrt();
        let bias_fused = bias.clone();
        let what = format!("attention b{batch} kvh{kv_heads} g{groups} t{seq} d{dim}");
        assert_same(
            &what,
            [q.clone(), k.clone(), v.clone()],
            move |[q, k, v]| fused::attention(q, k, v, bias_fused.clone(), scale),
            move |[q, k, v]| reference::attention(q, k, v, bias.clone(), scale),
        );
        // A bias with one block per head (no broadcast), without autodiff, gives the same.
        let full = causal_padded_bias(&padding, groups, seq, &device).repeat_dim(1, kv_heads);
        let want = reference::attention(q.clone(), k.clone(), v.clone(), full.clone(), scale);
        let got = fused::attention(q, k, v, full, scale);
        assert!(relative_error(flat(got), flat(want)) < 1e-5, "{what}");
    }
}

#[test]
fn attention_gradients_are_the_same_bit_for_bit_run_after_run() {
    let device = device();
    let (batch, kv_heads, rows, seq, dim) = (2, 3, 3 * 100, 100, 16);
    let bias = causal_padded_bias(&[0, 7], 3, seq, &device);
    let inputs = [
        random([batch, kv_heads, rows, dim], &device),
        random([batch, kv_heads, seq, dim], &device),
        random([batch, kv_heads, seq, dim], &device),
    ];
    let grads = || {
        let ad = device.clone().autodiff();
        let [q, k, v] = inputs
            .clone()
            .map(|t| Tensor::<4>::from_data(t.into_data(), &ad).require_grad());
        let out = fused::attention(q.clone(), k.clone(), v.clone(), bias.clone(), 0.25);
        let g = out.sum().backward();
        [q, k, v].map(|t| t.grad(&g).unwrap().try_into_vec_as::<f32>().unwrap())
    };
    let first = grads();
    for _ in 0..3 {
        assert!(grads() == first, "the gradients changed between runs");
    }
}

#[test]
fn few_rows_matmuls_equal_the_matrix_product() {
    let device = device();
    // Rows in and around the fused range (2–64: register tiles of 4 rows and their remainders),
    // inner sizes with and without a remainder of 4, outer sizes below one task's band, not a
    // multiple of 16 (columns past the last whole register tile), and over several bands.
    for (k, n) in [
        (1, 1),
        (5, 3),
        (37, 53),
        (576, 192),
        (130, 1000),
        (64, 4099),
    ] {
        for rows in [1, 2, 3, 4, 5, 7, 16, 17, 64, 65] {
            let x: Tensor<2> = random([rows, k], &device);
            let w: Tensor<2> = random([k, n], &device);
            let bound = crate::common::matmul_bound(1e-5, 2e-3);
            let error = relative_error(
                flat(fused::few_rows_matmul(x.clone(), w.clone())),
                flat(x.clone().matmul(w.clone())),
            );
            assert!(error < bound, "{rows}x{k} · {k}x{n}: error {error}");
            // The tied-head form: the weight given as `[n, k]` rows.
            let e: Tensor<2> = Tensor::from_data(w.clone().transpose().into_data(), &device);
            let error = relative_error(
                flat(fused::few_rows_matmul_transposed(x.clone(), e)),
                flat(x.matmul(w)),
            );
            assert!(error < bound, "{rows}x{k} · ({n}x{k})ᵀ: error {error}");
        }
    }
    // Under autodiff it is the tracked product: gradients reach both inputs.
    let tracked = device.clone().autodiff();
    let x: Tensor<2> = Tensor::from_data(random::<2>([3, 8], &device).into_data(), &tracked);
    let w: Tensor<2> = Tensor::from_data(random::<2>([8, 5], &device).into_data(), &tracked);
    let (x, w) = (x.require_grad(), w.require_grad());
    let grads = fused::few_rows_matmul(x.clone(), w.clone())
        .sum()
        .backward();
    assert!(x.grad(&grads).is_some() && w.grad(&grads).is_some());
}
