//! # srlm-data
//!
//! The data of self-rewarding training, in the paper's names: IFT (instruction following,
//! [`IftRecord`]), EFT (evaluation: a judge prompt → a justification ending in `Score: N`,
//! [`EftRecord`]) and AIFT (AI-feedback preference pairs with TRL's field names,
//! [`PreferenceRecord`]), stored as JSON Lines.
//!
//! - Files: readers stream and report every bad line as `file:line: what is wrong`, stopping by
//!   default or skipping and counting ([`BadLines`]); gzip is read transparently; writers write
//!   to a temporary file and rename, so a crash never leaves half a file.
//! - Importers ([`import`]): OpenAssistant oasst1 message trees, ShareGPT (tolerating a file cut
//!   off mid-record), MT-Bench questions, TRL preference files.
//! - Sets: prompt de-duplication and seeded, order-independent train / held-out splits
//!   ([`split`]).
//! - EFT builders ([`eft`]): the paper's (human ranks + a judge model) and a label-free
//!   known-quality ladder.
//! - Training input ([`Encoder`], [`batch_by_tokens`], [`batch_by_length`], [`sft_batch`],
//!   [`preference_batch`], [`shared_preference_batch`]): chat-template rendering, a loss mask
//!   over the response and its end-of-turn token only, truncation with counts, right-padded
//!   batches under a token budget, a pair's shared prompt laid out once.
//!
//! Feature `model` (default) brings the encoder and the token batches, which need the model's
//! tokenizer and chat template (`srlm-model`, and with it burn). Without it the crate builds
//! without burn: records, files, importers, splits, EFT builders, inspection.
//!
//! ```
//! use srlm_data::eft::{build_ladders, LadderConfig};
//! use srlm_data::{read_jsonl, write_jsonl, BadLines, EftRecord, IftRecord};
//!
//! let answer = |topic: &str| format!(
//!     "Here is a careful explanation of {topic}. It starts with the basic idea, then works \
//!      through an example step by step, shows where beginners usually go wrong, and ends with \
//!      a short summary and two suggestions for further reading on the subject of {topic}."
//! );
//! let pairs: Vec<IftRecord> = ["recursion", "hash maps", "borrowing"]
//!     .iter()
//!     .map(|t| IftRecord { prompt: format!("Explain {t}."), response: answer(t), source: None })
//!     .collect();
//! let (eft, report) = build_ladders(&pairs, &LadderConfig::default())?;
//! assert_eq!(report.ladders, 3);
//! assert_eq!(report.histogram[4], 3); // each ladder has one rung per score 0..=4
//! assert!(eft.iter().all(|r| r.judgement.ends_with(&format!("Score: {}", r.score))));
//!
//! let dir = std::env::temp_dir().join(format!("srlm-data-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("eft.jsonl");
//! write_jsonl(&path, &eft)?;
//! let (back, _) = read_jsonl::<EftRecord>(&path, BadLines::Fail)?;
//! assert_eq!(back, eft);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), srlm_data::DataError>(())
//! ```

mod batch;
pub mod eft;
#[cfg(feature = "model")]
mod encode;
mod encoded;
mod error;
pub mod import;
mod inspect;
mod json_array;
mod jsonl;
mod records;
mod source;
pub mod split;

pub use batch::{batch_by_length, batch_by_tokens};
#[cfg(feature = "model")]
pub use batch::{preference_batch, sft_batch, shared_preference_batch};
#[cfg(feature = "model")]
pub use encode::Encoder;
pub use encoded::{EncodeReport, EncodedExample, EncodedPair};
pub use error::{DataError, Result};
pub use inspect::{inspect, Inspection, LengthHistogram, SetKind};
pub use jsonl::{read_jsonl, write_jsonl, AtomicJsonlWriter, BadLines, JsonlReader, SkipReport};
pub use records::{
    Conversation, EftRecord, EvalPrompt, IftRecord, PreferenceRecord, RankedAnswer, RankedPrompt,
    Turn,
};
