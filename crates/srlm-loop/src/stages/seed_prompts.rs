//! The seed prompt source ([`PromptSource::Seed`](crate::PromptSource::Seed)): an iteration's
//! prompts are seed prompts no stage has used — not an SFT example's prompt, not held out for
//! the judge's evaluation (those never reach the seed pool), not drawn by an earlier iteration —
//! shuffled by the run's seed and passed through the text filters and, when set, the limit on
//! the length of the prompt's seed answer.

use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use srlm_data::split::normalize_prompt;

use crate::error::{LoopError, Result};
use crate::filter::FilterConfig;
use crate::records::{NewPrompt, SeedPrompt};

/// What a draw keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrawRules<'a> {
    /// The text rules (no ROUGE-L: the pool is the seed prompts themselves).
    pub filter: &'a FilterConfig,
    /// Most words in the prompt's seed answer (`None`: any length).
    pub max_answer_words: Option<usize>,
    /// Prompts to draw.
    pub count: usize,
    /// The shuffle's seed.
    pub seed: u64,
}

/// Up to `rules.count` prompts of `seed_prompts` whose normalised text is not in `used`, in a
/// seeded order, each passing `rules`; and the stage's counts. A length limit on prompts whose
/// answer length was never recorded (a run folder from before it was) is an error.
pub(crate) fn draw_unused(
    iteration: usize,
    seed_prompts: &[SeedPrompt],
    used: &[&str],
    rules: DrawRules<'_>,
) -> Result<(Vec<NewPrompt>, serde_json::Value)> {
    let DrawRules {
        filter,
        max_answer_words,
        count,
        seed,
    } = rules;
    let used: HashSet<String> = used.iter().map(|p| normalize_prompt(p)).collect();
    let mut seen = HashSet::new();
    let mut unused: Vec<&SeedPrompt> = seed_prompts
        .iter()
        .filter(|p| {
            let key = normalize_prompt(&p.prompt);
            !used.contains(&key) && seen.insert(key)
        })
        .collect();
    let available = unused.len();
    unused.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
    let mut prompts = Vec::with_capacity(count);
    for seed_prompt in unused {
        if prompts.len() == count {
            break;
        }
        if let Some(limit) = max_answer_words {
            let words = seed_prompt.answer_words.ok_or_else(|| LoopError::Config {
                path: None,
                reason: "instruct.max_seed_answer_words is set but data/seed-prompts.jsonl \
                         records no answer lengths (written by an older srlm): leave the \
                         setting out or start a new run folder"
                    .into(),
            })?;
            if words > limit {
                *rejected.entry("long_seed_answer").or_default() += 1;
                continue;
            }
        }
        match filter.check_text(&seed_prompt.prompt) {
            Ok(()) => prompts.push(NewPrompt {
                id: format!("iter{iteration}-{:04}", prompts.len()),
                prompt: seed_prompt.prompt.trim().to_string(),
                instructed: None,
            }),
            Err(r) => *rejected.entry(r.kind()).or_default() += 1,
        }
    }
    let stats = json!({
        "source": "seed",
        "available": available,
        "used_before": used.len(),
        "kept": prompts.len(),
        "max_seed_answer_words": max_answer_words,
        "rejected": rejected,
        "mean_words": super::mean_words(prompts.iter().map(|p| p.prompt.as_str())),
    });
    Ok((prompts, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(prompt: &str, answer_words: Option<usize>) -> SeedPrompt {
        SeedPrompt {
            prompt: prompt.into(),
            answer_words,
        }
    }

    fn rules(filter: &FilterConfig, max_answer_words: Option<usize>) -> DrawRules<'_> {
        DrawRules {
            filter,
            max_answer_words,
            count: 10,
            seed: 7,
        }
    }

    #[test]
    fn prompts_with_long_seed_answers_are_left_out_and_counted() {
        let pool = [
            seed("Explain how tides work in simple terms.", Some(120)),
            seed("Write a long essay on the history of Rome.", Some(900)),
            seed("Name three primary colours for a child.", Some(200)),
            seed("Describe the water cycle for a school class.", Some(201)),
        ];
        let filter = FilterConfig::default();
        let (kept, stats) = draw_unused(1, &pool, &[], rules(&filter, Some(200))).unwrap();
        let mut kept: Vec<&str> = kept.iter().map(|p| p.prompt.as_str()).collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                "Explain how tides work in simple terms.",
                "Name three primary colours for a child."
            ]
        );
        assert_eq!(stats["rejected"]["long_seed_answer"], 2);
        assert_eq!(stats["max_seed_answer_words"], 200);
        let (all, _) = draw_unused(1, &pool, &[], rules(&filter, None)).unwrap();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn a_limit_on_unrecorded_answer_lengths_is_an_error() {
        let pool = [seed("Explain how tides work in simple terms.", None)];
        let filter = FilterConfig::default();
        let err = draw_unused(1, &pool, &[], rules(&filter, Some(200))).unwrap_err();
        assert!(err.to_string().contains("max_seed_answer_words"), "{err}");
        assert!(draw_unused(1, &pool, &[], rules(&filter, None)).is_ok());
    }

    #[test]
    fn seed_prompt_lines_read_as_strings_or_records() {
        let old: SeedPrompt = serde_json::from_str(r#""Say hi.""#).unwrap();
        assert_eq!(old, seed("Say hi.", None));
        let new: SeedPrompt =
            serde_json::from_str(r#"{"prompt":"Say hi.","answer_words":3}"#).unwrap();
        assert_eq!(new, seed("Say hi.", Some(3)));
        let line = serde_json::to_string(&new).unwrap();
        assert_eq!(line, r#"{"prompt":"Say hi.","answer_words":3}"#);
    }
}
