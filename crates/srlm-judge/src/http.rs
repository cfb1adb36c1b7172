//! [`OpenAiGenerator`]: completions from any OpenAI-compatible `/v1/chat/completions` server
//! (vLLM, llama.cpp's server, Ollama, TGI), with bounded concurrency, timeouts, and retries with
//! exponential backoff on 429, 5xx and transport errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{JudgeError, Result};
use crate::judge::{Completion, SampleParams, TextGenerator};

/// Where and how to reach the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpConfig {
    /// Base URL, e.g. `http://127.0.0.1:8000` (with or without a trailing `/v1`).
    pub base_url: String,
    /// The `model` field of each request.
    pub model: String,
    /// Name of the environment variable holding the API key (never the key itself; never logged).
    pub api_key_env: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout_secs: f64,
    /// Attempts per request (1 = no retry).
    pub max_attempts: usize,
    /// First backoff; doubled after each failed attempt.
    pub backoff_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            base_url: "http://127.0.0.1:8000".into(),
            model: "default".into(),
            api_key_env: None,
            concurrency: 8,
            timeout_secs: 120.0,
            max_attempts: 4,
            backoff_ms: 500,
        }
    }
}

/// A client of an OpenAI-compatible chat-completions endpoint.
pub struct OpenAiGenerator {
    config: HttpConfig,
    agent: ureq::Agent,
    url: String,
    api_key: Option<String>,
}

impl std::fmt::Debug for OpenAiGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is deliberately left out.
        f.debug_struct("OpenAiGenerator")
            .field("url", &self.url)
            .field("model", &self.config.model)
            .finish()
    }
}

enum Attempt {
    Retry(String),
    Fail(String),
}

impl OpenAiGenerator {
    /// A client; reads the API key from `config.api_key_env` if set.
    pub fn new(config: HttpConfig) -> Result<Self> {
        if config.concurrency == 0 || config.max_attempts == 0 {
            return Err(JudgeError::InvalidInput(
                "concurrency and max_attempts must be at least 1".into(),
            ));
        }
        if !(config.timeout_secs.is_finite() && config.timeout_secs > 0.0) {
            return Err(JudgeError::InvalidInput(format!(
                "timeout {} s must be positive",
                config.timeout_secs
            )));
        }
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                JudgeError::InvalidInput(format!(
                    "environment variable `{var}` (the API key) is not set"
                ))
            })?),
            None => None,
        };
        let base = config.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        let url = format!("{base}/v1/chat/completions");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(config.timeout_secs)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(OpenAiGenerator {
            config,
            agent,
            url,
            api_key,
        })
    }

    fn attempt(&self, body: &Value) -> std::result::Result<Completion, Attempt> {
        let mut request = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let response = request
            .send_json(body)
            .map_err(|e| Attempt::Retry(format!("transport: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .read_to_string()
            .map_err(|e| Attempt::Retry(format!("reading the body: {e}")))?;
        if status == 429 || status >= 500 {
            return Err(Attempt::Retry(format!("HTTP {status}: {}", snippet(&text))));
        }
        if status != 200 {
            return Err(Attempt::Fail(format!("HTTP {status}: {}", snippet(&text))));
        }
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Attempt::Fail(format!("the reply is not JSON ({e}): {}", snippet(&text)))
        })?;
        let choice = &value["choices"][0];
        let content = choice["message"]["content"].as_str().ok_or_else(|| {
            Attempt::Fail(format!(
                "the reply has no choices[0].message.content: {}",
                snippet(&text)
            ))
        })?;
        Ok(Completion {
            text: content.to_string(),
            truncated: choice["finish_reason"].as_str() == Some("length"),
        })
    }

    fn request(&self, prompt: &str, params: &SampleParams, seed: u64) -> Result<Completion> {
        let body = json!({
            "model": self.config.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": seed,
        });
        let mut backoff = Duration::from_millis(self.config.backoff_ms);
        let mut last = String::new();
        for attempt in 1..=self.config.max_attempts {
            match self.attempt(&body) {
                Ok(c) => return Ok(c),
                Err(Attempt::Fail(reason)) => {
                    return Err(JudgeError::Http {
                        url: self.url.clone(),
                        reason,
                        attempts: attempt,
                    });
                }
                Err(Attempt::Retry(reason)) => {
                    tracing::warn!(url = %self.url, attempt, %reason, "request failed; retrying");
                    last = reason;
                    if attempt < self.config.max_attempts {
                        std::thread::sleep(backoff);
                        backoff *= 2;
                    }
                }
            }
        }
        Err(JudgeError::Http {
            url: self.url.clone(),
            reason: last,
            attempts: self.config.max_attempts,
        })
    }
}

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(200).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

impl TextGenerator for OpenAiGenerator {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &SampleParams,
    ) -> Result<Vec<Vec<Completion>>> {
        let jobs: Vec<(usize, usize)> = (0..prompts.len())
            .flat_map(|p| (0..n).map(move |k| (p, k)))
            .collect();
        let results: Vec<Mutex<Option<Result<Completion>>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let this = &*self;
        std::thread::scope(|scope| {
            for _ in 0..this.config.concurrency.min(jobs.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(p, k)) = jobs.get(i) else { break };
                    let outcome = this.request(
                        &prompts[p],
                        params,
                        params.seed.wrapping_add((p * n + k) as u64),
                    );
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(outcome);
                    }
                });
            }
        });
        let mut out: Vec<Vec<Completion>> = prompts.iter().map(|_| Vec::with_capacity(n)).collect();
        for (slot, &(p, _)) in results.into_iter().zip(&jobs) {
            let outcome = slot
                .into_inner()
                .ok()
                .flatten()
                .ok_or_else(|| JudgeError::InvalidInput("a worker thread died".into()))?;
            out[p].push(outcome?);
        }
        Ok(out)
    }
}
