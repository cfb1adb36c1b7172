//! Checks against what real servers do: a preflight before any work (the model is served, the
//! key is accepted, one completion succeeds), and the detection of a server that ignores the
//! sampling parameters (`transformers serve` without `do_sample` returns the same text for every
//! sample, so no preference pair can ever form).

use serde_json::Value;

use super::{snippet, OpenAiGenerator};
use crate::error::{JudgeError, Result};
use srlm_generation::{Completion, GenerationConfig};

impl OpenAiGenerator {
    /// The model names the server lists at `GET /v1/models`; `None` when it has no such route
    /// (404 or 405). Refused keys (401, 403), other statuses and unreadable lists are errors.
    pub fn list_models(&self) -> Result<Option<Vec<String>>> {
        let models_url = format!("{}/v1/models", self.base);
        let request = self.authorized(self.agent.get(&models_url));
        let fail = |reason: String| JudgeError::Http {
            url: models_url.clone(),
            reason,
            attempts: 1,
        };
        let response = request
            .call()
            .map_err(|e| fail(format!("cannot reach the server: {e}")))?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap_or_default();
        match status {
            200 => served_models(&text)
                .map(Some)
                .ok_or_else(|| fail(format!("not a model list: {}", snippet(&text)))),
            404 | 405 => Ok(None),
            401 | 403 => Err(fail(format!(
                "HTTP {status}: the server refused the API key ({})",
                snippet(&text)
            ))),
            _ => Err(fail(format!("HTTP {status}: {}", snippet(&text)))),
        }
    }

    /// Checks the server before work starts, so that a wrong URL, model name or key is an error
    /// at start rather than hours in: `GET /v1/models` lists the configured model (skipped when
    /// the server has no such route), and one tiny greedy completion succeeds.
    pub fn preflight(&self) -> Result<()> {
        let listed = self.list_models().map_err(|e| prefixed(e, "preflight"))?;
        // No model listing on this server: the completion below still checks the name.
        if let Some(served) = listed {
            let model = &self.config.endpoint.model;
            if !served.is_empty() && !served.iter().any(|m| m == model) {
                return Err(JudgeError::Http {
                    url: format!("{}/v1/models", self.base),
                    reason: format!(
                        "preflight: the server does not serve `{model}`; it lists {}: set the role's `model` to one of them",
                        served.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                    ),
                    attempts: 1,
                });
            }
        }
        let params = GenerationConfig::greedy(4);
        self.request("Reply with OK.", &params, 0)
            .map(|_| ())
            .map_err(|e| prefixed(e, "preflight completion"))
    }
}

/// `error` with `what: ` before an HTTP error's reason (other errors as they are).
fn prefixed(error: JudgeError, what: &str) -> JudgeError {
    match error {
        JudgeError::Http {
            url,
            reason,
            attempts,
        } => JudgeError::Http {
            url,
            reason: format!("{what}: {reason}"),
            attempts,
        },
        other => other,
    }
}

/// The `id`s of an OpenAI `/v1/models` reply (`{"data": [{"id": ...}, ...]}`).
fn served_models(text: &str) -> Option<Vec<String>> {
    let value: Value = serde_json::from_str(text).ok()?;
    let data = value.get("data")?.as_array()?;
    Some(
        data.iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str).map(String::from))
            .collect(),
    )
}

/// Counts, over a role's calls, the prompts asked for several samples whose samples all came
/// back identical; fails once most of them did (at least [`SamplingCheck::MIN_PROMPTS`]
/// prompts, more than three quarters identical).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SamplingCheck {
    /// Prompts seen with two samples or more.
    prompts: usize,
    /// Of those, prompts whose samples were all the same text.
    identical: usize,
}

impl SamplingCheck {
    /// Prompts needed before the check can fail.
    pub(crate) const MIN_PROMPTS: usize = 4;

    /// Adds one call's completions (prompt-major); `Err` with the reason and the fix when the
    /// server is not sampling.
    pub(crate) fn observe(&mut self, rows: &[Vec<Completion>]) -> std::result::Result<(), String> {
        for row in rows.iter().filter(|r| r.len() >= 2) {
            self.prompts += 1;
            if row.iter().all(|c| c.text == row[0].text) {
                self.identical += 1;
            }
        }
        if self.prompts >= Self::MIN_PROMPTS && self.identical * 4 > self.prompts * 3 {
            return Err(format!(
                "the server is not sampling: every sample was the same text for {} of {} prompts \
                 asked for several samples at temperature > 0. `transformers serve` samples only \
                 when the served folder's generation_config.json sets \"do_sample\": true; other \
                 servers need sampling enabled (e.g. no greedy-only flag). Set \
                 http.check_sampling = false only if identical answers are expected",
                self.identical, self.prompts
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(texts: &[&str]) -> Vec<Completion> {
        texts
            .iter()
            .map(|t| Completion {
                text: t.to_string(),
                truncated: false,
            })
            .collect()
    }

    #[test]
    fn identical_samples_of_most_prompts_fail_once_enough_are_seen() {
        let mut check = SamplingCheck::default();
        let same = row(&["a", "a", "a"]);
        assert!(check.observe(&[same.clone(), same.clone()]).is_ok());
        assert!(
            check.observe(std::slice::from_ref(&same)).is_ok(),
            "3 prompts: too few"
        );
        let err = check.observe(&[same]).unwrap_err();
        assert!(err.contains("4 of 4") && err.contains("do_sample"), "{err}");
    }

    #[test]
    fn a_sampling_server_or_single_samples_pass() {
        let mut check = SamplingCheck::default();
        for _ in 0..10 {
            check
                .observe(&[row(&["a", "b"]), row(&["x", "x"]), row(&["only"])])
                .unwrap();
        }
        assert_eq!((check.prompts, check.identical), (20, 10));
    }

    #[test]
    fn model_lists_are_read() {
        let list = r#"{"object":"list","data":[{"id":"m1","object":"model"},{"id":"m2"}]}"#;
        assert_eq!(served_models(list), Some(vec!["m1".into(), "m2".into()]));
        assert_eq!(served_models("nope"), None);
    }
}
