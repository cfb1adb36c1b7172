//! A stage's clock across invocations: a run killed in the middle of a stage and started again
//! reports the stage's time over every invocation, not only the last one's.
//!
//! `RUN/clock/NN-STAGE.json` holds the seconds the stage had run when its last unit of work (a
//! generation batch, a training step) finished; the next invocation starts from there. Time
//! between that unit and a kill is not counted; work redone after a resume is. The file goes
//! when the stage's summary is written.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{LoopError, Result};
use crate::observer::Observer;
use crate::run_dir::{remove_file, RunDir, StageSummary};

#[derive(Debug, Serialize, Deserialize)]
struct SavedClock {
    seconds: f64,
}

/// Seconds spent in one stage, over every invocation that worked on it.
#[derive(Debug)]
pub(crate) struct StageClock {
    dir: RunDir,
    path: PathBuf,
    earlier_s: f64,
    started: Instant,
}

impl StageClock {
    /// Starts the clock of `stage` in `iteration`, from the seconds earlier invocations saved.
    pub(crate) fn start(dir: &RunDir, iteration: usize, stage: &str) -> Result<Self> {
        let path = dir
            .root()
            .join("clock")
            .join(format!("{iteration:02}-{stage}.json"));
        let earlier_s = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let saved: SavedClock =
                    serde_json::from_str(&text).map_err(|e| LoopError::Corrupt {
                        path: path.clone(),
                        line: e.line(),
                        reason: e.to_string(),
                    })?;
                saved.seconds
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0.0,
            Err(e) => return Err(LoopError::io(&path, e)),
        };
        Ok(StageClock {
            dir: dir.clone(),
            path,
            earlier_s,
            started: Instant::now(),
        })
    }

    /// Seconds so far: earlier invocations' plus this one's.
    pub(crate) fn seconds(&self) -> f64 {
        self.earlier_s + self.started.elapsed().as_secs_f64()
    }

    /// Saves the seconds so far, for the next invocation if this one is interrupted.
    pub(crate) fn save(&self) -> Result<()> {
        let json = serde_json::to_string(&SavedClock {
            seconds: self.seconds(),
        })
        .map_err(|e| LoopError::Corrupt {
            path: self.path.clone(),
            line: 0,
            reason: e.to_string(),
        })?;
        self.dir.write_text(&self.path, &json)
    }

    /// `observer`, with this clock saved after every unit it sees finish.
    pub(crate) fn observing<'a>(&'a self, observer: &'a mut dyn Observer) -> Clocked<'a> {
        Clocked {
            inner: observer,
            clock: self,
        }
    }

    /// Stops the clock: its file goes, and the total is returned.
    pub(crate) fn finish(self) -> Result<f64> {
        let seconds = self.seconds();
        remove_file(&self.path)?;
        Ok(seconds)
    }
}

/// Passes events to `inner` and saves `clock` after every finished unit
/// ([`StageClock::observing`]).
pub(crate) struct Clocked<'a> {
    inner: &'a mut dyn Observer,
    clock: &'a StageClock,
}

impl Observer for Clocked<'_> {
    fn stage_started(&mut self, iteration: usize, stage: &str, total: usize, done: usize) {
        self.inner.stage_started(iteration, stage, total, done);
    }

    fn unit_finished(
        &mut self,
        iteration: usize,
        stage: &str,
        done: usize,
        message: &str,
    ) -> ControlFlow<()> {
        let flow = self.inner.unit_finished(iteration, stage, done, message);
        if let Err(e) = self.clock.save() {
            // The clock is a report, not an output: a failed save costs only its accuracy.
            tracing::warn!(stage, error = %e, "could not save the stage's clock");
        }
        flow
    }

    fn stage_finished(&mut self, summary: &StageSummary) {
        self.inner.stage_finished(summary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_clock_continues_in_the_next_invocation_and_goes_when_finished() {
        let tmp = tempfile::tempdir().unwrap();
        let config = crate::RunConfig::default();
        let dir = RunDir::open(tmp.path(), &config).unwrap();
        let first = StageClock::start(&dir, 1, "judge").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(60));
        first.save().unwrap();
        drop(first);
        let second = StageClock::start(&dir, 1, "judge").unwrap();
        assert!(second.seconds() >= 0.06, "{}", second.seconds());
        // Another stage's clock is its own.
        assert!(StageClock::start(&dir, 1, "dpo").unwrap().seconds() < 0.06);
        let path = second.path.clone();
        assert!(second.finish().unwrap() >= 0.06);
        assert!(!path.exists());
        assert!(StageClock::start(&dir, 1, "judge").unwrap().seconds() < 0.06);
    }

    #[test]
    fn a_corrupt_clock_is_an_error_naming_its_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::open(tmp.path(), &crate::RunConfig::default()).unwrap();
        std::fs::create_dir_all(tmp.path().join("clock")).unwrap();
        std::fs::write(tmp.path().join("clock/02-dpo.json"), "{oops").unwrap();
        let err = StageClock::start(&dir, 2, "dpo").unwrap_err().to_string();
        assert!(err.contains("02-dpo.json"), "{err}");
    }
}
