//! `change_case:english_capital`, `change_case:english_lowercase`, `punctuation:no_comma`.
//!
//! IFEval asks `langdetect` whether the response is English; srlm asks `whatlang` (trigram
//! profiles, deterministic). Where neither finds any letters to judge by, IFEval counts the
//! instruction as followed, and so does srlm. The two detectors agree on most of the
//! fixture's English-check cases (`tests/ifeval_reference.rs`); they differ on a few words,
//! on all-capital text (langdetect's profiles are mostly lowercase) and on code.

use crate::python;

/// Whether the text reads as English, or is too short or too bare for a detector to judge.
///
/// `whatlang` says when its guess is unreliable (a few words, digits and symbols); langdetect
/// always guesses, and on such text mostly guesses English or finds no features at all (which
/// IFEval counts as followed), so an unreliable guess counts as English here.
pub(crate) fn english_or_undetectable(text: &str) -> bool {
    detected_english(text).unwrap_or(true)
}

/// Whether `text` is English by a reliable guess of `whatlang`; `None` where the text is too
/// short or too bare for a reliable guess (there `change_case:english_*` count it as English,
/// and IFEval's `langdetect` guesses anyway — the one place the two checkers can differ).
pub fn detected_english(text: &str) -> Option<bool> {
    match whatlang::detect(text) {
        Some(info) if info.is_reliable() => Some(info.lang() == whatlang::Lang::Eng),
        _ => None,
    }
}

/// Python's `isupper()` and English.
pub(crate) fn english_capital(response: &str) -> bool {
    python::is_upper(response) && english_or_undetectable(response)
}

/// Python's `islower()` and English.
pub(crate) fn english_lowercase(response: &str) -> bool {
    python::is_lower(response) && english_or_undetectable(response)
}

/// No comma anywhere.
pub(crate) fn no_comma(response: &str) -> bool {
    !response.contains(',')
}
