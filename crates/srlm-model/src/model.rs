//! [`LanguageModel`]: a [`Llama`] with its config, tokenizer and chat template — what a user
//! loads from a GGUF file or a Hugging Face directory, and saves in Hugging Face layout.

use std::path::Path;

use crate::atomic::write_atomic;
use crate::chat::{ChatTemplate, Message};
use crate::config::LlamaConfig;
use crate::error::{ModelError, Result};
use crate::generate::{generate, Generation, GenerationConfig};
use crate::hf::{write_safetensors, TokenizerConfig};
use crate::llama::Llama;
use crate::logprob::{sequence_logprobs, PromptResponse, ResponseLogprob};
use crate::tokenizer::Tokenizer;

/// A Llama model ready to use: weights, config, tokenizer, chat template, special ids. A clone
/// shares the weights (burn's tensors are reference-counted) until one of the two is trained.
#[derive(Debug, Clone)]
pub struct LanguageModel {
    /// The network.
    pub model: Llama,
    /// Its hyper-parameters (Hugging Face `config.json`).
    pub config: LlamaConfig,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// Its chat template, if it has one.
    pub template: Option<ChatTemplate>,
    /// Special-token strings, as `tokenizer_config.json` holds them.
    pub tokenizer_config: TokenizerConfig,
    /// Ids that end an assistant turn; the first is appended to responses when scoring them.
    pub end_of_turn_ids: Vec<u32>,
    /// Id used to fill padding cells.
    pub pad_id: u32,
}

impl LanguageModel {
    /// This model with its LoRA targets' weights stored at `lora.base_dtype`
    /// ([`Llama::with_base_dtype`]): the policy and the DPO reference of a LoRA run over a bf16
    /// base, scoring with the same weights.
    pub fn with_base_dtype(mut self, lora: &crate::LoraConfig) -> Result<Self> {
        self.model = self.model.with_base_dtype(lora)?;
        Ok(self)
    }

    /// Wraps an existing network (for example a freshly trained one).
    pub fn from_parts(
        model: Llama,
        config: LlamaConfig,
        tokenizer: Tokenizer,
        tokenizer_config: TokenizerConfig,
    ) -> Result<Self> {
        if tokenizer.vocab_size() > model.vocab_size() {
            return Err(ModelError::Tokenizer(format!(
                "the tokenizer has {} tokens but the model's vocabulary has {} rows: ids past the end would be out of range",
                tokenizer.vocab_size(),
                model.vocab_size()
            )));
        }
        if tokenizer.vocab_size() < model.vocab_size() {
            tracing::warn!(
                tokenizer = tokenizer.vocab_size(),
                model = model.vocab_size(),
                "the model's vocabulary is larger than the tokenizer's (padded rows?)"
            );
        }
        let id_of =
            |token: &Option<String>| token.as_deref().and_then(|t| tokenizer.token_to_id(t));
        let mut end_of_turn_ids = Vec::new();
        for id in id_of(&tokenizer_config.eos_token)
            .into_iter()
            .chain(config.eos_ids())
        {
            if !end_of_turn_ids.contains(&id) {
                end_of_turn_ids.push(id);
            }
        }
        if let Some(id) = tokenizer
            .token_to_id("<|im_end|>")
            .or_else(|| tokenizer.token_to_id("<|eot_id|>"))
        {
            if !end_of_turn_ids.contains(&id) {
                end_of_turn_ids.push(id);
            }
        }
        let pad_id = id_of(&tokenizer_config.pad_token)
            .or(config.pad_token_id)
            .or_else(|| end_of_turn_ids.first().copied())
            .unwrap_or(0);
        let template = match &tokenizer_config.chat_template {
            Some(source) => Some(ChatTemplate::new(
                source,
                tokenizer_config.bos_token.as_deref().unwrap_or(""),
                tokenizer_config.eos_token.as_deref().unwrap_or(""),
            )?),
            None => None,
        };
        Ok(LanguageModel {
            model,
            config,
            tokenizer,
            template,
            tokenizer_config,
            end_of_turn_ids,
            pad_id,
        })
    }

    /// The prompt text for one user turn, in the chat template (with the assistant header).
    pub fn chat_prompt(&self, user: &str) -> Result<String> {
        self.render(&[Message::user(user)], true)
    }

    /// Renders a conversation with the model's chat template.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let template = self.template.as_ref().ok_or_else(|| {
            ModelError::ChatTemplate("the model has no chat template; use raw prompts".into())
        })?;
        template.render(messages, add_generation_prompt)
    }

    /// Prompt ids: one user turn in the chat template, or the text as is when `raw`.
    pub fn encode_prompt(&self, prompt: &str, raw: bool) -> Result<Vec<u32>> {
        if prompt.trim().is_empty() {
            return Err(ModelError::InvalidInput("the prompt is empty".into()));
        }
        let text = if raw {
            prompt.to_string()
        } else {
            self.chat_prompt(prompt)?
        };
        self.tokenizer.encode(&text, false)
    }

    /// Response ids followed by the end-of-turn token.
    pub fn encode_response(&self, response: &str) -> Result<Vec<u32>> {
        let mut ids = self.tokenizer.encode(response, false)?;
        let eot =
            self.end_of_turn_ids.first().copied().ok_or_else(|| {
                ModelError::Tokenizer("the model has no end-of-turn token".into())
            })?;
        ids.push(eot);
        Ok(ids)
    }

    /// Generates continuations; stops at the end-of-turn tokens unless `config.stop_ids` is set.
    pub fn generate(
        &self,
        prompts: &[Vec<u32>],
        config: &GenerationConfig,
    ) -> Result<Vec<Generation>> {
        let config = self.stopping_at_end_of_turn(config);
        generate(&self.model, prompts, self.pad_id, &config)
    }

    /// `samples` continuations of each prompt from one prefill per prompt, prompt-major (see
    /// [`generate_samples`](crate::generate_samples)); stops as [`LanguageModel::generate`].
    pub fn generate_samples(
        &self,
        prompts: &[Vec<u32>],
        samples: usize,
        config: &GenerationConfig,
    ) -> Result<Vec<Generation>> {
        let config = self.stopping_at_end_of_turn(config);
        crate::generate::generate_samples(&self.model, prompts, samples, self.pad_id, &config)
    }

    /// [`LanguageModel::generate_samples`] with at most `batching.rows` sequences decoding at
    /// once, prompts joining as others finish ([`generate_continuous`](crate::generate_continuous)).
    pub fn generate_continuous(
        &self,
        prompts: &[Vec<u32>],
        samples: usize,
        config: &GenerationConfig,
        batching: crate::ContinuousBatching,
    ) -> Result<Vec<Generation>> {
        let config = self.stopping_at_end_of_turn(config);
        crate::generate::generate_continuous(
            &self.model,
            prompts,
            samples,
            self.pad_id,
            &config,
            batching,
        )
    }

    /// `config` with the model's end-of-turn ids as its stop ids when it names none.
    fn stopping_at_end_of_turn(&self, config: &GenerationConfig) -> GenerationConfig {
        let mut config = config.clone();
        if config.stop_ids.is_empty() {
            config.stop_ids = self.end_of_turn_ids.clone();
        }
        config
    }

    /// Summed log-probabilities of `(prompt, response)` texts, response tokens and the
    /// end-of-turn token included, in one batched forward pass.
    pub fn logprobs(&self, pairs: &[(&str, &str)]) -> Result<Vec<ResponseLogprob>> {
        let encoded = pairs
            .iter()
            .map(|(p, r)| {
                if r.is_empty() {
                    return Err(ModelError::InvalidInput("the response is empty".into()));
                }
                Ok(PromptResponse {
                    prompt: self.encode_prompt(p, false)?,
                    response: self.encode_response(r)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        sequence_logprobs(&self.model, &encoded, self.pad_id)
    }

    /// The same tokenizer, chat template and special tokens with a new network of `config`'s
    /// shapes and random weights: a full-size model (e.g. [`LlamaConfig::smollm2_135m`]) for
    /// benchmarks and device checks where the real weights cannot go. Keeps this model's
    /// special-token ids; the tokenizer must fit the new vocabulary.
    pub fn with_random_network(self, mut config: LlamaConfig, seed: u64) -> Result<Self> {
        if self.tokenizer.vocab_size() > config.vocab_size {
            return Err(ModelError::InvalidInput(format!(
                "the tokenizer has {} tokens, more than the new vocabulary of {}",
                self.tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        config.bos_token_id = self.config.bos_token_id;
        config.eos_token_id = self.config.eos_token_id.clone();
        config.pad_token_id = self.config.pad_token_id;
        let model = Llama::random(&config, &self.model.device(), seed)?;
        Ok(LanguageModel {
            model,
            config,
            ..self
        })
    }

    /// What identifies the model's behaviour, as SHA-256 in lowercase hex: its weights
    /// ([`crate::WeightMap::sha256`]), hyper-parameters, tokenizer, chat template and special
    /// ids. Two models with the same fingerprint answer every prompt alike; caches of answers
    /// are keyed by it (reading the weights back from the device costs about a second per
    /// 100 M parameters).
    pub fn fingerprint(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        part(self.model.to_weights()?.sha256().as_bytes());
        let config = serde_json::to_vec(&self.config).map_err(|e| ModelError::Config {
            path: "config.json".into(),
            reason: e.to_string(),
        })?;
        part(&config);
        part(self.tokenizer.to_json()?.as_bytes());
        part(self.template.as_ref().map_or("", |t| t.source()).as_bytes());
        let ids: Vec<u8> = self
            .end_of_turn_ids
            .iter()
            .chain([&self.pad_id])
            .flat_map(|id| id.to_le_bytes())
            .collect();
        part(&ids);
        Ok(crate::weights::hex(&hasher.finalize()))
    }

    /// Saves in Hugging Face layout (`config.json`, `model.safetensors` in f32, `tokenizer.json`,
    /// `tokenizer_config.json`), each file written atomically.
    pub fn save_pretrained(&self, dir: &Path) -> Result<()> {
        let weights = self.model.to_weights()?;
        // A model that training blew up (NaN or infinite weights) is never written.
        weights.check_finite()?;
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        write_safetensors(&dir.join("model.safetensors"), &weights)?;
        let mut config = self.config.clone();
        config
            .extra
            .insert("torch_dtype".into(), serde_json::json!("float32"));
        config
            .extra
            .entry("architectures")
            .or_insert_with(|| serde_json::json!(["LlamaForCausalLM"]));
        config
            .extra
            .entry("model_type")
            .or_insert_with(|| serde_json::json!("llama"));
        let json = |v: &serde_json::Value| {
            serde_json::to_vec_pretty(v).map_err(|e| ModelError::Config {
                path: dir.into(),
                reason: e.to_string(),
            })
        };
        let config_value = serde_json::to_value(&config).map_err(|e| ModelError::Config {
            path: dir.into(),
            reason: e.to_string(),
        })?;
        write_atomic(&dir.join("config.json"), &json(&config_value)?)?;
        write_atomic(
            &dir.join("tokenizer.json"),
            self.tokenizer.to_json()?.as_bytes(),
        )?;
        write_atomic(
            &dir.join("tokenizer_config.json"),
            &json(&self.tokenizer_config.to_json())?,
        )?;
        Ok(())
    }
}
