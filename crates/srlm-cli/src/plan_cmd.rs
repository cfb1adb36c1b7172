//! `srlm plan`: the memory a training run would need at its peak, part by part, against what the
//! device has — before any weight is loaded. `srlm sft`, `srlm dpo` and `srlm run` check the
//! same plan before they start ([`MemoryArgs::check`]).

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use srlm::dpo::{MemoryPlan, PlannedWork, TrainConfig};
use srlm::model::{host_available_bytes, LanguageModel, LlamaConfig};

use crate::step_args::StepArgs;

/// What is trained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanWork {
    /// SFT (`srlm sft`).
    Sft,
    /// A preference objective (`srlm dpo`), the reference's log-probs cached.
    Dpo,
}

#[derive(Args)]
pub(crate) struct PlanArgs {
    /// A GGUF file or HF directory (only its config is read), or `random:NAME`: the shapes of
    /// `smollm2-135m`, `llama-3.2-1b`, `llama-3.2-3b`, `llama-3-8b`, `qwen2.5-1.5b` or `qwen2.5-7b`.
    #[arg(long, default_value = "assets/SmolLM2-135M-Instruct.Q4_1.gguf")]
    model: String,
    #[arg(long, value_enum, default_value_t = PlanWork::Sft)]
    work: PlanWork,
    /// Longest sequence, prompt and response (`--max-len`).
    #[arg(long, default_value_t = 1024)]
    seq: usize,
    /// DPO: tokens of the prompt a pair's sides share (run once); 0 counts both sides whole.
    #[arg(long, default_value_t = 0)]
    prompt: usize,
    #[command(flatten)]
    step: StepArgs,
    #[command(flatten)]
    memory: MemoryArgs,
}

/// The shapes of `source`: `random:NAME` or a model's config.
fn model_config(source: &str) -> Result<LlamaConfig> {
    if let Some(name) = source.strip_prefix("random:") {
        return LlamaConfig::named(name).with_context(|| {
            format!(
                "no shapes named {name:?} (known: {})",
                LlamaConfig::NAMED.join(", ")
            )
        });
    }
    LanguageModel::read_config(Path::new(source)).with_context(|| format!("reading {source}"))
}

/// The memory the device `device` offers a run: the host's on CPU devices (free plus what
/// this process holds), unknown on a GPU.
fn device_memory(device: &str) -> Option<u64> {
    let gpu = device.starts_with("cuda") || device.starts_with("wgpu");
    if gpu {
        None
    } else {
        host_available_bytes()
    }
}

#[allow(clippy::print_stdout)]
pub(crate) fn plan(args: &PlanArgs, device: &str) -> Result<()> {
    if args.seq == 0 {
        bail!("--seq must be at least 1");
    }
    if args.prompt >= args.seq {
        bail!(
            "--prompt {} must be shorter than --seq {}",
            args.prompt,
            args.seq
        );
    }
    let model = model_config(&args.model)?;
    if args.seq > model.positions() {
        bail!(
            "--seq {} exceeds the model's {} positions",
            args.seq,
            model.positions()
        );
    }
    let config = args.step.apply(TrainConfig::default())?;
    config.validate()?;
    let work = match args.work {
        PlanWork::Sft => PlannedWork::sft(args.seq),
        PlanWork::Dpo => PlannedWork::preference(args.seq, args.prompt),
    };
    let available = args.memory.available(device)?;
    print!(
        "{}",
        MemoryPlan::new(&model, &config, &work).table(available)
    );
    Ok(())
}

/// How `srlm sft`, `srlm dpo` and `srlm run` check their memory plan before they start.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct MemoryArgs {
    /// Check the memory plan against this many GiB instead of what this machine has free (on a
    /// GPU, where nothing is checked without it: its memory).
    #[arg(long, value_name = "GIB")]
    memory: Option<f64>,
    /// Train even when the memory plan's peak exceeds the memory available.
    #[arg(long, conflicts_with = "memory")]
    no_memory_check: bool,
}

impl MemoryArgs {
    /// Bytes to plan against on `device`: `--memory`, or what the device has free where that
    /// is known.
    fn available(&self, device: &str) -> Result<Option<u64>> {
        match self.memory {
            Some(gib) if gib.is_finite() && gib > 0.0 => {
                Ok(Some((gib * f64::from(1 << 30)) as u64))
            }
            Some(gib) => bail!("--memory {gib}: give a positive number of GiB"),
            None => Ok(device_memory(device)),
        }
    }

    /// Refuses to train when the plan of `config` on `work` does not fit the memory available,
    /// with the plan; logs the plan's peak either way.
    pub(crate) fn check(
        &self,
        model: &LlamaConfig,
        config: &TrainConfig,
        work: &PlannedWork,
        device: &str,
    ) -> Result<()> {
        let plan = MemoryPlan::new(model, config, work);
        let peak = plan.peak();
        tracing::info!(
            peak_mib = peak.bytes >> 20,
            phase = %peak.what,
            "memory plan"
        );
        if self.no_memory_check {
            return Ok(());
        }
        Ok(plan.check(self.available(device)?)?)
    }
}
