//! Reading the score out of a judge's text: the last `Score: N` wins, and every failure has a
//! reason.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{JudgeError, Result};

/// Why no score could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseFailure {
    /// No score statement at all.
    NoScore,
    /// No score statement, and the generation was cut off by its token limit.
    Truncated,
    /// A score was found but lies outside the scale.
    OutOfRange,
    /// The final score statement names several different numbers (`Score: 3 or 4`).
    Conflicting,
}

impl ParseFailure {
    /// Every reason, in a fixed order (for reports).
    pub const ALL: [ParseFailure; 4] = [
        ParseFailure::NoScore,
        ParseFailure::Truncated,
        ParseFailure::OutOfRange,
        ParseFailure::Conflicting,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            ParseFailure::NoScore => "no_score",
            ParseFailure::Truncated => "truncated",
            ParseFailure::OutOfRange => "out_of_range",
            ParseFailure::Conflicting => "conflicting",
        }
    }
}

/// The default pattern: `score`, any case, optional markdown emphasis and `total`, a colon,
/// then the number (integer or decimal), optionally `/ N` or `out of N`.
pub const DEFAULT_PATTERN: &str = r"(?i)score\s*\**\s*[:：]\s*\**\s*[<\[(]?\s*(\d+(?:\.\d+)?)\s*[>\])]?\s*\**(?:\s*(?:/|out\s+of)\s*(\d+(?:\.\d+)?))?";

/// The prefix the paper's judge prompt asks the score to follow (`Score: <points>`): where the
/// expected-score judge reads the digit probabilities.
pub const SCORE_PREFIX: &str = "Score: ";

/// Reads scores from judge outputs.
#[derive(Debug, Clone)]
pub struct ScoreParser {
    pattern: Regex,
    min: f64,
    max: f64,
    conflict: Regex,
}

impl Default for ScoreParser {
    #[allow(clippy::expect_used)]
    fn default() -> Self {
        // A constant pattern, compiled by the tests: this cannot fail at run time.
        Self::new(DEFAULT_PATTERN, 0.0, 5.0).expect("the default score pattern compiles")
    }
}

impl ScoreParser {
    /// A parser for scores on `[min, max]` whose first capture group is the number (a second,
    /// optional group is the denominator of `N/D`).
    pub fn new(pattern: &str, min: f64, max: f64) -> Result<Self> {
        let compiled = Regex::new(pattern).map_err(|e| JudgeError::ScorePattern {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        if compiled.captures_len() < 2 {
            return Err(JudgeError::ScorePattern {
                pattern: pattern.to_string(),
                reason: "it needs a capture group for the number".into(),
            });
        }
        let conflict = Regex::new(r"(?i)^\s*\**\s*(?:or|-|–|to|and)\s*\**\s*(\d+(?:\.\d+)?)")
            .map_err(|e| JudgeError::ScorePattern {
                pattern: pattern.to_string(),
                reason: e.to_string(),
            })?;
        Ok(ScoreParser {
            pattern: compiled,
            min,
            max,
            conflict,
        })
    }

    /// The score of one judge output. `truncated` says whether the generation hit its token
    /// limit (a missing score is then reported as [`ParseFailure::Truncated`]).
    pub fn parse(&self, text: &str, truncated: bool) -> std::result::Result<f64, ParseFailure> {
        let Some(caps) = self.pattern.captures_iter(text).last() else {
            return Err(if truncated {
                ParseFailure::Truncated
            } else {
                ParseFailure::NoScore
            });
        };
        let (Some(number), Some(whole)) = (caps.get(1), caps.get(0)) else {
            return Err(ParseFailure::NoScore);
        };
        let value: f64 = number.as_str().parse().map_err(|_| ParseFailure::NoScore)?;
        if let Some(denominator) = caps.get(2) {
            let d: f64 = denominator
                .as_str()
                .parse()
                .map_err(|_| ParseFailure::NoScore)?;
            if (d - self.max).abs() > 1e-9 {
                return Err(ParseFailure::OutOfRange);
            }
        } else if let Some(other) = self
            .conflict
            .captures(&text[whole.end()..])
            .and_then(|c| c.get(1))
        {
            if other
                .as_str()
                .parse::<f64>()
                .map_or(true, |o| (o - value).abs() > 1e-9)
            {
                return Err(ParseFailure::Conflicting);
            }
        }
        if !(self.min..=self.max).contains(&value) {
            return Err(ParseFailure::OutOfRange);
        }
        Ok(value)
    }
}
