//! Drawing instructions for a prompt: one to three kinds that IFEval allows together, each with
//! arguments in IFEval's ranges, appended to the prompt as IFEval writes its prompts.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use crate::conflicts::conflicts;
use crate::{Instruction, Relation, VerifiableError, INSTRUCTION_IDS};

/// Keywords and first words to draw from: common, concrete English words a short answer can
/// use or avoid.
const WORDS: [&str; 48] = [
    "answer",
    "water",
    "light",
    "friend",
    "morning",
    "market",
    "simple",
    "future",
    "garden",
    "history",
    "music",
    "health",
    "energy",
    "planet",
    "travel",
    "family",
    "kitchen",
    "money",
    "school",
    "weather",
    "ocean",
    "story",
    "science",
    "window",
    "river",
    "animal",
    "color",
    "people",
    "country",
    "system",
    "problem",
    "example",
    "reason",
    "balance",
    "change",
    "create",
    "important",
    "different",
    "process",
    "result",
    "question",
    "community",
    "design",
    "nature",
    "power",
    "quality",
    "season",
    "journey",
];

/// The phrases IFEval asks an answer to end with.
const END_PHRASES: [&str; 2] = [
    "Any other questions?",
    "Is there anything else I can help with?",
];

/// What [`InstructionSampler`] draws.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// The kinds to draw from (ids of [`INSTRUCTION_IDS`]); kinds held out of training are
    /// left out here.
    pub kinds: Vec<String>,
    /// The fewest instructions a prompt gets (≥ 1).
    pub min_instructions: usize,
    /// The most instructions a prompt gets.
    pub max_instructions: usize,
    /// The word-count thresholds to draw from (IFEval: 100–500; a small model's answers are
    /// shorter).
    pub words: (usize, usize),
}

impl Default for SamplerConfig {
    /// Every kind, one to three per prompt, IFEval's word thresholds.
    fn default() -> Self {
        SamplerConfig {
            kinds: INSTRUCTION_IDS.iter().map(|s| s.to_string()).collect(),
            min_instructions: 1,
            max_instructions: 3,
            words: (100, 500),
        }
    }
}

/// Draws instructions for prompts, reproducibly from a seed.
///
/// ```
/// use srlm_verifiable::{InstructionSampler, SamplerConfig};
///
/// let mut sampler = InstructionSampler::new(SamplerConfig::default(), 7)?;
/// let drawn = sampler.draw("Describe the water cycle.");
/// assert!((1..=3).contains(&drawn.len()));
/// let prompt = srlm_verifiable::instructed_prompt("Describe the water cycle.", &drawn);
/// assert!(prompt.starts_with("Describe the water cycle. "));
/// # Ok::<(), srlm_verifiable::VerifiableError>(())
/// ```
#[derive(Debug, Clone)]
pub struct InstructionSampler {
    config: SamplerConfig,
    rng: rand::rngs::StdRng,
}

impl InstructionSampler {
    /// A sampler over `config`, its draws fixed by `seed`. Refuses an unknown kind, an empty
    /// kind list, and counts or ranges that cannot be drawn.
    pub fn new(config: SamplerConfig, seed: u64) -> Result<Self, VerifiableError> {
        let invalid = |arg: &str, reason: String| VerifiableError::Argument {
            id: "sampler".into(),
            arg: arg.into(),
            reason,
        };
        if let Some(k) = config
            .kinds
            .iter()
            .find(|k| !INSTRUCTION_IDS.contains(&k.as_str()))
        {
            return Err(VerifiableError::UnknownId {
                id: k.clone(),
                known: INSTRUCTION_IDS.join(", "),
            });
        }
        if config.kinds.is_empty() {
            return Err(invalid("kinds", "is empty".into()));
        }
        if config.min_instructions == 0 || config.min_instructions > config.max_instructions {
            return Err(invalid(
                "min_instructions",
                format!(
                    "{}..={} is not a range of at least one instruction",
                    config.min_instructions, config.max_instructions
                ),
            ));
        }
        if config.words.0 == 0 || config.words.0 > config.words.1 {
            return Err(invalid(
                "words",
                format!(
                    "{}..={} is not a range of positive counts",
                    config.words.0, config.words.1
                ),
            ));
        }
        Ok(InstructionSampler {
            config,
            rng: rand::rngs::StdRng::seed_from_u64(seed),
        })
    }

    /// One to three instructions for `prompt`, no two of conflicting kinds (fewer than asked
    /// when the allowed kinds run out).
    pub fn draw(&mut self, prompt: &str) -> Vec<Instruction> {
        let want = self
            .rng
            .random_range(self.config.min_instructions..=self.config.max_instructions);
        let mut kinds = self.config.kinds.clone();
        kinds.shuffle(&mut self.rng);
        let mut chosen: Vec<String> = Vec::new();
        for kind in kinds {
            if chosen.len() == want {
                break;
            }
            if chosen.iter().all(|c| !conflicts(c, &kind)) {
                chosen.push(kind);
            }
        }
        chosen.iter().map(|k| self.arguments(k, prompt)).collect()
    }

    fn word(&mut self) -> String {
        WORDS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("answer")
            .to_string()
    }

    fn relation(&mut self) -> Relation {
        if self.rng.random_bool(0.5) {
            Relation::LessThan
        } else {
            Relation::AtLeast
        }
    }

    /// The kind's arguments, drawn in IFEval's ranges.
    fn arguments(&mut self, kind: &str, prompt: &str) -> Instruction {
        match kind {
            "keywords:existence" => {
                let mut keywords = vec![self.word(), self.word()];
                keywords.sort();
                keywords.dedup();
                Instruction::KeywordsIncluded { keywords }
            }
            "keywords:frequency" => Instruction::KeywordFrequency {
                keyword: self.word(),
                frequency: self.rng.random_range(1..=3),
                relation: self.relation(),
            },
            "keywords:forbidden_words" => {
                let mut words = vec![self.word(), self.word()];
                words.sort();
                words.dedup();
                Instruction::ForbiddenWords { words }
            }
            "keywords:letter_frequency" => Instruction::LetterFrequency {
                letter: char::from(b'a' + self.rng.random_range(0..26u8)),
                frequency: self.rng.random_range(1..=10),
                relation: self.relation(),
            },
            "length_constraints:number_words" => Instruction::NumberWords {
                words: self
                    .rng
                    .random_range(self.config.words.0..=self.config.words.1),
                relation: self.relation(),
            },
            "length_constraints:number_paragraphs" => Instruction::NumberParagraphs {
                paragraphs: self.rng.random_range(1..=5),
            },
            "length_constraints:nth_paragraph_first_word" => {
                let paragraphs = self.rng.random_range(1..=5);
                let nth = self.rng.random_range(1..=paragraphs);
                Instruction::NthParagraphFirstWord {
                    paragraphs,
                    nth,
                    first_word: self.word(),
                }
            }
            "detectable_content:number_placeholders" => Instruction::Placeholders {
                placeholders: self.rng.random_range(1..=4),
            },
            "detectable_content:postscript" => Instruction::Postscript {
                marker: if self.rng.random_bool(0.5) {
                    "P.S."
                } else {
                    "P.P.S"
                }
                .to_string(),
            },
            "detectable_format:number_bullet_lists" => Instruction::BulletLists {
                bullets: self.rng.random_range(1..=5),
            },
            "detectable_format:number_highlighted_sections" => Instruction::HighlightedSections {
                highlights: self.rng.random_range(1..=4),
            },
            "detectable_format:multiple_sections" => Instruction::Sections {
                splitter: if self.rng.random_bool(0.5) {
                    "Section"
                } else {
                    "SECTION"
                }
                .to_string(),
                sections: self.rng.random_range(1..=5),
            },
            "combination:repeat_prompt" => Instruction::RepeatPrompt {
                prompt: prompt.to_string(),
            },
            "startend:end_checker" => Instruction::EndPhrase {
                phrase: END_PHRASES
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or(END_PHRASES[0])
                    .to_string(),
            },
            "detectable_format:constrained_response" => Instruction::ConstrainedResponse,
            "detectable_format:json_format" => Instruction::JsonFormat,
            "detectable_format:title" => Instruction::Title,
            "combination:two_responses" => Instruction::TwoResponses,
            "startend:quotation" => Instruction::Quotation,
            "change_case:english_capital" => Instruction::AllCapitals,
            "change_case:english_lowercase" => Instruction::AllLowercase,
            _ => Instruction::NoComma,
        }
    }
}

/// The prompt with its instructions appended, as IFEval writes its prompts: the task, a space,
/// then each instruction's text separated by spaces.
pub fn instructed_prompt(task: &str, instructions: &[Instruction]) -> String {
    let mut out = task.trim_end().to_string();
    for instruction in instructions {
        out.push(' ');
        out.push_str(&instruction.description());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_never_conflict() {
        let mut a = InstructionSampler::new(SamplerConfig::default(), 3).unwrap();
        let mut b = InstructionSampler::new(SamplerConfig::default(), 3).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..400 {
            let prompt = format!("Task {i}.");
            let drawn = a.draw(&prompt);
            assert_eq!(drawn, b.draw(&prompt));
            assert!((1..=3).contains(&drawn.len()));
            for (j, x) in drawn.iter().enumerate() {
                seen.insert(x.id());
                // Every drawn instruction reads back from its own arguments.
                assert_eq!(
                    Instruction::from_kwargs(x.id(), &x.to_kwargs()).as_ref(),
                    Ok(x)
                );
                for y in &drawn[j + 1..] {
                    assert!(!conflicts(x.id(), y.id()), "{} with {}", x.id(), y.id());
                }
            }
        }
        assert_eq!(
            seen.len(),
            INSTRUCTION_IDS.len(),
            "every kind drawn in 400 prompts"
        );
    }

    #[test]
    fn held_out_kinds_are_never_drawn() {
        let config = SamplerConfig {
            kinds: vec![
                "punctuation:no_comma".into(),
                "detectable_format:title".into(),
            ],
            ..SamplerConfig::default()
        };
        let mut sampler = InstructionSampler::new(config, 0).unwrap();
        for _ in 0..50 {
            for x in sampler.draw("Task.") {
                assert!(matches!(x, Instruction::NoComma | Instruction::Title));
            }
        }
        let bad = SamplerConfig {
            kinds: vec!["language:response_language".into()],
            ..SamplerConfig::default()
        };
        assert!(matches!(
            InstructionSampler::new(bad, 0),
            Err(VerifiableError::UnknownId { .. })
        ));
    }
}
