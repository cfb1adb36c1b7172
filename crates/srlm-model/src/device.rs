//! Choosing a device at run time from a string (`cpu`, `flex`, `cubecl-cpu`, `wgpu[:N]`,
//! `cuda[:N]`), with a clear error when its backend was not compiled in.

use burn::tensor::Device;

use crate::error::{ModelError, Result};

/// Parses a device name.
///
/// | name | backend | cargo feature |
/// |---|---|---|
/// | `cpu` | this build's CPU backend: `flex` when compiled in, else `cubecl-cpu` | either |
/// | `flex` | burn-flex, pure-Rust CPU | `flex` (default) |
/// | `cubecl-cpu` | burn's `cpu` backend: CubeCL's CPU runtime through LLVM, with fusion | `cpu` |
/// | `wgpu`, `wgpu:N` | WebGPU/Vulkan/Metal | `wgpu` |
/// | `cuda`, `cuda:N` | CUDA | `cuda` |
///
/// ```
/// let device = srlm_model::parse_device("cpu")?;
/// assert!(srlm_model::parse_device("tpu").is_err());
/// # let _ = device;
/// # Ok::<(), srlm_model::ModelError>(())
/// ```
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
        "cpu" => cpu(),
        "flex" => flex(),
        "cubecl-cpu" => cubecl_cpu(),
        "wgpu" => wgpu(index),
        "cuda" => cuda(index),
        other => Err(ModelError::Device(format!(
            "unknown device `{other}` (expected cpu, flex, cubecl-cpu, wgpu[:N] or cuda[:N])"
        ))),
    }
}

/// The device named by the environment variable `var` (e.g. `SRLM_TEST_DEVICE`), or by
/// `default` when it is unset: how the workspace's tests pick the backend they run on, so the
/// same tests run on `cpu`, `cubecl-cpu`, `wgpu` and `cuda`.
pub fn device_from_env(var: &str, default: &str) -> Result<Device> {
    match std::env::var(var) {
        Ok(name) => parse_device(&name)
            .map_err(|e| ModelError::Device(format!("environment variable {var}: {e}"))),
        Err(std::env::VarError::NotPresent) => parse_device(default),
        Err(std::env::VarError::NotUnicode(_)) => Err(ModelError::Device(format!(
            "environment variable {var} is not valid UTF-8"
        ))),
    }
}

// Unused in a build with every backend compiled in.
#[allow(dead_code)]
fn missing(device: &str, feature: &str) -> ModelError {
    ModelError::Device(format!(
        "device `{device}` needs the `{feature}` backend, which this build does not include: rebuild with `--features {feature}`"
    ))
}

fn cpu() -> Result<Device> {
    if cfg!(feature = "flex") {
        flex()
    } else if cfg!(feature = "cpu") {
        cubecl_cpu()
    } else {
        Err(ModelError::Device(
            "device `cpu` needs a CPU backend, which this build does not include: rebuild with `--features flex` (or `cpu`)".into(),
        ))
    }
}

#[cfg(feature = "flex")]
fn flex() -> Result<Device> {
    Ok(Device::flex())
}
#[cfg(not(feature = "flex"))]
fn flex() -> Result<Device> {
    Err(missing("flex", "flex"))
}

#[cfg(feature = "cpu")]
fn cubecl_cpu() -> Result<Device> {
    crate::cubecl_cpu_builtins::link();
    Ok(Device::cpu())
}
#[cfg(not(feature = "cpu"))]
fn cubecl_cpu() -> Result<Device> {
    Err(missing("cubecl-cpu", "cpu"))
}

/// Checks that wgpu reaches a GPU: without one, wgpu falls back to OpenGL on a software
/// rasterizer (Mesa's llvmpipe), whose device wgpu-hal 30 panics on in a polling thread ("Could
/// not lock adapter context"), leaving the process hung (seen on this project's GPU-less
/// machine).
#[cfg(feature = "wgpu")]
fn wgpu(index: usize) -> Result<Device> {
    use burn::tensor::{DeviceKind, DeviceType};
    if Device::enumerate(DeviceType::Wgpu).is_empty() {
        return Err(ModelError::Device(
            "`wgpu`: no adapter found (no Vulkan, Metal, DX12 or OpenGL driver); use `--device cpu`".into(),
        ));
    }
    let device = Device::wgpu(if index == 0 {
        DeviceKind::DefaultDevice
    } else {
        DeviceKind::DiscreteGpu(index)
    });
    match device.identity() {
        Some(identity) if identity.physical.is_none() => Err(ModelError::Device(format!(
            "`wgpu`: the adapter wgpu found, `{}`, is a software rasterizer, not a GPU (no Vulkan, Metal or DX12 GPU driver); use `--device cpu`",
            identity.name
        ))),
        _ => Ok(device),
    }
}
#[cfg(not(feature = "wgpu"))]
fn wgpu(_index: usize) -> Result<Device> {
    Err(missing("wgpu", "wgpu"))
}

/// Checks that the device exists before naming it: without an NVIDIA driver, cubecl would panic
/// at the first tensor operation ("Unable to dynamically load the cuda shared library").
#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Device> {
    use burn::tensor::DeviceType;
    let found = Device::enumerate(DeviceType::Cuda).len();
    if index >= found {
        return Err(ModelError::Device(if found == 0 {
            "`cuda`: no CUDA device found (the NVIDIA driver's libcuda.so could not be loaded, or it reports no GPU); use `--device cpu`".to_string()
        } else {
            format!(
                "`cuda:{index}`: only {found} CUDA device(s) found (cuda:0 … cuda:{})",
                found - 1
            )
        }));
    }
    Ok(Device::cuda(index))
}
#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Device> {
    Err(missing("cuda", "cuda"))
}
