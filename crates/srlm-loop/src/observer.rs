//! How a run reports progress: an [`Observer`] sees each stage start, each unit of work finish
//! and each stage's summary, and may stop the run between units.

use std::ops::ControlFlow;

use crate::run_dir::StageSummary;

/// Sees a run's progress. Every method has a do-nothing default.
pub trait Observer {
    /// A stage starts (or resumes) with `done` of `total` units already finished.
    fn stage_started(&mut self, _iteration: usize, _stage: &str, _total: usize, _done: usize) {}
    /// A unit finished; `Break` stops the run here (the unit is already recorded).
    fn unit_finished(
        &mut self,
        _iteration: usize,
        _stage: &str,
        _done: usize,
        _message: &str,
    ) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// A stage finished.
    fn stage_finished(&mut self, _summary: &StageSummary) {}
}

/// Logs stage summaries through `tracing`, nothing else.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogObserver;

impl Observer for LogObserver {
    fn stage_finished(&mut self, summary: &StageSummary) {
        tracing::info!(
            iteration = summary.iteration,
            stage = %summary.stage,
            wall_s = summary.wall_s,
            stats = %summary.stats,
            "stage finished"
        );
    }
}
