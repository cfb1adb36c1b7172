//! Self-instruction creation: new prompts by few-shot prompting (the paper: 8 example tasks, 6
//! from the seed and 2 generated earlier in the run; T 0.6, p 0.9), kept only if they pass
//! Self-Instruct's filters ([`FilterConfig`]).

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use srlm_generation::{complete_checked, GenerationConfig, TextGenerator};

use crate::config::InstructSection;
use crate::error::Result;
use crate::filter::{FilterConfig, Rejection};
use crate::records::{GeneratedInstruction, NewPrompt};
use crate::rouge::RougePool;

/// The few-shot prompt: numbered example tasks, then a request for one more.
pub fn few_shot_prompt(examples: &[&str]) -> String {
    let mut text = String::from(
        "Come up with a new task for an AI assistant. Here are examples of tasks:\n\n",
    );
    for (i, example) in examples.iter().enumerate() {
        text.push_str(&format!("Task {}: {}\n\n", i + 1, example.trim()));
    }
    text.push_str(&format!(
        "Write Task {}: one new task, different from the tasks above. Reply with the task only.",
        examples.len() + 1
    ));
    text
}

/// The sentences of the few-shot prompt's instructions: a reply that parrots them is not a task
/// (they join the ROUGE-L pool).
pub(crate) const INSTRUCTION_SENTENCES: &[&str] = &[
    "Come up with a new task for an AI assistant.",
    "Here are examples of tasks:",
    "One new task, different from the tasks above.",
    "Reply with the task only.",
];

fn is_label(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let rest = trimmed.strip_prefix("Task ")?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    (digits > 0 && rest[digits..].starts_with(':'))
        .then(|| line.len() - trimmed.len() + "Task ".len() + digits + 1)
}

fn clean(text: &str) -> String {
    text.trim()
        .trim_matches(|c| c == '"' || c == '\u{201c}' || c == '\u{201d}')
        .trim()
        .to_string()
}

/// Reads the tasks out of a generation, as Self-Instruct does: the text is split at `Task N:`
/// labels (text before the first label is a task too), each part trimmed of whitespace and
/// quotes, empty parts skipped. Each task comes with whether it is complete: every task but the
/// last is; the last is complete unless the generation stopped at its token limit.
pub fn extract_tasks(generation: &str, truncated: bool) -> Vec<(String, bool)> {
    let mut parts: Vec<String> = vec![String::new()];
    for line in generation.lines() {
        match is_label(line) {
            Some(after) => parts.push(line[after..].to_string()),
            None => {
                if let Some(last) = parts.last_mut() {
                    if !last.is_empty() {
                        last.push('\n');
                    }
                    last.push_str(line);
                }
            }
        }
    }
    let tasks: Vec<String> = parts
        .iter()
        .map(|p| clean(p))
        .filter(|p| !p.is_empty())
        .collect();
    let n = tasks.len();
    tasks
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, i + 1 < n || !truncated))
        .collect()
}

/// The state the stage builds up: prompts known to the filter, and those kept.
#[derive(Debug)]
pub(crate) struct InstructState<'a> {
    config: &'a InstructSection,
    /// Seed prompts usable as few-shot examples (they pass the text rules).
    shots: Vec<&'a str>,
    /// Every seed prompt and every prompt kept so far in the run.
    known: RougePool,
    /// Prompts kept in earlier iterations and this one, in order.
    kept: Vec<String>,
    /// Prompts kept in this iteration.
    kept_now: usize,
}

impl<'a> InstructState<'a> {
    /// A fresh state over the seed prompts and prompts kept in earlier iterations.
    pub(crate) fn new(
        config: &'a InstructSection,
        seed_prompts: &'a [String],
        earlier: &[String],
    ) -> Self {
        let mut known = RougePool::new();
        for p in INSTRUCTION_SENTENCES {
            known.push(p);
        }
        for p in seed_prompts
            .iter()
            .map(String::as_str)
            .chain(earlier.iter().map(String::as_str))
        {
            known.push(p);
        }
        let shots = seed_prompts
            .iter()
            .map(String::as_str)
            .filter(|p| config.filter.check_text(p).is_ok())
            .collect();
        InstructState {
            config,
            shots,
            known,
            kept: earlier.to_vec(),
            kept_now: 0,
        }
    }

    /// Whether the stage has kept enough prompts.
    pub(crate) fn is_full(&self) -> bool {
        self.kept_now >= self.config.prompts
    }

    /// The few-shot prompts of one unit (`batch` of them), from its seeded RNG.
    pub(crate) fn unit_prompts(&self, seed: u64, batch: usize) -> Vec<String> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..batch)
            .map(|_| {
                let generated = self.config.shots_generated.min(self.kept.len());
                let mut examples: Vec<&str> = self
                    .kept
                    .choose_multiple(&mut rng, generated)
                    .map(String::as_str)
                    .collect();
                let from_seed = self.config.shots_seed + self.config.shots_generated - generated;
                examples.extend(self.shots.choose_multiple(&mut rng, from_seed).copied());
                examples.shuffle(&mut rng);
                few_shot_prompt(&examples)
            })
            .collect()
    }

    /// Filters every task of one generation, keeping those that pass.
    pub(crate) fn offer(&mut self, raw: &str, truncated: bool) -> Vec<GeneratedInstruction> {
        let tasks = extract_tasks(raw, truncated);
        if tasks.is_empty() {
            return vec![GeneratedInstruction {
                prompt: String::new(),
                raw: raw.to_string(),
                kept: false,
                rejection: Some(Rejection::Empty),
            }];
        }
        tasks
            .into_iter()
            .map(|(task, complete)| self.offer_task(task, complete, raw))
            .collect()
    }

    fn offer_task(&mut self, prompt: String, complete: bool, raw: &str) -> GeneratedInstruction {
        let verdict = if self.is_full() {
            Err(Rejection::Surplus)
        } else if !complete && self.config.filter.drop_truncated {
            Err(Rejection::Truncated)
        } else {
            self.config.filter.check(&prompt, &self.known)
        };
        let kept = verdict.is_ok();
        if kept {
            self.known.push(&prompt);
            self.kept.push(prompt.clone());
            self.kept_now += 1;
        }
        GeneratedInstruction {
            prompt,
            raw: raw.to_string(),
            kept,
            rejection: verdict.err(),
        }
    }

    /// Replays a finished unit (on resume) without generating.
    pub(crate) fn replay(&mut self, unit: &[GeneratedInstruction]) {
        for g in unit.iter().filter(|g| g.kept) {
            self.known.push(&g.prompt);
            self.kept.push(g.prompt.clone());
            self.kept_now += 1;
        }
    }

    /// The seed prompts usable as examples.
    pub(crate) fn shot_pool(&self) -> usize {
        self.shots.len()
    }
}

/// Generates one unit: `batch` few-shot prompts sampled once each; every task read out of each
/// generation is filtered, in order.
pub(crate) fn generate_unit(
    state: &mut InstructState<'_>,
    generator: &mut dyn TextGenerator,
    seed: u64,
    batch: usize,
) -> Result<Vec<GeneratedInstruction>> {
    let prompts = state.unit_prompts(seed, batch);
    let params = GenerationConfig::sampled(
        state.config.temperature,
        state.config.top_p,
        state.config.max_tokens,
    )
    .with_seed(seed);
    let completions = complete_checked(generator, &prompts, 1, &params)?;
    Ok(completions
        .into_iter()
        .filter_map(|mut samples| samples.pop())
        .flat_map(|c| state.offer(&c.text, c.truncated))
        .collect())
}

/// The kept prompts with ids, and the stage's counts.
pub(crate) fn finish(
    iteration: usize,
    generations: &[GeneratedInstruction],
    filter: &FilterConfig,
) -> (Vec<NewPrompt>, serde_json::Value) {
    let prompts: Vec<NewPrompt> = generations
        .iter()
        .filter(|g| g.kept)
        .enumerate()
        .map(|(i, g)| NewPrompt {
            id: format!("iter{iteration}-{i:04}"),
            prompt: g.prompt.clone(),
            instructed: None,
        })
        .collect();
    let mut rejected: BTreeMap<&str, usize> = BTreeMap::new();
    for r in generations.iter().filter_map(|g| g.rejection.as_ref()) {
        *rejected.entry(r.kind()).or_default() += 1;
    }
    let stats = json!({
        "generated": generations.len(),
        "kept": prompts.len(),
        "rejected": rejected,
        "mean_words": super::mean_words(prompts.iter().map(|p| p.prompt.as_str())),
        "max_rouge_l": filter.max_rouge_l,
    });
    (prompts, stats)
}

#[cfg(test)]
mod tests {
    use super::InstructState;
    use crate::RunConfig;

    #[test]
    fn instruct_state_uses_generated_examples_and_filters_in_order() {
        let config = RunConfig::default().instruct;
        let seed: Vec<String> = (0..20)
            .map(|i| format!("Explain topic number {i} to me clearly"))
            .collect();
        let earlier = vec!["Compose a sea shanty about lighthouse keepers".to_string()];
        let mut state = InstructState::new(&config, &seed, &earlier);
        assert_eq!(state.shot_pool(), 20);
        let prompts = state.unit_prompts(7, 3);
        assert_eq!(prompts, state.unit_prompts(7, 3), "seeded");
        assert!(prompts
            .iter()
            .all(|p| p.contains("Task 8:") && p.contains("Write Task 9:")));
        assert!(
            prompts.iter().all(|p| p.contains("sea shanty")),
            "the earlier prompt is among 2 generated examples"
        );
        let kinds = |v: Vec<crate::GeneratedInstruction>| {
            v.into_iter()
                .map(|g| g.rejection.map_or("kept", |r| r.kind()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(state.offer("Task 9: Describe how bees make honey\nTask 10: Describe how bees make honey!\nTask 11: Describe a long story about", true)),
            ["kept", "too_similar", "truncated"]
        );
        assert_eq!(
            kinds(state.offer("Task 9: Explain topic number 3 to me clearly\nTask 10: One new task, different from the tasks above.", false)),
            ["too_similar", "too_similar"],
            "a copy of a seed prompt, and a parrot of the instructions"
        );
        assert_eq!(kinds(state.offer("Task 9:", false)), ["empty"]);
    }
}
