//! Tells the tests whether the SmolLM2 model file is present, so that tests needing it are
//! reported as ignored (skipped) rather than silently passing when it is not; and names which
//! backends the fused operations' extension covers (`fused_cube`: a CubeCL backend is compiled
//! in; `fused_extension`: flex or a CubeCL backend is).

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_smollm2)");
    println!("cargo::rustc-check-cfg=cfg(fused_cube)");
    println!("cargo::rustc-check-cfg=cfg(fused_extension)");
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    let cube = feature("WGPU") || feature("CUDA") || feature("CPU");
    if cube {
        println!("cargo::rustc-cfg=fused_cube");
    }
    if cube || feature("FLEX") {
        println!("cargo::rustc-cfg=fused_extension");
    }
    println!("cargo::rerun-if-env-changed=SRLM_SMOLLM2");
    let path = match std::env::var_os("SRLM_SMOLLM2") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/SmolLM2-135M-Instruct.Q4_1.gguf"),
    };
    println!("cargo::rerun-if-changed={}", path.display());
    if let Some(dir) = path.parent() {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    if path.is_file() {
        println!("cargo::rustc-cfg=has_smollm2");
    }
}
