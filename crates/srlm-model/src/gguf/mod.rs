//! Loading GGUF files (architecture `llama`): config and tokenizer from the metadata, tensors
//! dequantised to `f32` and renamed to Hugging Face's names, with the Q/K rows un-permuted
//! from llama.cpp's interleaved rotary layout to Hugging Face's rotate-half layout.

mod dequant;
mod k_quants;
mod reader;
mod tokenizer;

use std::path::{Path, PathBuf};

pub use dequant::{byte_size, dequantize, type_name};
pub use reader::{parse_header, GgufHeader, GgufTensorInfo, GgufValue};

use crate::config::{LlamaConfig, TokenIds};
use crate::error::{ModelError, Result};
use crate::hf::{map_file, read_range};
use crate::weights::{HostTensor, TensorReader, WeightMap};

/// An opened GGUF file: its header parsed (through a memory map), its tensors read from the
/// file when asked for (mapped pages would count in the process's resident memory).
pub struct GgufFile {
    path: PathBuf,
    file: std::fs::File,
    /// The file's length in bytes.
    len: u64,
    /// The parsed header.
    pub header: GgufHeader,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl GgufFile {
    /// Opens and parses `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let map = map_file(path)?;
        let header = parse_header(&map, path)?;
        let file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            file,
            len: map.len() as u64,
            header,
        })
    }

    fn error(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Gguf {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// A metadata value.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.header.metadata.get(key)
    }

    fn arch(&self) -> Result<&str> {
        let arch = self
            .get("general.architecture")
            .and_then(GgufValue::as_str)
            .ok_or_else(|| self.error("metadata `general.architecture` is missing"))?;
        if arch != "llama" {
            return Err(self.error(format!(
                "architecture `{arch}` is not supported (only `llama`)"
            )));
        }
        Ok(arch)
    }

    fn required_u64(&self, key: &str) -> Result<usize> {
        self.get(key)
            .and_then(GgufValue::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| self.error(format!("metadata `{key}` is missing or not an integer")))
    }

    /// The model's hyper-parameters, as a Hugging Face config.
    pub fn config(&self) -> Result<LlamaConfig> {
        let arch = self.arch()?.to_string();
        let key = |k: &str| format!("{arch}.{k}");
        let heads = self.required_u64(&key("attention.head_count"))?;
        let hidden = self.required_u64(&key("embedding_length"))?;
        let vocab = match self.get(&key("vocab_size")).and_then(GgufValue::as_u64) {
            Some(v) => v as usize,
            None => self
                .get("tokenizer.ggml.tokens")
                .and_then(GgufValue::as_array)
                .map(<[_]>::len)
                .ok_or_else(|| {
                    self.error("neither `llama.vocab_size` nor `tokenizer.ggml.tokens` is present")
                })?,
        };
        let mut config = LlamaConfig::tiny(
            vocab,
            hidden,
            self.required_u64(&key("block_count"))?,
            heads,
            heads,
        );
        config.intermediate_size = self.required_u64(&key("feed_forward_length"))?;
        config.num_key_value_heads = Some(
            self.get(&key("attention.head_count_kv"))
                .and_then(GgufValue::as_u64)
                .map_or(heads, |v| v as usize),
        );
        let head_dim = self
            .get(&key("attention.key_length"))
            .or_else(|| self.get(&key("rope.dimension_count")))
            .and_then(GgufValue::as_u64)
            .map(|v| v as usize);
        if let Some(d) = head_dim.filter(|&d| d * heads != hidden) {
            config.head_dim = Some(d);
        }
        config.max_position_embeddings = self
            .get(&key("context_length"))
            .and_then(GgufValue::as_u64)
            .map_or(2048, |v| v as usize);
        config.rms_norm_eps = self
            .get(&key("attention.layer_norm_rms_epsilon"))
            .and_then(GgufValue::as_f64)
            .unwrap_or(1e-5);
        config.rope_theta = self
            .get(&key("rope.freq_base"))
            .and_then(GgufValue::as_f64)
            .unwrap_or(10_000.0);
        if let Some(kind) = self
            .get(&key("rope.scaling.type"))
            .and_then(GgufValue::as_str)
        {
            match kind {
                "none" => {}
                "linear" => {
                    let factor = self
                        .get(&key("rope.scaling.factor"))
                        .and_then(GgufValue::as_f64)
                        .unwrap_or(1.0);
                    config.rope_scaling = Some(crate::config::RopeScaling {
                        rope_type: "linear".into(),
                        factor,
                        low_freq_factor: None,
                        high_freq_factor: None,
                        original_max_position_embeddings: None,
                    });
                }
                other => {
                    return Err(self.error(format!(
                        "rope scaling `{other}` is not supported in GGUF files"
                    )))
                }
            }
        }
        if self
            .header
            .tensors
            .iter()
            .any(|t| t.name == "rope_freqs.weight")
        {
            return Err(self.error("`rope_freqs.weight` (Llama 3.1 rotary scaling) is not supported in GGUF files; load the Hugging Face directory instead"));
        }
        config.tie_word_embeddings = !self
            .header
            .tensors
            .iter()
            .any(|t| t.name == "output.weight");
        config.bos_token_id = self
            .get("tokenizer.ggml.bos_token_id")
            .and_then(GgufValue::as_u64)
            .map(|v| v as u32);
        config.eos_token_id = self
            .get("tokenizer.ggml.eos_token_id")
            .and_then(GgufValue::as_u64)
            .map(|v| TokenIds::One(v as u32));
        config.pad_token_id = self
            .get("tokenizer.ggml.padding_token_id")
            .and_then(GgufValue::as_u64)
            .map(|v| v as u32);
        config.extra.insert(
            "architectures".into(),
            serde_json::json!(["LlamaForCausalLM"]),
        );
        config
            .extra
            .insert("model_type".into(), serde_json::json!("llama"));
        config.validate().map_err(|reason| ModelError::Config {
            path: self.path.clone(),
            reason,
        })?;
        Ok(config)
    }

    /// The Jinja chat template, if the file has one.
    pub fn chat_template(&self) -> Option<String> {
        self.get("tokenizer.chat_template")
            .and_then(GgufValue::as_str)
            .map(str::to_string)
    }

    /// Reads and dequantises one tensor; returns its PyTorch-order shape and values.
    pub fn tensor(&self, info: &GgufTensorInfo) -> Result<HostTensor> {
        let shape: Vec<usize> = info
            .dims
            .iter()
            .rev()
            .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
            .collect();
        let too_large = || {
            self.error(format!(
                "tensor `{}` of shape {:?} is larger than the file",
                info.name, info.dims
            ))
        };
        let n = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(too_large)?;
        let size = byte_size(info.type_id, n).ok_or_else(|| ModelError::UnsupportedTensorType {
            path: self.path.clone(),
            tensor: info.name.clone(),
            type_id: info.type_id,
            type_name: type_name(info.type_id).to_string(),
        })?;
        let start = (self.header.data_offset as u64).checked_add(info.offset);
        let end = start.and_then(|s| s.checked_add(size as u64));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(too_large());
        };
        if end > self.len {
            return Err(self.error(format!(
                "truncated: tensor `{}` needs bytes {start}..{end} but the file has {} bytes",
                info.name, self.len
            )));
        }
        let bytes = read_range(&self.file, start, size)
            .map_err(|e| self.error(format!("reading tensor `{}`: {e}", info.name)))?;
        let data = dequantize(info.type_id, &bytes, n)
            .ok_or_else(|| self.error(format!("tensor `{}`: cannot dequantise", info.name)))?;
        HostTensor::new(shape, data)
    }

    /// Every tensor, dequantised, in Hugging Face naming and layout.
    pub fn weights(&self, config: &LlamaConfig) -> Result<WeightMap> {
        let reader = self.reader(config);
        let mut map = WeightMap::new(reader.source.clone());
        for (name, info) in &reader.by_name {
            map.insert(name.clone(), reader.hf_tensor(name, info)?);
        }
        Ok(map)
    }

    /// The tensors read one at a time, in Hugging Face naming and layout.
    pub(crate) fn reader<'a>(&'a self, config: &LlamaConfig) -> GgufReader<'a> {
        let mut by_name = std::collections::BTreeMap::new();
        for info in &self.header.tensors {
            match hf_name(&info.name) {
                Some(name) => {
                    by_name.insert(name, info);
                }
                None => {
                    tracing::debug!(tensor = %info.name, "ignoring GGUF tensor with no Llama counterpart")
                }
            }
        }
        GgufReader {
            file: self,
            by_name,
            heads: (config.num_attention_heads, config.kv_heads()),
            source: self.path.display().to_string(),
        }
    }

    /// The tokenizer (`tokenizer.json` text) described by the metadata.
    pub fn tokenizer_json(&self) -> Result<String> {
        tokenizer::tokenizer_json(self)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// A GGUF file's tensors by Hugging Face name, each dequantised (and its Q/K rows un-permuted)
/// when it is read.
pub(crate) struct GgufReader<'a> {
    file: &'a GgufFile,
    by_name: std::collections::BTreeMap<String, &'a GgufTensorInfo>,
    /// Query and key/value heads, for un-permuting `q_proj` and `k_proj`.
    heads: (usize, usize),
    source: String,
}

impl GgufReader<'_> {
    fn hf_tensor(&self, name: &str, info: &GgufTensorInfo) -> Result<HostTensor> {
        let tensor = self.file.tensor(info)?;
        if name.ends_with("q_proj.weight") {
            unpermute_rows(tensor, self.heads.0, name)
        } else if name.ends_with("k_proj.weight") {
            unpermute_rows(tensor, self.heads.1, name)
        } else {
            Ok(tensor)
        }
    }
}

impl TensorReader for GgufReader<'_> {
    fn source(&self) -> &str {
        &self.source
    }

    fn read(&self, name: &str) -> Result<Option<HostTensor>> {
        self.by_name
            .get(name)
            .map(|info| self.hf_tensor(name, info))
            .transpose()
    }
}

/// llama.cpp's tensor names → Hugging Face's.
pub fn hf_name(gguf: &str) -> Option<String> {
    match gguf {
        "token_embd.weight" => return Some("model.embed_tokens.weight".into()),
        "output_norm.weight" => return Some("model.norm.weight".into()),
        "output.weight" => return Some("lm_head.weight".into()),
        _ => {}
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, suffix) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (part, kind) = suffix.rsplit_once('.')?;
    let hf = match part {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf}.{kind}"))
}

/// Undoes llama.cpp's `permute` of Q/K rows: within each head, GGUF row `2i + j` holds
/// Hugging Face row `j · head_dim/2 + i` (interleaved pairs vs. rotate-half).
pub fn unpermute_rows(t: HostTensor, heads: usize, name: &str) -> Result<HostTensor> {
    let rows = t.shape[0];
    let cols = t.data.len() / rows.max(1);
    if heads == 0 || !rows.is_multiple_of(heads) || !(rows / heads).is_multiple_of(2) {
        return Err(ModelError::ShapeMismatch {
            tensor: name.to_string(),
            expected: vec![heads, 2, rows / heads.max(1) / 2, cols],
            actual: t.shape,
        });
    }
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let mut data = vec![0.0; t.data.len()];
    for h in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let src = h * head_dim + 2 * i + j;
                let dst = h * head_dim + j * half + i;
                data[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&t.data[src * cols..(src + 1) * cols]);
            }
        }
    }
    HostTensor::new(t.shape, data)
}
