//! The seed prompt source ([`PromptSource::Seed`](crate::PromptSource::Seed)): an iteration's
//! prompts are seed prompts no stage has used — not an SFT example's prompt, not held out for
//! the judge's evaluation (those never reach the seed pool), not drawn by an earlier iteration —
//! shuffled by the run's seed and passed through the text filters.

use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use srlm_data::split::normalize_prompt;

use crate::filter::FilterConfig;
use crate::records::NewPrompt;

/// Up to `count` prompts of `seed_prompts` whose normalised text is not in `used`, in a seeded
/// order, each passing `filter`'s text rules (no ROUGE-L: the pool is these prompts); and the
/// stage's counts.
pub fn draw_unused(
    iteration: usize,
    seed_prompts: &[String],
    used: &[&str],
    filter: &FilterConfig,
    count: usize,
    seed: u64,
) -> (Vec<NewPrompt>, serde_json::Value) {
    let used: HashSet<String> = used.iter().map(|p| normalize_prompt(p)).collect();
    let mut seen = HashSet::new();
    let mut unused: Vec<&String> = seed_prompts
        .iter()
        .filter(|p| {
            let key = normalize_prompt(p);
            !used.contains(&key) && seen.insert(key)
        })
        .collect();
    let available = unused.len();
    unused.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
    let mut prompts = Vec::with_capacity(count);
    for prompt in unused {
        if prompts.len() == count {
            break;
        }
        match filter.check_text(prompt) {
            Ok(()) => prompts.push(NewPrompt {
                id: format!("iter{iteration}-{:04}", prompts.len()),
                prompt: prompt.trim().to_string(),
            }),
            Err(r) => *rejected.entry(r.kind()).or_default() += 1,
        }
    }
    let stats = json!({
        "source": "seed",
        "available": available,
        "used_before": used.len(),
        "kept": prompts.len(),
        "rejected": rejected,
        "mean_words": super::mean_words(prompts.iter().map(|p| p.prompt.as_str())),
    });
    (prompts, stats)
}
