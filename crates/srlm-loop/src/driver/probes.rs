//! The probes that tell a served model from the local ones: three short prompts answered
//! greedily, and how a server's answers compare with Mt's and M(t−1)'s.

use std::path::Path;

use serde::{Deserialize, Serialize};
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

use crate::error::{LoopError, Result};

/// The probe prompts: short, with one plain answer each, so that two models' greedy answers
/// part early when their weights differ.
const PROBES: [&str; 3] = [
    "Name three primary colours.",
    "What is 12 times 7? Answer in one sentence.",
    "Write one sentence about the sea.",
];

/// A model's greedy answers to the probes (`iterT/probes.json` for Mt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ProbeAnswers {
    /// The model folder (or M0's path) that answered.
    pub(super) model: String,
    /// Tokens per answer.
    pub(super) tokens: usize,
    /// One answer per probe prompt, in order.
    pub(super) answers: Vec<String>,
}

impl ProbeAnswers {
    /// `generator`'s greedy answers to the probes, `tokens` each; `model` names it.
    pub(super) fn of(
        generator: &mut dyn TextGenerator,
        model: String,
        tokens: usize,
        seed: u64,
    ) -> Result<Self> {
        let prompts: Vec<String> = PROBES.iter().map(|p| p.to_string()).collect();
        let params = GenerationConfig::greedy(tokens).with_seed(seed);
        let rows = complete_checked(generator, &prompts, 1, &params)?;
        let answers = rows
            .into_iter()
            .map(|row| row.into_iter().next().map(|c| c.text).unwrap_or_default())
            .collect();
        Ok(ProbeAnswers {
            model,
            tokens,
            answers,
        })
    }

    /// The answers kept at `path`, when there are some of `tokens` tokens.
    pub(super) fn read(path: &Path, tokens: usize) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).map_err(|e| LoopError::io(path, e))?;
        let saved: ProbeAnswers = serde_json::from_str(&text).map_err(|e| LoopError::Corrupt {
            path: path.to_path_buf(),
            line: e.line(),
            reason: e.to_string(),
        })?;
        Ok((saved.tokens == tokens).then_some(saved))
    }
}

/// How a server's probe answers compare with Mt's and M(t−1)'s.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Identity {
    /// Every probe answered as Mt does.
    Same,
    /// Closer to Mt's answers than to M(t−1)'s (characters in common from the start).
    Closer { mt: usize, previous: usize },
    /// Mt and M(t−1) answer every probe alike: only the listed name tells them apart.
    Undecided,
    /// Not Mt: closer to M(t−1), or to neither.
    Other { mt: usize, previous: usize },
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

pub(super) fn identity(server: &[String], mt: &ProbeAnswers, previous: &ProbeAnswers) -> Identity {
    // Two models that answer every probe alike cannot be told apart by the probes, whatever
    // the server answers.
    if mt.answers == previous.answers {
        return Identity::Undecided;
    }
    if server == mt.answers.as_slice() {
        return Identity::Same;
    }
    let score = |answers: &[String]| -> usize {
        server
            .iter()
            .zip(answers)
            .map(|(s, a)| common_prefix(s, a))
            .sum()
    };
    let (a, b) = (score(&mt.answers), score(&previous.answers));
    if a > b {
        Identity::Closer { mt: a, previous: b }
    } else {
        Identity::Other { mt: a, previous: b }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(texts: &[&str]) -> ProbeAnswers {
        ProbeAnswers {
            model: String::new(),
            tokens: 4,
            answers: texts.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn probe_answers_tell_mt_from_the_previous_model() {
        let mt = answers(&["red green blue", "84", "waves"]);
        let before = answers(&["red yellow", "eighty", "waves"]);
        let server = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            identity(&server(&["red green blue", "84", "waves"]), &mt, &before),
            Identity::Same
        );
        assert!(matches!(
            identity(&server(&["red green bl", "84", "wave"]), &mt, &before),
            Identity::Closer { .. }
        ));
        assert!(matches!(
            identity(&server(&["red yellow", "eighty", "waves"]), &mt, &before),
            Identity::Other {
                mt: 9,
                previous: 21
            }
        ));
        assert_eq!(
            identity(&server(&["x", "y", "z"]), &mt, &mt),
            Identity::Undecided
        );
        // Mt's own answers tell nothing either when M(t−1) gives them too.
        assert_eq!(identity(&mt.answers, &mt, &mt), Identity::Undecided);
    }
}
