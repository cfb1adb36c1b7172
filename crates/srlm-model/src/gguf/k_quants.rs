//! Dequantisation of GGML's K-quants, 256 elements a super-block (llama.cpp's `ggml-common.h`
//! and `dequantize_row_q*_K`); most published GGUFs of 7–8B models are `Q4_K_M`, a mix of
//! `Q4_K` and `Q6_K`.
//!
//! - `Q4_K` (144 bytes): f16 `d`, f16 `dmin`, 12 bytes of eight 6-bit scales and mins, 128
//!   bytes of 4-bit quants; sub-block `j` of 32 is `d·scale_j·q − dmin·min_j`.
//! - `Q5_K` (176 bytes): as `Q4_K`, with 32 bytes of high bits before the quants (bit `j` of
//!   byte `l` is the fifth bit of element `l` of sub-block `j`).
//! - `Q6_K` (210 bytes): 128 bytes of low 4 bits, 64 of high 2 bits, sixteen i8 scales, f16
//!   `d` last; element `i` is `d·scale_{i/16}·(q − 32)`.

use half::f16;

/// Elements of a super-block.
pub(crate) const QK_K: usize = 256;
/// `Q4_K`'s super-block bytes.
pub(crate) const Q4_K_BYTES: usize = 144;
/// `Q5_K`'s super-block bytes.
pub(crate) const Q5_K_BYTES: usize = 176;
/// `Q6_K`'s super-block bytes.
pub(crate) const Q6_K_BYTES: usize = 210;

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// Scale and min of sub-block `j` from the 12 packed bytes (`get_scale_min_k4`).
fn scale_min(j: usize, q: &[u8]) -> (f32, f32) {
    let (scale, min) = if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    };
    (f32::from(scale), f32::from(min))
}

/// `Q4_K` (`high_bits: false`) or `Q5_K` (`true`) super-blocks of `bytes` appended to `out`.
pub(crate) fn dequantize_q4_q5_k(bytes: &[u8], high_bits: bool, out: &mut Vec<f32>) {
    let size = if high_bits { Q5_K_BYTES } else { Q4_K_BYTES };
    for block in bytes.chunks_exact(size) {
        let (d, dmin) = (f16_at(block, 0), f16_at(block, 2));
        let scales = &block[4..16];
        let (qh, qs) = if high_bits {
            (&block[16..48], &block[48..])
        } else {
            (&block[..0], &block[16..])
        };
        for j in 0..8 {
            let (scale, min) = scale_min(j, scales);
            let (factor, offset) = (d * scale, dmin * min);
            // Sub-blocks 2g and 2g + 1 are the low and high nibbles of quant bytes 32g..32g + 32.
            let bytes = &qs[32 * (j / 2)..32 * (j / 2) + 32];
            let shift = 4 * (j % 2);
            for (l, &b) in bytes.iter().enumerate() {
                let mut q = (b >> shift) & 0x0f;
                if high_bits {
                    q |= ((qh[l] >> j) & 1) << 4;
                }
                out.push(factor * f32::from(q) - offset);
            }
        }
    }
}

/// `Q6_K` super-blocks of `bytes` appended to `out`.
pub(crate) fn dequantize_q6_k(bytes: &[u8], out: &mut Vec<f32>) {
    for block in bytes.chunks_exact(Q6_K_BYTES) {
        let (ql, qh, scales) = (&block[..128], &block[128..192], &block[192..208]);
        let d = f16_at(block, 208);
        let start = out.len();
        out.resize(start + QK_K, 0.0);
        let y = &mut out[start..];
        // Two halves of 128 elements, each from 64 low-bit bytes, 32 high-bit bytes and 8 scales.
        for half in 0..2 {
            let (ql, qh) = (&ql[64 * half..], &qh[32 * half..]);
            let scale = |k: usize| d * f32::from(scales[8 * half + k] as i8);
            for l in 0..32 {
                let is = l / 16;
                let q =
                    |low: u8, high: u8| f32::from(((low & 0x0f) | ((high & 3) << 4)) as i8 - 32);
                let at = 128 * half + l;
                y[at] = scale(is) * q(ql[l], qh[l]);
                y[at + 32] = scale(is + 2) * q(ql[l + 32], qh[l] >> 2);
                y[at + 64] = scale(is + 4) * q(ql[l] >> 4, qh[l] >> 4);
                y[at + 96] = scale(is + 6) * q(ql[l + 32] >> 4, qh[l] >> 6);
            }
        }
    }
}
