//! What a check found, in words: the sentence a judgement states before its score, so that the
//! decision lies in text read off the response ("asked for exactly 3 bullet points; the response
//! has 5"), not in the first tokens of a template.

use crate::kinds::{detectable, keywords, length};
use crate::{python, Instruction};

/// One instruction's strict verdict and the sentence that states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the response follows the instruction (strict: [`Instruction::check`]).
    pub followed: bool,
    /// What was asked and what the response does, in one sentence.
    pub sentence: String,
}

fn quoted(words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn times(n: usize) -> String {
    if n == 1 {
        "once".into()
    } else {
        format!("{n} times")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The last few words of the response, for the end-phrase check.
fn ending(response: &str) -> String {
    let words: Vec<&str> = python::split_whitespace(response).collect();
    let tail = &words[words.len().saturating_sub(6)..];
    tail.join(" ")
}

impl Instruction {
    /// The strict verdict on `response` and a sentence saying what was asked and what the
    /// response does — counts, words and phrases read off the response.
    ///
    /// ```
    /// use srlm_verifiable::Instruction;
    ///
    /// let v = Instruction::BulletLists { bullets: 3 }.explain("* a\n* b");
    /// assert!(!v.followed);
    /// assert_eq!(v.sentence, "The user asked for exactly 3 bullet points; the response has 2.");
    /// ```
    pub fn explain(&self, response: &str) -> Verdict {
        let followed = self.check(response);
        let sentence =
            match self {
                Instruction::KeywordsIncluded { keywords: k } => {
                    let (present, absent): (Vec<String>, Vec<String>) = k
                        .iter()
                        .cloned()
                        .partition(|w| keywords::occurs(w, response));
                    let found = match (present.is_empty(), absent.is_empty()) {
                        (_, true) => "the response includes them all".to_string(),
                        (true, false) => "the response includes none of them".to_string(),
                        (false, false) => format!(
                            "the response includes {} but not {}",
                            quoted(&present),
                            quoted(&absent)
                        ),
                    };
                    format!(
                        "The user asked to include the keywords {}; {found}.",
                        quoted(k)
                    )
                }
                Instruction::KeywordFrequency {
                    keyword,
                    frequency,
                    relation,
                } => format!(
                    "The user asked for the word \"{keyword}\" {relation} {}; it appears {}.",
                    times(*frequency),
                    times(keywords::occurrences(keyword, response))
                ),
                Instruction::ForbiddenWords { words } => {
                    let used: Vec<String> = words
                        .iter()
                        .filter(|w| keywords::occurs_bounded(w, response))
                        .cloned()
                        .collect();
                    let found = if used.is_empty() {
                        "the response uses none of them".to_string()
                    } else {
                        format!("the response uses {}", quoted(&used))
                    };
                    format!(
                        "The user asked not to use the words {}; {found}.",
                        quoted(words)
                    )
                }
                Instruction::LetterFrequency {
                    letter,
                    frequency,
                    relation,
                } => format!(
                    "The user asked for the letter \"{letter}\" {relation} {}; it appears {}.",
                    times(*frequency),
                    times(keywords::letter_count(*letter, response))
                ),
                Instruction::NumberWords { words, relation } => format!(
                    "The user asked for {relation} {words} words; the response has {}.",
                    length::count_words(response)
                ),
                Instruction::NumberParagraphs { paragraphs } => {
                    let found = match length::divided_paragraphs(response) {
                        Some(n) => format!("the response has {n}"),
                        None => "the response has an empty paragraph between dividers".to_string(),
                    };
                    format!(
                        "The user asked for {} separated by ***; {found}.",
                        plural(*paragraphs, "paragraph", "paragraphs")
                    )
                }
                Instruction::NthParagraphFirstWord {
                    paragraphs,
                    nth,
                    first_word,
                } => {
                    let count = length::blank_line_paragraphs(response);
                    let start = if followed {
                        format!("paragraph {nth} starts with \"{first_word}\"")
                    } else {
                        format!("paragraph {nth} does not start with \"{first_word}\"")
                    };
                    format!(
                        "The user asked for {} separated by blank lines, paragraph {nth} starting \
                     with \"{first_word}\"; the response has {count}, and {start}.",
                        plural(*paragraphs, "paragraph", "paragraphs")
                    )
                }
                Instruction::Placeholders { placeholders } => format!(
                    "The user asked for at least {} in square brackets; the response has {}.",
                    plural(*placeholders, "placeholder", "placeholders"),
                    detectable::placeholder_count(response)
                ),
                Instruction::Postscript { marker } => format!(
                    "The user asked for a postscript starting with {marker}; the response {}.",
                    if followed { "has one" } else { "has none" }
                ),
                Instruction::BulletLists { bullets } => format!(
                    "The user asked for exactly {}; the response has {}.",
                    plural(*bullets, "bullet point", "bullet points"),
                    detectable::bullet_count(response)
                ),
                Instruction::ConstrainedResponse => format!(
                    "The user asked to answer with \"My answer is yes.\", \"My answer is no.\" or \
                 \"My answer is maybe.\"; the response {}.",
                    if followed { "does" } else { "does not" }
                ),
                Instruction::HighlightedSections { highlights } => format!(
                    "The user asked for at least {} in *asterisks*; the response has {}.",
                    plural(*highlights, "highlighted section", "highlighted sections"),
                    detectable::highlight_count(response)
                ),
                Instruction::Sections { splitter, sections } => format!(
                    "The user asked for {} marked \"{splitter} X\"; the response has {}.",
                    plural(*sections, "section", "sections"),
                    detectable::section_count(splitter, response)
                ),
                Instruction::JsonFormat => format!(
                    "The user asked for the whole answer in JSON; the response {}.",
                    if followed {
                        "is valid JSON"
                    } else {
                        "is not valid JSON"
                    }
                ),
                Instruction::Title => format!(
                    "The user asked for a title in double angular brackets; the response {}.",
                    if followed { "has one" } else { "has none" }
                ),
                Instruction::TwoResponses => format!(
                "The user asked for two different responses separated by ******; the response {}.",
                if followed { "gives two" } else { "does not" }
            ),
                Instruction::RepeatPrompt { .. } => format!(
                    "The user asked to repeat the request word for word first; the response {}.",
                    if followed { "does" } else { "does not" }
                ),
                Instruction::EndPhrase { phrase } => format!(
                    "The user asked to end with \"{phrase}\"; the response ends with \"{}\".",
                    ending(response)
                ),
                Instruction::Quotation => {
                    format!(
                "The user asked to wrap the whole answer in double quotes; the response {}.",
                if followed { "is wrapped" } else { "is not wrapped" }
            )
                }
                Instruction::AllCapitals => format!(
                    "The user asked for English in capital letters only; the response {}.",
                    if followed {
                        "is"
                    } else if python::is_upper(response) {
                        "is in capitals but not in English"
                    } else {
                        "has lowercase letters"
                    }
                ),
                Instruction::AllLowercase => format!(
                    "The user asked for English in lowercase letters only; the response {}.",
                    if followed {
                        "is"
                    } else if python::is_lower(response) {
                        "is in lowercase but not in English"
                    } else {
                        "has capital letters"
                    }
                ),
                Instruction::NoComma => {
                    let commas = response.matches(',').count();
                    format!(
                        "The user asked for no commas; the response has {}.",
                        if commas == 0 {
                            "none".to_string()
                        } else {
                            commas.to_string()
                        }
                    )
                }
            };
        Verdict { followed, sentence }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Instruction, Relation};

    #[test]
    fn sentences_state_what_the_response_does() {
        let s = |i: Instruction, r: &str| i.explain(r).sentence;
        assert_eq!(
            s(
                Instruction::KeywordsIncluded {
                    keywords: vec!["milk".into(), "tea".into()]
                },
                "Milk first."
            ),
            "The user asked to include the keywords \"milk\" and \"tea\"; the response \
             includes \"milk\" but not \"tea\"."
        );
        assert_eq!(
            s(
                Instruction::NumberWords {
                    words: 5,
                    relation: Relation::LessThan
                },
                "one two, three four five six"
            ),
            "The user asked for less than 5 words; the response has 6."
        );
        assert_eq!(
            s(
                Instruction::ForbiddenWords {
                    words: vec!["dog".into(), "cat".into()]
                },
                "A dog and a hotdog."
            ),
            "The user asked not to use the words \"dog\" and \"cat\"; the response uses \"dog\"."
        );
        assert_eq!(
            s(
                Instruction::EndPhrase {
                    phrase: "Any other questions?".into()
                },
                "Here is a long answer that ends without the phrase."
            ),
            "The user asked to end with \"Any other questions?\"; the response ends with \
             \"answer that ends without the phrase.\"."
        );
        assert_eq!(
            s(Instruction::NoComma, "a, b, c"),
            "The user asked for no commas; the response has 2."
        );
        let v =
            Instruction::AllLowercase.explain("the weather is nice today so we walk to the park");
        assert!(v.followed, "{}", v.sentence);
        assert!(!Instruction::AllLowercase.explain("The weather").followed);
    }
}
