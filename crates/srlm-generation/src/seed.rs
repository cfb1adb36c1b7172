//! Derived seeds: one run seed, many independent streams. Every place that needs a seed for a
//! piece of work (a loop stage's unit, a training step's micro-batch, an HTTP request of a
//! call) derives it here from the run's seed and the work's coordinates, so the same
//! coordinates always give the same seed — whatever ran before, on any platform.

/// SplitMix64's increment (2⁶⁴ / φ), added before each word is absorbed.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser (Steele, Lea and Flood, 2014): a bijection of `u64` in which every
/// output bit depends on every input bit.
///
/// ```
/// use srlm_generation::seed::splitmix64;
/// // The first output of SplitMix64 seeded with 0 (the reference implementation's test value).
/// assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0xE220_A839_7B1D_CDAF);
/// ```
pub fn splitmix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for the work at `coordinates` of a run seeded with `seed`: each coordinate, mixed on
/// its own, is folded into the state, which is mixed again
/// (`z ← splitmix64((z + γ) ⊕ splitmix64(word + γ))`). Different (seed, coordinates) give
/// independent-looking seeds — unlike a plain sum, seed 1 at index 0 is not seed 0 at index 1 —
/// and the same ones always give the same seed.
///
/// ```
/// use srlm_generation::seed::derive_seed;
/// let unit = |u| derive_seed(7, &[1, 2, u]);
/// assert_eq!(unit(3), unit(3));
/// assert_ne!(unit(3), unit(4));
/// assert_ne!(derive_seed(7, &[1, 2]), derive_seed(7, &[2, 1]));
/// ```
pub fn derive_seed(seed: u64, coordinates: &[u64]) -> u64 {
    coordinates.iter().fold(seed, |z, &word| {
        splitmix64(z.wrapping_add(GOLDEN_GAMMA) ^ splitmix64(word.wrapping_add(GOLDEN_GAMMA)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference SplitMix64 generator (Vigna's `splitmix64.c`): `x += γ; return mix(x)`.
    fn reference_stream(mut state: u64, n: usize) -> Vec<u64> {
        (0..n)
            .map(|_| {
                state = state.wrapping_add(GOLDEN_GAMMA);
                splitmix64(state)
            })
            .collect()
    }

    #[test]
    fn the_finaliser_gives_splitmix64s_published_stream() {
        // splitmix64.c seeded with 1234567: its first five outputs.
        assert_eq!(
            reference_stream(1_234_567, 5),
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    #[test]
    fn neighbouring_seeds_and_coordinates_do_not_share_seeds() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..64u64 {
            for a in 0..32u64 {
                for b in 0..32u64 {
                    seen.insert(derive_seed(seed, &[a, b]));
                }
                seen.insert(derive_seed(seed, &[a]));
            }
        }
        assert_eq!(seen.len(), 64 * 32 * 33);
    }

    #[test]
    fn a_coordinate_of_zero_still_moves_the_seed() {
        assert_ne!(derive_seed(5, &[0]), 5);
        assert_ne!(derive_seed(5, &[0]), derive_seed(5, &[0, 0]));
    }
}
