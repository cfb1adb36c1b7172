//! The PyTorch reference's command line for one piece of work.

use std::process::Command;

use super::{BenchArgs, Work};

/// `$PYTHON SCRIPT --model M --work W --reps R --batches B --threads N --json` (`python3` unless
/// `PYTHON` is set; the script loads the GGUF path and has no random-weights mode).
pub(crate) fn command(args: &BenchArgs, work: Work, threads: usize) -> Command {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = Command::new(python);
    command.arg(&args.torch_script);
    command.args(args.work_flags(work));
    command.args(["--threads", &threads.to_string(), "--json"]);
    command
}
