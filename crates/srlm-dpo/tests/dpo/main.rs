//! srlm-dpo's tests, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod layout;
mod lora;
mod losses;
mod plan;
mod reference_free;
mod smollm2;
mod training;

/// `tests/fixtures`, or `SRLM_FIXTURES` (for a test binary run away from its source tree).
pub(crate) fn fixtures() -> std::path::PathBuf {
    match std::env::var_os("SRLM_FIXTURES") {
        Some(p) => p.into(),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

/// The device under test: `SRLM_TEST_DEVICE` (`cpu` when unset), e.g. `cubecl-cpu`, `wgpu`, `cuda`.
pub(crate) fn device() -> srlm_model::burn::tensor::Device {
    srlm_model::device_from_env("SRLM_TEST_DEVICE", "cpu").expect("test device")
}

/// A host column as a tensor on the test device.
pub(crate) fn t(v: &[f32]) -> srlm_model::burn::tensor::Tensor<1> {
    use srlm_model::burn::tensor::{Tensor, TensorData};
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &device())
}

/// A tensor's values on the host.
pub(crate) fn host(x: srlm_model::burn::tensor::Tensor<1>) -> Vec<f32> {
    x.into_data().try_to_vec::<f32>().unwrap()
}

/// A fixture's JSON array of numbers as f32.
pub(crate) fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}
