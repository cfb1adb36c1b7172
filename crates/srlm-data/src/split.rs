//! De-duplication of prompts and deterministic train / held-out splits.
//!
//! A prompt's side of the split depends only on the prompt (normalised) and the seed, not on
//! the file's order or size: adding records never moves an existing prompt across the split,
//! and every record with the same prompt lands on the same side.

use std::collections::HashSet;

use crate::error::{DataError, Result};

/// Lower case, whitespace runs collapsed to one space, trimmed: the key under which two prompts
/// are the same.
pub fn normalize_prompt(prompt: &str) -> String {
    prompt
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Keeps the first record of each normalised prompt; returns the kept records and how many
/// were removed.
pub fn dedup_by_prompt<T>(records: Vec<T>, prompt: impl Fn(&T) -> &str) -> (Vec<T>, usize) {
    let mut seen = HashSet::new();
    let before = records.len();
    let kept: Vec<T> = records
        .into_iter()
        .filter(|r| seen.insert(normalize_prompt(prompt(r))))
        .collect();
    let removed = before - kept.len();
    (kept, removed)
}

/// A split of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<T> {
    /// Records for training.
    pub train: Vec<T>,
    /// Records held out for evaluation.
    pub held_out: Vec<T>,
}

/// Whether `prompt` is held out, for a held-out `fraction` in `[0, 1]` and a `seed`.
pub fn is_held_out(prompt: &str, fraction: f64, seed: u64) -> bool {
    let unit = (prompt_hash(&normalize_prompt(prompt), seed) >> 11) as f64 / (1u64 << 53) as f64;
    unit < fraction
}

/// Splits `records` by prompt (see the module docs); order within each side is kept.
pub fn split_by_prompt<T>(
    records: Vec<T>,
    prompt: impl Fn(&T) -> &str,
    held_out_fraction: f64,
    seed: u64,
) -> Result<Split<T>> {
    if !(0.0..=1.0).contains(&held_out_fraction) {
        return Err(DataError::InvalidConfig(format!(
            "held-out fraction {held_out_fraction} is outside [0, 1]"
        )));
    }
    let (held_out, train) = records
        .into_iter()
        .partition(|r| is_held_out(prompt(r), held_out_fraction, seed));
    Ok(Split { train, held_out })
}

/// Holds out exactly `count` of `records` (all when there are fewer): those whose normalised
/// prompts hash lowest under `seed` — the same records for the same prompts and seed, whatever
/// their order. Order within each side is kept.
pub fn hold_out_count<T>(
    records: Vec<T>,
    prompt: impl Fn(&T) -> &str,
    count: usize,
    seed: u64,
) -> Split<T> {
    let mut ranked: Vec<(u64, usize)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (prompt_hash(&normalize_prompt(prompt(r)), seed), i))
        .collect();
    ranked.sort_unstable();
    let mut held = vec![false; records.len()];
    for &(_, i) in ranked.iter().take(count) {
        held[i] = true;
    }
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for (record, held) in records.into_iter().zip(held) {
        if held {
            held_out.push(record);
        } else {
            train.push(record);
        }
    }
    Split { train, held_out }
}

/// FNV-1a over the seed and the text, finished with SplitMix64's mixer: stable across
/// platforms, Rust releases and runs (unlike `std`'s `DefaultHasher`).
fn prompt_hash(text: &str, seed: u64) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in seed.to_le_bytes().iter().chain(text.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    srlm_generation::seed::splitmix64(hash)
}
