//! Reading and writing an [`Instruction`]'s arguments in IFEval's `kwargs` form, checked.

use serde_json::{Map, Value};

use crate::{python, Instruction, Relation, VerifiableError, INSTRUCTION_IDS};

/// Characters that would make a keyword, marker or splitter mean something else to IFEval's
/// regular expressions than to a literal search; srlm refuses them instead of guessing.
const REGEX_META: &[char] = &[
    '\\', '^', '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '.',
];

/// The longest keyword, marker, phrase or splitter accepted.
const MAX_ARG_CHARS: usize = 200;

impl Instruction {
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
