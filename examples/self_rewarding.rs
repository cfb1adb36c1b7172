//! Drives the self-rewarding loop from Rust, as a library user would: a configuration built in
//! code, an observer that prints each stage's summary, and the run folder it leaves.
//!
//! ```text
//! bash scripts/fetch-model.sh && bash scripts/fetch-data.sh
//! cargo run --release -p srlm --example self_rewarding -- runs/example
//! ```
//!
//! Stop it at any point and start it again: it continues where it stopped.

#![allow(clippy::print_stdout)]

use std::ops::ControlFlow;
use std::path::PathBuf;

use srlm::run::{Observer, RunConfig, SelfRewardingRun, StageSummary};

/// Prints one line per finished stage and a dot per unit of work.
struct Print;

impl Observer for Print {
    fn stage_started(&mut self, iteration: usize, stage: &str, total: usize, done: usize) {
        println!("iteration {iteration}: {stage} ({done}/{total} units done before)");
    }

    fn unit_finished(&mut self, _: usize, _: &str, _: usize, _: &str) -> ControlFlow<()> {
        print!(".");
        ControlFlow::Continue(())
    }

    fn stage_finished(&mut self, summary: &StageSummary) {
        println!(
            "\n  {} in {:.1}s: {}",
            summary.stage, summary.wall_s, summary.stats
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "runs/example".into()),
    );
    // The quick size, one iteration, with length control on: M1 and M2.
    let mut config = RunConfig::quick();
    config.run.iterations = 1;
    config.pairs.length_control = true;
    let run = SelfRewardingRun::open(&dir, config)?;
    let outcome = run.execute(&mut Print)?;
    for model in &outcome.models {
        println!("model: {}", model.display());
    }
    Ok(())
}
