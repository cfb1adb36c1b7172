//! # srlm-generation
//!
//! The seam between the self-rewarding pipeline and whatever writes text: a local burn model
//! (`srlm_model::LocalGenerator`), an OpenAI-compatible server (`srlm_judge::OpenAiGenerator`),
//! or your own type. It holds no tensors and depends on no deep-learning framework, so a crate
//! that only needs to *call* generators (a judge over a server, an importer) builds without burn.
//!
//! - [`GenerationConfig`] / [`SamplingParams`]: the one set of generation settings (token cap,
//!   greedy or temperature → top-k → top-p, seed, extra stop ids), used by the model's own
//!   `generate` and by every [`TextGenerator`].
//! - [`TextGenerator`]: `n` completions of each user prompt; [`complete_checked`] rejects a
//!   generator that returns another number of rows or samples than asked
//!   ([`GenerationError::Rows`]) instead of letting a shorter result through.
//! - [`seed`]: the one way seeds are derived from a run's seed (SplitMix64), for loop units,
//!   training steps and server requests alike.
//!
//! ```
//! use srlm_generation::{complete_checked, Completion, GenerationConfig, GenerationError, TextGenerator};
//!
//! /// A generator that shouts the prompt back.
//! struct Echo;
//!
//! impl TextGenerator for Echo {
//!     fn complete(
//!         &mut self,
//!         prompts: &[String],
//!         n: usize,
//!         _config: &GenerationConfig,
//!     ) -> Result<Vec<Vec<Completion>>, GenerationError> {
//!         Ok(prompts
//!             .iter()
//!             .map(|p| vec![Completion { text: p.to_uppercase(), truncated: false }; n])
//!             .collect())
//!     }
//! }
//!
//! let rows = complete_checked(&mut Echo, &["hi".to_string()], 2, &GenerationConfig::greedy(16))?;
//! assert_eq!(rows[0][1].text, "HI");
//! # Ok::<(), GenerationError>(())
//! ```

mod error;
mod generator;
pub mod seed;
mod settings;

pub use error::{GenerationError, Result};
pub use generator::{complete_checked, Completion, TextGenerator};
pub use settings::{GenerationConfig, SamplingParams};
