//! Fuzz targets for every parser of untrusted input: the GGUF reader, safetensors files and
//! their index, the JSON Lines readers, the score parser and judge template, the chat template
//! renderer. Each must return (an error or a value), never panic, and keep its memory bounded
//! (an allocation failure aborts the test process, so it fails too).
//!
//! Inputs come from proptest strategies seeded by the fixtures in `tests/fixtures/` (the
//! corpus: `quant.gguf`, `tiny-llama3/`, `data/*.jsonl`, the chat templates) — mutated, cut,
//! spliced with boundary numbers — and from generators of each format's structure. In CI each
//! target runs one round of [`CASES`] cases from a fixed seed; `SRLM_FUZZ_SECS=600` runs
//! further rounds (the next seeds) for ten minutes per target:
//!
//! ```text
//! SRLM_FUZZ_SECS=600 cargo test --release -p srlm --test fuzz -- --test-threads 1 --nocapture
//! ```
//!
//! A failure names the target, its round and the shrunk input; rerun it with the same
//! `SRLM_FUZZ_SECS` to reproduce.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the report

use std::path::{Path, PathBuf};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Cases per round.
const CASES: u32 = 1024;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Runs `test` over `strategy`: round 0 always, then rounds 1, 2, … (each its own seed) until
/// `SRLM_FUZZ_SECS` seconds have passed.
fn fuzz<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let seconds: f64 = std::env::var("SRLM_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let started = Instant::now();
    let mut round: u64 = 0;
    loop {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        for (slot, byte) in seed[8..].iter_mut().zip(name.bytes()) {
            *slot = byte;
        }
        let config = Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("fuzz target `{name}`, round {round}: {e}");
        }
        round += 1;
        if started.elapsed().as_secs_f64() >= seconds {
            break;
        }
    }
    eprintln!(
        "fuzz target `{name}`: {} cases in {:.1} s, no panic",
        round * u64::from(CASES),
        started.elapsed().as_secs_f64()
    );
}

/// Numbers at the edges of what a length, count or offset field can hold.
fn boundary_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::from(u32::MAX)),
        Just(1 << 28),
        Just((1 << 28) + 1),
        Just(1 << 32),
        Just(1 << 62),
        Just(u64::MAX / 2 + 1),
        Just(u64::MAX),
        0u64..4096,
        any::<u64>(),
    ]
}

/// An edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    /// Set the byte at (offset mod length).
    Byte(usize, u8),
    /// Overwrite 8 bytes at (offset mod length) with a little-endian number.
    Number(usize, u64),
    /// Keep only the first (offset mod length) bytes.
    Cut(usize),
    /// Insert bytes at (offset mod length).
    Insert(usize, Vec<u8>),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(o, b)| Edit::Byte(o, b)),
        3 => (any::<usize>(), boundary_u64()).prop_map(|(o, n)| Edit::Number(o, n)),
        1 => any::<usize>().prop_map(Edit::Cut),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(o, b)| Edit::Insert(o, b)),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Byte(o, b) => {
                if let Some(slot) = bytes.get_mut(o % len) {
                    *slot = *b;
                }
            }
            Edit::Number(o, n) => {
                let at = o % len;
                for (slot, b) in bytes[at..].iter_mut().zip(n.to_le_bytes()) {
                    *slot = b;
                }
            }
            Edit::Cut(o) => bytes.truncate(o % len),
            Edit::Insert(o, more) => {
                let at = (o % len).min(bytes.len());
                bytes.splice(at..at, more.iter().copied());
            }
        }
    }
    bytes
}

fn temp_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("the test writes its input");
    path
}

mod gguf;
mod jsonl;
mod safetensors;
mod templates;
