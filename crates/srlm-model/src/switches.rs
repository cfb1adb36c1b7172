//! Named on/off switches read from an environment variable, overridable for the whole process
//! or for one thread and a scope: what [`crate::fused::FusedOp`] (the fused operations,
//! `SRLM_FUSED`) and [`crate::GenerationPath`] (generation's fast paths, `SRLM_GENERATION`) are
//! built on. A leaf of the crate.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::LocalKey;

use crate::error::{ModelError, Result};

/// Defines `const fn bits_of(items: &[$enum]) -> u32`, the state word with each item's bit
/// (its discriminant) set: one per enum of switches, since a `const fn` cannot be generic over
/// an enum's `as u32`.
macro_rules! bits_of_fn {
    ($enum:ty) => {
        const fn bits_of(items: &[$enum]) -> u32 {
            let mut bits = 0;
            let mut i = 0;
            while i < items.len() {
                bits |= 1 << (items[i] as u32);
                i += 1;
            }
            bits
        }
    };
}
pub(crate) use bits_of_fn;

/// Set once a state word has been initialised (from the environment or [`Switches::set`]).
const INITIALISED: u32 = 1 << 31;

/// One set of switches: up to 31, switch `i` the bit `1 << i`.
pub(crate) struct Switches {
    /// The environment variable read on first use.
    env_var: &'static str,
    /// Each switch's name in the variable, by bit.
    names: &'static [&'static str],
    /// What is on unless the variable or [`Switches::set`] say otherwise.
    default: u32,
    state: AtomicU32,
    scoped: &'static LocalKey<Cell<Option<u32>>>,
}

impl Switches {
    pub(crate) const fn new(
        env_var: &'static str,
        names: &'static [&'static str],
        default: u32,
        scoped: &'static LocalKey<Cell<Option<u32>>>,
    ) -> Self {
        Switches {
            env_var,
            names,
            default,
            state: AtomicU32::new(0),
            scoped,
        }
    }

    /// The switches `default` (or nothing), `all`, `none`, or a comma-separated list of names
    /// stand for, as indices (bit numbers) in the list's order.
    pub(crate) fn parse(&self, text: &str) -> Result<Vec<usize>> {
        let of_bits = |bits: u32| {
            (0..self.names.len())
                .filter(|i| bits & 1 << i != 0)
                .collect()
        };
        match text.trim() {
            "default" | "" => return Ok(of_bits(self.default)),
            "all" => return Ok((0..self.names.len()).collect()),
            "none" => return Ok(Vec::new()),
            _ => {}
        }
        text.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                self.names.iter().position(|n| *n == name).ok_or_else(|| {
                    ModelError::InvalidInput(format!(
                        "unknown name `{name}` in {} (expected default, all, none, or a list \
                         of: {})",
                        self.env_var,
                        self.names.join(",")
                    ))
                })
            })
            .collect()
    }

    /// Exactly the switches in `bits` on, for the whole process.
    pub(crate) fn set(&self, bits: u32) {
        self.state.store(bits | INITIALISED, Ordering::Relaxed);
    }

    /// Runs `f` with exactly the switches in `bits` on, on this thread only, until `f` returns
    /// (or panics).
    pub(crate) fn with<T>(&self, bits: u32, f: impl FnOnce() -> T) -> T {
        /// Puts the previous choice back, on return or unwind.
        struct Restore(&'static LocalKey<Cell<Option<u32>>>, Option<u32>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let previous = self.1;
                self.0.with(|scoped| scoped.set(previous));
            }
        }
        let previous = self.scoped.with(|scoped| scoped.replace(Some(bits)));
        let _restore = Restore(self.scoped, previous);
        f()
    }

    /// The switches on for this thread now.
    pub(crate) fn bits(&self) -> u32 {
        if let Some(bits) = self.scoped.with(Cell::get) {
            return bits;
        }
        let bits = self.state.load(Ordering::Relaxed);
        if bits & INITIALISED != 0 {
            return bits & !INITIALISED;
        }
        let bits = match std::env::var(self.env_var) {
            Ok(text) => match self.parse(&text) {
                Ok(indices) => indices.iter().fold(0, |bits, i| bits | 1 << i),
                Err(error) => {
                    tracing::warn!("{error}; the defaults stay on");
                    self.default
                }
            },
            Err(_) => self.default,
        };
        self.set(bits);
        bits
    }

    /// The switches on for this thread now, as the variable would name them (`none` for none).
    pub(crate) fn names_on(&self) -> String {
        let bits = self.bits();
        let on: Vec<&str> = (0..self.names.len())
            .filter(|i| bits & 1 << i != 0)
            .map(|i| self.names[i])
            .collect();
        if on.is_empty() {
            "none".into()
        } else {
            on.join(",")
        }
    }
}
