//! Loading a [`LanguageModel`]: a GGUF file or a Hugging Face folder, read one tensor at a time
//! (at most one of them in `f32` on the host), optionally with its LoRA targets stored in bf16
//! as they are read.

use std::path::Path;

use burn::tensor::Device;

use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::hf::{safetensors_files, TokenizerConfig};
use crate::llama::Llama;
use crate::lora::LoraConfig;
use crate::model::LanguageModel;
use crate::safetensors_reader::SafetensorsReader;
use crate::tokenizer::Tokenizer;
use crate::weights::WeightMap;

impl LanguageModel {
    /// The config of the model at `path` (a GGUF file's metadata or a Hugging Face
    /// directory's `config.json`), without reading its weights.
    pub fn read_config(path: &Path) -> Result<LlamaConfig> {
        if path.is_dir() {
            LlamaConfig::from_file(&path.join("config.json"))
        } else {
            GgufFile::open(path)?.config()
        }
    }

    /// Loads a GGUF file or a Hugging Face directory onto `device`, one tensor at a time.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Self::load_stored(path, device, None)
    }

    /// [`LanguageModel::load`] with `lora`'s target projections stored at its base dtype
    /// ([`crate::LoraDtype`]) as they are read: the same model as
    /// `load(..)?.with_base_dtype(lora)`, without ever holding every weight in `f32` (over a
    /// bf16 base the loading's peak is about the bf16 model's size, not the f32 model's).
    pub fn load_with_base_dtype(path: &Path, device: &Device, lora: &LoraConfig) -> Result<Self> {
        Self::load_stored(path, device, Some(lora))
    }

    /// The model as a run that trains `lora`'s adapters stores it: [`LanguageModel::load`]
    /// without adapters, [`LanguageModel::load_with_base_dtype`] with them.
    pub fn load_for_training(
        path: &Path,
        device: &Device,
        lora: Option<&LoraConfig>,
    ) -> Result<Self> {
        Self::load_stored(path, device, lora)
    }

    fn load_stored(path: &Path, device: &Device, base: Option<&LoraConfig>) -> Result<Self> {
        if path.is_dir() {
            Self::load_hf_dir_stored(path, device, base)
        } else if path.is_file() {
            Self::load_gguf_stored(path, device, base)
        } else if path.exists() {
            Err(ModelError::io(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a model: neither a GGUF file nor a Hugging Face folder (a device, a pipe or a socket)",
                ),
            ))
        } else {
            Err(ModelError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ))
        }
    }

    /// Loads a GGUF file.
    pub fn load_gguf(path: &Path, device: &Device) -> Result<Self> {
        Self::load_gguf_stored(path, device, None)
    }

    fn load_gguf_stored(path: &Path, device: &Device, base: Option<&LoraConfig>) -> Result<Self> {
        let file = GgufFile::open(path)?;
        let config = file.config()?;
        let tokenizer = Tokenizer::from_json(&file.tokenizer_json()?)
            .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", path.display())))?;
        let token = |id: Option<u32>| id.and_then(|id| tokenizer.id_to_token(id));
        let tokenizer_config = TokenizerConfig {
            chat_template: file.chat_template(),
            bos_token: token(config.bos_token_id),
            eos_token: token(config.eos_ids().first().copied()),
            pad_token: token(config.pad_token_id),
        };
        let model = Llama::from_reader(&config, &file.reader(&config), device, base)?;
        Self::from_parts(model, config, tokenizer, tokenizer_config)
    }

    /// Loads a Hugging Face directory.
    pub fn load_hf_dir(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_hf_dir_stored(dir, device, None)
    }

    fn load_hf_dir_stored(dir: &Path, device: &Device, base: Option<&LoraConfig>) -> Result<Self> {
        let config = LlamaConfig::from_file(&dir.join("config.json"))?;
        let tokenizer = Tokenizer::from_file(&dir.join("tokenizer.json"))?;
        let tokenizer_config = TokenizerConfig::read(dir)?;
        let reader = SafetensorsReader::open(&safetensors_files(dir)?, dir.display().to_string())?;
        let model = Llama::from_reader(&config, &reader, device, base)?;
        Self::from_parts(model, config, tokenizer, tokenizer_config)
    }

    /// Builds the model from parts, checking that they agree.
    pub fn assemble(
        config: LlamaConfig,
        weights: &mut WeightMap,
        tokenizer: Tokenizer,
        tokenizer_config: TokenizerConfig,
        device: &Device,
    ) -> Result<Self> {
        let model = Llama::from_weights(&config, weights, device)?;
        Self::from_parts(model, config, tokenizer, tokenizer_config)
    }
}
