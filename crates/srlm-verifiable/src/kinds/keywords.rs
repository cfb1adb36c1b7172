//! `keywords:existence`, `keywords:frequency`, `keywords:forbidden_words`,
//! `keywords:letter_frequency`.

use super::{is_word_char, literal_ignore_case};
use crate::Relation;

/// The keyword occurs, case-insensitively, anywhere (inside other words too).
pub(crate) fn occurs(keyword: &str, response: &str) -> bool {
    literal_ignore_case(keyword).is_ok_and(|re| re.is_match(response))
}

/// Every keyword occurs.
pub(crate) fn existence(keywords: &[String], response: &str) -> bool {
    keywords.iter().all(|k| occurs(k, response))
}

/// The keyword's non-overlapping case-insensitive occurrences.
pub(crate) fn occurrences(keyword: &str, response: &str) -> usize {
    literal_ignore_case(keyword).map_or(0, |re| re.find_iter(response).count())
}

/// The keyword's occurrences compared with `frequency`.
pub(crate) fn frequency(
    keyword: &str,
    frequency: usize,
    relation: Relation,
    response: &str,
) -> bool {
    relation.holds(occurrences(keyword, response), frequency)
}

/// No forbidden word occurs as `\bWORD\b`, case-insensitively.
pub(crate) fn forbidden(words: &[String], response: &str) -> bool {
    !words.iter().any(|w| occurs_bounded(w, response))
}

/// `re.search(r"\b" + word + r"\b", text, re.IGNORECASE)`, with Python's `\w` deciding the
/// boundaries: every occurrence is tried, overlapping ones included, as a backtracking search does.
pub(crate) fn occurs_bounded(word: &str, text: &str) -> bool {
    let Ok(re) = literal_ignore_case(word) else {
        return false;
    };
    let mut start = 0;
    while let Some(m) = re.find_at(text, start) {
        let before = text[..m.start()].chars().next_back();
        let first = text[m.start()..].chars().next();
        let last = text[..m.end()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let boundary = |a: Option<char>, b: Option<char>| {
            a.is_some_and(is_word_char) != b.is_some_and(is_word_char)
        };
        if boundary(before, first) && boundary(last, after) {
            return true;
        }
        // The next occurrence may overlap this one: restart one character further.
        start = m.start() + first.map_or(1, char::len_utf8);
        if start > text.len() {
            return false;
        }
    }
    false
}

/// The letter's count in the lowercased response.
pub(crate) fn letter_count(letter: char, response: &str) -> usize {
    response
        .to_lowercase()
        .chars()
        .filter(|&c| c == letter)
        .count()
}

/// The letter's count compared with `frequency`.
pub(crate) fn letter_frequency(
    letter: char,
    frequency: usize,
    relation: Relation,
    response: &str,
) -> bool {
    relation.holds(letter_count(letter, response), frequency)
}
