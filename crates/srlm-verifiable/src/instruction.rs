//! [`Instruction`]: one verifiable instruction — its IFEval id, its arguments, the text that asks
//! for it, and the program that checks a response.

use crate::kinds::{case, detectable, keywords, length, startend};
use crate::{python, Relation};

/// One verifiable instruction of IFEval (Zhou et al., 2023), with its arguments.
///
/// Build one directly, or from IFEval's `instruction_id` and `kwargs` with
/// [`Instruction::from_kwargs`]; [`Instruction::description`] renders the text a prompt appends
/// (Google's wording, word for word) and [`Instruction::check`] applies Google's
/// `check_following` to one response (strict); [`crate::follow`] adds the loose reading.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Instruction {
    /// `keywords:existence`: every keyword appears (case-insensitive, inside words too).
    KeywordsIncluded {
        /// Kept sorted, as IFEval prints them.
        keywords: Vec<String>,
    },
    /// `keywords:frequency`: one keyword's count, compared.
    KeywordFrequency {
        /// The keyword (stripped).
        keyword: String,
        /// The threshold.
        frequency: usize,
        /// How the count compares.
        relation: Relation,
    },
    /// `keywords:forbidden_words`: none of the words appears as a whole word.
    ForbiddenWords {
        /// Deduplicated and sorted, as IFEval prints them.
        words: Vec<String>,
    },
    /// `keywords:letter_frequency`: one letter's count (case-insensitive), compared.
    LetterFrequency {
        /// An ASCII lowercase letter.
        letter: char,
        /// The threshold.
        frequency: usize,
        /// How the count compares.
        relation: Relation,
    },
    /// `length_constraints:number_words`: the word count (runs of `\w`), compared.
    NumberWords {
        /// The threshold.
        words: usize,
        /// How the count compares.
        relation: Relation,
    },
    /// `length_constraints:number_paragraphs`: exactly this many paragraphs divided by `***`.
    NumberParagraphs {
        /// The number of paragraphs.
        paragraphs: usize,
    },
    /// `length_constraints:nth_paragraph_first_word`: paragraphs divided by blank lines, and the
    /// nth starting with a given word.
    NthParagraphFirstWord {
        /// The number of paragraphs.
        paragraphs: usize,
        /// Which paragraph, from 1.
        nth: usize,
        /// Its first word (lowercase).
        first_word: String,
    },
    /// `detectable_content:number_placeholders`: at least this many `[placeholders]`.
    Placeholders {
        /// The minimum.
        placeholders: usize,
    },
    /// `detectable_content:postscript`: a postscript starting with the marker.
    Postscript {
        /// `P.S.`, `P.P.S` or another marker.
        marker: String,
    },
    /// `detectable_format:number_bullet_lists`: exactly this many `*` or `-` bullet lines.
    BulletLists {
        /// The number of bullets.
        bullets: usize,
    },
    /// `detectable_format:constrained_response`: one of "My answer is yes./no./maybe.".
    ConstrainedResponse,
    /// `detectable_format:number_highlighted_sections`: at least this many `*highlighted*` spans.
    HighlightedSections {
        /// The minimum.
        highlights: usize,
    },
    /// `detectable_format:multiple_sections`: at least this many `SPLITTER N` headers.
    Sections {
        /// The header word, e.g. `Section` or `SECTION`.
        splitter: String,
        /// The number of sections.
        sections: usize,
    },
    /// `detectable_format:json_format`: the whole response is JSON.
    JsonFormat,
    /// `detectable_format:title`: a title in `<<double angular brackets>>`.
    Title,
    /// `combination:two_responses`: two different responses divided by `******`.
    TwoResponses,
    /// `combination:repeat_prompt`: the request repeated word for word first.
    RepeatPrompt {
        /// The request to repeat.
        prompt: String,
    },
    /// `startend:end_checker`: the response ends with this exact phrase.
    EndPhrase {
        /// The phrase (stripped).
        phrase: String,
    },
    /// `startend:quotation`: the whole response in double quotes.
    Quotation,
    /// `change_case:english_capital`: English, all capital letters.
    AllCapitals,
    /// `change_case:english_lowercase`: English, all lowercase letters.
    AllLowercase,
    /// `punctuation:no_comma`: no commas.
    NoComma,
}

/// The ids this crate checks, in IFEval's registry order.
pub const INSTRUCTION_IDS: [&str; 22] = [
    "keywords:existence",
    "keywords:frequency",
    "keywords:forbidden_words",
    "keywords:letter_frequency",
    "length_constraints:number_paragraphs",
    "length_constraints:number_words",
    "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:number_bullet_lists",
    "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections",
    "detectable_format:json_format",
    "detectable_format:title",
    "combination:two_responses",
    "combination:repeat_prompt",
    "startend:end_checker",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "punctuation:no_comma",
    "startend:quotation",
];
impl Instruction {
    /// IFEval's id of this instruction's kind, e.g. `keywords:existence`.
    pub fn id(&self) -> &'static str {
        match self {
            Instruction::KeywordsIncluded { .. } => "keywords:existence",
            Instruction::KeywordFrequency { .. } => "keywords:frequency",
            Instruction::ForbiddenWords { .. } => "keywords:forbidden_words",
            Instruction::LetterFrequency { .. } => "keywords:letter_frequency",
            Instruction::NumberWords { .. } => "length_constraints:number_words",
            Instruction::NumberParagraphs { .. } => "length_constraints:number_paragraphs",
            Instruction::NthParagraphFirstWord { .. } => {
                "length_constraints:nth_paragraph_first_word"
            }
            Instruction::Placeholders { .. } => "detectable_content:number_placeholders",
            Instruction::Postscript { .. } => "detectable_content:postscript",
            Instruction::BulletLists { .. } => "detectable_format:number_bullet_lists",
            Instruction::ConstrainedResponse => "detectable_format:constrained_response",
            Instruction::HighlightedSections { .. } => {
                "detectable_format:number_highlighted_sections"
            }
            Instruction::Sections { .. } => "detectable_format:multiple_sections",
            Instruction::JsonFormat => "detectable_format:json_format",
            Instruction::Title => "detectable_format:title",
            Instruction::TwoResponses => "combination:two_responses",
            Instruction::RepeatPrompt { .. } => "combination:repeat_prompt",
            Instruction::EndPhrase { .. } => "startend:end_checker",
            Instruction::Quotation => "startend:quotation",
            Instruction::AllCapitals => "change_case:english_capital",
            Instruction::AllLowercase => "change_case:english_lowercase",
            Instruction::NoComma => "punctuation:no_comma",
        }
    }
    /// Whether `response` follows the instruction, read strictly (Google's `check_following`
    /// on the response as it is). An empty or all-whitespace response never follows.
    pub fn check(&self, response: &str) -> bool {
        if python::strip(response).is_empty() {
            return false;
        }
        self.check_raw(response)
    }

    /// `check_following` itself, without IFEval's empty-response rule.
    fn check_raw(&self, r: &str) -> bool {
        match self {
            Instruction::KeywordsIncluded { keywords: k } => keywords::existence(k, r),
            Instruction::KeywordFrequency {
                keyword,
                frequency,
                relation,
            } => keywords::frequency(keyword, *frequency, *relation, r),
            Instruction::ForbiddenWords { words } => keywords::forbidden(words, r),
            Instruction::LetterFrequency {
                letter,
                frequency,
                relation,
            } => keywords::letter_frequency(*letter, *frequency, *relation, r),
            Instruction::NumberWords { words, relation } => {
                length::number_words(*words, *relation, r)
            }
            Instruction::NumberParagraphs { paragraphs } => {
                length::number_paragraphs(*paragraphs, r)
            }
            Instruction::NthParagraphFirstWord {
                paragraphs,
                nth,
                first_word,
            } => length::nth_paragraph_first_word(*paragraphs, *nth, first_word, r),
            Instruction::Placeholders { placeholders } => {
                detectable::placeholders(*placeholders, r)
            }
            Instruction::Postscript { marker } => detectable::postscript(marker, r),
            Instruction::BulletLists { bullets } => detectable::bullet_lists(*bullets, r),
            Instruction::ConstrainedResponse => detectable::constrained_response(r),
            Instruction::HighlightedSections { highlights } => {
                detectable::highlighted_sections(*highlights, r)
            }
            Instruction::Sections { splitter, sections } => {
                detectable::sections(splitter, *sections, r)
            }
            Instruction::JsonFormat => detectable::json_format(r),
            Instruction::Title => detectable::title(r),
            Instruction::TwoResponses => startend::two_responses(r),
            Instruction::RepeatPrompt { prompt } => startend::repeat_prompt(prompt, r),
            Instruction::EndPhrase { phrase } => startend::end_phrase(phrase, r),
            Instruction::Quotation => startend::quotation(r),
            Instruction::AllCapitals => case::english_capital(r),
            Instruction::AllLowercase => case::english_lowercase(r),
            Instruction::NoComma => case::no_comma(r),
        }
    }
}
