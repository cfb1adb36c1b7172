//! The stages of the loop. Each reads its inputs from the run folder (or is handed them), does
//! its work in units recorded in a [`Journal`], and writes its output atomically.

pub(crate) mod candidates;
pub(crate) mod data;
pub(crate) mod instruct;
pub(crate) mod instructed;
pub(crate) mod judging;
pub(crate) mod pairs;
pub(crate) mod seed_answers;
pub(crate) mod seed_prompts;
pub(crate) mod train;
pub(crate) mod verifiable;

use std::ops::ControlFlow;
use std::path::Path;

use crate::error::{LoopError, Result};
use crate::observer::Observer;
use serde::de::DeserializeOwned;
use serde::Serialize;
use srlm_fs::Journal;

/// A seed for one unit of one stage: the same run seed, iteration, stage and unit always give
/// the same seed, whatever ran before ([`srlm_generation::seed::derive_seed`] over the three).
pub(crate) fn unit_seed(seed: u64, iteration: usize, stage: u64, unit: usize) -> u64 {
    srlm_generation::seed::derive_seed(seed, &[iteration as u64, stage, unit as u64])
}

/// Runs units `0..total` of a stage, skipping those its journal already holds. `unit(u, done)`
/// does unit `u` given the finished ones; `None` ends the stage early. Returns every unit and
/// whether an earlier invocation had started the stage.
pub(crate) fn run_units<T, F>(
    journal_path: &Path,
    iteration: usize,
    stage: &str,
    total: usize,
    observer: &mut dyn Observer,
    mut unit: F,
) -> Result<(Vec<T>, bool)>
where
    T: Serialize + DeserializeOwned,
    F: FnMut(usize, &[T]) -> Result<Option<(T, String)>>,
{
    let mut journal = Journal::open(journal_path)?;
    if journal.torn_bytes() > 0 {
        tracing::warn!(
            file = %journal_path.display(),
            bytes = journal.torn_bytes(),
            "cutting off a torn last line (the previous run stopped mid-write)"
        );
    }
    let resumed = !journal.entries().is_empty();
    observer.stage_started(iteration, stage, total, journal.entries().len());
    for u in journal.entries().len()..total {
        let Some((entry, message)) = unit(u, journal.entries())? else {
            break;
        };
        journal.append(entry)?;
        if let ControlFlow::Break(()) = observer.unit_finished(iteration, stage, u + 1, &message) {
            return Err(LoopError::Stopped {
                stage: stage.to_string(),
                units: u + 1,
            });
        }
    }
    Ok((journal.into_entries(), resumed))
}

/// Mean of word counts (0 for none).
pub fn mean_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> f64 {
    let (mut n, mut words) = (0usize, 0usize);
    for t in texts {
        n += 1;
        words += t.split_whitespace().count();
    }
    if n == 0 {
        0.0
    } else {
        words as f64 / n as f64
    }
}
