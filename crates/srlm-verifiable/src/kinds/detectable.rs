//! `detectable_content:*` and `detectable_format:*`: placeholders, postscript, bullet lists,
//! constrained response, highlighted sections, sections, JSON, title.

use std::sync::LazyLock;

use regex::Regex;

use super::{pattern, PY_SPACE};
use crate::python;
use crate::python_json::is_python_json;

static PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| pattern(r"\[.*?\]"));
static STAR_BULLET: LazyLock<Option<Regex>> =
    LazyLock::new(|| pattern(&format!(r"(?m)^{PY_SPACE}*\*[^\*].*$")));
static DASH_BULLET: LazyLock<Option<Regex>> =
    LazyLock::new(|| pattern(&format!(r"(?m)^{PY_SPACE}*-.*$")));
static HIGHLIGHT: LazyLock<Option<Regex>> = LazyLock::new(|| pattern(r"\*[^\n\*]*\*"));
static DOUBLE_HIGHLIGHT: LazyLock<Option<Regex>> = LazyLock::new(|| pattern(r"\*\*[^\n\*]*\*\*"));
static TITLE: LazyLock<Option<Regex>> = LazyLock::new(|| pattern(r"<<[^\n]+>>"));

fn count(re: &LazyLock<Option<Regex>>, text: &str) -> usize {
    re.as_ref().map_or(0, |re| re.find_iter(text).count())
}

/// Square-bracket spans `[...]` (on one line each).
pub(crate) fn placeholder_count(response: &str) -> usize {
    count(&PLACEHOLDER, response)
}

/// At least `placeholders` placeholders.
pub(crate) fn placeholders(placeholders: usize, response: &str) -> bool {
    placeholder_count(response) >= placeholders
}

/// The regular expression IFEval searches the lowercased response for: `P.S.` and `P.P.S` allow
/// a space after each dot; any other marker is used as written, lowercased.
pub(crate) fn postscript_pattern(marker: &str) -> String {
    match marker {
        "P.P.S" => format!(r"(?m){PY_SPACE}*p\.{PY_SPACE}?p\.{PY_SPACE}?s.*$"),
        "P.S." => format!(r"(?m){PY_SPACE}*p\.{PY_SPACE}?s\..*$"),
        other => format!(r"(?m){PY_SPACE}*{}.*$", other.to_lowercase()),
    }
}

/// A postscript marker anywhere in the response (IFEval does not ask it to be at the end).
pub(crate) fn postscript(marker: &str, response: &str) -> bool {
    Regex::new(&postscript_pattern(marker)).is_ok_and(|re| re.is_match(&response.to_lowercase()))
}

/// Lines starting (after whitespace) with `*` not followed by `*`, or with `-`.
pub(crate) fn bullet_count(response: &str) -> usize {
    count(&STAR_BULLET, response) + count(&DASH_BULLET, response)
}

/// Exactly `bullets` bullet lines.
pub(crate) fn bullet_lists(bullets: usize, response: &str) -> bool {
    bullet_count(response) == bullets
}

/// The options of `detectable_format:constrained_response`.
pub(crate) const CONSTRAINED_OPTIONS: [&str; 3] = [
    "My answer is yes.",
    "My answer is no.",
    "My answer is maybe.",
];

/// One of the options appears in the response.
pub(crate) fn constrained_response(response: &str) -> bool {
    let response = python::strip(response);
    CONSTRAINED_OPTIONS.iter().any(|o| response.contains(o))
}

/// At least `highlights` highlighted spans.
pub(crate) fn highlighted_sections(highlights: usize, response: &str) -> bool {
    highlight_count(response) >= highlights
}

/// Spans `*text*` or `**text**` with something besides stars and spaces inside (a `**x**` span
/// counts once as itself and once through its inner `*x*`, as IFEval counts).
pub(crate) fn highlight_count(response: &str) -> usize {
    let mut found = 0;
    if let Some(re) = HIGHLIGHT.as_ref() {
        found += re
            .find_iter(response)
            .filter(|m| !python::strip(m.as_str().trim_matches('*')).is_empty())
            .count();
    }
    if let Some(re) = DOUBLE_HIGHLIGHT.as_ref() {
        found += re
            .find_iter(response)
            .filter(|m| {
                let inner = &m.as_str()[2..m.as_str().len() - 2];
                !python::strip(inner).is_empty()
            })
            .count();
    }
    found
}

/// Section headers: the splitter word then a number, as
/// `re.split(r"\s?" + splitter + r"\s?\d+\s?")` finds them.
pub(crate) fn section_count(splitter: &str, response: &str) -> usize {
    let source = format!(
        r"{PY_SPACE}?{}{PY_SPACE}?\d+{PY_SPACE}?",
        regex::escape(splitter)
    );
    Regex::new(&source).map_or(0, |re| re.find_iter(response).count())
}

/// At least `sections` section headers.
pub(crate) fn sections(splitter: &str, sections: usize, response: &str) -> bool {
    section_count(splitter, response) >= sections
}

/// The whole response is JSON as Python reads it, once one code fence around it is removed.
pub(crate) fn json_format(response: &str) -> bool {
    let mut text = python::strip(response);
    for fence in ["```json", "```Json", "```JSON", "```"] {
        text = text.strip_prefix(fence).unwrap_or(text);
    }
    let text = text.strip_suffix("```").unwrap_or(text);
    is_python_json(python::strip(text))
}

/// A `<<title>>` on one line with something besides spaces inside.
pub(crate) fn title(response: &str) -> bool {
    TITLE.as_ref().is_some_and(|re| {
        re.find_iter(response).any(|m| {
            let inner = m.as_str().trim_start_matches('<').trim_end_matches('>');
            !python::strip(inner).is_empty()
        })
    })
}
