//! Turning GGUF tokenizer metadata into a `tokenizer.json`, the way transformers' GGUF
//! converter does for the `gpt2` (byte-level BPE) model type.

use serde_json::{json, Map, Value};

use super::{GgufFile, GgufValue};
use crate::error::{ModelError, Result};

/// GGUF token types: 3 is a control token, 4 a user-defined one.
const CONTROL: u64 = 3;
const USER_DEFINED: u64 = 4;

fn strings<'a>(file: &'a GgufFile, key: &str) -> Result<Vec<&'a str>> {
    let array = file.get(key).and_then(GgufValue::as_array).ok_or_else(|| {
        ModelError::Tokenizer(format!(
            "{}: metadata `{key}` is missing",
            file.path().display()
        ))
    })?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().ok_or_else(|| {
                ModelError::Tokenizer(format!(
                    "{}: `{key}[{i}]` is not a string",
                    file.path().display()
                ))
            })
        })
        .collect()
}

pub(super) fn tokenizer_json(file: &GgufFile) -> Result<String> {
    let model = file
        .get("tokenizer.ggml.model")
        .and_then(GgufValue::as_str)
        .ok_or_else(|| {
            ModelError::Tokenizer(format!(
                "{}: metadata `tokenizer.ggml.model` is missing",
                file.path().display()
            ))
        })?;
    if model != "gpt2" {
        return Err(ModelError::Tokenizer(format!(
            "{}: GGUF tokenizer model `{model}` is not supported (only `gpt2`, byte-level BPE); load a Hugging Face directory with tokenizer.json instead",
            file.path().display()
        )));
    }
    let tokens = strings(file, "tokenizer.ggml.tokens")?;
    let merges = strings(file, "tokenizer.ggml.merges")?;
    let types: Vec<u64> = match file
        .get("tokenizer.ggml.token_type")
        .and_then(GgufValue::as_array)
    {
        Some(a) => a.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
        None => vec![1; tokens.len()],
    };
    let mut vocab = Map::with_capacity(tokens.len());
    let mut added = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        if vocab.insert(token.to_string(), json!(id)).is_some() {
            return Err(ModelError::Tokenizer(format!(
                "{}: token `{token}` appears twice in `tokenizer.ggml.tokens` (second at id {id})",
                file.path().display()
            )));
        }
        let kind = types.get(id).copied().unwrap_or(1);
        if kind == CONTROL || kind == USER_DEFINED {
            added.push(json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": kind == USER_DEFINED, "special": kind == CONTROL,
            }));
        }
    }
    let byte_level = |prefix: bool| json!({"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": true, "use_regex": true});
    let value = json!({
        "version": "1.0",
        "truncation": Value::Null,
        "padding": Value::Null,
        "added_tokens": added,
        "normalizer": Value::Null,
        "pre_tokenizer": byte_level(false),
        "post_processor": Value::Null,
        "decoder": byte_level(true),
        "model": {
            "type": "BPE", "dropout": Value::Null, "unk_token": Value::Null,
            "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": false,
            "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        }
    });
    Ok(value.to_string())
}
