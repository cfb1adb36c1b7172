//! The label-free EFT builder: a *known-quality ladder*. From one IFT pair (a prompt and a good
//! answer) it builds answers whose order is known by construction — the answer itself, the answer
//! cut short at two lengths, a fragment drifting into unrelated text, and one worthless answer
//! (another prompt's answer, an evasion, or the answer's words scrambled) — and gives each a
//! target on the paper's additive 0–5 scale with a justification naming the criteria it meets,
//! ending in `Score: N`.
//!
//! The targets are a calibrated guess; what construction guarantees is their *order*. No rung
//! claims the fifth point ("impeccably tailored … expert knowledge"): nothing built from a seed
//! answer can certify that. This is a departure from the paper, documented in
//! `docs/eft-ladder.md`.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::records::{EftRecord, IftRecord};
use crate::split::{dedup_by_prompt, normalize_prompt, split_by_prompt};

/// One rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    /// The seed answer as it is (target 4).
    Original,
    /// The first two thirds of it, cut mid-flow (target 3).
    CutTwoThirds,
    /// The first third of it (target 2).
    CutOneThird,
    /// Its opening words, then a passage of an unrelated answer (target 1).
    Fragment,
    /// The answer to a different prompt (target 0).
    OffTopic,
    /// A polite non-answer (target 0).
    Evasive,
    /// The answer's words in a random order (target 0).
    Scrambled,
}

impl Rung {
    /// Every rung, best first.
    pub const ALL: [Rung; 7] = [
        Rung::Original,
        Rung::CutTwoThirds,
        Rung::CutOneThird,
        Rung::Fragment,
        Rung::OffTopic,
        Rung::Evasive,
        Rung::Scrambled,
    ];

    /// The target score on the paper's 0–5 additive scale.
    pub fn score(self) -> u8 {
        match self {
            Rung::Original => 4,
            Rung::CutTwoThirds => 3,
            Rung::CutOneThird => 2,
            Rung::Fragment => 1,
            Rung::OffTopic | Rung::Evasive | Rung::Scrambled => 0,
        }
    }

    /// The name stored in [`EftRecord::origin`] after `ladder:`.
    pub fn name(self) -> &'static str {
        match self {
            Rung::Original => "original",
            Rung::CutTwoThirds => "cut_two_thirds",
            Rung::CutOneThird => "cut_one_third",
            Rung::Fragment => "fragment",
            Rung::OffTopic => "off_topic",
            Rung::Evasive => "evasive",
            Rung::Scrambled => "scrambled",
        }
    }

    /// The justification, naming the criteria met and missed, ending in `Score: N`.
    pub fn justification(self) -> String {
        let reason = match self {
            Rung::Original => "The response is relevant to the user's question and informative (1 point). It addresses the whole question rather than part of it (2 points) and answers its basic elements in a useful way (3 points). It is written from an AI Assistant's perspective, addressing the question directly and comprehensively, and it is well organized and helpful (4 points). Nothing shows it to be impeccably tailored with expert insight beyond that, so it does not earn the fifth point.",
            Rung::CutTwoThirds => "The response is relevant and informative (1 point), addresses a substantial portion of the question (2 points) and answers its basic elements in a useful way (3 points). It breaks off before it is finished, so it is not comprehensive and misses the fourth point.",
            Rung::CutOneThird => "The response is relevant and provides some information (1 point) and starts on a substantial portion of the question (2 points), but it stops early, before the basic elements of the question are answered, so it earns no third point.",
            Rung::Fragment => "The response begins relevantly and provides some information related to the question (1 point), but it stops after a few words and continues with content unrelated to the question, so it does not address a substantial portion of it.",
            Rung::OffTopic => "The response answers a different question. It is not relevant to the user's inquiry and provides no information about it, so it earns no points.",
            Rung::Evasive => "The response avoids the question and provides no information related to it, so it earns no points.",
            Rung::Scrambled => "The response is a jumble of words with no coherent meaning and provides no usable information about the user's question, so it earns no points.",
        };
        format!("{reason}\nScore: {}", self.score())
    }
}

/// Evasions for training ladders. Held-out ladders draw from [`HELD_OUT_EVASIONS`], so no
/// held-out response is a string the judge saw in training.
const TRAIN_EVASIONS: &[&str] = &[
    "I'm not able to help with that right now. Could you ask me something else?",
    "That's an interesting question, but I'd rather not get into it. Is there anything else I can do for you?",
    "I'm not sure. You may want to look this up elsewhere.",
    "Sorry, I can't answer that.",
    "Could you clarify what you mean? I'd prefer to wait until the question is clearer before answering.",
    "There are many ways to look at this, and it really depends on the situation.",
];

/// Evasions for held-out ladders; none shares a sentence with [`TRAIN_EVASIONS`].
const HELD_OUT_EVASIONS: &[&str] = &[
    "Good question! Unfortunately that is outside what I can cover today.",
    "I would need more time to think about this one. Let's talk about something different.",
    "Everyone has their own opinion on that, so I will leave it to you to decide.",
    "Hmm, hard to say. A search engine will probably tell you more than I can.",
    "I don't have an answer for you, but I hope you find what you are looking for.",
    "Let me get back to you on that later.",
];

/// Which pool of fixed strings a ladder build draws from: training and held-out builds use
/// disjoint pools, so a held-out set shares no text with training beyond the rubric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderPool {
    /// Strings for training ladders (the default).
    #[default]
    Train,
    /// Strings for held-out ladders.
    HeldOut,
}

impl LadderPool {
    fn evasions(self) -> &'static [&'static str] {
        match self {
            LadderPool::Train => TRAIN_EVASIONS,
            LadderPool::HeldOut => HELD_OUT_EVASIONS,
        }
    }
}

/// Settings of the ladder builder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderConfig {
    /// Answers with fewer words are skipped (the cuts would be too short to differ). Default 40.
    pub min_answer_words: usize,
    /// Answers with more words are skipped (keeps judge prompts trainable). Default 250.
    pub max_answer_words: usize,
    /// Prompts with more words are skipped. Default 120.
    pub max_prompt_words: usize,
    /// Seed for the choice of worthless rung, unrelated passages and scrambling.
    pub seed: u64,
    /// The pool of fixed strings (evasions) to draw from; [`build_ladder_sets`] sets it per side.
    #[serde(default)]
    pub pool: LadderPool,
}

impl Default for LadderConfig {
    fn default() -> Self {
        LadderConfig {
            min_answer_words: 40,
            max_answer_words: 250,
            max_prompt_words: 120,
            seed: 0,
            pool: LadderPool::Train,
        }
    }
}

/// Counts of a ladder build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LadderReport {
    /// IFT pairs offered.
    pub pairs: usize,
    /// Ladders built (one per kept pair).
    pub ladders: usize,
    /// Pairs skipped: answer shorter than `min_answer_words`.
    pub short_answer: usize,
    /// Pairs skipped: answer longer than `max_answer_words`.
    pub long_answer: usize,
    /// Pairs skipped: prompt longer than `max_prompt_words`.
    pub long_prompt: usize,
    /// EFT records by target score 0–5.
    pub histogram: [usize; 6],
}

impl LadderReport {
    fn add(&mut self, other: &LadderReport) {
        self.pairs += other.pairs;
        self.ladders += other.ladders;
        self.short_answer += other.short_answer;
        self.long_answer += other.long_answer;
        self.long_prompt += other.long_prompt;
        for (a, b) in self.histogram.iter_mut().zip(other.histogram) {
            *a += b;
        }
    }
}

/// Builds one ladder per usable pair of `pairs`. Unrelated passages (off-topic answers and
/// fragments' continuations) come from other pairs of the same slice, so a held-out set built on
/// its own never borrows training text.
pub fn build_ladders(
    pairs: &[IftRecord],
    config: &LadderConfig,
) -> Result<(Vec<EftRecord>, LadderReport)> {
    if config.min_answer_words < 6 || config.min_answer_words > config.max_answer_words {
        return Err(DataError::InvalidConfig(format!(
            "answer words must satisfy 6 <= min ({}) <= max ({})",
            config.min_answer_words, config.max_answer_words
        )));
    }
    let mut report = LadderReport {
        pairs: pairs.len(),
        ..LadderReport::default()
    };
    let usable: Vec<&IftRecord> = pairs
        .iter()
        .filter(|p| {
            let words = p.response.split_whitespace().count();
            if p.prompt.split_whitespace().count() > config.max_prompt_words {
                report.long_prompt += 1;
                false
            } else if words < config.min_answer_words {
                report.short_answer += 1;
                false
            } else if words > config.max_answer_words {
                report.long_answer += 1;
                false
            } else {
                true
            }
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut records = Vec::with_capacity(usable.len() * 5);
    for (index, pair) in usable.iter().enumerate() {
        let other = pick_other(&usable, index, &mut rng);
        let worthless = match (other, rng.random_range(0..3)) {
            (Some(_), 0) => Rung::OffTopic,
            (_, 1) => Rung::Evasive,
            _ => Rung::Scrambled,
        };
        for rung in [
            Rung::Original,
            Rung::CutTwoThirds,
            Rung::CutOneThird,
            Rung::Fragment,
            worthless,
        ] {
            let response = rung_text(rung, &pair.response, other, config.pool, &mut rng);
            records.push(EftRecord {
                prompt: pair.prompt.clone(),
                response,
                judgement: rung.justification(),
                score: f64::from(rung.score()),
                origin: Some(format!("ladder:{}", rung.name())),
            });
            report.histogram[usize::from(rung.score())] += 1;
        }
        report.ladders += 1;
    }
    Ok((records, report))
}

/// Another usable pair's answer with a different prompt, if there is one.
fn pick_other<'a>(
    usable: &[&'a IftRecord],
    index: usize,
    rng: &mut impl Rng,
) -> Option<&'a IftRecord> {
    if usable.len() < 2 {
        return None;
    }
    let own = normalize_prompt(&usable[index].prompt);
    (0..8).find_map(|_| {
        let candidate = usable[rng.random_range(0..usable.len())];
        (normalize_prompt(&candidate.prompt) != own).then_some(candidate)
    })
}

fn rung_text(
    rung: Rung,
    answer: &str,
    other: Option<&IftRecord>,
    pool: LadderPool,
    rng: &mut impl Rng,
) -> String {
    let words = answer.split_whitespace().count();
    match rung {
        Rung::Original => answer.to_string(),
        Rung::CutTwoThirds => cut_words(answer, words * 2 / 3),
        Rung::CutOneThird => cut_words(answer, words / 3),
        Rung::Fragment => {
            let opening = cut_words(answer, (words / 8).clamp(3, 12));
            let tail = match other {
                Some(o) => cut_words(&o.response, 40),
                None => scramble(answer, rng),
            };
            format!("{opening}\n\n{tail}")
        }
        Rung::OffTopic => other.map_or_else(|| scramble(answer, rng), |o| o.response.clone()),
        Rung::Evasive => pool
            .evasions()
            .choose(rng)
            .map_or_else(String::new, |s| (*s).to_string()),
        Rung::Scrambled => scramble(answer, rng),
    }
}

/// The text up to (not including) its `n`-th word, formatting kept, trailing space trimmed.
pub(crate) fn cut_words(text: &str, n: usize) -> String {
    let mut seen = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            in_word = true;
            if seen == n {
                return text[..i].trim_end().to_string();
            }
            seen += 1;
        }
    }
    text.trim_end().to_string()
}

fn scramble(text: &str, rng: &mut impl Rng) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    words.shuffle(rng);
    words.join(" ")
}

/// A ladder build split into training and held-out ladders.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderSets {
    /// IFT pairs whose prompts are not held out (for SFT).
    pub ift_train: Vec<IftRecord>,
    /// EFT training records.
    pub train: Vec<EftRecord>,
    /// Held-out EFT records: the judge's evaluation set.
    pub held_out: Vec<EftRecord>,
    /// Counts of the training build.
    pub train_report: LadderReport,
    /// Counts of the held-out build.
    pub held_out_report: LadderReport,
    /// Duplicate prompts removed before splitting.
    pub duplicates: usize,
}

impl LadderSets {
    /// Counts of both builds together.
    pub fn total(&self) -> LadderReport {
        let mut total = self.train_report.clone();
        total.add(&self.held_out_report);
        total
    }
}

/// De-duplicates `pairs` by prompt, splits them by prompt ([`split_by_prompt`]) and builds
/// training and held-out ladders separately, so held-out prompts (and their answers) never
/// appear in training ladders.
pub fn build_ladder_sets(
    pairs: Vec<IftRecord>,
    held_out_fraction: f64,
    config: &LadderConfig,
) -> Result<LadderSets> {
    let (pairs, duplicates) = dedup_by_prompt(pairs, |p| p.prompt.as_str());
    let split = split_by_prompt(pairs, |p| p.prompt.as_str(), held_out_fraction, config.seed)?;
    let train_config = LadderConfig {
        pool: LadderPool::Train,
        ..config.clone()
    };
    let (train, train_report) = build_ladders(&split.train, &train_config)?;
    let held_config = LadderConfig {
        seed: config.seed.wrapping_add(1),
        pool: LadderPool::HeldOut,
        ..config.clone()
    };
    let (held_out, held_out_report) = build_ladders(&split.held_out, &held_config)?;
    Ok(LadderSets {
        ift_train: split.train,
        train,
        held_out,
        train_report,
        held_out_report,
        duplicates,
    })
}
