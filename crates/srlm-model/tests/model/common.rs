use std::path::PathBuf;

use srlm_model::burn::tensor::Device;
use srlm_model::device_from_env;

/// The device under test: `SRLM_TEST_DEVICE` (`cpu` by default; `wgpu` on a GPU machine).
pub(crate) fn device() -> Device {
    device_from_env("SRLM_TEST_DEVICE", "cpu").expect("test device")
}

/// The test device if it is a CubeCL one (cuda, wgpu, cubecl-cpu), else burn's `cpu` backend:
/// where the tests of bf16 compute run (they are ignored in a build without a CubeCL backend).
#[allow(dead_code)] // unused in a build without a CubeCL backend
pub(crate) fn cube_device() -> Device {
    let device = device();
    if srlm_model::fused::is_cube(&device) {
        return device;
    }
    srlm_model::parse_device("cubecl-cpu").expect("a CubeCL device (build with --features cpu)")
}

/// The bound for a comparison whose computation includes matmuls: `f32_bound` on every device
/// but cuda, `tf32_bound` on cuda. There cubek-matmul's accelerated kernels, which autotuning
/// picks on GPUs with tensor cores, load f32 operands as TF32 (10-bit mantissa, unit roundoff
/// 2⁻¹¹ ≈ 4.9e-4), as PyTorch does with `allow_tf32`. Seen on an H200 (2026-12-04): fused
/// against composed ops 8.5e-5 and 2.3e-4 relative, tiny-model logits against transformers
/// 3.0e-4 absolute, where wgpu and the CPU stay within f32's bounds.
pub(crate) fn matmul_bound(f32_bound: f32, tf32_bound: f32) -> f32 {
    let cuda = std::env::var("SRLM_TEST_DEVICE").is_ok_and(|d| d.starts_with("cuda"));
    if cuda {
        tf32_bound
    } else {
        f32_bound
    }
}

/// `tests/fixtures`, or `SRLM_FIXTURES` (for a test binary run away from its source tree).
pub(crate) fn fixtures() -> PathBuf {
    match std::env::var_os("SRLM_FIXTURES") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

#[allow(dead_code)]
pub(crate) fn smollm2_path() -> PathBuf {
    match std::env::var_os("SRLM_SMOLLM2") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/SmolLM2-135M-Instruct.Q4_1.gguf"),
    }
}

pub(crate) fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A JSON array of token ids.
pub(crate) fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("an array of ids")
        .iter()
        .map(|x| x.as_u64().expect("an id") as u32)
        .collect()
}

/// A fixture file, parsed as JSON.
pub(crate) fn read_json(relative: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(relative)).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}
