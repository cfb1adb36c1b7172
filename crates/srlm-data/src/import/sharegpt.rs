//! ShareGPT (`[{"id", "conversations": [{"from": "human"|"gpt", "value"}]}]`) → IFT pairs from
//! each conversation's first human → gpt exchange. The file is one JSON array, streamed
//! element by element; a file cut off mid-record (as the one on PyPI is) keeps every complete
//! record and reports the cut.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bad_line;
use crate::error::Result;
use crate::json_array::{ArrayItem, JsonArrayScanner};
use crate::jsonl::{reject, BadLines, SkipReport};
use crate::records::IftRecord;
use crate::source::open_text;

#[derive(Debug, Deserialize)]
struct Conversation {
    conversations: Vec<Message>,
}

#[derive(Debug, Deserialize)]
struct Message {
    from: String,
    value: String,
}

/// Which first exchanges to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareGptOptions {
    /// Keep only prompts that are plain ASCII (a cheap English filter; Self-Instruct also drops
    /// prompts starting with a non-ASCII character). Default on.
    pub ascii_prompts_only: bool,
}

impl Default for ShareGptOptions {
    fn default() -> Self {
        ShareGptOptions {
            ascii_prompts_only: true,
        }
    }
}

/// Counts of a ShareGPT import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShareGptReport {
    /// Complete conversations read.
    pub conversations: usize,
    /// Conversations that start with a human turn answered by a gpt turn.
    pub human_gpt: usize,
    /// Of those, dropped because the prompt is not ASCII.
    pub non_ascii: usize,
    /// Of those, dropped because the prompt or the answer is blank.
    pub blank: usize,
    /// Pairs kept.
    pub pairs: usize,
    /// The line where an unfinished final record starts, when the file is cut off.
    pub truncated_at_line: Option<usize>,
    /// Bad records skipped (skip mode only).
    pub skipped: SkipReport,
}

/// Reads a ShareGPT JSON file (plain or gzip) into IFT records (`source: "sharegpt"`).
pub fn import_sharegpt(
    path: &Path,
    options: ShareGptOptions,
    mode: BadLines,
) -> Result<(Vec<IftRecord>, ShareGptReport)> {
    let mut scanner = JsonArrayScanner::new(path, open_text(path)?);
    let mut report = ShareGptReport::default();
    let mut records = Vec::new();
    while let Some(item) = scanner.next_item()? {
        let (bytes, line) = match item {
            ArrayItem::Element { bytes, line } => (bytes, line),
            ArrayItem::Truncated { line } => {
                tracing::warn!(
                    file = %path.display(),
                    line,
                    "the file ends inside a record; keeping the complete records before it"
                );
                report.truncated_at_line = Some(line);
                break;
            }
        };
        let conversation: Conversation = match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                // serde_json counts lines within the element; report the file's line.
                let reason = format!("line {} of the record: {e}", e.line());
                reject(mode, &mut report.skipped, bad_line(path, line, reason))?;
                continue;
            }
        };
        report.conversations += 1;
        let [first, second, ..] = conversation.conversations.as_slice() else {
            continue;
        };
        if first.from != "human" || second.from != "gpt" {
            continue;
        }
        report.human_gpt += 1;
        if options.ascii_prompts_only && !first.value.is_ascii() {
            report.non_ascii += 1;
            continue;
        }
        if first.value.trim().is_empty() || second.value.trim().is_empty() {
            report.blank += 1;
            continue;
        }
        records.push(IftRecord {
            prompt: first.value.clone(),
            response: second.value.clone(),
            source: Some("sharegpt".into()),
        });
    }
    report.pairs = records.len();
    Ok((records, report))
}
