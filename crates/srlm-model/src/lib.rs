//! # srlm-model
//!
//! A trainable, batched Llama for burn 0.22 — the one model every stage of self-rewarding
//! training runs through.
//!
//! - [`Llama`]: RMSNorm, rotary embeddings (rotate-half, `linear`/`llama3` scaling),
//!   grouped-query attention, SwiGLU, tied or untied head, dropout for training; a causal mask
//!   combined with a padding mask so every row of a padded batch gets the logits it would get
//!   alone; a [`KvCache`] for batched incremental decoding.
//! - Loading: [`LanguageModel::load`] takes a GGUF file (F32, F16, BF16, Q8_0, Q4_0, Q4_1 and
//!   the K-quants Q4_K, Q5_K, Q6_K, dequantised to f32) or a Hugging Face directory
//!   (safetensors, sharded or not; `model_type` llama, mistral or qwen2);
//!   [`LanguageModel::save_pretrained`] writes the Hugging Face layout back.
//! - [`Tokenizer`] (the `tokenizers` crate, also built from GGUF metadata) and [`ChatTemplate`]
//!   (minijinja, rendering transformers' templates byte for byte).
//! - [`LanguageModel::complete`] and [`LocalGenerator`]: text in, text out — the model behind
//!   the [`TextGenerator`] seam (crate `srlm-generation`, re-exported here) that judges, the
//!   loop and the evaluation generate through.
//! - [`generate()`]: batched sampling (greedy, temperature, top-k, top-p), seeded, stopping per
//!   sequence at end of turn; [`sequence_logprobs`]: summed response log-probabilities in one
//!   forward pass (what DPO needs); [`shared_prompt_logprobs`]: several responses to one prompt
//!   with the prompt run once (a DPO pair's two sides).
//! - [`fused`]: RMSNorm, SwiGLU, rotary embeddings, the attention softmax, response log-probs
//!   through the output projection and the AdamW update as fused operations with their own
//!   backward pass (a burn backend extension for flex and autodiff over it), each beside the
//!   composed burn operations it replaces, which other backends run.
//!
//! ## Backends
//!
//! | feature | device string | notes |
//! |---|---|---|
//! | `flex` (default) | `cpu`, `flex` | pure-Rust CPU backend |
//! | `cpu` | `cubecl-cpu` (`cpu` when `flex` is off) | burn's CubeCL CPU runtime through LLVM, with fusion; run `scripts/setup-llvm.sh` once |
//! | `wgpu` | `wgpu`, `wgpu:N` | Vulkan / Metal / DX12, with fusion and autotuning |
//! | `cuda` | `cuda`, `cuda:N` | NVIDIA, with fusion and autotuning; f32 matmuls run in TF32 on tensor-core GPUs (cubek-matmul's choice); run `scripts/setup-llvm.sh` once (LLVM from PyPI) |
//!
//! [`parse_device`] picks one at run time; [`device_from_env`] is how the tests pick theirs
//! (`SRLM_TEST_DEVICE`).
//!
//! ## Example
//!
//! ```
//! use srlm_model::{parse_device, GenerationConfig, Llama, LlamaConfig, generate};
//!
//! let device = parse_device("cpu")?;
//! let config = LlamaConfig::tiny(64, 32, 2, 4, 2);
//! let model = Llama::random(&config, &device, 42)?;
//! let out = generate(&model, &[vec![1, 2, 3], vec![4, 5]], 0, &GenerationConfig {
//!     max_new_tokens: 5,
//!     ..GenerationConfig::default()
//! })?;
//! assert_eq!(out.len(), 2);
//! assert_eq!(out[0].token_ids.len(), 5);
//! # Ok::<(), srlm_model::ModelError>(())
//! ```

mod atomic;
mod batch;
mod chat;
mod config;
mod cubecl_cpu_builtins;
mod device;
mod device_sampling;
mod error;
mod family;
pub mod fused;
mod generate;
pub mod gguf;
mod hf;
mod host_memory;
mod llama;
mod loading;
mod local_generator;
mod log_sum_exp;
mod logprob;
pub mod lora;
mod memory;
mod model;
mod rope;
mod safetensors_reader;
mod sampling;
mod shared_prompt;
mod switches;
mod tokenizer;
mod weights;

pub use atomic::{rename_durable, sync_dir, write_atomic};
pub use batch::{Padding, TokenBatch};
pub use chat::{ChatTemplate, Message};
pub use config::{LlamaConfig, RopeScaling, TokenIds};
pub use device::{device_from_env, parse_device};
pub use device_sampling::sample_on_device;
pub use error::{ModelError, Result};
pub use family::MODEL_TYPES;
pub use generate::{
    generate, generate_continuous, generate_samples, ContinuousBatching, FinishReason, Generation,
    GenerationConfig, GenerationPath,
};
pub use hf::{
    read_safetensors, safetensors_files, write_safetensors, write_safetensors_lazily, LazyTensor,
    TokenizerConfig,
};
pub use host_memory::host_available_bytes;
pub use llama::{
    add_gradients, attention_bias, attention_bias_with_room, Attention, DecoderLayer, KvCache,
    LayerCheckpoints, Llama, Mlp, RmsNorm,
};
pub use local_generator::{LocalGenerator, OwnedLocalGenerator};
pub use log_sum_exp::log_sum_exp;
pub use logprob::{
    next_token_logprobs, response_logprobs, sequence_logprobs, PromptResponse, ResponseBatch,
    ResponseLogprob,
};
pub use lora::{LoraConfig, LoraDtype, LoraTarget};
pub use memory::{SavedPerToken, TrainingForward};
pub use model::LanguageModel;
pub use rope::inverse_frequencies;
pub use sampling::{argmax, sample, sequence_rng, SamplingParams};
pub use shared_prompt::{shared_prompt_logprobs, PromptResponses, SharedPromptBatch};
pub use srlm_generation::{complete_checked, Completion, GenerationError, TextGenerator};
pub use tokenizer::Tokenizer;
pub use weights::{read_f32, HostTensor, WeightMap};

/// The generation seam, re-exported.
pub use srlm_generation;

/// burn, re-exported so users name the same `Tensor` and `Device` types.
pub use burn;
