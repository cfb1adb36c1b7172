//! # srlm
//!
//! Self-Rewarding Language Models (Yuan et al., 2024, arXiv:2401.10020) in Rust, on burn 0.22.
//! This crate is the library facade: add it as the one dependency and reach every part through
//! it. It pulls in no command-line machinery; the `srlm` command is the `srlm-cli` crate.
//!
//! | module | crate | what it holds |
//! |---|---|---|
//! | [`generation`] | `srlm-generation` | the generation seam: `TextGenerator`, `GenerationConfig`, `Completion` — no burn |
//! | [`model`] | `srlm-model` | the Llama model: loading (GGUF, Hugging Face), tokenizer, chat template, generation, log-probs |
//! | [`data`] | `srlm-data` | IFT / EFT / AIFT sets: JSON Lines with `file:line` errors, importers (oasst1, ShareGPT, MT-Bench, TRL), splits, EFT builders, token batches |
//! | [`dpo`] | `srlm-dpo` | SFT and DPO: losses (DPO, IPO, hinge, cDPO, RPO), cached reference log-probs, a trainer with checkpoints and exact resume |
//! | [`judge`] | `srlm-judge` | LLM-as-a-judge: the paper's prompt, score parsing, local and HTTP judges, reward-model metrics |
//! | [`eval`] | `srlm-eval` | evaluation of a run: judge quality, head-to-head win rates with bootstrap intervals, lengths, DPO curves; report.md, JSON, SVG/PNG plots |
//! | [`fs`] | `srlm-fs` | durable, all-or-nothing writes, folder locks, the JSON Lines journal a resumable stage keeps — no burn |
//! | [`verifiable`] | `srlm-verifiable` | IFEval's verifiable instructions, rendered and checked by programs as Google's checkers do — no burn |
//! | [`run`] | `srlm-loop` | the self-rewarding loop: self-instruction with Self-Instruct's filters, candidates, self-judging, pairs, DPO; a resumable driver over a run folder |
//!
//! ## Backends (cargo features)
//!
//! | feature | `--device` | notes |
//! |---|---|---|
//! | `flex` (default) | `cpu` | pure-Rust CPU backend |
//! | `cpu` | `cubecl-cpu` | burn's CubeCL CPU runtime through LLVM; run `scripts/setup-llvm.sh` once |
//! | `wgpu` | `wgpu`, `wgpu:N` | Vulkan / Metal / DX12 GPUs |
//! | `cuda` | `cuda`, `cuda:N` | NVIDIA; run `scripts/setup-llvm.sh` once (LLVM from PyPI) |
//!
//! A device whose backend was not compiled in is a clear error naming the feature to enable.
//!
//! ## Example
//!
//! ```
//! use srlm::model::{parse_device, GenerationConfig, Llama, LlamaConfig};
//!
//! let device = parse_device("cpu")?;
//! let model = Llama::random(&LlamaConfig::tiny(32, 16, 1, 2, 1), &device, 0)?;
//! let out = srlm::model::generate(&model, &[vec![1, 2, 3]], 0, &GenerationConfig::default())?;
//! assert!(!out[0].token_ids.is_empty());
//! # Ok::<(), srlm::model::ModelError>(())
//! ```

pub use srlm_data as data;
pub use srlm_dpo as dpo;
pub use srlm_eval as eval;
pub use srlm_fs as fs;
pub use srlm_generation as generation;
pub use srlm_judge as judge;
pub use srlm_loop as run;
pub use srlm_model as model;
pub use srlm_verifiable as verifiable;
