//! The natural-answer EFT builder: judge training data whose known order comes from **natural
//! answers** rather than damage done to one answer. For a seed prompt it puts side by side
//!
//! - the seed's reference answer (in ShareGPT, ChatGPT's) — target 4;
//! - that answer cut at a sentence end near its middle: fluent, but covering part of the
//!   question — target 3;
//! - the seed model's own complete answers to the same prompt, greedy and sampled — target 2;
//! - the reference answer to the *nearest-neighbour* prompt (the most similar different
//!   prompt): fluent, on a related topic, answering another question — target 1.
//!
//! No rung is marked by a seam, a cut mid-word or a fixed string, and length does not decide the
//! order: the neighbour's answer and the reference's cut are often longer than the seed model's
//! answer they rank below or above ([`NaturalReport::longer_worse_pairs`] counts how often the
//! longer answer of an ordered pair is the worse one). Each justification names the prompt's
//! topic and what this answer does with it. Which orders are certain and which are a guess is in
//! `docs/eft-natural.md`.

use std::collections::{BTreeSet, HashMap};

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::natural_text::{content_words, cut_at_sentence, layout, similarity, topic, words};
use crate::error::{DataError, Result};
use crate::records::{EftRecord, IftRecord};
use crate::split::normalize_prompt;

/// One rung of a natural set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NaturalRung {
    /// The seed's reference answer (target 4).
    Reference,
    /// The reference answer cut at a sentence end near its middle (target 3).
    SentenceCut,
    /// The seed model's greedy answer (target 2).
    SeedGreedy,
    /// The seed model's sampled answer (target 2).
    SeedSampled,
    /// The reference answer of the most similar other prompt (target 1).
    Neighbour,
}

impl NaturalRung {
    /// Every rung, best first.
    pub const ALL: [NaturalRung; 5] = [
        NaturalRung::Reference,
        NaturalRung::SentenceCut,
        NaturalRung::SeedGreedy,
        NaturalRung::SeedSampled,
        NaturalRung::Neighbour,
    ];

    /// The target score on the paper's 0–5 additive scale.
    pub fn score(self) -> u8 {
        match self {
            NaturalRung::Reference => 4,
            NaturalRung::SentenceCut => 3,
            NaturalRung::SeedGreedy | NaturalRung::SeedSampled => 2,
            NaturalRung::Neighbour => 1,
        }
    }

    /// The name stored in [`EftRecord::origin`] after `natural:`.
    pub fn name(self) -> &'static str {
        match self {
            NaturalRung::Reference => "reference",
            NaturalRung::SentenceCut => "sentence_cut",
            NaturalRung::SeedGreedy => "seed_greedy",
            NaturalRung::SeedSampled => "seed_sampled",
            NaturalRung::Neighbour => "neighbour",
        }
    }
}

/// The seed model's answers to one prompt. Leave an answer out (`None`) when it was cut at the
/// token limit: an unfinished answer is not a natural one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedAnswers {
    /// The prompt, as in the seed.
    pub prompt: String,
    /// The greedy answer, if it finished.
    pub greedy: Option<String>,
    /// A sampled answer, if it finished.
    pub sampled: Option<String>,
}

/// Settings of the natural builder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NaturalConfig {
    /// Reference answers with fewer words are skipped (too short to cut). Default 40.
    pub min_answer_words: usize,
    /// Reference answers with more words are skipped (keeps judge prompts trainable). Default 250.
    pub max_answer_words: usize,
    /// Prompts with more words are skipped. Default 120.
    pub max_prompt_words: usize,
    /// A neighbour must share fewer than this share of content words with the prompt (Jaccard),
    /// so that a near-duplicate question's answer, which would answer this one too, is never
    /// marked worse. Default 0.5.
    pub max_neighbour_similarity: f64,
    /// Seed of the phrasing choices.
    pub seed: u64,
}

impl Default for NaturalConfig {
    fn default() -> Self {
        NaturalConfig {
            min_answer_words: 40,
            max_answer_words: 250,
            max_prompt_words: 120,
            max_neighbour_similarity: 0.5,
            seed: 0,
        }
    }
}

impl NaturalConfig {
    /// Whether a seed pair can anchor a natural set (its prompt and reference answer sizes).
    pub fn usable(&self, pair: &IftRecord) -> bool {
        let answer = words(&pair.response);
        words(&pair.prompt) <= self.max_prompt_words
            && (self.min_answer_words..=self.max_answer_words).contains(&answer)
    }

    fn validate(&self) -> Result<()> {
        if self.min_answer_words < 10 || self.min_answer_words > self.max_answer_words {
            return Err(DataError::InvalidConfig(format!(
                "natural answer words must satisfy 10 <= min ({}) <= max ({})",
                self.min_answer_words, self.max_answer_words
            )));
        }
        if !(0.0..=1.0).contains(&self.max_neighbour_similarity) {
            return Err(DataError::InvalidConfig(format!(
                "max_neighbour_similarity must be in [0, 1], got {}",
                self.max_neighbour_similarity
            )));
        }
        Ok(())
    }
}

/// Counts of a natural build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NaturalReport {
    /// Prompts offered (with seed answers).
    pub prompts: usize,
    /// Sets built.
    pub sets: usize,
    /// Prompts skipped: prompt or reference answer outside the word limits.
    pub unusable: usize,
    /// Prompts skipped: no finished seed-model answer.
    pub no_seed_answer: usize,
    /// Sets without a sentence cut (no sentence end qualified).
    pub no_cut: usize,
    /// Sets without a neighbour (no other prompt similar enough and not too similar).
    pub no_neighbour: usize,
    /// Records by target score 0–5.
    pub histogram: [usize; 6],
    /// Ordered pairs (two records of one prompt with different targets).
    pub ordered_pairs: usize,
    /// Of those, pairs whose worse answer has more words: the share of the order a length
    /// rule would get wrong.
    pub longer_worse_pairs: usize,
    /// Mean content-word similarity of a prompt and its neighbour.
    pub mean_neighbour_similarity: f64,
}

/// Builds natural sets for the prompts of `answers`, each anchored on its pair in `pairs` (the
/// seed, matched by prompt); neighbours come from the usable pairs of `pairs`, so a held-out
/// build given only held-out pairs never borrows training text.
pub fn build_natural(
    pairs: &[IftRecord],
    answers: &[SeedAnswers],
    config: &NaturalConfig,
) -> Result<(Vec<EftRecord>, NaturalReport)> {
    config.validate()?;
    let mut report = NaturalReport {
        prompts: answers.len(),
        ..NaturalReport::default()
    };
    let usable: Vec<(&IftRecord, BTreeSet<String>)> = pairs
        .iter()
        .filter(|p| config.usable(p))
        .map(|p| (p, content_words(&p.prompt).into_iter().collect()))
        .collect();
    let by_prompt: HashMap<String, usize> = usable
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (normalize_prompt(&p.prompt), i))
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut records = Vec::new();
    let mut similarity_sum = 0.0;
    for seed in answers {
        let Some(&index) = by_prompt.get(&normalize_prompt(&seed.prompt)) else {
            report.unusable += 1;
            continue;
        };
        if seed.greedy.is_none() && seed.sampled.is_none() {
            report.no_seed_answer += 1;
            continue;
        }
        let (pair, terms) = &usable[index];
        let neighbour = nearest_neighbour(&usable, index, terms, config.max_neighbour_similarity);
        let mut set: Vec<(NaturalRung, String)> =
            vec![(NaturalRung::Reference, pair.response.clone())];
        match cut_at_sentence(&pair.response, 0.5) {
            Some((cut, _)) => set.push((NaturalRung::SentenceCut, cut)),
            None => report.no_cut += 1,
        }
        let own = [
            (NaturalRung::SeedGreedy, &seed.greedy),
            (NaturalRung::SeedSampled, &seed.sampled),
        ];
        for (rung, text) in own {
            if let Some(text) = text.as_deref().filter(|t| !t.trim().is_empty()) {
                set.push((rung, text.to_string()));
            }
        }
        match neighbour {
            Some((other, sim)) => {
                similarity_sum += sim;
                set.push((NaturalRung::Neighbour, other.response.clone()));
            }
            None => report.no_neighbour += 1,
        }
        count_pairs(&set, &mut report);
        let phrasing = Phrasing::draw(&mut rng);
        for (rung, response) in set {
            let judgement = justification(
                rung,
                &pair.prompt,
                &response,
                neighbour.map(|(o, _)| o.prompt.as_str()),
                phrasing,
            );
            report.histogram[usize::from(rung.score())] += 1;
            records.push(EftRecord {
                prompt: pair.prompt.clone(),
                response,
                judgement,
                score: f64::from(rung.score()),
                origin: Some(format!("natural:{}", rung.name())),
            });
        }
        report.sets += 1;
    }
    let with_neighbour = report.sets - report.no_neighbour;
    if with_neighbour > 0 {
        report.mean_neighbour_similarity = similarity_sum / with_neighbour as f64;
    }
    Ok((records, report))
}

/// The usable pair (not `index`, not the same prompt) whose prompt shares the most content
/// words with `terms`, below `max_similarity` and above zero.
fn nearest_neighbour<'a>(
    usable: &[(&'a IftRecord, BTreeSet<String>)],
    index: usize,
    terms: &BTreeSet<String>,
    max_similarity: f64,
) -> Option<(&'a IftRecord, f64)> {
    let own = normalize_prompt(&usable[index].0.prompt);
    usable
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, (p, t))| (*p, similarity(terms, t)))
        .filter(|(p, s)| *s > 0.0 && *s < max_similarity && normalize_prompt(&p.prompt) != own)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn count_pairs(set: &[(NaturalRung, String)], report: &mut NaturalReport) {
    for (i, (ri, ti)) in set.iter().enumerate() {
        for (rj, tj) in &set[i + 1..] {
            if ri.score() == rj.score() {
                continue;
            }
            report.ordered_pairs += 1;
            let (better, worse) = if ri.score() > rj.score() {
                (ti, tj)
            } else {
                (tj, ti)
            };
            report.longer_worse_pairs += usize::from(words(worse) > words(better));
        }
    }
}

/// Which of two phrasings each justification takes (drawn per prompt), so the targets are not
/// one fixed sentence per score.
#[derive(Debug, Clone, Copy)]
struct Phrasing(bool);

impl Phrasing {
    fn draw(rng: &mut impl Rng) -> Self {
        Phrasing(rng.random_bool(0.5))
    }
}

/// The justification of `rung` for `response`, naming the prompt's topic and what the response
/// does with it, ending in `Score: N`.
fn justification(
    rung: NaturalRung,
    prompt: &str,
    response: &str,
    neighbour_prompt: Option<&str>,
    Phrasing(alt): Phrasing,
) -> String {
    let topic = topic(prompt);
    let n = words(response);
    let layout = layout(response);
    let reason = match rung {
        NaturalRung::Reference if alt => format!(
            "The response is about {topic} and gives relevant information (1 point). It covers the whole request (2 points) and answers its basic elements usefully (3 points). Its {n} words, {layout}, address the question directly and completely, as a helpful assistant would (4 points); it is not so expert or polished that it earns the fifth point."
        ),
        NaturalRung::Reference => format!(
            "The response answers the request about {topic} (1 point), addresses all of it (2 points) and its basic elements in a useful way (3 points). Written {layout}, it is direct, complete and well organized (4 points), but it shows no exceptional expertise, so no fifth point."
        ),
        NaturalRung::SentenceCut if alt => format!(
            "The response is relevant to {topic} (1 point), covers a substantial part of the request (2 points) and answers its basic elements usefully (3 points). It stops after {n} words, leaving parts of the question unanswered, so it is not comprehensive enough for the fourth point."
        ),
        NaturalRung::SentenceCut => format!(
            "The response gives relevant information on {topic} (1 point) and addresses much of the request (2 points), answering its core in a useful way (3 points). It ends before the rest of the question is covered, so it misses the fourth point."
        ),
        NaturalRung::SeedGreedy | NaturalRung::SeedSampled if alt => format!(
            "The response is related to {topic} (1 point) and addresses part of the request (2 points). In {n} words, {layout}, it stays general or inexact and does not answer the basic elements of the question in a useful way, so it earns no third point."
        ),
        NaturalRung::SeedGreedy | NaturalRung::SeedSampled => format!(
            "The response touches on {topic} and gives some relevant information (1 point), and it takes up a part of the request (2 points). It does not answer the question's basic elements usefully or accurately, so it stops at two points."
        ),
        NaturalRung::Neighbour => {
            let other = neighbour_prompt.map_or_else(|| "another subject".to_string(), self::topic);
            if alt {
                format!(
                    "The response discusses {other}, which is related to the request about {topic} but is not what was asked. It provides some loosely related information (1 point) and does not address the question itself."
                )
            } else {
                format!(
                    "The response answers a different question, about {other}, rather than the one about {topic}. Only part of it is related to the request (1 point); it does not address what the user asked."
                )
            }
        }
    };
    format!("{reason}\nScore: {}", rung.score())
}
