//! Tells the tests whether the SmolLM2 model file is present, so that tests needing it are
//! reported as ignored rather than failing or silently passing; with `cpu`, exports the bf16
//! builtin cubecl-cpu's JIT needs (`build/cubecl_cpu.rs`).

include!("../../build/assets.rs");
include!("../../build/cubecl_cpu.rs");

fn main() {
    smollm2();
    export_bf16_builtin();
}
