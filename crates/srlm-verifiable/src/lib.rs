//! # srlm-verifiable
//!
//! Verifiable instructions: IFEval's instruction kinds (Zhou et al., 2023, "Instruction-Following
//! Evaluation for Large Language Models"), each rendered from its arguments in Google's wording
//! and checked by a program — no judge model. srlm uses them where a label must come from
//! something more trusted than the model: ranking a model's own answers for EFT, and an
//! instruction-following evaluation no judge can fool.
//!
//! The checks follow Google's `instructions.py` (PyPI `if-verifiable==0.1.2`, the same code as
//! `lm-eval==0.4.13`), Python's string and regular-expression semantics included, and agree with
//! it on every case of a fixture that Google's code labelled (`tools/fixtures/ifeval_checks.py`,
//! `tests/ifeval_reference.rs`). Two readings, as IFEval scores them:
//! - **strict** ([`Instruction::check`]): the response as it is;
//! - **loose** ([`follow`]): also the response without its first line, its last line or both,
//!   each with and without `*` ([`loose_variants`]).
//!
//! Not ported: `language:response_language` (needs `langid`), `length_constraints:
//! number_sentences` and `change_case:capital_word_frequency` (need NLTK's Punkt sentence
//! model). `change_case:english_*` ask whether the text is English with `whatlang` where Google
//! asks `langdetect`, and so agree with Google's on most cases, not all (the fixture test holds
//! them to 95 %).
//!
//! ```
//! use srlm_verifiable::{follow, Instruction, Relation};
//!
//! let bullets = Instruction::BulletLists { bullets: 2 };
//! assert!(bullets.description().starts_with("Your answer must contain exactly 2 bullet points."));
//! assert!(bullets.check("* one\n* two"));
//! assert!(!bullets.check("* one\n* two\n* three"));
//!
//! let words = Instruction::NumberWords { words: 3, relation: Relation::LessThan };
//! let reading = follow(&words, "Sure:\nhi there");
//! assert!(!reading.strict && reading.loose); // the loose reading drops the first line
//!
//! let kwargs = serde_json::json!({"keywords": ["tea", "milk"]});
//! let keywords = Instruction::from_kwargs("keywords:existence", kwargs.as_object().unwrap())?;
//! assert_eq!(keywords.description(), "Include keywords ['milk', 'tea'] in the response.");
//! # Ok::<(), srlm_verifiable::VerifiableError>(())
//! ```

mod conflicts;
mod description;
mod error;
mod explain;
mod follow;
mod instruction;
mod kinds;
mod kwargs;
mod python;
mod python_json;
mod record;
mod relation;
mod sample;

pub use conflicts::conflicts;
pub use error::VerifiableError;
pub use explain::Verdict;
pub use follow::{follow, follow_all, loose_variants, Following};
pub use instruction::{Instruction, INSTRUCTION_IDS};
pub use kinds::case::detected_english;
pub use kinds::length::count_words;
pub use record::InstructedPrompt;
pub use relation::Relation;
pub use sample::{instructed_prompt, InstructionSampler, SamplerConfig};
