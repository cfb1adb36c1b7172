// Included by the build scripts of the crates whose tests, examples or binaries can open burn's
// `cpu` backend (cubecl-cpu).

/// Exports `__truncsfbf2` (defined in srlm-model's `cubecl_cpu_builtins`) from this crate's
/// binaries, tests and examples when the `cpu` feature is on, so that cubecl-cpu's LLVM JIT finds
/// it among the process's symbols: without it every f32 → bf16 conversion in a kernel fails to
/// link on an x86-64 CPU without AVX512-BF16. GNU ld ≥ 2.35 and lld take the flag.
fn export_bf16_builtin() {
    let cpu = std::env::var_os("CARGO_FEATURE_CPU").is_some();
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if cpu && linux {
        println!("cargo::rustc-link-arg=-Wl,--export-dynamic-symbol=__truncsfbf2");
    }
}
