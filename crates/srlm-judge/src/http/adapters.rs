//! vLLM's runtime LoRA loading (`vllm serve BASE --enable-lora` with
//! `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`): `POST /v1/load_lora_adapter` with `lora_name` and
//! `lora_path` serves a PEFT adapter folder under that name, `POST /v1/unload_lora_adapter`
//! drops it. Requests then name the adapter as their `model`.

use serde_json::{json, Value};

use super::{snippet, OpenAiGenerator};
use crate::error::{JudgeError, Result};

impl OpenAiGenerator {
    /// Loads the PEFT adapter folder `path` (as the server's machine sees it) under `name`.
    pub fn load_lora_adapter(&self, name: &str, path: &str) -> Result<()> {
        self.post_admin(
            "load_lora_adapter",
            &json!({"lora_name": name, "lora_path": path}),
        )
    }

    /// Drops the adapter served as `name`; `Ok(false)` when the server had none by that name.
    pub fn unload_lora_adapter(&self, name: &str) -> Result<bool> {
        match self.post_admin("unload_lora_adapter", &json!({"lora_name": name})) {
            Ok(()) => Ok(true),
            Err(JudgeError::Http { reason, .. })
                if reason.starts_with("HTTP 404") || reason.starts_with("HTTP 400") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn post_admin(&self, route: &str, body: &Value) -> Result<()> {
        let url = format!("{}/v1/{route}", self.base);
        let fail = |reason: String| JudgeError::Http {
            url: url.clone(),
            reason,
            attempts: 1,
        };
        let response = self
            .json_post(&url)
            .send_json(body)
            .map_err(|e| fail(format!("cannot reach the server: {e}")))?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap_or_default();
        match status {
            200..=299 => Ok(()),
            404 if route == "load_lora_adapter" && !text.contains("lora") => Err(fail(format!(
                "HTTP 404: no {route} route; start vLLM with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True ({})",
                snippet(&text)
            ))),
            _ => Err(fail(format!("HTTP {status}: {}", snippet(&text)))),
        }
    }
}
