//! Which implementation a fused operation's wrapper calls: the backend extension (flex's kernels,
//! CubeCL's tensor operations) when the tensors are on a backend it covers, of a dtype its arms
//! take, and the operation is on ([`super::switch`]); otherwise the composed reference. A leaf
//! of `fused/`.

#[cfg(fused_extension)]
use burn::tensor::DType;
use burn::tensor::Device;

#[cfg(fused_extension)]
use super::switch::{enabled, FusedOp};

/// Whether `op` runs fused for tensors on `device` with these element types: f32 on flex; f32,
/// bf16 or f16 on CubeCL, whose arms compute in f32 and return each result in its input's dtype
/// (AdamW, whose moments must stay f32, and the flex-only few-rows product take f32 alone).
#[cfg(fused_extension)]
pub(super) fn runs_fused(op: FusedOp, device: &Device, dtypes: &[DType]) -> bool {
    let cube = is_cube(device);
    let half_too = cube && !matches!(op, FusedOp::AdamW | FusedOp::FewRows);
    let takes = |d: &DType| *d == DType::F32 || (half_too && matches!(d, DType::BF16 | DType::F16));
    enabled(op) && (is_flex(device) || cube) && dtypes.iter().all(takes)
}

/// Whether a `[batch, 1 | heads, rows, width]` operand fits `[batch, heads, rows, width]`: its
/// shape, or one head broadcast.
#[cfg(fused_extension)]
pub(super) fn bias_fits(scores: &[usize; 4], bias: &[usize; 4]) -> bool {
    bias[0] == scores[0] && (bias[1] == 1 || bias[1] == scores[1]) && bias[2..] == scores[2..]
}

/// Whether `device` is one of burn's CubeCL backends (wgpu, cuda, `cpu`), with or without
/// autodiff.
pub fn is_cube(device: &Device) -> bool {
    #[allow(unreachable_patterns)]
    match concrete(device.as_dispatch()) {
        #[cfg(fused_cube)]
        burn::backend::DispatchDevice::Cube(_) => true,
        _ => false,
    }
}

/// Whether `device` is the flex backend, with or without autodiff.
pub fn is_flex(device: &Device) -> bool {
    #[allow(unreachable_patterns)]
    match concrete(device.as_dispatch()) {
        #[cfg(feature = "flex")]
        burn::backend::DispatchDevice::Flex(_) => true,
        _ => false,
    }
}

/// The backend's own device under any autodiff wrapping.
fn concrete(device: &burn::backend::DispatchDevice) -> &burn::backend::DispatchDevice {
    match device {
        burn::backend::DispatchDevice::Autodiff(inner) => concrete(inner),
        other => other,
    }
}
