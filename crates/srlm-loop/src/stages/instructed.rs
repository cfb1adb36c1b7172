//! Instructed loop prompts (`instruct.instructed_share`) and the self-reward measured by the
//! checks. The self-judge still chooses every pair; on prompts that carry verifiable
//! instructions the checks say afterwards how often its choice follows more of them
//! ([`SelfRewardCheck`]): the quality of the reward the loop trains on, per iteration.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use srlm_data::PreferenceRecord;
use srlm_verifiable::{InstructedPrompt, Instruction, InstructionSampler};
use std::collections::HashMap;

use crate::error::{LoopError, Result};
use crate::records::{JudgedSet, NewPrompt};

/// Gives `round(share × n)` of `prompts`, chosen by `seed`, one to three instructions from
/// `sampler` (appended to the prompt, recorded in `instructed`); returns the prompts in their
/// order and the counts.
pub(crate) fn instruct_share(
    mut prompts: Vec<NewPrompt>,
    share: f64,
    sampler: &mut InstructionSampler,
    seed: u64,
) -> (Vec<NewPrompt>, serde_json::Value) {
    let count = ((share * prompts.len() as f64).round() as usize).min(prompts.len());
    let mut chosen: Vec<usize> = (0..prompts.len()).collect();
    chosen.shuffle(&mut StdRng::seed_from_u64(seed));
    chosen.truncate(count);
    chosen.sort_unstable();
    let mut instructions = 0;
    for i in chosen {
        let p = &mut prompts[i];
        let task = p.task().to_string();
        let drawn = sampler.draw(&task);
        instructions += drawn.len();
        let instructed = InstructedPrompt::new(p.id.clone(), &task, &drawn);
        p.prompt = instructed.prompt.clone();
        p.instructed = Some(instructed);
    }
    let stats = json!({"instructed": count, "instructions": instructions});
    (prompts, stats)
}

/// A proportion with its 95 % Wilson score interval and the rate a judge that ignores the
/// content would get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Successes.
    pub hits: usize,
    /// Trials.
    pub of: usize,
    /// `hits / of` (`None` for no trials).
    pub rate: Option<f64>,
    /// The 95 % Wilson score interval (`None` for no trials).
    pub interval: Option<(f64, f64)>,
    /// What a judge that ignores the content gets (`None` where no judge decides).
    pub chance: Option<f64>,
}

impl Rate {
    /// `hits` of `of`, against `chance`.
    pub fn new(hits: usize, of: usize, chance: Option<f64>) -> Self {
        Rate {
            hits,
            of,
            rate: (of > 0).then(|| hits as f64 / of as f64),
            interval: wilson_interval(hits, of),
            chance,
        }
    }
}

/// The 95 % Wilson score interval of `hits` successes in `of` trials (scipy's
/// `binomtest(k, n).proportion_ci(method="wilson")`); `None` for no trials.
pub fn wilson_interval(hits: usize, of: usize) -> Option<(f64, f64)> {
    if of == 0 {
        return None;
    }
    // The 0.975 quantile of the standard normal.
    const Z: f64 = 1.959_963_984_540_054;
    let n = of as f64;
    let p = hits as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The checks against the self-judge on one iteration's instructed prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfRewardCheck {
    /// Instructed prompts judged.
    pub prompts: usize,
    /// Their finished candidates (not cut at the token limit, not blank).
    pub candidates: usize,
    /// Of those, candidates following every instruction (strict): how well Mt follows.
    pub following_all: Rate,
    /// Pairs of one prompt's finished, scored candidates that the checks order and the judge
    /// does not tie: how often the judge orders them as the checks do (chance 0.5).
    pub candidate_pairs: Rate,
    /// Pairs of finished, scored candidates the checks order but the judge ties.
    pub candidate_pairs_judge_tied: usize,
    /// Preference pairs made on instructed prompts.
    pub pairs: usize,
    /// Of the pairs whose chosen and rejected answers follow different numbers of
    /// instructions, how often the chosen one follows more (chance 0.5): the reward's quality.
    pub chosen_follows_more: Rate,
    /// Of all instructed pairs, how often the chosen one follows at least as many (chance:
    /// every pair the checks tie, half of the others).
    pub chosen_follows_at_least: Rate,
}

/// Instructions followed (strict) by `response`.
fn followed(instructions: &[Instruction], response: &str) -> usize {
    instructions.iter().filter(|i| i.check(response)).count()
}

/// Checks the self-judge's work on the instructed prompts of `prompts`: its scores of their
/// candidates (`judged`) and the pairs it made (`pairs`); `None` when no prompt is instructed.
pub fn check_self_reward(
    prompts: &[NewPrompt],
    judged: &[JudgedSet],
    pairs: &[PreferenceRecord],
) -> Result<Option<SelfRewardCheck>> {
    let mut instructions: HashMap<&str, Vec<Instruction>> = HashMap::new();
    for p in prompts {
        if let Some(instructed) = &p.instructed {
            let parsed = instructed.instructions().map_err(|e| LoopError::Config {
                path: None,
                reason: format!("prompt {}: {e}", p.id),
            })?;
            instructions.insert(p.prompt.as_str(), parsed);
        }
    }
    if instructions.is_empty() {
        return Ok(None);
    }
    let (mut n_prompts, mut candidates, mut all) = (0, 0, 0);
    let (mut agree, mut ordered, mut tied) = (0, 0, 0);
    for set in judged {
        let Some(checks) = instructions.get(set.prompt.as_str()) else {
            continue;
        };
        n_prompts += 1;
        let finished: Vec<(usize, Option<f64>)> = set
            .responses
            .iter()
            .filter(|r| !r.truncated && !r.response.trim().is_empty())
            .map(|r| (followed(checks, &r.response), r.judgement.score))
            .collect();
        candidates += finished.len();
        all += finished.iter().filter(|(f, _)| *f == checks.len()).count();
        let scored: Vec<(usize, f64)> = finished
            .iter()
            .filter_map(|&(f, s)| s.map(|s| (f, s)))
            .collect();
        for (i, a) in scored.iter().enumerate() {
            for b in &scored[i + 1..] {
                if a.0 == b.0 {
                    continue;
                }
                if a.1 == b.1 {
                    tied += 1;
                    continue;
                }
                ordered += 1;
                agree += usize::from((a.0 > b.0) == (a.1 > b.1));
            }
        }
    }
    let (mut n_pairs, mut differ, mut more, mut at_least) = (0, 0, 0, 0);
    for pair in pairs {
        let Some(checks) = instructions.get(pair.prompt.as_str()) else {
            continue;
        };
        n_pairs += 1;
        let (c, r) = (
            followed(checks, &pair.chosen),
            followed(checks, &pair.rejected),
        );
        differ += usize::from(c != r);
        more += usize::from(c > r);
        at_least += usize::from(c >= r);
    }
    Ok(Some(SelfRewardCheck {
        prompts: n_prompts,
        candidates,
        following_all: Rate::new(all, candidates, None),
        candidate_pairs: Rate::new(agree, ordered, Some(0.5)),
        candidate_pairs_judge_tied: tied,
        pairs: n_pairs,
        chosen_follows_more: Rate::new(more, differ, Some(0.5)),
        chosen_follows_at_least: Rate::new(
            at_least,
            n_pairs,
            (n_pairs > 0).then(|| 1.0 - differ as f64 / (2.0 * n_pairs as f64)),
        ),
    }))
}

#[cfg(test)]
mod tests {
    use srlm_verifiable::{InstructionSampler, SamplerConfig};

    use super::instruct_share;
    use crate::records::NewPrompt;

    #[test]
    fn a_share_of_the_prompts_gets_instructions_by_the_seed() {
        let prompts: Vec<NewPrompt> = (0..10)
            .map(|i| NewPrompt {
                id: format!("iter1-{i:04}"),
                prompt: format!("Describe place number {i}."),
                instructed: None,
            })
            .collect();
        let sampler = || InstructionSampler::new(SamplerConfig::default(), 3).unwrap();
        let (out, stats) = instruct_share(prompts.clone(), 0.3, &mut sampler(), 11);
        let given: Vec<&NewPrompt> = out.iter().filter(|p| p.instructed.is_some()).collect();
        assert_eq!(given.len(), 3);
        assert_eq!(stats["instructed"], 3);
        for (before, after) in prompts.iter().zip(&out) {
            assert_eq!(before.id, after.id);
            assert_eq!(after.task(), before.prompt);
            if let Some(i) = &after.instructed {
                assert!(after.prompt.starts_with(&before.prompt));
                assert!(after.prompt.len() > before.prompt.len());
                assert_eq!(i.prompt, after.prompt);
                assert!((1..=3).contains(&i.instructions().unwrap().len()));
            } else {
                assert_eq!(after, before);
            }
        }
        // The same seed gives the same prompts; another seed other ones.
        assert_eq!(
            instruct_share(prompts.clone(), 0.3, &mut sampler(), 11).0,
            out
        );
        assert_ne!(
            instruct_share(prompts.clone(), 0.3, &mut sampler(), 12).0,
            out
        );
        let (none, _) = instruct_share(prompts.clone(), 0.0, &mut sampler(), 11);
        assert_eq!(none, prompts);
    }
}
