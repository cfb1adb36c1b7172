//! MT-Bench `question.jsonl` (`question_id`, `category`, `turns`) → evaluation prompts.

use std::path::Path;

use serde::Deserialize;

use super::bad_line;
use crate::error::{DataError, Result};
use crate::jsonl::{reject, BadLines, JsonlReader, SkipReport};
use crate::records::EvalPrompt;

#[derive(Debug, Deserialize)]
struct MtBenchQuestion {
    question_id: serde_json::Value,
    #[serde(default)]
    category: Option<String>,
    turns: Vec<String>,
}

/// Reads MT-Bench questions (any file in its schema); a question without turns, or with an
/// empty first turn, is a bad line.
pub fn import_mtbench(path: &Path, mode: BadLines) -> Result<(Vec<EvalPrompt>, SkipReport)> {
    let mut reader = JsonlReader::<MtBenchQuestion>::open(path, mode)?;
    let mut prompts = Vec::new();
    let mut rejected = SkipReport::default();
    while let Some(question) = reader.next() {
        let question = question?;
        if question.turns.first().is_none_or(|t| t.trim().is_empty()) {
            let error = bad_line(path, reader.line(), "the question has no first turn");
            reject(mode, &mut rejected, error)?;
            continue;
        }
        let id = match question.question_id {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                let reason = format!("question_id must be a number or a string, found {other}");
                reject(mode, &mut rejected, bad_line(path, reader.line(), reason))?;
                continue;
            }
        };
        prompts.push(EvalPrompt {
            id,
            category: question.category,
            turns: question.turns,
        });
    }
    if prompts.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut report = reader.report().clone();
    report.merge(rejected);
    Ok((prompts, report))
}
