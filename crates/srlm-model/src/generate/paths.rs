//! Generation's fast paths, each switchable to measure it or rule it out: [`GenerationPath`],
//! read from `SRLM_GENERATION` (`default`, `all`, `none`, or a comma-separated list of names).

use std::cell::Cell;

use crate::error::Result;
use crate::switches::Switches;

/// One of generation's fast paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationPath {
    /// Generation prefills the token prefix all prompts of a batch share once and copies its
    /// KV cache to every row (`prefix_cache`; [`crate::generate()`]).
    PrefixCache,
    /// Decoding writes each step's keys and values in place into room reserved in the KV cache
    /// (`kv_in_place`; grown 64 positions at a time) instead of concatenating the whole cache
    /// per step and layer ([`crate::KvCache::reserve`]).
    KvInPlace,
    /// [`LanguageModel::complete`](crate::LanguageModel::complete) keeps its batch full,
    /// prompts joining as sequences finish (`continuous_batching`; [`crate::generate_continuous`])
    /// instead of decoding fixed chunks of prompts until each chunk's longest answer ends. Not
    /// in [`GenerationPath::DEFAULT`]: on the flex CPU backend decode at 48 rows is bound by
    /// compute, not by reading the weights, so the fixed chunks' tail costs little while the
    /// masked rows and cache copies of joining cost more (docs/performance-log.md, "Continuous
    /// batching: built, measured slower on this CPU").
    ContinuousBatching,
}

/// The names in `SRLM_GENERATION`, in [`GenerationPath::ALL`]'s order.
const NAMES: [&str; 3] = ["prefix_cache", "kv_in_place", "continuous_batching"];

thread_local! {
    /// [`GenerationPath::with`]'s choice for this thread, over the process-wide one.
    static SCOPED: Cell<Option<u32>> = const { Cell::new(None) };
}

static SWITCHES: Switches = Switches::new(
    GenerationPath::ENV_VAR,
    &NAMES,
    bits_of(&GenerationPath::DEFAULT),
    &SCOPED,
);

crate::switches::bits_of_fn!(GenerationPath);

impl GenerationPath {
    /// Every path, in the order of their bits.
    pub const ALL: [GenerationPath; 3] = [
        GenerationPath::PrefixCache,
        GenerationPath::KvInPlace,
        GenerationPath::ContinuousBatching,
    ];

    /// What runs unless `SRLM_GENERATION` or [`GenerationPath::set`] say otherwise.
    pub const DEFAULT: [GenerationPath; 2] =
        [GenerationPath::PrefixCache, GenerationPath::KvInPlace];

    /// The environment variable read on first use.
    pub const ENV_VAR: &'static str = "SRLM_GENERATION";

    /// The path's name in `SRLM_GENERATION`.
    pub fn name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// Parses `default` (or nothing), `all`, `none`, or a comma-separated list of names.
    pub fn parse(text: &str) -> Result<Vec<GenerationPath>> {
        let indices = SWITCHES.parse(text)?;
        Ok(indices
            .into_iter()
            .map(|i| GenerationPath::ALL[i])
            .collect())
    }

    /// Turns exactly these paths on (the others off), for the whole process.
    pub fn set(paths: &[GenerationPath]) {
        SWITCHES.set(bits_of(paths));
    }

    /// Runs `f` with exactly these paths on, on this thread only (as
    /// [`crate::fused::with_enabled`] does for the fused operations).
    ///
    /// ```
    /// use srlm_model::GenerationPath;
    ///
    /// let before = GenerationPath::KvInPlace.is_on();
    /// let inside = GenerationPath::with(&[GenerationPath::PrefixCache], || {
    ///     (GenerationPath::PrefixCache.is_on(), GenerationPath::KvInPlace.is_on())
    /// });
    /// assert_eq!(inside, (true, false));
    /// assert_eq!(GenerationPath::KvInPlace.is_on(), before);
    /// ```
    pub fn with<T>(paths: &[GenerationPath], f: impl FnOnce() -> T) -> T {
        SWITCHES.with(bits_of(paths), f)
    }

    /// Whether this path is on for the calling thread.
    pub fn is_on(self) -> bool {
        SWITCHES.bits() & 1 << (self as u32) != 0
    }

    /// The paths that are on, as `SRLM_GENERATION` would name them (`none` for none).
    pub fn names_on() -> String {
        SWITCHES.names_on()
    }
}
