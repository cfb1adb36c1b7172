//! `length_constraints:number_words`, `length_constraints:number_paragraphs`,
//! `length_constraints:nth_paragraph_first_word`.

use std::sync::LazyLock;

use regex::Regex;

use super::{pattern, PY_SPACE, PY_WORD};
use crate::python;
use crate::Relation;

static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| pattern(&format!("{PY_WORD}+")));
static DIVIDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| pattern(&format!(r"{PY_SPACE}?\*\*\*{PY_SPACE}?")));

/// IFEval's word count: runs of Python's `\w` (nltk's `RegexpTokenizer(r"\w+")`).
pub fn count_words(text: &str) -> usize {
    WORD.as_ref().map_or(0, |re| re.find_iter(text).count())
}

/// The word count compared with `words`.
pub(crate) fn number_words(words: usize, relation: Relation, response: &str) -> bool {
    relation.holds(count_words(response), words)
}

/// Paragraphs separated by `***`, empty first and last ones not counted; `None` when an empty
/// paragraph sits between two others (IFEval then fails the response whatever the count).
pub(crate) fn divided_paragraphs(response: &str) -> Option<usize> {
    let divider = DIVIDER.as_ref()?;
    let parts: Vec<&str> = divider.split(response).collect();
    let mut count = parts.len();
    for (index, part) in parts.iter().enumerate() {
        if python::strip(part).is_empty() {
            if index == 0 || index == parts.len() - 1 {
                count -= 1;
            } else {
                return None;
            }
        }
    }
    Some(count)
}

/// Exactly `paragraphs` paragraphs separated by `***`.
pub(crate) fn number_paragraphs(paragraphs: usize, response: &str) -> bool {
    divided_paragraphs(response) == Some(paragraphs)
}

/// Non-empty paragraphs separated by blank lines (`\n\n`).
pub(crate) fn blank_line_paragraphs(response: &str) -> usize {
    response
        .split("\n\n")
        .filter(|p| !python::strip(p).is_empty())
        .count()
}

/// Exactly `paragraphs` non-empty paragraphs separated by `\n\n`, and the `nth` (1-based, counted
/// in the split with its empty parts, as IFEval does) starts with `first_word` once leading
/// quotes are dropped and the word is cut at its first `.,?!'"`.
pub(crate) fn nth_paragraph_first_word(
    paragraphs: usize,
    nth: usize,
    first_word: &str,
    response: &str,
) -> bool {
    let parts: Vec<&str> = response.split("\n\n").collect();
    let count = blank_line_paragraphs(response);
    if nth == 0 || nth > count {
        return false;
    }
    let paragraph = python::strip(parts[nth - 1]);
    let Some(word) = python::split_whitespace(paragraph).next() else {
        return false;
    };
    let word = word.trim_start_matches('\'').trim_start_matches('"');
    let found: String = word
        .chars()
        .take_while(|c| !matches!(c, '.' | ',' | '?' | '!' | '\'' | '"'))
        .flat_map(char::to_lowercase)
        .collect();
    count == paragraphs && found == first_word
}
