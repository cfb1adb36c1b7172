//! Thinning an EFT set so that no score dominates (the paper resampled away excess 4s).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::{DataError, Result};
use crate::records::EftRecord;

/// Counts of EFT targets by score rounded to the nearest integer, 0–5 (others are ignored).
pub fn score_histogram(records: &[EftRecord]) -> [usize; 6] {
    let mut histogram = [0; 6];
    for r in records {
        let bucket = r.score.round();
        if (0.0..=5.0).contains(&bucket) {
            histogram[bucket as usize] += 1;
        }
    }
    histogram
}

/// Removes records at random (seeded) from the most common score until no score holds more
/// than `max_share` of the set, largest bucket first; order is kept. Returns the kept records
/// and how many were removed. A set with a single score is left as is (thinning cannot help).
pub fn thin_scores(
    records: Vec<EftRecord>,
    max_share: f64,
    seed: u64,
) -> Result<(Vec<EftRecord>, usize)> {
    if !(max_share > 0.0 && max_share <= 1.0) {
        return Err(DataError::InvalidConfig(format!(
            "max score share {max_share} is outside (0, 1]"
        )));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut keep = vec![true; records.len()];
    loop {
        let mut histogram = [0usize; 6];
        for (r, _) in records.iter().zip(&keep).filter(|(_, k)| **k) {
            histogram[r.score.round().clamp(0.0, 5.0) as usize] += 1;
        }
        let total: usize = histogram.iter().sum();
        let Some((bucket, &count)) = histogram.iter().enumerate().max_by_key(|(_, c)| **c) else {
            break;
        };
        let rest = total - count;
        if total == 0 || rest == 0 || count as f64 <= max_share * total as f64 {
            break;
        }
        let allowed = ((max_share * rest as f64) / (1.0 - max_share)).floor() as usize;
        let allowed = allowed.clamp(1, count);
        let mut members: Vec<usize> = (0..records.len())
            .filter(|&i| keep[i] && records[i].score.round().clamp(0.0, 5.0) as usize == bucket)
            .collect();
        members.shuffle(&mut rng);
        for &i in &members[allowed..] {
            keep[i] = false;
        }
        if allowed == count {
            break;
        }
    }
    let before = records.len();
    let kept: Vec<EftRecord> = records
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect();
    let removed = before - kept.len();
    Ok((kept, removed))
}
