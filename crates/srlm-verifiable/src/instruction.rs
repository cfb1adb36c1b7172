//! [`Instruction`]: one verifiable instruction — its IFEval id, its arguments, the text that asks
//! for it, and the program that checks a response.

use serde_json::{Map, Value};

use crate::kinds::{case, detectable, keywords, length, startend};
use crate::{python, Relation, VerifiableError};

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

/// Characters that would make a keyword, marker or splitter mean something else to IFEval's
/// regular expressions than to a literal search; srlm refuses them instead of guessing.
const REGEX_META: &[char] = &[
    '\\', '^', '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '.',
];

/// The longest keyword, marker, phrase or splitter accepted.
const MAX_ARG_CHARS: usize = 200;

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

    /// Builds an instruction from IFEval's `instruction_id` and `kwargs` (the dataset's format;
    /// `null` values are ignored, as IFEval drops them). Arguments IFEval would draw at random
    /// when missing are required here; unknown arguments are refused.
    pub fn from_kwargs(
        id: &str,
        kwargs: &Map<String, Value>,
    ) -> Result<Instruction, VerifiableError> {
        let args = Args::new(id, kwargs);
        let instruction = match id {
            "keywords:existence" => {
                let mut keywords = args.strings("keywords")?;
                for k in &keywords {
                    args.check_literal("keywords", k)?;
                }
                keywords.sort();
                Instruction::KeywordsIncluded { keywords }
            }
            "keywords:frequency" => {
                let keyword = python::strip(&args.string("keyword")?).to_string();
                args.check_literal("keyword", &keyword)?;
                Instruction::KeywordFrequency {
                    keyword,
                    frequency: args.count("frequency")?,
                    relation: args.relation("relation")?,
                }
            }
            "keywords:forbidden_words" => {
                let mut words = args.strings("forbidden_words")?;
                for w in &words {
                    args.check_literal("forbidden_words", w)?;
                }
                words.sort();
                words.dedup();
                Instruction::ForbiddenWords { words }
            }
            "keywords:letter_frequency" => {
                let letter = args.string("letter")?;
                let mut chars = letter.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return Err(args.error("letter", "must be one ASCII letter"));
                };
                if !c.is_ascii_alphabetic() {
                    return Err(args.error("letter", "must be one ASCII letter"));
                }
                Instruction::LetterFrequency {
                    letter: c.to_ascii_lowercase(),
                    frequency: args.count("let_frequency")?,
                    relation: args.relation("let_relation")?,
                }
            }
            "length_constraints:number_words" => Instruction::NumberWords {
                words: args.count("num_words")?,
                relation: args.relation("relation")?,
            },
            "length_constraints:number_paragraphs" => Instruction::NumberParagraphs {
                paragraphs: args.count("num_paragraphs")?,
            },
            "length_constraints:nth_paragraph_first_word" => {
                let paragraphs = args.count("num_paragraphs")?;
                // IFEval's own generator draws `nth_paragraph` up to `num_paragraphs + 1`, an
                // instruction no answer can follow; such sets are read as they are (the check
                // then always fails, as IFEval's does). srlm's sampler never draws one.
                let nth = args.count("nth_paragraph")?;
                let first_word = args.string("first_word")?.to_lowercase();
                if first_word.is_empty() || python::split_whitespace(&first_word).count() != 1 {
                    return Err(args.error("first_word", "must be one word"));
                }
                Instruction::NthParagraphFirstWord {
                    paragraphs,
                    nth,
                    first_word,
                }
            }
            "detectable_content:number_placeholders" => Instruction::Placeholders {
                placeholders: args.count("num_placeholders")?,
            },
            "detectable_content:postscript" => {
                let marker = python::strip(&args.string("postscript_marker")?).to_string();
                args.check_literal("postscript_marker", &marker)?;
                Instruction::Postscript { marker }
            }
            "detectable_format:number_bullet_lists" => Instruction::BulletLists {
                bullets: args.count("num_bullets")?,
            },
            "detectable_format:constrained_response" => Instruction::ConstrainedResponse,
            "detectable_format:number_highlighted_sections" => Instruction::HighlightedSections {
                highlights: args.count("num_highlights")?,
            },
            "detectable_format:multiple_sections" => {
                let splitter = python::strip(&args.string("section_spliter")?).to_string();
                args.check_literal("section_spliter", &splitter)?;
                Instruction::Sections {
                    splitter,
                    sections: args.count("num_sections")?,
                }
            }
            "detectable_format:json_format" => Instruction::JsonFormat,
            "detectable_format:title" => Instruction::Title,
            "combination:two_responses" => Instruction::TwoResponses,
            "combination:repeat_prompt" => Instruction::RepeatPrompt {
                prompt: args.string("prompt_to_repeat")?,
            },
            "startend:end_checker" => {
                let phrase = python::strip(&args.string("end_phrase")?).to_string();
                if phrase.chars().count() > MAX_ARG_CHARS {
                    return Err(args.error("end_phrase", "is longer than 200 characters"));
                }
                Instruction::EndPhrase { phrase }
            }
            "startend:quotation" => Instruction::Quotation,
            "change_case:english_capital" => Instruction::AllCapitals,
            "change_case:english_lowercase" => Instruction::AllLowercase,
            "punctuation:no_comma" => Instruction::NoComma,
            _ => {
                return Err(VerifiableError::UnknownId {
                    id: id.to_string(),
                    known: INSTRUCTION_IDS.join(", "),
                })
            }
        };
        args.refuse_unknown(&instruction.to_kwargs())?;
        Ok(instruction)
    }

    /// The arguments in IFEval's `kwargs` form (what [`Instruction::from_kwargs`] reads back).
    pub fn to_kwargs(&self) -> Map<String, Value> {
        let mut map = Map::new();
        let mut put = |key: &str, value: Value| {
            map.insert(key.to_string(), value);
        };
        match self {
            Instruction::KeywordsIncluded { keywords } => put("keywords", keywords.clone().into()),
            Instruction::KeywordFrequency {
                keyword,
                frequency,
                relation,
            } => {
                put("keyword", keyword.as_str().into());
                put("frequency", (*frequency).into());
                put("relation", relation.as_str().into());
            }
            Instruction::ForbiddenWords { words } => put("forbidden_words", words.clone().into()),
            Instruction::LetterFrequency {
                letter,
                frequency,
                relation,
            } => {
                put("letter", letter.to_string().into());
                put("let_frequency", (*frequency).into());
                put("let_relation", relation.as_str().into());
            }
            Instruction::NumberWords { words, relation } => {
                put("num_words", (*words).into());
                put("relation", relation.as_str().into());
            }
            Instruction::NumberParagraphs { paragraphs } => {
                put("num_paragraphs", (*paragraphs).into())
            }
            Instruction::NthParagraphFirstWord {
                paragraphs,
                nth,
                first_word,
            } => {
                put("num_paragraphs", (*paragraphs).into());
                put("nth_paragraph", (*nth).into());
                put("first_word", first_word.as_str().into());
            }
            Instruction::Placeholders { placeholders } => {
                put("num_placeholders", (*placeholders).into())
            }
            Instruction::Postscript { marker } => put("postscript_marker", marker.as_str().into()),
            Instruction::BulletLists { bullets } => put("num_bullets", (*bullets).into()),
            Instruction::HighlightedSections { highlights } => {
                put("num_highlights", (*highlights).into())
            }
            Instruction::Sections { splitter, sections } => {
                put("section_spliter", splitter.as_str().into());
                put("num_sections", (*sections).into());
            }
            Instruction::RepeatPrompt { prompt } => put("prompt_to_repeat", prompt.as_str().into()),
            Instruction::EndPhrase { phrase } => put("end_phrase", phrase.as_str().into()),
            Instruction::ConstrainedResponse
            | Instruction::JsonFormat
            | Instruction::Title
            | Instruction::TwoResponses
            | Instruction::Quotation
            | Instruction::AllCapitals
            | Instruction::AllLowercase
            | Instruction::NoComma => {}
        }
        map
    }

    /// The text that asks for this instruction, as IFEval's `build_description` writes it.
    pub fn description(&self) -> String {
        match self {
            Instruction::KeywordsIncluded { keywords } => format!(
                "Include keywords {} in the response.",
                python::repr_seq(keywords, '[', ']')
            ),
            Instruction::KeywordFrequency {
                keyword,
                frequency,
                relation,
            } => format!(
                "In your response, the word {keyword} should appear {relation} {frequency} times."
            ),
            Instruction::ForbiddenWords { words } => format!(
                "Do not include keywords {} in the response.",
                python::repr_seq(words, '[', ']')
            ),
            Instruction::LetterFrequency {
                letter,
                frequency,
                relation,
            } => format!(
                "In your response, the letter {letter} should appear {relation} {frequency} times."
            ),
            Instruction::NumberWords { words, relation } => {
                format!("Answer with {relation} {words} words.")
            }
            Instruction::NumberParagraphs { paragraphs } => format!(
                "There should be {paragraphs} paragraphs. \
                 Paragraphs are separated with the markdown divider: ***"
            ),
            Instruction::NthParagraphFirstWord {
                paragraphs,
                nth,
                first_word,
            } => format!(
                "There should be {paragraphs} paragraphs. Paragraphs and only paragraphs are \
                 separated with each other by two new lines as if it was '\\n\\n' in python. \
                 Paragraph {nth} must start with word {first_word}."
            ),
            Instruction::Placeholders { placeholders } => format!(
                "The response must contain at least {placeholders} placeholders represented by \
                 square brackets, such as [address]."
            ),
            Instruction::Postscript { marker } => format!(
                "At the end of your response, please explicitly add a postscript starting with \
                 {marker}"
            ),
            Instruction::BulletLists { bullets } => format!(
                "Your answer must contain exactly {bullets} bullet points. Use the markdown \
                 bullet points such as:\n* This is point 1. \n* This is point 2"
            ),
            Instruction::ConstrainedResponse => {
                let options: Vec<String> = detectable::CONSTRAINED_OPTIONS
                    .iter()
                    .map(|o| o.to_string())
                    .collect();
                format!(
                    "Answer with one of the following options: {}",
                    python::repr_seq(&options, '(', ')')
                )
            }
            Instruction::HighlightedSections { highlights } => format!(
                "Highlight at least {highlights} sections in your answer with markdown, i.e. \
                 *highlighted section*."
            ),
            Instruction::Sections { splitter, sections } => format!(
                "Your response must have {sections} sections. Mark the beginning of each section \
                 with {splitter} X, such as:\n{splitter} 1\n[content of section 1]\n{splitter} 2\n\
                 [content of section 2]"
            ),
            Instruction::JsonFormat => "Entire output should be wrapped in JSON format. You can \
                                        use markdown ticks such as ```."
                .to_string(),
            Instruction::Title => "Your answer must contain a title, wrapped in double angular \
                                   brackets, such as <<poem of joy>>."
                .to_string(),
            Instruction::TwoResponses => "Give two different responses. Responses and only \
                                          responses should be separated by 6 asterisk symbols: \
                                          ******."
                .to_string(),
            Instruction::RepeatPrompt { .. } => "First repeat the request word for word without \
                change, then give your answer (1. do not say any words or characters before \
                repeating the request; 2. the request you need to repeat does not include this \
                sentence)"
                .to_string(),
            Instruction::EndPhrase { phrase } => format!(
                "Finish your response with this exact phrase {phrase}. No other words should \
                 follow this phrase."
            ),
            Instruction::Quotation => {
                "Wrap your entire response with double quotation marks.".to_string()
            }
            Instruction::AllCapitals => {
                "Your entire response should be in English, and in all capital letters.".to_string()
            }
            Instruction::AllLowercase => "Your entire response should be in English, and in all \
                                          lowercase letters. No capital letters are allowed."
                .to_string(),
            Instruction::NoComma => {
                "In your entire response, refrain from the use of any commas.".to_string()
            }
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

/// IFEval `kwargs` being read for one instruction.
struct Args<'a> {
    id: &'a str,
    kwargs: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    fn new(id: &'a str, kwargs: &'a Map<String, Value>) -> Self {
        Args { id, kwargs }
    }

    fn error(&self, arg: &str, reason: &str) -> VerifiableError {
        VerifiableError::Argument {
            id: self.id.to_string(),
            arg: arg.to_string(),
            reason: reason.to_string(),
        }
    }

    fn get(&self, arg: &str) -> Result<&'a Value, VerifiableError> {
        match self.kwargs.get(arg) {
            Some(Value::Null) | None => Err(self.error(arg, "missing")),
            Some(v) => Ok(v),
        }
    }

    fn string(&self, arg: &str) -> Result<String, VerifiableError> {
        match self.get(arg)? {
            Value::String(s) if !python::strip(s).is_empty() => Ok(s.clone()),
            Value::String(_) => Err(self.error(arg, "is empty")),
            other => Err(self.error(arg, &format!("expected a string, found {other}"))),
        }
    }

    fn strings(&self, arg: &str) -> Result<Vec<String>, VerifiableError> {
        let Value::Array(items) = self.get(arg)? else {
            return Err(self.error(arg, "expected a list of strings"));
        };
        if items.is_empty() {
            return Err(self.error(arg, "is empty"));
        }
        items
            .iter()
            .map(|v| match v {
                Value::String(s) if !python::strip(s).is_empty() => Ok(s.clone()),
                _ => Err(self.error(arg, &format!("expected non-empty strings, found {v}"))),
            })
            .collect()
    }

    /// A positive integer (IFEval draws one from 1 upwards when it is missing or negative).
    fn count(&self, arg: &str) -> Result<usize, VerifiableError> {
        let value = self.get(arg)?;
        match value.as_u64() {
            Some(n) if n >= 1 => usize::try_from(n).map_err(|_| self.error(arg, "is too large")),
            _ => Err(self.error(arg, &format!("expected an integer ≥ 1, found {value}"))),
        }
    }

    fn relation(&self, arg: &str) -> Result<Relation, VerifiableError> {
        let text = self.string(arg)?;
        Relation::parse(&text).ok_or_else(|| {
            self.error(
                arg,
                &format!("`{text}` is neither `less than` nor `at least`"),
            )
        })
    }

    /// A keyword, marker or splitter that a literal search finds exactly where IFEval's regular
    /// expression does.
    /// A postscript marker may hold dots: IFEval reads them as any character, and so does srlm
    /// (the marker is used as a pattern, as IFEval uses it).
    fn check_literal(&self, arg: &str, text: &str) -> Result<(), VerifiableError> {
        if text.chars().count() > MAX_ARG_CHARS {
            return Err(self.error(arg, "is longer than 200 characters"));
        }
        let dot_allowed = arg == "postscript_marker";
        if let Some(c) = text
            .chars()
            .find(|&c| REGEX_META.contains(&c) && !(dot_allowed && c == '.'))
        {
            return Err(self.error(
                arg,
                &format!("`{text}` holds `{c}`, which IFEval would read as a regular expression"),
            ));
        }
        Ok(())
    }

    fn refuse_unknown(&self, known: &Map<String, Value>) -> Result<(), VerifiableError> {
        match self
            .kwargs
            .iter()
            .find(|(k, v)| !v.is_null() && !known.contains_key(*k))
        {
            Some((k, _)) => Err(self.error(k, "is not an argument of this instruction")),
            None => Ok(()),
        }
    }
}
