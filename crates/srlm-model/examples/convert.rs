//! Converts a model (GGUF file or Hugging Face directory) to a Hugging Face directory
//! (f32 safetensors, config.json, tokenizer files) that transformers and vLLM load.
//!
//! ```text
//! cargo run --release -p srlm-model --example convert -- assets/SmolLM2-135M-Instruct.Q4_1.gguf /tmp/smollm2-hf
//! ```

use std::path::PathBuf;

use srlm_model::{parse_device, LanguageModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        return Err("usage: convert INPUT(.gguf|dir) OUTPUT_DIR".into());
    };
    let lm = LanguageModel::load(&PathBuf::from(input), &parse_device("cpu")?)?;
    lm.save_pretrained(&PathBuf::from(output))?;
    Ok(())
}
