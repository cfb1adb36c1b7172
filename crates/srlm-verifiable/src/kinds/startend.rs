//! `combination:two_responses`, `combination:repeat_prompt`, `startend:end_checker`,
//! `startend:quotation`.

use crate::python;

/// Exactly two non-empty responses separated by `******`, different once stripped; an empty part
/// is allowed only first or last.
pub(crate) fn two_responses(response: &str) -> bool {
    let parts: Vec<&str> = response.split("******").collect();
    let mut valid = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        if python::strip(part).is_empty() {
            if index != 0 && index != parts.len() - 1 {
                return false;
            }
        } else {
            valid.push(*part);
        }
    }
    valid.len() == 2 && python::strip(valid[0]) != python::strip(valid[1])
}

/// The response starts, case-insensitively, with the request repeated word for word.
pub(crate) fn repeat_prompt(prompt: &str, response: &str) -> bool {
    python::strip(response)
        .to_lowercase()
        .starts_with(&python::strip(prompt).to_lowercase())
}

/// The response ends with the phrase, case-insensitively, once whitespace and then double
/// quotes are stripped from its ends.
pub(crate) fn end_phrase(phrase: &str, response: &str) -> bool {
    python::strip(response)
        .trim_matches('"')
        .to_lowercase()
        .ends_with(&python::strip(phrase).to_lowercase())
}

/// The stripped response is at least two characters, first and last a double quote.
pub(crate) fn quotation(response: &str) -> bool {
    let text = python::strip(response);
    text.chars().count() > 1 && text.starts_with('"') && text.ends_with('"')
}
