//! The `[http]` settings as command-line options (`srlm eval`; `srlm run` takes them as
//! `--set http.KEY=VALUE`).

use clap::Args;
use srlm::judge::HttpSettings;

/// How requests to a server go out.
#[derive(Args, Debug)]
pub(crate) struct HttpArgs {
    /// Requests in flight at once (1 for a one-request-at-a-time server).
    #[arg(long, default_value_t = HttpSettings::default().concurrency)]
    http_concurrency: usize,
    /// Seconds to connect.
    #[arg(long, default_value_t = HttpSettings::default().connect_timeout_secs)]
    http_connect_timeout: f64,
    /// Seconds from a request sent to its reply read (the server's queueing and generation).
    #[arg(long, default_value_t = HttpSettings::default().read_timeout_secs)]
    http_read_timeout: f64,
    /// Attempts per request (429, 5xx and transport errors are retried).
    #[arg(long, default_value_t = HttpSettings::default().max_attempts)]
    http_attempts: usize,
    /// First backoff in milliseconds, doubled after each failed attempt.
    #[arg(long, default_value_t = HttpSettings::default().backoff_ms)]
    http_backoff_ms: u64,
    /// The environment variable holding the API key.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Do not stop when the server returns identical samples (it may not be sampling).
    #[arg(long)]
    no_sampling_check: bool,
}

impl HttpArgs {
    /// The settings, checked.
    pub(crate) fn settings(&self) -> anyhow::Result<HttpSettings> {
        let settings = HttpSettings {
            concurrency: self.http_concurrency,
            connect_timeout_secs: self.http_connect_timeout,
            read_timeout_secs: self.http_read_timeout,
            max_attempts: self.http_attempts,
            backoff_ms: self.http_backoff_ms,
            api_key_env: self.api_key_env.clone(),
            check_sampling: !self.no_sampling_check,
        };
        settings.validate()?;
        Ok(settings)
    }
}
