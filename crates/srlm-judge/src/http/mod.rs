//! [`OpenAiGenerator`]: completions from any OpenAI-compatible `/v1/chat/completions` server
//! (vLLM, llama.cpp's server, TGI, `transformers serve`), with bounded concurrency, per-request
//! connect and read timeouts, retries with exponential backoff on 429, 5xx and transport errors
//! (the first HTTP status and the server's message are kept through them), a
//! [preflight](OpenAiGenerator::preflight), request seeds every server accepts
//! ([`request_seed`]), and a check that a server asked to sample really does.

mod adapters;
mod checks;
mod settings;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use checks::SamplingCheck;
pub use settings::{request_seed, Endpoint, HttpConfig, HttpSettings, REQUEST_SEED_BITS};

use crate::error::{JudgeError, Result};
use srlm_generation::{Completion, GenerationConfig, GenerationError, TextGenerator};

/// A client of an OpenAI-compatible chat-completions endpoint.
pub struct OpenAiGenerator {
    config: HttpConfig,
    agent: ureq::Agent,
    base: String,
    api_key: Option<String>,
    sampling: SamplingCheck,
}

impl std::fmt::Debug for OpenAiGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is deliberately left out.
        f.debug_struct("OpenAiGenerator")
            .field("url", &self.base)
            .field("model", &self.config.endpoint.model)
            .finish()
    }
}

enum Attempt {
    /// Worth another attempt; `status` when the server answered.
    Retry {
        reason: String,
        status: bool,
    },
    Fail(String),
}

impl OpenAiGenerator {
    /// A client; checks the settings and reads the API key from `settings.api_key_env` (an
    /// error naming the variable when it is unset). Sends nothing: see
    /// [`OpenAiGenerator::preflight`].
    pub fn new(config: HttpConfig) -> Result<Self> {
        config.settings.validate()?;
        let api_key = config.settings.api_key()?;
        let base = config.endpoint.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base).to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(JudgeError::InvalidInput(format!(
                "server URL `{}` must start with http:// or https://",
                config.endpoint.base_url
            )));
        }
        let read = Duration::from_secs_f64(config.settings.read_timeout_secs);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs_f64(
                config.settings.connect_timeout_secs,
            )))
            .timeout_recv_response(Some(read))
            .timeout_recv_body(Some(read))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(OpenAiGenerator {
            config,
            agent,
            base,
            api_key,
            sampling: SamplingCheck::default(),
        })
    }

    /// The chat-completions URL.
    pub fn url(&self) -> String {
        format!("{}/v1/chat/completions", self.base)
    }

    /// `request` with the API key, when there is one.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.api_key {
            Some(key) => request.header("Authorization", format!("Bearer {key}")),
            None => request,
        }
    }

    /// A JSON `POST` to `url`, with the API key.
    fn json_post(&self, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        self.authorized(
            self.agent
                .post(url)
                .header("Content-Type", "application/json"),
        )
    }

    fn post(&self, body: &Value) -> std::result::Result<Completion, Attempt> {
        let response = self
            .json_post(&self.url())
            .send_json(body)
            .map_err(|e| Attempt::Retry {
                reason: format!("transport: {e}"),
                status: false,
            })?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .read_to_string()
            .map_err(|e| Attempt::Retry {
                reason: format!("HTTP {status}, then reading the body failed: {e}"),
                status: true,
            })?;
        if status == 429 || status >= 500 {
            return Err(Attempt::Retry {
                reason: format!("HTTP {status}: {}", snippet(&text)),
                status: true,
            });
        }
        if status != 200 {
            return Err(Attempt::Fail(format!("HTTP {status}: {}", snippet(&text))));
        }
        parse_reply(&text).map_err(Attempt::Fail)
    }

    /// One request with retries. A failure keeps the first answer the server gave (its status
    /// and message), not only the last transport error.
    fn request(&self, prompt: &str, params: &GenerationConfig, seed: u64) -> Result<Completion> {
        let body = json!({
            "model": self.config.endpoint.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": params.sampling.temperature,
            "top_p": params.sampling.top_p,
            "max_tokens": params.max_new_tokens,
            "seed": seed,
        });
        let attempts = self.config.settings.max_attempts;
        let mut backoff = Duration::from_millis(self.config.settings.backoff_ms);
        let mut first_answer: Option<String> = None;
        let mut last = String::new();
        for attempt in 1..=attempts {
            match self.post(&body) {
                Ok(c) => return Ok(c),
                Err(Attempt::Fail(reason)) => {
                    return Err(self.error(with_first(reason, first_answer), attempt));
                }
                Err(Attempt::Retry { reason, status }) => {
                    tracing::warn!(url = %self.url(), attempt, %reason, "request failed; retrying");
                    if status && first_answer.is_none() {
                        first_answer = Some(reason.clone());
                    }
                    last = reason;
                    if attempt < attempts {
                        std::thread::sleep(backoff);
                        backoff *= 2;
                    }
                }
            }
        }
        Err(self.error(with_first(last, first_answer), attempts))
    }

    fn error(&self, reason: String, attempts: usize) -> JudgeError {
        JudgeError::Http {
            url: self.url(),
            reason,
            attempts,
        }
    }
}

/// `last`, with the server's first answer in front when the last failure was another one.
fn with_first(last: String, first: Option<String>) -> String {
    match first {
        Some(first) if first != last => format!("{first} (last attempt: {last})"),
        _ => last,
    }
}

/// The completion in a chat-completions reply.
fn parse_reply(text: &str) -> std::result::Result<Completion, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("the reply is not JSON ({e}): {}", snippet(text)))?;
    let choice = &value["choices"][0];
    let content = choice["message"]["content"].as_str().ok_or_else(|| {
        format!(
            "the reply has no choices[0].message.content: {}",
            snippet(text)
        )
    })?;
    Ok(Completion {
        text: content.to_string(),
        truncated: choice["finish_reason"].as_str() == Some("length"),
    })
}

/// The start of a server's reply for an error message: at most 200 characters, control
/// characters escaped (`\u{1b}`), so a reply's terminal escapes (ANSI colours, OSC titles or
/// links) are shown, never run by the user's terminal.
fn snippet(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars().take(200) {
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    if text.chars().nth(200).is_some() {
        s.push('…');
    }
    s
}

impl TextGenerator for OpenAiGenerator {
    fn complete(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &GenerationConfig,
    ) -> srlm_generation::Result<Vec<Vec<Completion>>> {
        self.complete_all(prompts, n, params)
            .map_err(GenerationError::generator)
    }
}

impl OpenAiGenerator {
    /// Every request of a `complete` call, `concurrency` at a time.
    fn complete_all(
        &mut self,
        prompts: &[String],
        n: usize,
        params: &GenerationConfig,
    ) -> Result<Vec<Vec<Completion>>> {
        let jobs: Vec<(usize, usize)> = (0..prompts.len())
            .flat_map(|p| (0..n).map(move |k| (p, k)))
            .collect();
        let results: Vec<Mutex<Option<Result<Completion>>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let this = &*self;
        std::thread::scope(|scope| {
            for _ in 0..this.config.settings.concurrency.min(jobs.len()) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(p, k)) = jobs.get(i) else { break };
                    let seed = request_seed(params.seed, (p * n + k) as u64);
                    let outcome = this.request(&prompts[p], params, seed);
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
        if params.sampling.temperature > 0.0 && self.config.settings.check_sampling {
            let url = self.url();
            self.sampling
                .observe(&out)
                .map_err(|reason| JudgeError::Http {
                    url,
                    reason,
                    attempts: 1,
                })?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod snippet_tests {
    use super::snippet;

    #[test]
    fn a_reply_s_terminal_escapes_are_shown_escaped_not_sent_raw() {
        let reply = "\u{1b}[31mred\u{1b}]0;title\u{7}\r\nok";
        let shown = snippet(reply);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "\\u{1b}[31mred\\u{1b}]0;title\\u{7}\\r\\nok");
        assert_eq!(snippet(&"é".repeat(201)).chars().count(), 201);
        assert_eq!(snippet(&"é".repeat(200)).chars().count(), 200);
    }
}
