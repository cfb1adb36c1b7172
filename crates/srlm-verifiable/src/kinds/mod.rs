//! The checks of each instruction kind, grouped as IFEval groups its ids (`keywords:`,
//! `length_constraints:`, …). Each function takes the instruction's arguments and a response and
//! answers as Google's `check_following` does, Python's string and regular-expression semantics
//! included (`crate::python`).

pub(crate) mod case;
pub(crate) mod detectable;
pub(crate) mod keywords;
pub(crate) mod length;
pub(crate) mod startend;

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

/// Python's `\s` inside a pattern: Unicode whitespace plus U+001C–U+001F.
pub(crate) const PY_SPACE: &str = r"[\s\x1C-\x1F]";

/// Python's `\w` as a class: `str.isalnum()` or `_`, i.e. letters (L*), numbers (N*) and the
/// underscore. Rust's `\w` differs (it takes combining marks and some alphabetic symbols).
pub(crate) const PY_WORD: &str = r"[\p{L}\p{N}_]";

static WORD_CHAR: LazyLock<Option<Regex>> = LazyLock::new(|| pattern(&format!("^{PY_WORD}$")));

/// One character of Python's `\w`.
pub(crate) fn is_word_char(c: char) -> bool {
    let mut buf = [0u8; 4];
    WORD_CHAR
        .as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut buf)))
}

/// A compiled pattern from a constant of this crate.
pub(crate) fn pattern(source: &str) -> Option<Regex> {
    Regex::new(source).ok()
}

/// A case-insensitive matcher of `text` taken literally (IFEval compiles its keywords as
/// regular expressions with `re.IGNORECASE`; srlm accepts only keywords in which that is the same
/// as a literal, see `crate::instruction`).
pub(crate) fn literal_ignore_case(text: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&regex::escape(text))
        .case_insensitive(true)
        .build()
}
