//! The text that asks for an [`Instruction`], in Google's wording.

use crate::kinds::detectable;
use crate::{python, Instruction};

impl Instruction {
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
}
