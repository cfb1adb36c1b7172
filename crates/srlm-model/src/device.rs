//! Choosing a device at run time from a string (`cpu`, `wgpu[:N]`, `cuda[:N]`), with a clear
//! error when its backend was not compiled in.

use burn::tensor::Device;

use crate::error::{ModelError, Result};

/// Parses a device name.
///
/// | name | backend | cargo feature |
/// |---|---|---|
/// | `cpu` (or `flex`) | burn-flex, pure-Rust CPU | `flex` (default) |
/// | `wgpu`, `wgpu:N` | WebGPU/Vulkan/Metal | `wgpu` |
/// | `cuda`, `cuda:N` | CUDA | `cuda` |
pub fn parse_device(name: &str) -> Result<Device> {
    let (kind, index) = match name.split_once(':') {
        Some((kind, index)) => {
            let index: usize = index.parse().map_err(|_| {
                ModelError::Device(format!("`{name}`: `{index}` is not a device index"))
            })?;
            (kind, index)
        }
        None => (name, 0),
    };
    match kind {
        "cpu" | "flex" => cpu(),
        "wgpu" => wgpu(index),
        "cuda" => cuda(index),
        other => Err(ModelError::Device(format!(
            "unknown device `{other}` (expected cpu, wgpu[:N] or cuda[:N])"
        ))),
    }
}

fn missing(device: &str, feature: &str) -> ModelError {
    ModelError::Device(format!(
        "device `{device}` needs the `{feature}` backend, which this build does not include: rebuild with `--features {feature}`"
    ))
}

#[cfg(feature = "flex")]
fn cpu() -> Result<Device> {
    Ok(Device::flex())
}
#[cfg(not(feature = "flex"))]
fn cpu() -> Result<Device> {
    Err(missing("cpu", "flex"))
}

#[cfg(feature = "wgpu")]
fn wgpu(index: usize) -> Result<Device> {
    use burn::tensor::DeviceKind;
    Ok(Device::wgpu(if index == 0 {
        DeviceKind::DefaultDevice
    } else {
        DeviceKind::DiscreteGpu(index)
    }))
}
#[cfg(not(feature = "wgpu"))]
fn wgpu(_index: usize) -> Result<Device> {
    Err(missing("wgpu", "wgpu"))
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}
#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Device> {
    Err(missing("cuda", "cuda"))
}
