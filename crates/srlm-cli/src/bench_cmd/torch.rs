//! The PyTorch reference's command line for one piece of work.

use std::process::Command;

use super::{BenchArgs, Work};

/// `$PYTHON SCRIPT --model M --work W --reps R --batches B --threads N --device D --json`
/// (`python3` unless `PYTHON` is set; the script takes a GGUF path or `random:smollm2`).
pub(crate) fn command(args: &BenchArgs, work: Work, threads: usize, device: &str) -> Command {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut command = Command::new(python);
    command.arg(&args.torch_script);
    command.args(args.work_flags(work));
    command.args([
        "--threads",
        &threads.to_string(),
        "--device",
        device,
        "--json",
    ]);
    command
}

/// PyTorch's device for srlm's `--device`: the same GPU (`cuda[:N]`; `wgpu[:N]` maps to
/// `cuda[:N]`, PyTorch having no wgpu), else the CPU.
pub(crate) fn default_device(srlm_device: &str) -> String {
    let (name, index) = match srlm_device.split_once(':') {
        Some((name, index)) => (name, Some(index)),
        None => (srlm_device, None),
    };
    match (name, index) {
        ("cuda" | "wgpu", Some(index)) => format!("cuda:{index}"),
        ("cuda" | "wgpu", None) => "cuda".into(),
        _ => "cpu".into(),
    }
}

/// The PyTorch column's label: its threads on the CPU, its device on a GPU.
pub(crate) fn side_label(device: &str, threads: usize) -> String {
    if device == "cpu" {
        format!("{threads} threads")
    } else {
        device.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_runs_on_the_gpu_srlm_runs_on_and_on_the_cpu_otherwise() {
        for (srlm, torch) in [
            ("cuda", "cuda"),
            ("cuda:1", "cuda:1"),
            ("wgpu", "cuda"),
            ("wgpu:2", "cuda:2"),
            ("cpu", "cpu"),
            ("flex", "cpu"),
            ("cubecl-cpu", "cpu"),
        ] {
            assert_eq!(default_device(srlm), torch, "srlm --device {srlm}");
        }
        assert_eq!(side_label("cpu", 2), "2 threads");
        assert_eq!(side_label("cuda:1", 2), "cuda:1");
    }
}
