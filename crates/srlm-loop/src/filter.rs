//! Self-Instruct's filters for new prompts (Wang et al., 2023; as in Alpaca's
//! `generate_instruction.py`): length in words, task-unfit keywords, the first character, and
//! ROUGE-L similarity to every prompt already known.

use serde::{Deserialize, Serialize};

use crate::rouge::RougePool;

/// Keywords that mark a task a text-only model cannot do (Alpaca's list), matched as whole
/// words, case-insensitively, in this order.
pub const UNFIT_KEYWORDS: &[&str] = &[
    "image",
    "images",
    "graph",
    "graphs",
    "picture",
    "pictures",
    "file",
    "files",
    "map",
    "maps",
    "draw",
    "plot",
    "go to",
    "video",
    "audio",
    "music",
    "flowchart",
    "diagram",
];

/// The filter settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilterConfig {
    /// Fewest words (whitespace-separated).
    pub min_words: usize,
    /// Most words.
    pub max_words: usize,
    /// A prompt is dropped when its ROUGE-L against any known prompt reaches this.
    pub max_rouge_l: f64,
    /// Whole-word keywords that drop a prompt.
    pub keywords: Vec<String>,
    /// Openings that drop a prompt (Alpaca: "Write a program").
    pub openings: Vec<String>,
    /// Drop generations that stopped at the token limit (Self-Instruct does).
    pub drop_truncated: bool,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            min_words: 3,
            max_words: 150,
            max_rouge_l: 0.7,
            keywords: UNFIT_KEYWORDS.iter().map(|s| s.to_string()).collect(),
            openings: vec!["Write a program".into()],
            drop_truncated: true,
        }
    }
}

/// Why a generated prompt was dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// Nothing usable was generated.
    Empty,
    /// Fewer words than the minimum.
    TooShort {
        /// Words in the prompt.
        words: usize,
    },
    /// More words than the maximum.
    TooLong {
        /// Words in the prompt.
        words: usize,
    },
    /// A task-unfit keyword or opening.
    Keyword {
        /// The keyword found.
        keyword: String,
    },
    /// Starts with a punctuation character.
    StartsWithPunctuation,
    /// Starts with a non-ASCII character.
    StartsNonAscii,
    /// The generation stopped at the token limit (Self-Instruct drops these too).
    Truncated,
    /// Generated after the stage already had enough prompts (in the same batch).
    Surplus,
    /// Too similar to a known prompt.
    TooSimilar {
        /// ROUGE-L against the most similar known prompt.
        rouge_l: f64,
        /// That prompt.
        to: String,
    },
}

impl Rejection {
    /// A short name for counting (`too_short`, `keyword`, `too_similar`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::TooShort { .. } => "too_short",
            Rejection::TooLong { .. } => "too_long",
            Rejection::Keyword { .. } => "keyword",
            Rejection::StartsWithPunctuation => "starts_with_punctuation",
            Rejection::StartsNonAscii => "starts_non_ascii",
            Rejection::Truncated => "truncated",
            Rejection::Surplus => "surplus",
            Rejection::TooSimilar { .. } => "too_similar",
        }
    }
}

/// Whether `text` holds `keyword` as whole words, case-insensitively (Python's `\bkw\b` with
/// `re.I` on ASCII keywords).
fn has_word(text: &str, keyword: &str) -> bool {
    let lower = text.to_lowercase();
    let keyword = keyword.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut start = 0;
    while let Some(found) = lower[start..].find(&keyword) {
        let at = start + found;
        let end = at + keyword.len();
        let before = lower[..at].chars().next_back().is_none_or(|c| !is_word(c));
        let after = lower[end..].chars().next().is_none_or(|c| !is_word(c));
        if before && after {
            return true;
        }
        start = at + lower[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

impl FilterConfig {
    /// The rules that need no other prompt: length, keywords, openings, first character.
    pub fn check_text(&self, prompt: &str) -> Result<(), Rejection> {
        let prompt = prompt.trim();
        let words = prompt.split_whitespace().count();
        if words == 0 {
            return Err(Rejection::Empty);
        }
        if words < self.min_words {
            return Err(Rejection::TooShort { words });
        }
        if words > self.max_words {
            return Err(Rejection::TooLong { words });
        }
        if let Some(keyword) = self.keywords.iter().find(|k| has_word(prompt, k)) {
            return Err(Rejection::Keyword {
                keyword: keyword.clone(),
            });
        }
        if let Some(opening) = self
            .openings
            .iter()
            .find(|o| prompt.starts_with(o.as_str()))
        {
            return Err(Rejection::Keyword {
                keyword: opening.clone(),
            });
        }
        match prompt.chars().next() {
            Some(c) if c.is_ascii_punctuation() => Err(Rejection::StartsWithPunctuation),
            Some(c) if !c.is_ascii() => Err(Rejection::StartsNonAscii),
            _ => Ok(()),
        }
    }

    /// Every rule: [`FilterConfig::check_text`], then ROUGE-L against `known`.
    pub fn check(&self, prompt: &str, known: &RougePool) -> Result<(), Rejection> {
        self.check_text(prompt)?;
        match known.most_similar(prompt) {
            Some((to, rouge_l)) if rouge_l >= self.max_rouge_l => Err(Rejection::TooSimilar {
                rouge_l,
                to: to.to_string(),
            }),
            _ => Ok(()),
        }
    }
}
