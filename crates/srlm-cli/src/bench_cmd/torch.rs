//! The PyTorch reference's side: where it runs, at which precision, and its command line for one
//! piece of work.

use std::process::Command;

use anyhow::Result;

use super::{child_records, BenchArgs, Record, Work};

/// How PyTorch runs beside srlm: its device and threads, whether its float32 matrix products
/// run in TF32, and its model's dtype.
#[derive(Debug)]
pub(crate) struct TorchSide {
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// CPU threads (`torch.set_num_threads`).
    pub threads: usize,
    /// float32 products in TF32: beside srlm's cuda backend, whose float32 products run in TF32
    /// (cubek-matmul's accelerated kernels), so that both sides multiply at one precision.
    pub tf32: bool,
    /// The model in bf16 (PEFT's adapters in float32): beside srlm's bf16 compute.
    pub bf16: bool,
}

impl TorchSide {
    /// PyTorch's side for srlm's `--device`: `torch_device` where given, else the GPU srlm runs
    /// on (`cuda[:N]`; `wgpu[:N]` maps to `cuda[:N]`, PyTorch having no wgpu), else the CPU.
    /// `bf16`: srlm computes in bf16.
    pub(crate) fn new(
        srlm_device: &str,
        torch_device: Option<String>,
        threads: usize,
        bf16: bool,
    ) -> Self {
        let device = torch_device.unwrap_or_else(|| default_device(srlm_device));
        let srlm_on_cuda = srlm_device == "cuda" || srlm_device.starts_with("cuda:");
        let tf32 = srlm_on_cuda && device.starts_with("cuda");
        Self {
            device,
            threads,
            tf32,
            bf16,
        }
    }

    /// `$PYTHON SCRIPT --model M --work W --reps R --batches B --threads N --device D --json`,
    /// with `--lora R` and `--checkpointing` as srlm's side, `--dtype bfloat16` where srlm
    /// computes in bf16, and `--tf32` (`python3` unless `PYTHON` is set).
    pub(crate) fn command(&self, args: &BenchArgs, work: Work) -> Command {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let mut command = Command::new(python);
        command.arg(&args.torch_script);
        command.args(args.work_flags(work));
        command.args([
            "--threads",
            &self.threads.to_string(),
            "--device",
            &self.device,
            "--json",
        ]);
        if self.bf16 {
            command.args(["--dtype", "bfloat16"]);
        }
        if self.tf32 {
            command.arg("--tf32");
        }
        command
    }

    /// PyTorch's records of `work`.
    pub(crate) fn records(&self, args: &BenchArgs, work: Work) -> Result<Vec<Record>> {
        tracing::info!(work = work.name(), "measuring PyTorch");
        let command = self.command(args, work);
        child_records(command, &format!("PyTorch ({})", work.name()))
    }

    /// The PyTorch column's label: its threads on the CPU, its device on a GPU (`, TF32` when
    /// its float32 products run in TF32).
    pub(crate) fn label(&self) -> String {
        match (self.device.as_str(), self.tf32) {
            ("cpu", _) => format!("{} threads", self.threads),
            (device, true) => format!("{device}, TF32"),
            (device, false) => device.into(),
        }
    }
}

/// PyTorch's default device for srlm's `--device`.
fn default_device(srlm_device: &str) -> String {
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
        assert_eq!(TorchSide::new("flex", None, 2, false).label(), "2 threads");
        assert_eq!(
            TorchSide::new("wgpu", Some("cuda:1".into()), 2, false).label(),
            "cuda:1"
        );
    }

    #[test]
    fn pytorch_multiplies_in_tf32_only_beside_srlm_on_cuda() {
        let side =
            |srlm: &str, torch: Option<&str>| TorchSide::new(srlm, torch.map(Into::into), 4, false);
        assert!(side("cuda", None).tf32);
        assert!(side("cuda:1", None).tf32);
        assert_eq!(side("cuda", None).label(), "cuda, TF32");
        // wgpu's float32 products are FP32, and so are a CPU's.
        assert!(!side("wgpu", None).tf32);
        assert!(!side("flex", None).tf32);
        assert!(!side("cuda", Some("cpu")).tf32);
    }

    #[test]
    fn the_command_gives_pytorch_srlms_work_dtype_and_precision() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        let cli = Cli::parse_from([
            "srlm",
            "--model",
            "random:llama-3-8b",
            "--lora",
            "16",
            "--checkpointing",
        ]);
        let args = |side: &TorchSide| -> Vec<String> {
            let command = side.command(&cli.bench, Work::Dpo);
            command
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let cuda = TorchSide::new("cuda", None, 16, true);
        let given = args(&cuda);
        let joined = given.join(" ");
        for expected in [
            "--model random:llama-3-8b",
            "--work dpo",
            "--lora 16",
            "--checkpointing",
            "--device cuda",
            "--dtype bfloat16",
        ] {
            assert!(joined.contains(expected), "{expected} not in {joined}");
        }
        assert!(given.contains(&"--tf32".to_string()), "{joined}");
        let flex = args(&TorchSide::new("flex", None, 2, false)).join(" ");
        assert!(
            !flex.contains("--tf32") && !flex.contains("--dtype"),
            "{flex}"
        );
    }
}
