//! The compiler-rt builtin that burn's `cpu` backend (cubecl-cpu) needs for bf16 and that the
//! process may not have.
//!
//! cubecl-cpu compiles each kernel through LLVM's ORC JIT. On an x86-64 CPU without AVX512-BF16,
//! LLVM lowers every f32 → bf16 conversion (a cast, a store of a bf16 result) to a call to
//! `__truncsfbf2`, which the JIT resolves among the process's exported symbols. compiler-rt and
//! libgcc ≥ 13 provide it; a Rust binary links neither (libgcc_s of GCC 12 lacks it), so the
//! kernel fails to link ("Symbols not found: [ __truncsfbf2 ]") and every bf16 tensor made by a
//! cast is out of reach. This module defines the builtin, and the executables that can run
//! cubecl-cpu export it to the JIT with the linker flag `-Wl,--export-dynamic-symbol=__truncsfbf2`
//! (the build scripts of the workspace's crates that have a `cpu` feature add it to their tests,
//! examples and binaries through `build/cubecl_cpu.rs`; a binary of one's own adds it in its
//! build script:
//! `cargo::rustc-link-arg-bins=-Wl,--export-dynamic-symbol=__truncsfbf2`).

/// `__truncsfbf2`: f32 → bf16, rounding to nearest, ties to even, NaN kept NaN (as compiler-rt).
///
/// The x86-64 System V ABI returns a `__bf16` in the low 16 bits of `xmm0`; an `f32` whose bit
/// pattern holds the bf16's bits in its low half is returned in the same register.
// `no_mangle` is the point: the JIT finds the builtin by its C name. The function itself does
// nothing unsafe.
// Compiled in every build, so its test runs in every build; named for the JIT only with `cpu`.
#[allow(unsafe_code)]
#[cfg_attr(feature = "cpu", no_mangle)]
#[cfg_attr(not(feature = "cpu"), allow(dead_code))]
extern "C" fn __truncsfbf2(value: f32) -> f32 {
    f32::from_bits(u32::from(half::bf16::from_f32(value).to_bits()))
}

/// Keeps the builtin in every binary that can open a cubecl-cpu device: an unreferenced symbol of
/// a library is not linked into a binary, and the JIT looks for it only at run time.
#[cfg(feature = "cpu")]
pub(crate) fn link() {
    std::hint::black_box(__truncsfbf2 as extern "C" fn(f32) -> f32);
}

#[cfg(test)]
mod tests {
    use super::__truncsfbf2;

    /// Bit patterns worked out by hand from IEEE 754 (bf16 is an f32's high half, rounded to
    /// nearest, ties to even), at the cases rounding gets wrong.
    #[test]
    fn rounds_to_nearest_even() {
        let cases: [(f32, u16); 10] = [
            (1.0, 0x3F80),
            (-0.0, 0x8000),
            (f32::from_bits(0x3F80_8000), 0x3F80), // 1 + 2^-8: a tie, down to the even 0x3F80
            (f32::from_bits(0x3F81_8000), 0x3F82), // 1 + 3·2^-8: a tie, up to the even 0x3F82
            (f32::from_bits(0x3F80_8001), 0x3F81), // just over the tie: up
            (f32::from_bits(0xBF80_7FFF), 0xBF80), // just under it, negative: down
            (f32::MAX, 0x7F80),                    // rounds past the largest bf16: infinity
            (f32::NEG_INFINITY, 0xFF80),
            (f32::from_bits(0x0001_16C2), 0x0001), // a subnormal keeps its high half
            (f32::from_bits(0x0000_8000), 0x0000), // the smallest tie: down to zero (even)
        ];
        for (value, expected) in cases {
            let bits = __truncsfbf2(value).to_bits();
            assert_eq!(
                bits,
                u32::from(expected),
                "{value:e} ({:#010x})",
                value.to_bits()
            );
        }
        // A NaN stays a NaN (exponent all ones, a mantissa bit set), even one whose payload
        // lies only in the low half.
        for nan in [f32::NAN, f32::from_bits(0x7F80_0001)] {
            let bits = __truncsfbf2(nan).to_bits();
            assert_eq!(bits & 0x7F80, 0x7F80, "{bits:#x}");
            assert_ne!(bits & 0x007F, 0, "{bits:#x}");
        }
    }
}
