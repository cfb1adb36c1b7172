//! What a server client is configured with: the endpoint of one role ([`Endpoint`]) and the
//! request settings every role shares ([`HttpSettings`]), and the request seeds it sends.

use serde::{Deserialize, Serialize};

use crate::error::{JudgeError, Result};

/// One server and the model it serves: what a role (or `srlm eval`'s judge) names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Base URL, e.g. `http://127.0.0.1:8000` (with or without a trailing `/v1`).
    pub base_url: String,
    /// The `model` field of each request: the name the server lists at `GET /v1/models`.
    pub model: String,
}

/// How requests go out: one block shared by every role that uses a server and by `srlm eval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Requests in flight at once, per role. Match the server's batch capacity: a
    /// one-request-at-a-time server (e.g. `transformers serve` without continuous batching)
    /// wants 1, or queued requests wait out their read timeout.
    pub concurrency: usize,
    /// Seconds to establish a connection.
    pub connect_timeout_secs: f64,
    /// Seconds from a request sent to its whole reply read, per request: a server's queueing
    /// and generation time for that request.
    pub read_timeout_secs: f64,
    /// Attempts per request (1 = no retry). 429, 5xx and transport errors are retried.
    pub max_attempts: usize,
    /// First backoff; doubled after each failed attempt.
    pub backoff_ms: u64,
    /// Name of the environment variable holding the API key (never the key itself; never
    /// logged). Checked when the client is made, before any stage runs.
    pub api_key_env: Option<String>,
    /// Stop with an error when a server asked to sample (temperature > 0, several samples per
    /// prompt) returns identical texts for every sample of most prompts (more than three
    /// quarters of at least four): it is not sampling. Off only for a judge whose answers are
    /// legitimately identical.
    pub check_sampling: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            concurrency: 8,
            connect_timeout_secs: 10.0,
            read_timeout_secs: 600.0,
            max_attempts: 4,
            backoff_ms: 1000,
            api_key_env: None,
            check_sampling: true,
        }
    }
}

impl HttpSettings {
    /// Checks the ranges; the error names the setting.
    pub fn validate(&self) -> Result<()> {
        if self.concurrency == 0 {
            return Err(JudgeError::InvalidInput(
                "http.concurrency must be at least 1".into(),
            ));
        }
        if self.max_attempts == 0 {
            return Err(JudgeError::InvalidInput(
                "http.max_attempts must be at least 1".into(),
            ));
        }
        for (name, secs) in [
            ("http.connect_timeout_secs", self.connect_timeout_secs),
            ("http.read_timeout_secs", self.read_timeout_secs),
        ] {
            if !(secs.is_finite() && secs > 0.0) {
                return Err(JudgeError::InvalidInput(format!(
                    "{name} = {secs} must be a positive number of seconds"
                )));
            }
        }
        Ok(())
    }

    /// The API key, read from [`HttpSettings::api_key_env`] (an error naming the variable when
    /// it is unset).
    pub fn api_key(&self) -> Result<Option<String>> {
        match &self.api_key_env {
            Some(var) => std::env::var(var).map(Some).map_err(|_| {
                JudgeError::InvalidInput(format!(
                    "environment variable `{var}` (the API key, http.api_key_env) is not set"
                ))
            }),
            None => Ok(None),
        }
    }
}

/// Everything one client needs: where, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpConfig {
    /// The server and model.
    pub endpoint: Endpoint,
    /// Request settings.
    pub settings: HttpSettings,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            endpoint: Endpoint {
                base_url: "http://127.0.0.1:8000".into(),
                model: "default".into(),
            },
            settings: HttpSettings::default(),
        }
    }
}

/// Request seeds are below 2^31: every server takes them (vLLM rejects seeds above 2^63 − 1
/// with HTTP 400; llama.cpp reads a 32-bit seed).
pub const REQUEST_SEED_BITS: u32 = 31;

/// The `seed` sent with request `index` of a call whose sampling seed is `seed`: derived by
/// [`srlm_generation::seed::derive_seed`], then the top [`REQUEST_SEED_BITS`] bits kept, so
/// requests of one call get different seeds and the same (seed, index) always gets the same one.
pub fn request_seed(seed: u64, index: u64) -> u64 {
    srlm_generation::seed::derive_seed(seed, &[index]) >> (64 - REQUEST_SEED_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_seeds_stay_below_two_to_the_31_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for seed in [0, 1, u64::MAX, 15_354_349_423_939_954_581, 1 << 63] {
            for index in 0..1000 {
                let s = request_seed(seed, index);
                assert!(s < 1 << REQUEST_SEED_BITS, "{s}");
                seen.insert(s);
            }
        }
        // 5,000 draws from 2^31 values: collisions are possible but rare.
        assert!(seen.len() > 4990, "{}", seen.len());
        assert_eq!(request_seed(7, 3), request_seed(7, 3));
    }
}
