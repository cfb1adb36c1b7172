//! Dequantisation of GGML tensor types to `f32`.
//!
//! Block layouts (llama.cpp's `ggml-common.h`), 32 elements a block:
//! - `Q8_0`: f16 `d`, then 32 × i8 `q`; `x = d·q` (34 bytes).
//! - `Q4_0`: f16 `d`, then 16 bytes; low nibbles are elements 0–15, high nibbles 16–31;
//!   `x = d·(q − 8)` (18 bytes).
//! - `Q4_1`: f16 `d`, f16 `m`, then 16 bytes as in `Q4_0`; `x = d·q + m` (20 bytes).
//!
//! The K-quants (`Q4_K`, `Q5_K`, `Q6_K`, 256 elements a block): [`super::k_quants`].

use half::{bf16, f16};

use super::k_quants;

/// GGML type ids this module reads.
pub(crate) const F32: u32 = 0;
/// `F16`.
pub(crate) const F16: u32 = 1;
/// `Q4_0`.
pub(crate) const Q4_0: u32 = 2;
/// `Q4_1`.
pub(crate) const Q4_1: u32 = 3;
/// `Q8_0`.
pub(crate) const Q8_0: u32 = 8;
/// `Q4_K`.
pub(crate) const Q4_K: u32 = 12;
/// `Q5_K`.
pub(crate) const Q5_K: u32 = 13;
/// `Q6_K`.
pub(crate) const Q6_K: u32 = 14;
/// `BF16`.
pub(crate) const BF16: u32 = 30;

const BLOCK: usize = 32;

/// GGML's name for a type id (for error messages).
pub fn type_name(type_id: u32) -> &'static str {
    const NAMES: [&str; 31] = [
        "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K",
        "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL",
        "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16",
    ];
    NAMES.get(type_id as usize).copied().unwrap_or("unknown")
}

/// Bytes needed to store `n` elements of `type_id`, or `None` for an unsupported type or an
/// element count that is not a whole number of blocks.
pub fn byte_size(type_id: u32, n: usize) -> Option<usize> {
    let (block, bytes) = match type_id {
        F32 => (1, 4),
        F16 | BF16 => (1, 2),
        Q8_0 => (BLOCK, 34),
        Q4_0 => (BLOCK, 18),
        Q4_1 => (BLOCK, 20),
        Q4_K => (k_quants::QK_K, k_quants::Q4_K_BYTES),
        Q5_K => (k_quants::QK_K, k_quants::Q5_K_BYTES),
        Q6_K => (k_quants::QK_K, k_quants::Q6_K_BYTES),
        _ => return None,
    };
    if !n.is_multiple_of(block) {
        return None;
    }
    (n / block).checked_mul(bytes)
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// Dequantises `bytes` (exactly [`byte_size`] long) of `type_id` to `f32`.
pub fn dequantize(type_id: u32, bytes: &[u8], n: usize) -> Option<Vec<f32>> {
    if byte_size(type_id, n)? != bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    match type_id {
        F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        F16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        BF16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        Q8_0 => {
            for block in bytes.chunks_exact(34) {
                let d = f16_at(block, 0);
                out.extend(block[2..].iter().map(|&q| d * f32::from(q as i8)));
            }
        }
        Q4_0 | Q4_1 => {
            let size = if type_id == Q4_0 { 18 } else { 20 };
            for block in bytes.chunks_exact(size) {
                let d = f16_at(block, 0);
                let (m, quants) = if type_id == Q4_0 {
                    (-8.0 * d, &block[2..])
                } else {
                    (f16_at(block, 2), &block[4..])
                };
                out.extend(quants.iter().map(|&q| d * f32::from(q & 0x0f) + m));
                out.extend(quants.iter().map(|&q| d * f32::from(q >> 4) + m));
            }
        }
        Q4_K | Q5_K => k_quants::dequantize_q4_q5_k(bytes, type_id == Q5_K, &mut out),
        Q6_K => k_quants::dequantize_q6_k(bytes, &mut out),
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_block() {
        let mut block = f16::from_f32(0.5).to_le_bytes().to_vec();
        block.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let x = dequantize(Q8_0, &block, 32).unwrap_or_default();
        let expected: Vec<f32> = (0..32).map(|i| 0.5 * (i as f32 - 16.0)).collect();
        assert_eq!(x, expected);
    }

    #[test]
    fn q4_1_nibble_order_and_offset() {
        let mut block = f16::from_f32(2.0).to_le_bytes().to_vec();
        block.extend(f16::from_f32(-1.0).to_le_bytes());
        // Byte i holds element i (low nibble) and element i + 16 (high nibble).
        block.extend((0..16u8).map(|i| (15 - i) << 4 | i));
        let x = dequantize(Q4_1, &block, 32).unwrap_or_default();
        for i in 0..16 {
            assert_eq!(x[i], 2.0 * i as f32 - 1.0, "element {i}");
            assert_eq!(x[i + 16], 2.0 * (15 - i) as f32 - 1.0, "element {}", i + 16);
        }
    }

    #[test]
    fn q4_0_is_centred_on_8() {
        let mut block = f16::from_f32(1.0).to_le_bytes().to_vec();
        block.extend([0x8fu8; 16]);
        let x = dequantize(Q4_0, &block, 32).unwrap_or_default();
        assert_eq!(&x[..16], &[7.0; 16]);
        assert_eq!(&x[16..], &[0.0; 16]);
    }

    #[test]
    fn wrong_length_and_unknown_types_are_refused() {
        assert!(dequantize(Q8_0, &[0; 33], 32).is_none());
        assert!(dequantize(Q4_K, &[0; 143], 256).is_none());
        assert!(dequantize(11, &[0; 110], 256).is_none(), "Q3_K is not read");
        assert_eq!(type_name(12), "Q4_K");
        assert!(byte_size(Q4_1, 31).is_none());
    }
}
