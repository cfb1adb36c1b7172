//! `srlm bench`: throughput and peak memory of generation and training on one model, with the
//! PyTorch reference (`tools/bench/torch_bench.py`) run on the same shapes in the same session.
//!
//! Every piece of work runs in a child process of its own (this binary, or the Python script),
//! so that the peak resident memory it reports (`VmHWM` / `ru_maxrss`) is that work's alone.
//! Each child prints one JSON [`Record`] per measurement; the parent prints a markdown table.

mod answers;
mod generation;
mod optimizer;
mod report;
mod torch;
mod training;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

use srlm::model::burn::tensor::Device;

use crate::step_args::LoraArgs;

/// What one measurement found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    /// `prefill`, `decode`, `sft`, `dpo` or `dpo-ref`.
    pub work: String,
    /// Rows in the batch (pairs for DPO).
    pub batch: usize,
    /// Tokens per second (median of the repetitions).
    pub tokens_per_s: f64,
    /// Peak resident memory of the process that measured it, MiB.
    pub peak_rss_mib: f64,
    /// srlm only: the most heap memory that process held at once, MiB (`VmHWM` also counts
    /// memory the allocator kept after it was freed). Training: both peaks from the loaded
    /// model on (see `load_peak_mib`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_heap_mib: Option<f64>,
    /// srlm's training only: the peak resident memory while the model was loaded (and its LoRA
    /// base cast), before the peaks above were started over, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_peak_mib: Option<f64>,
    /// On a GPU, training: the most device memory the process's allocator held, MiB — PyTorch's
    /// `torch.cuda.max_memory_reserved`; srlm's CubeCL pools' reservation
    /// (`Device::memory_pool_usage`), read after the loading and after the last step (the pools
    /// keep their pages for reuse, so what the steps reserved is still held then). `None` where
    /// the backend reports no pools (flex, PyTorch on the CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_device_mib: Option<f64>,
    /// srlm's training only: the peak `srlm plan` predicts for the step (`MemoryPlan`), MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_mib: Option<f64>,
    /// Training only: median seconds of the forward, backward and optimizer phases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<[f64; 3]>,
    /// srlm only: the fused operations that were on (`SRLM_FUSED`'s form).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fused: String,
    /// srlm only: generation's fast paths that were on (`SRLM_GENERATION`'s form).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub generation: String,
}

impl Record {
    /// A generation record of this process: `tokens_per_s` at `batch` rows, with this
    /// process's peak memory and fused operations.
    pub(crate) fn generation(work: &str, batch: usize, tokens_per_s: f64) -> Self {
        Record {
            work: work.into(),
            batch,
            tokens_per_s,
            peak_rss_mib: peak_rss_mib(),
            peak_heap_mib: Some(crate::heap::peak_heap_mib()),
            load_peak_mib: None,
            peak_device_mib: None,
            planned_mib: None,
            phases: None,
            fused: srlm::model::fused::enabled_ops(),
            generation: srlm::model::GenerationPath::names_on(),
        }
    }
}

/// Where a piece of work is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Work {
    /// Prefill and decode at each batch size.
    Generation,
    /// One SFT step, batch 4 × (128 + 128).
    Sft,
    /// One SFT step on the loop's EFT shape: batch 4 × (448-token judge prompt + 96-token
    /// judgement).
    SftEft,
    /// One DPO step, 4 pairs, reference log-probs precomputed.
    Dpo,
    /// One DPO step with the reference model kept in memory and run every step.
    DpoRef,
    /// The loop's candidate stage: 4 sampled answers to each of `--questions` MT-Bench
    /// questions, up to `--new-tokens` each, `--batches` sequences per forward pass (srlm only).
    Answers,
    /// The optimizer phase alone: gradient norm, clipping and one AdamW update over every
    /// trainable parameter, random gradients; its rate counts parameters per second.
    Adamw,
}

impl Work {
    fn name(self) -> &'static str {
        match self {
            Work::Generation => "generation",
            Work::Sft => "sft",
            Work::SftEft => "sft-eft",
            Work::Dpo => "dpo",
            Work::DpoRef => "dpo-ref",
            Work::Answers => "answers",
            Work::Adamw => "adamw",
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// A GGUF file or HF directory, or `random:NAME`: random weights in the shapes of `smollm2`,
    /// `llama-3.2-1b`, `llama-3.2-3b`, `llama-3-8b`, `qwen2.5-1.5b` or `qwen2.5-7b`.
    #[arg(long, default_value = "assets/SmolLM2-135M-Instruct.Q4_1.gguf")]
    model: String,
    /// Repetitions measured after one warm-up; medians are reported.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Rounds: each work is measured this many times on each side, srlm and PyTorch back to
    /// back (in turns: srlm first in odd rounds, PyTorch first in even ones). The table gives
    /// each side's median over the rounds and the median of the rounds' paired ratios, which
    /// a drift of the machine between rounds moves far less than the ratio of two runs.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Batch sizes for prefill and decode.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    batches: Vec<usize>,
    /// Prompt tokens per sequence for prefill and decode (a judge prompt is ~600).
    #[arg(long, default_value_t = generation::PROMPT)]
    prompt_tokens: usize,
    /// New tokens per sequence for decode.
    #[arg(long, default_value_t = generation::NEW)]
    new_tokens: usize,
    /// What to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "generation,sft,sft-eft,dpo,dpo-ref"
    )]
    work: Vec<Work>,
    /// `--work answers`: how many questions (4 answers each).
    #[arg(long, default_value_t = 24)]
    questions: usize,
    /// `--work answers`: MT-Bench's question.jsonl (the first turns of the first `--questions`).
    #[arg(long, default_value = "assets/data/mt_bench.jsonl")]
    questions_file: PathBuf,
    /// Also run the PyTorch reference (`python3 tools/bench/torch_bench.py`) on the same work.
    #[arg(long)]
    torch: bool,
    /// The PyTorch script.
    #[arg(long, default_value = "tools/bench/torch_bench.py")]
    torch_script: PathBuf,
    /// PyTorch threads (default: this machine's cores, as flex's thread pool uses).
    #[arg(long)]
    threads: Option<usize>,
    /// PyTorch's device (`cpu`, `cuda`, `cuda:N`). Default: the GPU srlm runs on — `cuda[:N]`
    /// for srlm's `cuda[:N]` and for `wgpu[:N]` (PyTorch has no wgpu; on a non-NVIDIA GPU give
    /// this) — and `cpu` for srlm's CPU backends.
    #[arg(long)]
    torch_device: Option<String>,
    /// Also write every record as JSON lines here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Which fused operations srlm runs (`all`, `none`, or a list such as
    /// `rms_norm,swiglu`): sets `SRLM_FUSED` for the measuring processes, to measure one fused
    /// operation against the composed burn operations in one session.
    #[arg(long)]
    fused: Option<String>,
    /// Which of generation's fast paths srlm takes (`all`, `none`, or a list such as
    /// `prefix_cache,kv_in_place`): sets `SRLM_GENERATION` for the measuring processes.
    #[arg(long)]
    generation: Option<String>,
    /// Training works: LoRA adapters on the frozen model instead of full fine-tuning
    /// (`--torch`: PyTorch's side uses PEFT with the same rank over an f32 model, or a bf16 one
    /// where srlm computes in bf16 — `--lora-compute bf16` over `--lora-base bf16`; it takes no
    /// other LoRA setting).
    #[command(flatten)]
    lora: LoraArgs,
    /// Training works: layer checkpointing (PyTorch's side: `gradient_checkpointing_enable`).
    #[arg(long)]
    checkpointing: bool,
    /// Internal: measure one piece of work in this process and print its records.
    #[arg(long, hide = true)]
    child: bool,
}

impl BenchArgs {
    /// The flags that say what one child measures, the same for `srlm bench --child` and the
    /// PyTorch script: `--model M --work W --reps R --batches B --prompt-tokens P --new-tokens N`.
    fn work_flags(&self, work: Work) -> Vec<String> {
        let batches: Vec<String> = self.batches.iter().map(usize::to_string).collect();
        let mut flags = [
            "--model",
            &self.model,
            "--work",
            work.name(),
            "--reps",
            &self.reps.to_string(),
            "--batches",
            &batches.join(","),
            "--prompt-tokens",
            &self.prompt_tokens.to_string(),
            "--new-tokens",
            &self.new_tokens.to_string(),
        ]
        .map(String::from)
        .to_vec();
        if let Some(rank) = self.lora.rank() {
            flags.extend(["--lora".to_string(), rank.to_string()]);
        }
        if self.checkpointing {
            flags.push("--checkpointing".to_string());
        }
        flags
    }
}

#[allow(clippy::print_stdout)]
pub(crate) fn bench(args: BenchArgs, device: &str) -> Result<()> {
    if args.reps == 0
        || args.rounds == 0
        || args.batches.contains(&0)
        || args.prompt_tokens == 0
        || args.new_tokens == 0
    {
        bail!(
            "--reps, --rounds, --prompt-tokens, --new-tokens and every --batches value must be at least 1"
        );
    }
    if args.torch && !args.lora.matches_peft_defaults() {
        bail!(
            "--torch compares against PEFT with the rank alone (alpha 2 · rank, all seven projections, no dropout, no rsLoRA; bf16 compute only over a bf16 base, as PyTorch's bf16 model): drop --lora-alpha, --lora-targets, --lora-dropout and --rslora, add --lora-base bf16 to --lora-compute bf16, or drop --torch"
        );
    }
    if args.child {
        let [work] = args.work.as_slice() else {
            bail!("a --child run measures exactly one --work");
        };
        let records = match work {
            Work::Generation => generation::measure(
                &args.model,
                device,
                &args.batches,
                (args.prompt_tokens, args.new_tokens),
                args.reps,
                args.lora.config()?.as_ref(),
            )?,
            Work::Answers => answers::measure(
                &args.model,
                device,
                &args.batches,
                (&args.questions_file, args.questions, args.new_tokens),
                args.reps,
                args.lora.config()?.as_ref(),
            )?,
            Work::Adamw => vec![optimizer::measure(
                &args.model,
                device,
                args.reps,
                args.lora.config()?,
            )?],
            Work::Sft | Work::SftEft | Work::Dpo | Work::DpoRef => {
                vec![training::measure(
                    *work,
                    &args.model,
                    device,
                    args.reps,
                    (args.lora.config()?, args.checkpointing),
                )?]
            }
        };
        for record in records {
            println!("{}", serde_json::to_string(&record)?);
        }
        return Ok(());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    if let Some(fused) = &args.fused {
        srlm::model::fused::parse_fused_ops(fused)?;
    }
    if let Some(paths) = &args.generation {
        srlm::model::GenerationPath::parse(paths)?;
    }
    // PyTorch's model in bf16 where srlm computes in bf16 (over a bf16 base: checked above).
    let torch = torch::TorchSide::new(
        device,
        args.torch_device.clone(),
        threads,
        args.lora.computes_bf16(),
    );
    let exe = std::env::current_exe().context("locating the srlm binary")?;
    // One list of records per round and side.
    let mut ours = vec![Vec::new(); args.rounds];
    let mut theirs = vec![Vec::new(); args.rounds];
    let torch_runs = |work: Work| args.torch && work != Work::Answers;
    for &work in &args.work {
        if args.torch && !torch_runs(work) {
            tracing::warn!("no PyTorch counterpart of --work answers: srlm only");
        }
        for round in 0..args.rounds {
            let torch_first = round % 2 == 1;
            if torch_first && torch_runs(work) {
                theirs[round].extend(torch.records(&args, work)?);
            }
            tracing::info!(work = work.name(), round = round + 1, "measuring srlm");
            let command = srlm_child(&exe, &args, work, device);
            ours[round].extend(child_records(
                command,
                &format!("srlm bench ({})", work.name()),
            )?);
            if !torch_first && torch_runs(work) {
                theirs[round].extend(torch.records(&args, work)?);
            }
        }
    }
    if let Some(path) = &args.json {
        let mut text = String::new();
        for (side, rounds) in [("srlm", &ours), ("torch", &theirs)] {
            for (round, records) in rounds.iter().enumerate() {
                for r in records {
                    let mut value = serde_json::to_value(r)?;
                    value["side"] = side.into();
                    value["round"] = (round + 1).into();
                    text.push_str(&value.to_string());
                    text.push('\n');
                }
            }
        }
        srlm::model::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    print!(
        "{}",
        report::table(
            &report::rows(&ours, &theirs),
            args.torch.then(|| torch.label()),
            args.rounds,
            (args.prompt_tokens, args.new_tokens)
        )
    );
    let first = ours.iter().flatten().next();
    let (fused, generation) = first.map_or(("", ""), |r| (&r.fused, &r.generation));
    println!(
        "fused operations in srlm: {fused} ({} = all | none | a list); generation's fast \
         paths: {generation} ({})",
        srlm::model::fused::ENV_VAR,
        srlm::model::GenerationPath::ENV_VAR
    );
    Ok(())
}

/// The child process that measures `work` on srlm's side.
fn srlm_child(exe: &std::path::Path, args: &BenchArgs, work: Work, device: &str) -> Command {
    let mut command = Command::new(exe);
    command.args(["--device", device, "bench", "--child"]);
    command.args(args.work_flags(work));
    // Every LoRA setting (PyTorch's side gets the rank alone, and its model's dtype).
    command.args(args.lora.setting_flags());
    if work == Work::Answers {
        command.arg("--questions").arg(args.questions.to_string());
        command.arg("--questions-file").arg(&args.questions_file);
    }
    if let Some(fused) = &args.fused {
        command.env(srlm::model::fused::ENV_VAR, fused);
    }
    if let Some(paths) = &args.generation {
        command.env(srlm::model::GenerationPath::ENV_VAR, paths);
    }
    command
}

/// Runs `command`, relays its stderr on failure, and parses one [`Record`] per stdout line.
pub(crate) fn child_records(mut command: Command, what: &str) -> Result<Vec<Record>> {
    let output = command
        .output()
        .with_context(|| format!("starting {what}: {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{what}: output line {} is not a record: {line}", i + 1))
        })
        .collect()
}

/// The peak resident memory so far (MiB), then starts both peaks over (`VmHWM` through
/// `/proc/self/clear_refs`, and the heap's): what a training step measures from here on is its
/// own, not the loading's. `None` where the system cannot reset `VmHWM`.
pub(crate) fn reset_peaks() -> Option<f64> {
    let before = peak_rss_mib();
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    crate::heap::reset_peak();
    Some(before)
}

/// The device memory `device`'s allocator holds now (its pools' reservation), MiB; `None`
/// where the backend reports no pools (flex).
pub(crate) fn device_reserved_mib(device: &Device) -> Option<f64> {
    device
        .memory_pool_usage()
        .map(|usage| usage.bytes_reserved as f64 / f64::from(1 << 20))
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`; NaN elsewhere).
pub(crate) fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_even_count_takes_the_upper_middle_and_of_none_is_nan() {
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), 3.0);
        assert!(median(Vec::new()).is_nan());
    }
}
