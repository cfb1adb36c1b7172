//! srlm-dpo's tests, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod losses;
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
