//! Roles served by an OpenAI-compatible server: which model the server must serve in each
//! iteration, and `[serve]`, how the loop switches it between iterations.

use serde::{Deserialize, Serialize};
use srlm_judge::Endpoint;

/// A role's server: where it is, the model name to ask for, and whether that model must be the
/// iteration's Mt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServedModel {
    /// Base URL, e.g. `http://127.0.0.1:8000` (with or without a trailing `/v1`).
    pub base_url: String,
    /// The `model` of each request, as the server lists it at `GET /v1/models`; `{t}` is
    /// replaced by the iteration (`M{t}` asks for `M2` in iteration 2).
    pub model: String,
    /// `current` (the default): the server must serve the iteration's model Mt, checked before
    /// each iteration uses it; `fixed`: a model that stays for the whole run (a stronger
    /// prompt writer, an outside judge), never checked against Mt.
    #[serde(default)]
    pub follows: Follows,
}

/// Whether a served role must serve the iteration's model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Follows {
    /// The iteration's model Mt (the paper: Mt writes and judges its own candidates).
    #[default]
    Current,
    /// One model for the whole run.
    Fixed,
}

impl ServedModel {
    /// A server that serves one fixed model.
    pub fn fixed(endpoint: Endpoint) -> Self {
        ServedModel {
            base_url: endpoint.base_url,
            model: endpoint.model,
            follows: Follows::Fixed,
        }
    }

    /// The endpoint of iteration `t` (`{t}` in the model name replaced; iteration 0 is the
    /// data stage).
    pub fn endpoint(&self, t: usize) -> Endpoint {
        Endpoint {
            base_url: self.base_url.clone(),
            model: self.model.replace("{t}", &t.to_string()),
        }
    }
}

/// `[serve]`: how served roles that follow Mt are switched to it between iterations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSection {
    /// A shell command run before an iteration whose served roles do not yet serve Mt: it
    /// should make the server serve the model folder `{dir}` under the name `{name}` (e.g.
    /// restart `vllm serve {dir} --served-model-name {name}`); `{t}` is the iteration, `{url}`
    /// the server. The loop then waits for the server to list `{name}` and checks it again.
    /// Without one, a server that does not serve Mt stops the run before the stage, saying how
    /// to fix it; the run resumes there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_new_model: Option<String>,
    /// Switch by loading `M{t}/adapter/` (the run's adapters stacked, with LoRA in DPO) on the
    /// server as the role's name for t, dropping t − 1's: vLLM's runtime LoRA loading
    /// (`vllm serve BASE --enable-lora`, `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`, BASE the
    /// run's adapter base). Tried before `on_new_model`.
    #[serde(default)]
    pub load_adapters: bool,
    /// Seconds to wait, after the command, for the server to list the new name.
    pub wait_secs: f64,
    /// Tokens of each greedy probe answer compared with the local Mt's.
    pub probe_tokens: usize,
}

impl Default for ServeSection {
    fn default() -> Self {
        ServeSection {
            on_new_model: None,
            load_adapters: false,
            wait_secs: 600.0,
            probe_tokens: 16,
        }
    }
}
