//! Tells the tests whether the SmolLM2 model file is present, so that tests needing it are
//! reported as ignored (skipped) rather than silently passing when it is not; and names which
//! backends the fused operations' extension covers (`fused_cube`: a CubeCL backend is compiled
//! in; `fused_extension`: flex or a CubeCL backend is); with `cpu`, exports the bf16 builtin
//! cubecl-cpu's JIT needs (`build/cubecl_cpu.rs`).

include!("../../build/assets.rs");
include!("../../build/cubecl_cpu.rs");

fn main() {
    smollm2();
    export_bf16_builtin();
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
}
