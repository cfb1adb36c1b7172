//! Candidate responses: N samples per prompt (the paper: 4, T 0.7, p 0.9).

use serde_json::json;
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

use crate::config::CandidateSection;
use crate::error::Result;
use crate::records::{CandidateSet, NewPrompt};

/// Samples the responses of one unit of prompts.
pub(crate) fn generate_unit(
    prompts: &[NewPrompt],
    generator: &mut dyn TextGenerator,
    config: &CandidateSection,
    seed: u64,
) -> Result<Vec<CandidateSet>> {
    let texts: Vec<String> = prompts.iter().map(|p| p.prompt.clone()).collect();
    let params = GenerationConfig::sampled(config.temperature, config.top_p, config.max_tokens)
        .with_seed(seed);
    let completions = complete_checked(generator, &texts, config.n, &params)?;
    Ok(prompts
        .iter()
        .zip(completions)
        .map(|(p, responses)| CandidateSet {
            id: p.id.clone(),
            prompt: p.prompt.clone(),
            responses,
        })
        .collect())
}

/// The stage's counts: prompts, responses, how many hit the token limit and how many of those
/// were caught in a loop ([`loops_at_end`]), mean length.
pub(crate) fn stats(sets: &[CandidateSet]) -> serde_json::Value {
    let responses: Vec<_> = sets.iter().flat_map(|s| &s.responses).collect();
    json!({
        "prompts": sets.len(),
        "responses": responses.len(),
        "truncated": responses.iter().filter(|r| r.truncated).count(),
        "truncated_looping": responses
            .iter()
            .filter(|r| r.truncated && loops_at_end(&r.text))
            .count(),
        "empty": responses.iter().filter(|r| r.text.trim().is_empty()).count(),
        "mean_words": super::mean_words(responses.iter().map(|r| r.text.as_str())),
    })
}

/// Words at the end of a response that [`loops_at_end`] reads.
const LOOP_WINDOW_WORDS: usize = 120;

/// Whether a response ends in a repetition loop: more than 30 % of the 4-word sequences of its
/// last 120 words (whitespace-split) repeat an earlier one of that window. A candidate cut at
/// the token limit that loops would not have ended under any larger limit; one that does not may
/// have (the candidates stage counts them as `truncated_looping`). Responses under 40 words are
/// never counted as looping.
///
/// ```
/// let prose: Vec<String> = (0..150).map(|i| format!("w{i}")).collect();
/// assert!(!srlm_loop::loops_at_end(&prose.join(" ")));
/// let stuck = format!("{} {}", prose.join(" "), "and so on and so forth, ".repeat(30));
/// assert!(srlm_loop::loops_at_end(&stuck));
/// ```
pub fn loops_at_end(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 40 {
        return false;
    }
    let window = &words[words.len().saturating_sub(LOOP_WINDOW_WORDS)..];
    let grams: Vec<&[&str]> = window.windows(4).collect();
    let distinct: std::collections::HashSet<&[&str]> = grams.iter().copied().collect();
    let repeated = grams.len() - distinct.len();
    10 * repeated > 3 * grams.len()
}

#[cfg(test)]
mod tests {
    use super::loops_at_end;

    #[test]
    fn a_response_that_repeats_itself_at_the_end_loops() {
        let prose: Vec<String> = (0..200).map(|i| format!("word{i}")).collect();
        assert!(!loops_at_end(&prose.join(" ")));
        // The same 10-word sentence over and over: 107 of the window's 117 4-grams repeat.
        let looping = format!(
            "{} {}",
            prose[..60].join(" "),
            "they may be successful in one area but not another. ".repeat(12)
        );
        assert!(loops_at_end(&looping));
        // Four words copied over k later spans: 26 of 117 4-grams repeat for k = 8 (22 %, not
        // a loop), 42 for k = 12 (36 %, a loop).
        let partly = |repeats: usize| {
            let mut words: Vec<String> = prose[..120].to_vec();
            let tail = words[..4].to_vec();
            for k in 0..repeats {
                let at = 120 - 4 * (k + 1);
                words.splice(at..at + 4, tail.clone());
            }
            words.join(" ")
        };
        assert!(!loops_at_end(&partly(8)));
        assert!(loops_at_end(&partly(12)));
        assert!(!loops_at_end("short and repeated short and repeated"));
    }
}
