//! # srlm-data
//!
//! The data of self-rewarding training, in the paper's names: IFT (instruction following,
//! [`IftRecord`]), EFT (evaluation: a judge prompt → a justification ending in `Score: N`,
//! [`EftRecord`]) and AIFT (AI-feedback preference pairs with TRL's field names,
//! [`PreferenceRecord`]), stored as JSON Lines.
//!
//! Readers stream and report every bad line as `file:line: what is wrong`, stopping by default
//! or skipping and counting ([`BadLines`]); writers write to a temporary file and rename, so a
//! crash never leaves half a file.
//!
//! ```
//! use srlm_data::{read_jsonl, write_jsonl, BadLines, PreferenceRecord};
//!
//! let dir = std::env::temp_dir().join(format!("srlm-data-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("aift.jsonl");
//! let pair = PreferenceRecord {
//!     prompt: "2+2?".into(), chosen: "4".into(), rejected: "5".into(),
//!     score_chosen: Some(5.0), score_rejected: Some(1.0), iteration: Some(1),
//!     judge_texts_chosen: vec![], judge_texts_rejected: vec![],
//! };
//! write_jsonl(&path, [&pair])?;
//! let (back, skipped) = read_jsonl::<PreferenceRecord>(&path, BadLines::Fail)?;
//! assert_eq!(back, vec![pair]);
//! assert_eq!(skipped.skipped, 0);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), srlm_data::DataError>(())
//! ```
//!
//! Status: record types and JSON Lines I/O. Importers (oasst1, ShareGPT, MT-Bench, TRL), the
//! EFT builders, splits and token batches are the rest of the data issue.

mod error;
mod jsonl;
mod records;

pub use error::{DataError, Result};
pub use jsonl::{read_jsonl, write_jsonl, AtomicJsonlWriter, BadLines, JsonlReader, SkipReport};
pub use records::{Conversation, EftRecord, IftRecord, PreferenceRecord, Turn};
