//! Importers from the formats users already have: OpenAssistant oasst1 message trees,
//! ShareGPT conversations, MT-Bench questions and TRL preference files.

mod mtbench;
mod oasst;
mod sharegpt;
mod trl;

pub use mtbench::import_mtbench;
pub use oasst::{import_oasst, OasstImport, OasstReport};
pub use sharegpt::{import_sharegpt, ShareGptOptions, ShareGptReport};
pub use trl::import_trl;

use crate::error::DataError;
use std::path::Path;

pub(crate) fn bad_line(path: &Path, line: usize, reason: impl Into<String>) -> DataError {
    DataError::BadLine {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}
