//! What the unit tests of the operations' CubeCL arms share: each arm's tensor operations are
//! held to the gradients burn-autodiff computes through the reference, on flex.

use burn::tensor::{Device, Distribution, Tensor};

pub(super) fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Every element of `actual` within `2·10⁻⁵` of `expected`'s largest magnitude (at least
/// `10⁻³`) of its counterpart.
pub(super) fn assert_close<const D: usize>(actual: Tensor<D>, expected: Tensor<D>, what: &str) {
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

pub(super) fn plain() -> Device {
    Device::flex()
}

/// `t` on `device` (an autodiff device): a copy, tracked or constant.
pub(super) fn on<const D: usize>(t: &Tensor<D>, device: &Device) -> Tensor<D> {
    Tensor::from_data(t.clone().into_data(), device)
}
