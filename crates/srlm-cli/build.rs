//! With the `cpu` feature, exports the bf16 builtin cubecl-cpu's JIT needs from this crate's
//! binaries, tests and examples (`build/cubecl_cpu.rs`).

include!("../../build/cubecl_cpu.rs");

fn main() {
    export_bf16_builtin();
}
