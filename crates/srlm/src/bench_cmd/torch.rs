//! The PyTorch reference's command line for one piece of work.

use std::path::Path;
use std::process::Command;

use super::{BenchArgs, Work};

/// `python3 SCRIPT --work W --reps R --threads N --batches B --json` (the GGUF path when the
/// model is one; the script has no random-weights mode).
pub(crate) fn command(
    script: &Path,
    model: &str,
    work: Work,
    args: &BenchArgs,
    threads: usize,
) -> Command {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = Command::new(python);
    let batches: Vec<String> = args.batches.iter().map(usize::to_string).collect();
    command.arg(script);
    command.args(["--model", model, "--work", work.name()]);
    command.args([
        "--reps",
        &args.reps.to_string(),
        "--threads",
        &threads.to_string(),
    ]);
    command.args(["--batches", &batches.join(","), "--json"]);
    command
}
