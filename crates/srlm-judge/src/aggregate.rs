//! Turning k sampled judgements of one response into one score.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::parse::ParseFailure;

/// How samples are combined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AggregationConfig {
    /// Samples per response (the paper: 3).
    pub samples: usize,
    /// Fewest valid samples for the response to count as judged.
    pub min_valid: usize,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        AggregationConfig {
            samples: 3,
            min_valid: 1,
        }
    }
}

/// The outcome of judging one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// Mean of the valid sample scores; `None` when fewer than `min_valid` parsed.
    pub score: Option<f64>,
    /// Each sample's parsed score or failure, in sampling order; in JSON `{"score": 4.0}` or
    /// `{"failure": "truncated"}` (records written as `{"Ok": 4.0}` / `{"Err": "truncated"}`
    /// by earlier versions are read too).
    #[serde(with = "sample_json")]
    pub samples: Vec<Result<f64, ParseFailure>>,
    /// The judge's raw texts (for the expected-score judge: its justification, cut at the
    /// final score statement).
    pub texts: Vec<String>,
    /// Judge texts cut at their token limit, parsed or not (0 in records older than the field).
    #[serde(default)]
    pub truncated: usize,
}

impl Judgement {
    /// Combines parsed samples.
    pub fn from_samples(
        samples: Vec<Result<f64, ParseFailure>>,
        texts: Vec<String>,
        config: &AggregationConfig,
    ) -> Self {
        let valid: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.as_ref().ok().copied())
            .collect();
        let score = (valid.len() >= config.min_valid.max(1))
            .then(|| valid.iter().sum::<f64>() / valid.len() as f64);
        Judgement {
            score,
            samples,
            texts,
            truncated: 0,
        }
    }

    /// The same judgement with `truncated` of its texts cut at the token limit.
    pub fn with_truncated(mut self, truncated: usize) -> Self {
        self.truncated = truncated;
        self
    }

    /// Number of samples that parsed.
    pub fn valid(&self) -> usize {
        self.samples.iter().filter(|s| s.is_ok()).count()
    }
}

/// Counts over a batch of judgements: parse rate and failures by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParseStats {
    /// Samples drawn.
    pub samples: usize,
    /// Samples that parsed.
    pub parsed: usize,
    /// Responses with a score.
    pub judged: usize,
    /// Responses without one.
    pub unjudged: usize,
    /// Failed samples by reason.
    pub failures: BTreeMap<String, usize>,
    /// Judge texts cut at their token limit, parsed or not.
    #[serde(default)]
    pub truncated: usize,
}

impl ParseStats {
    /// Tallies `judgements`.
    pub fn of(judgements: &[Judgement]) -> Self {
        let mut stats = ParseStats::default();
        for j in judgements {
            stats.samples += j.samples.len();
            stats.truncated += j.truncated;
            for s in &j.samples {
                match s {
                    Ok(_) => stats.parsed += 1,
                    Err(reason) => {
                        *stats.failures.entry(reason.name().to_string()).or_default() += 1
                    }
                }
            }
            if j.score.is_some() {
                stats.judged += 1;
            } else {
                stats.unjudged += 1;
            }
        }
        stats
    }

    /// Parsed samples over drawn samples (0 when none were drawn).
    pub fn parse_rate(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.parsed as f64 / self.samples as f64
        }
    }

    /// Judge texts cut at their token limit over samples drawn (0 when none were drawn): a
    /// high rate means the judge's `max_tokens` is too small for its judgements.
    pub fn truncation_rate(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.truncated as f64 / self.samples as f64
        }
    }
}

/// Judge samples in plain JSON: `{"score": 4.0}` or `{"failure": "no_score"}`; reads the enum
/// encoding of earlier versions (`{"Ok": 4.0}`, `{"Err": "no_score"}`) as well.
mod sample_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::parse::ParseFailure;

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Sample {
        Score {
            score: f64,
        },
        Failure {
            failure: ParseFailure,
        },
        #[serde(rename_all = "PascalCase")]
        Ok {
            ok: f64,
        },
        #[serde(rename_all = "PascalCase")]
        Err {
            err: ParseFailure,
        },
    }

    pub(super) fn serialize<S: Serializer>(
        samples: &[Result<f64, ParseFailure>],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let plain: Vec<Sample> = samples
            .iter()
            .map(|s| match s {
                Ok(score) => Sample::Score { score: *score },
                Err(failure) => Sample::Failure { failure: *failure },
            })
            .collect();
        plain.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Result<f64, ParseFailure>>, D::Error> {
        Ok(Vec::<Sample>::deserialize(deserializer)?
            .into_iter()
            .map(|s| match s {
                Sample::Score { score } | Sample::Ok { ok: score } => Ok(score),
                Sample::Failure { failure } | Sample::Err { err: failure } => Err(failure),
            })
            .collect())
    }
}
